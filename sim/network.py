"""An in-memory datagram network with loss, latency and jitter.

It speaks the interface of `dialer.net` (`bind` → socket with `local_address`,
`send`, `receive`, `close`), so the SIP endpoint, the simulated carrier and the
operator phones run on it unchanged. It needs no background task: each socket
keeps a heap of `(deliver_at, seq, data, source)` and `receive()` sleeps until
the head is due (or a new datagram arrives). Under
`trio.testing.MockClock(autojump_threshold=0)` a run is a pure function of the
seed and of the order in which tasks send.

Why datagrams are dropped at send time: the network decides a datagram's fate
once, as a real link would, so a retransmission is a new, independent draw.

Messages carried beside the bytes: a sender that built a SIP message may hand it
over with its bytes (`send(data, address, message)`), and a receiver that asks
(`receive_carried`) gets it back beside them, so the SIP transport can give its
endpoint a copy (`dialer.sip.message.received_copy`) instead of parsing the
bytes again. The bytes are still made and delivered as they would be on a real
network; with `check_carried` (on in the test suite, `DIALER_SIM_CHECK_CARRIED=1`)
every carried message is checked against what parsing its bytes gives.
See docs/SIMULATOR.md, "Messages carried beside the bytes".
"""

from __future__ import annotations

import errno
import heapq
import itertools
import math
import os
import random
from dataclasses import dataclass

import trio

from dialer.clock import clock_reading
from dialer.net import Address

FIRST_EPHEMERAL_PORT = 49152
LAST_PORT = 65535
WILDCARD_HOSTS = ("0.0.0.0", "")
CHECK_CARRIED_ENV = "DIALER_SIM_CHECK_CARRIED"


def check_carried_default() -> bool:
    """Whether networks check carried messages against their bytes unless told (the test
    suite sets DIALER_SIM_CHECK_CARRIED=1)."""
    return os.environ.get(CHECK_CARRIED_ENV, "") not in ("", "0")


@dataclass
class NetworkStats:
    sent: int = 0
    delivered: int = 0  # queued at a bound socket
    lost: int = 0  # dropped by the configured loss
    unroutable: int = 0  # nobody bound at the destination
    overflowed: int = 0  # the receiver's queue was full

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class Link:
    """Impairment on the path to one destination address (overrides the network default)."""

    loss: float = 0.0
    latency: float = 0.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.loss <= 1.0:
            raise ValueError(f"loss {self.loss} is not between 0 and 1")
        if self.latency < 0 or self.jitter < 0:
            raise ValueError("latency and jitter must not be negative")


class MemoryNetwork:
    """Datagrams between sockets bound on this object; nothing touches the OS.

    `loss` is the chance each datagram is dropped, `latency` the one-way delay
    in seconds and `jitter` an extra uniform delay in [0, jitter) (so datagrams
    may be reordered, as on a real network). `queue_limit` caps each socket's
    queue like a kernel receive buffer (None: unbounded).

    `carry_messages`: datagrams may carry the sender's SIP message beside their bytes
    (see the module's docstring); False delivers bytes only, as a real network does.
    `check_carried`: check every carried message against its bytes (None: as
    `DIALER_SIM_CHECK_CARRIED` says).
    """

    def __init__(self, loss: float = 0.0, latency: float = 0.0, jitter: float = 0.0,
                 seed: int | str | None = 0, queue_limit: int | None = None, *,
                 carry_messages: bool = True, check_carried: bool | None = None):
        self.default_link = Link(loss, latency, jitter)
        self._links: dict[Address, Link] = {}
        self._rng = random.Random(seed)
        self._sockets: dict[Address, MemorySocket] = {}
        self._ports = itertools.cycle(range(FIRST_EPHEMERAL_PORT, LAST_PORT + 1))
        self._seq = itertools.count()
        self._now = clock_reading()  # reads trio's clock, one call deep
        self.queue_limit = queue_limit
        self.stats = NetworkStats()
        self.carry_messages = carry_messages
        self.check_carried = check_carried_default() if check_carried is None else check_carried
        self.immediate = True       # no link delays a datagram: each is due when sent
        self._update_immediate()

    def _update_immediate(self) -> None:
        self.immediate = all(not link.latency and not link.jitter
                             for link in (self.default_link, *self._links.values()))

    @classmethod
    def from_config(cls, config, seed: int | str | None = 0, **kwargs) -> "MemoryNetwork":
        """From a profile's `[network]` table (`sim.profile.NetworkConfig`)."""
        return cls(loss=config.loss, latency=config.latency, jitter=config.jitter, seed=seed, **kwargs)

    def set_link(self, destination: Address, loss: float = 0.0, latency: float = 0.0,
                 jitter: float = 0.0) -> None:
        """Impair only the datagrams sent to `destination`."""
        self._links[destination] = Link(loss, latency, jitter)
        self._update_immediate()

    async def bind(self, host: str = "127.0.0.1", port: int = 0) -> MemorySocket:
        await trio.lowlevel.checkpoint()
        if not 0 <= port <= LAST_PORT:
            raise OSError(errno.EINVAL, f"port {port} out of range")
        if port == 0:
            port = self._free_port(host)
        elif (host, port) in self._sockets:
            raise OSError(errno.EADDRINUSE, f"{host}:{port} is already bound")
        sock = MemorySocket(self, (host, port))
        self._sockets[(host, port)] = sock
        return sock

    def _free_port(self, host: str) -> int:
        for _ in range(LAST_PORT - FIRST_EPHEMERAL_PORT + 1):
            port = next(self._ports)
            if (host, port) not in self._sockets:
                return port
        raise OSError(errno.EADDRINUSE, f"no free port left on {host}")

    def _unbind(self, sock: MemorySocket) -> None:
        if self._sockets.get(sock.local_address) is sock:
            del self._sockets[sock.local_address]

    def _find(self, address: Address) -> MemorySocket | None:
        sock = self._sockets.get(address)
        if sock is None:
            for wildcard in WILDCARD_HOSTS:
                sock = self._sockets.get((wildcard, address[1]))
                if sock is not None:
                    break
        return sock

    def _route(self, data: bytes, source: Address, destination: Address, message=None) -> None:
        self.stats.sent += 1
        link = self._links.get(destination, self.default_link)
        # Draw in a fixed order (loss, then jitter) so a seed replays exactly.
        if link.loss and self._rng.random() < link.loss:
            self.stats.lost += 1
            return
        delay = link.latency
        if link.jitter:
            delay += self._rng.random() * link.jitter
        target = self._find(destination)
        if target is None:
            self.stats.unroutable += 1
            return
        if self.queue_limit is not None and len(target._heap) >= self.queue_limit:
            self.stats.overflowed += 1
            return
        self.stats.delivered += 1
        target._enqueue(self._now() + delay, next(self._seq), data, source, message)


class MemorySocket:
    def __init__(self, network: MemoryNetwork, address: Address):
        self._network = network
        self._now = network._now
        self.local_address: Address = address
        # (deliver at, seq, bytes, source, the sender's message or None)
        self._heap: list[tuple[float, int, bytes, Address, object]] = []
        self.carries_messages = network.carry_messages
        self.check_carried = network.check_carried
        # Receivers parked until a datagram comes (or close), woken in the order they parked,
        # as a trio ParkingLot would, without its bookkeeping (a wake-up per datagram).
        self._parked: list = []
        # The cancel scopes of receivers waiting for the head of the queue to be due.
        # A datagram that becomes the new head moves their deadline instead of waking
        # them to re-arm it: in a virtual day a receiver wakes once per delivery instant.
        self._waiting: list[trio.CancelScope] = []
        # Receivers parked with no deadline at all (nothing queued, no delay on the network).
        self._bare = 0
        self._closed = False

    async def send(self, data: bytes, address: Address, message=None) -> None:
        """Send `data`; `message`: the SIP message whose bytes these are, carried beside
        them if the network `carries_messages` (see the module's docstring)."""
        if self._closed:
            raise trio.ClosedResourceError("socket was closed")
        # A cancellation point but not a yield, like the real UDP socket's send (a
        # datagram send never blocks): yielding here cost a scheduler pass per message.
        await trio.lowlevel.checkpoint_if_cancelled()
        self._network._route(bytes(data), self.local_address, (address[0], int(address[1])),
                             message if self.carries_messages else None)

    async def receive(self) -> tuple[bytes, Address]:
        entry = await self._receive_entry()
        return entry[2], entry[3]

    async def receive_carried(self) -> tuple[bytes, Address, object]:
        """`receive()`, with the message carried beside the bytes (None if none was)."""
        entry = await self._receive_entry()
        return entry[2], entry[3], entry[4]

    async def _receive_entry(self) -> tuple:
        yielded = False  # a receive is a checkpoint: it yields once, by parking or not
        while True:
            if self._closed:
                if not yielded:
                    await trio.lowlevel.checkpoint()
                raise trio.ClosedResourceError("socket was closed")
            heap = self._heap
            deadline = heap[0][0] if heap else math.inf
            if heap and deadline <= self._now():  # (no clock read for an empty queue)
                if yielded:
                    return heapq.heappop(heap)
                await trio.lowlevel.checkpoint()  # data waiting: still let others run first
                yielded = True
                continue
            if not heap and self._network.immediate:
                # Nothing queued and every datagram is due when sent: no deadline to wait
                # for, so no cancel scope (entering and leaving one costs more than the
                # rest of an idle wait). `_enqueue` wakes us; should a delayed datagram come
                # after all (a link given latency meanwhile), it wakes us to re-arm.
                self._bare += 1
                try:
                    await self._park()
                finally:
                    self._bare -= 1
                yielded = True
                continue
            # Wake when the head is due (the deadline moves earlier if a datagram with an
            # earlier delivery time arrives meanwhile), or on close.
            with trio.CancelScope(deadline=deadline) as scope:
                self._waiting.append(scope)
                try:
                    await self._park()
                finally:
                    self._waiting.remove(scope)
            yielded = True

    def receive_nowait(self) -> tuple[bytes, Address] | None:
        """The next datagram if one is due now, else None (lets the endpoint take every
        datagram due at this instant in one wake-up, as it does with a real socket)."""
        heap = self._heap
        if heap and not self._closed and heap[0][0] <= self._now():
            _, _, data, source, _ = heapq.heappop(heap)
            return data, source
        return None

    def receive_nowait_carried(self) -> tuple[bytes, Address, object] | None:
        """`receive_nowait()`, with the message carried beside the bytes (None if none was)."""
        heap = self._heap
        if heap and not self._closed and heap[0][0] <= self._now():
            return heapq.heappop(heap)[2:]
        return None

    def _enqueue(self, deliver_at: float, seq: int, data: bytes, source: Address,
                 message=None) -> None:
        heapq.heappush(self._heap, (deliver_at, seq, data, source, message))
        if self._heap[0][1] == seq and (self._waiting or self._bare):  # now first in line
            if self._bare or deliver_at <= self._now():
                # Due now (a network without latency): wake the receivers outright. Moving
                # their deadline to now would wake them in the same pass, but through a
                # Cancelled exception raised in and caught by their cancel scope, which
                # costs more than the whole wake-up otherwise does. (Receivers parked
                # without a deadline are woken for any datagram: to take it, or re-arm.)
                self._unpark_all()
                return
            for scope in self._waiting:
                if deliver_at < scope.deadline:
                    scope.deadline = deliver_at

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._heap.clear()
            self._network._unbind(self)
            self._unpark_all()

    async def _park(self) -> None:
        task = trio.lowlevel.current_task()
        parked = self._parked
        parked.append(task)

        def abort(_raise_cancel) -> trio.lowlevel.Abort:
            parked.remove(task)
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    def _unpark_all(self) -> None:
        parked = self._parked
        if parked:
            self._parked = []
            for task in parked:
                trio.lowlevel.reschedule(task)

    def __repr__(self) -> str:
        return f"<MemorySocket {self.local_address[0]}:{self.local_address[1]}>"


class LossyNetwork:
    """Any network (e.g. real UDP) with datagrams dropped at random, both ways.

    Latency is not simulated here: delaying real datagrams would need a task
    per socket; the in-memory network models latency and jitter instead.
    """

    def __init__(self, inner, loss: float, seed: int | str | None = 0):
        if not 0.0 <= loss <= 1.0:
            raise ValueError(f"loss {loss} is not between 0 and 1")
        self.inner = inner
        self.loss = loss
        self._rng = random.Random(seed)
        self.stats = NetworkStats()

    def _lost(self) -> bool:
        if self.loss and self._rng.random() < self.loss:
            self.stats.lost += 1
            return True
        return False

    async def bind(self, host: str = "127.0.0.1", port: int = 0) -> "LossySocket":
        return LossySocket(self, await self.inner.bind(host, port))


class LossySocket:
    def __init__(self, network: LossyNetwork, sock):
        self._network = network
        self._sock = sock
        self.local_address: Address = sock.local_address

    async def send(self, data: bytes, address: Address) -> None:
        self._network.stats.sent += 1
        if self._network._lost():
            await trio.lowlevel.checkpoint()
            return
        await self._sock.send(data, address)

    async def receive(self) -> tuple[bytes, Address]:
        while True:
            data, address = await self._sock.receive()
            if not self._network._lost():
                self._network.stats.delivered += 1
                return data, address

    def close(self) -> None:
        self._sock.close()



def profile_networks(config, *, virtual: bool, seed: int | str | None = 0):
    """(the dialer's network, the carrier's network) for a profile's `[network]` table.

    Virtual time: one in-memory network with the profile's loss, latency and jitter, for
    every socket (the operator phones' too). Real UDP: real sockets; the carrier's are wrapped
    in `LossyNetwork` with the profile's loss, so each datagram between the dialer and the
    carrier is dropped with that chance exactly once (it drops on send and on receive, and
    every datagram the carrier handles passes one of the two). Latency and jitter are not
    simulated on real sockets (see LossyNetwork)."""
    if virtual:
        network = MemoryNetwork.from_config(config, seed=seed)
        return network, network
    from dialer.net import UdpNetwork

    return UdpNetwork(), (LossyNetwork(UdpNetwork(), config.loss, seed=seed) if config.loss else UdpNetwork())
