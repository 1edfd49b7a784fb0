"""Datagram networks: the one interface the SIP driver and the simulator speak.

Two implementations share it: real UDP sockets (`UdpNetwork`, 127.0.0.1 in
tests) and an in-memory network with configurable loss and latency
(`sim.network.MemoryNetwork`) that runs deterministically under
`trio.testing.MockClock`. Addresses are `(host, port)` tuples.
"""

from __future__ import annotations

import socket as _stdlib_socket
from typing import Protocol

import trio

Address = tuple[str, int]

# Large kernel buffers: at thousands of calls/s the default 64-208 KB receive
# buffer overflows, drops become retransmissions and throughput collapses.
# `UdpNetwork(buffer_bytes=...)` changes it. The kernel caps the request at
# net.core.rmem_max / wmem_max (often 208 KB; raise them with sysctl on a busy
# dialer); `UdpSocket.buffer_bytes()` says what was granted.
SOCKET_BUFFER_BYTES = 4 * 1024 * 1024
MAX_DATAGRAM = 65535


class DatagramSocket(Protocol):
    @property
    def local_address(self) -> Address: ...

    async def send(self, data: bytes, address: Address) -> None: ...

    async def receive(self) -> tuple[bytes, Address]: ...

    def close(self) -> None: ...


class Network(Protocol):
    async def bind(self, host: str = "127.0.0.1", port: int = 0) -> DatagramSocket: ...


_IPV4_LITERALS: set[str] = set()


def _is_ipv4_literal(host: str) -> bool:
    """True for "127.0.0.1"-style hosts (the stdlib sendto would resolve names blocking)."""
    if host in _IPV4_LITERALS:
        return True
    try:
        _stdlib_socket.inet_pton(_stdlib_socket.AF_INET, host)
    except (OSError, TypeError):
        return False
    if len(_IPV4_LITERALS) < 65536:
        _IPV4_LITERALS.add(host)
    return True


class UdpSocket:
    def __init__(self, sock: trio.socket.SocketType, raw: _stdlib_socket.socket | None = None):
        self._sock = sock
        self._raw = raw
        self.local_address: Address = sock.getsockname()[:2]

    async def send(self, data: bytes, address: Address) -> None:
        # Fast path: a non-blocking sendto on the underlying socket. trio's own sendto
        # re-resolves the address (getaddrinfo) on every call, which cost more than
        # the rest of a SIP message's handling; a UDP send with buffer space never
        # blocks, so we only fall back to trio's (waiting) sendto when the buffer is full.
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            if self._raw is not None and _is_ipv4_literal(address[0]):
                try:
                    self._raw.sendto(data, address)
                    return
                except BlockingIOError:
                    pass
            await self._sock.sendto(data, address)
        except OSError:
            # UDP is lossy by contract: a send error (e.g. ICMP port unreachable
            # reported on a later send) is a lost datagram, and the transaction
            # layer's timers deal with loss.
            pass

    def receive_nowait(self) -> tuple[bytes, Address] | None:
        """A datagram already queued in the kernel, or None: lets a busy receiver take
        every waiting datagram per wake-up (optional; not part of DatagramSocket)."""
        if self._raw is None:
            return None
        while True:
            try:
                data, address = self._raw.recvfrom(MAX_DATAGRAM)
            except BlockingIOError:
                return None
            except ConnectionResetError:
                continue
            except OSError:
                return None
            return data, address[:2]

    async def receive(self) -> tuple[bytes, Address]:
        while True:
            try:
                data, address = await self._sock.recvfrom(MAX_DATAGRAM)
            except ConnectionResetError:
                continue  # ICMP error for an earlier send; not a datagram
            return data, address[:2]

    def buffer_bytes(self) -> tuple[int, int]:
        """(receive, send) kernel buffer sizes granted, as the kernel reports them
        (Linux doubles the request for its own bookkeeping)."""
        return (self._sock.getsockopt(_stdlib_socket.SOL_SOCKET, _stdlib_socket.SO_RCVBUF),
                self._sock.getsockopt(_stdlib_socket.SOL_SOCKET, _stdlib_socket.SO_SNDBUF))

    def close(self) -> None:
        self._sock.close()


class UdpNetwork:
    """Real UDP sockets, with `buffer_bytes` asked for each kernel buffer (receive, send)."""

    def __init__(self, buffer_bytes: int = SOCKET_BUFFER_BYTES):
        self.buffer_bytes = buffer_bytes

    # SIP over TCP: the real network also has TCP, which the SIP endpoint opens itself
    # (trio streams, dialer/sip/tcp.py); the in-memory network has none.
    tcp = True

    async def bind(self, host: str = "127.0.0.1", port: int = 0) -> UdpSocket:
        raw = _stdlib_socket.socket(_stdlib_socket.AF_INET, _stdlib_socket.SOCK_DGRAM)
        raw.setblocking(False)
        sock = trio.socket.from_stdlib_socket(raw)
        for option in (_stdlib_socket.SO_RCVBUF, _stdlib_socket.SO_SNDBUF):
            try:
                sock.setsockopt(_stdlib_socket.SOL_SOCKET, option, self.buffer_bytes)
            except OSError:
                pass
        await sock.bind((host, port))
        return UdpSocket(sock, raw)
