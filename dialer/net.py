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


class UdpSocket:
    def __init__(self, sock: trio.socket.SocketType):
        self._sock = sock
        self.local_address: Address = sock.getsockname()[:2]

    async def send(self, data: bytes, address: Address) -> None:
        try:
            await self._sock.sendto(data, address)
        except OSError:
            # UDP is lossy by contract: a send error (e.g. ICMP port unreachable
            # reported on a later send) is a lost datagram, and the transaction
            # layer's timers deal with loss.
            pass

    async def receive(self) -> tuple[bytes, Address]:
        while True:
            try:
                data, address = await self._sock.recvfrom(MAX_DATAGRAM)
            except ConnectionResetError:
                continue  # ICMP error for an earlier send; not a datagram
            return data, address[:2]

    def close(self) -> None:
        self._sock.close()


class UdpNetwork:
    """Real UDP sockets."""

    async def bind(self, host: str = "127.0.0.1", port: int = 0) -> UdpSocket:
        sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
        for option in (_stdlib_socket.SO_RCVBUF, _stdlib_socket.SO_SNDBUF):
            try:
                sock.setsockopt(_stdlib_socket.SOL_SOCKET, option, SOCKET_BUFFER_BYTES)
            except OSError:
                pass
        await sock.bind((host, port))
        return UdpSocket(sock)
