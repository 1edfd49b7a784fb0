"""SIP over TCP for the endpoint: one connection per remote address, shared by every call.

The driver layer's stream transport (the sans-IO core never sees a socket):

- a connection to a peer is opened on demand by the first message for it and reused by
  every later message and call to that (host, port); connections the peer opens to our
  listening port are accepted and used for the answers to what arrives on them;
- each connection has a reader task that cuts the stream into messages by
  Content-Length (`StreamFramer`) and hands them to the endpoint, like datagrams;
- `send()` returns False when the message cannot be sent (connect refused or timed
  out, connection reset); a connection that breaks or that the peer closes is
  reported with `on_lost(address)`, so the endpoint ends the transactions that were
  using it with a transport error (RFC 3261 §17.1.4: treated as 503, next trunk).

Connections stay open until the peer closes them or the endpoint stops. Everything
runs in the endpoint's nursery; all waiting uses trio's clock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Awaitable, Callable

import trio

from dialer.net import Address

from .message import Request, Response, SipParseError, StreamFramer, parse_message
from .transport import TransportStats

log = logging.getLogger("dialer.sip")

RECEIVE_BYTES = 65536

OnMessage = Callable[[object, Address, object], Awaitable[None]]
OnLost = Callable[[Address], Awaitable[None]]


class _Connection:
    __slots__ = ("stream", "address", "send_lock", "framer", "closed")

    def __init__(self, stream: trio.SocketStream, address: Address):
        self.stream = stream
        self.address = address
        self.send_lock = trio.StrictFIFOLock()  # one send_all at a time, in call order
        self.framer = StreamFramer()
        self.closed = False


@dataclass
class TcpStats(TransportStats):
    connections_opened: int = 0
    connections_accepted: int = 0
    connections_lost: int = 0
    connect_failures: int = 0


class TcpTransport:
    """The endpoint's TCP transport. `start(nursery, listeners)` once; then `send()`."""

    reliable = True
    name = "TCP"

    def __init__(self, on_message: OnMessage, on_lost: OnLost, *, connect_timeout: float):
        self.on_message = on_message
        self.on_lost = on_lost
        self.connect_timeout = connect_timeout
        self.stats = TcpStats()
        self._connections: dict[Address, _Connection] = {}
        self._connecting: dict[Address, trio.Event] = {}
        self._nursery: trio.Nursery | None = None

    @property
    def connections(self) -> int:
        return len(self._connections)

    def start(self, nursery: trio.Nursery, listeners: list[trio.SocketListener]) -> None:
        self._nursery = nursery
        if listeners:
            nursery.start_soon(self._serve, listeners)

    async def _serve(self, listeners) -> None:
        # serve_listeners sleeps through accept errors such as running out of descriptors.
        await trio.serve_listeners(self._accepted, listeners, handler_nursery=self._nursery)

    async def _accepted(self, stream: trio.SocketStream) -> None:
        address = stream.socket.getpeername()[:2]
        self.stats.connections_accepted += 1
        connection = _Connection(stream, address)
        self._connections.setdefault(address, connection)
        await self._read(connection)

    # --- sending -------------------------------------------------------------------------

    async def send(self, message: Request | Response, address: Address) -> bool:
        wire = getattr(message, "_wire", None)
        if wire is None:
            wire = message.to_bytes()
            message._wire = wire  # messages are not changed once sent
        connection = self._connections.get(address) or await self._connect(address)
        if connection is None:
            return False
        try:
            async with connection.send_lock:
                await connection.stream.send_all(wire)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            await self._lost(connection)
            return False
        self.stats.sent += 1
        return True

    async def _connect(self, address: Address) -> _Connection | None:
        """The connection to `address`, opened now; callers that come while it is being
        opened wait for it instead of opening a second one."""
        pending = self._connecting.get(address)
        if pending is not None:
            await pending.wait()
            return self._connections.get(address)
        if self._nursery is None:
            return None
        done = self._connecting[address] = trio.Event()
        stream = None
        try:
            with trio.move_on_after(self.connect_timeout):
                stream = await trio.open_tcp_stream(*address)
        except OSError as exc:
            log.info("SIP over TCP: cannot connect to %s:%s: %s", *address, exc)
        finally:
            del self._connecting[address]
            done.set()
        if stream is None:
            self.stats.connect_failures += 1
            return None
        self.stats.connections_opened += 1
        connection = _Connection(stream, address)
        self._connections[address] = connection
        self._nursery.start_soon(self._read, connection)
        return connection

    # --- receiving -----------------------------------------------------------------------

    async def _read(self, connection: _Connection) -> None:
        try:
            while True:
                try:
                    data = await connection.stream.receive_some(RECEIVE_BYTES)
                except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                    break
                if not data:
                    break  # the peer closed the connection
                framer = connection.framer
                for frame in framer.frames(data):
                    self.stats.received += 1
                    try:
                        message = parse_message(frame)
                    except SipParseError as exc:
                        self.stats.parse_errors += 1
                        message = exc
                    await self.on_message(message, connection.address, self)
                if framer.broken is not None:
                    # Without framing nothing after this point can be trusted (§18.3).
                    self.stats.parse_errors += 1
                    log.info("SIP over TCP: closing %s:%s: %s", *connection.address, framer.broken)
                    break
            await self._lost(connection)
        finally:
            if not connection.closed:  # cancelled: the endpoint is stopping
                connection.closed = True
                await trio.aclose_forcefully(connection.stream)

    async def _lost(self, connection: _Connection) -> None:
        if connection.closed:
            return
        connection.closed = True
        if self._connections.get(connection.address) is connection:
            del self._connections[connection.address]
        self.stats.connections_lost += 1
        await trio.aclose_forcefully(connection.stream)
        await self.on_lost(connection.address)


class NoTcp:
    """Stands in for TCP on a network without it (the simulator's in-memory network):
    every send fails, so a call to a TCP trunk ends `failed` and fails over."""

    reliable = True
    name = "TCP"
    connections = 0

    def __init__(self) -> None:
        self.stats = TcpStats()

    async def send(self, message, address: Address) -> bool:
        self.stats.connect_failures += 1
        return False
