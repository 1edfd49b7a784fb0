"""Trunks: where calls go, how many at once, how fast, and what to do when one fails.

A `Trunk` wraps one `dialer.config.TrunkConfig`: its address, number
rewriting (strip `+`, dial prefix), caller ID, credentials (password or an
environment variable), a channel limit, a token bucket for calls per second
and a circuit breaker (N consecutive trunk failures → out for T seconds, then
one half-open probe call). `TrunkPool` orders trunks for failover and
`pool.dial(endpoint, number, ...)` tries them in order while the outcome is
a trunk failure (5xx, transport timeout), which does not count as an attempt.

All timing comes from trio's clock, so this runs under MockClock.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Awaitable, Callable, Protocol

import trio

from . import outcome as outcomes
from .message import parse_uri

if TYPE_CHECKING:
    from dialer.config import TrunkConfig

    from .endpoint import Call, Endpoint


TRANSPORTS = ("udp", "tcp")


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up."""

    def __init__(self, rate: float, burst: float | None = None):
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._tokens = self.burst
        self._stamp: float | None = None
        self._queue = trio.Lock()           # waiters for a token, first come first served

    def _refill(self) -> None:
        now = trio.current_time()
        if self._stamp is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def has_token(self) -> bool:
        """Would `take()` return without waiting?"""
        self._refill()
        return self._tokens >= 1 - 1e-9   # float dust must not leave a token "almost" there

    def try_take(self) -> bool:
        if self.has_token():
            self._tokens = max(0.0, self._tokens - 1)
            return True
        return False

    async def take(self) -> None:
        # Tokens go in call order. Sleeping alone would not give that: waiters that came at
        # the same instant sleep to the same deadline, and trio wakes them in random order.
        # So the waiters queue on a fair lock; with nobody queued and a token there, no
        # checkpoint (a call sent from the launch round does not yield).
        if not self._queue.locked() and self.try_take():
            return
        async with self._queue:
            while not self.try_take():
                await trio.sleep(max(1e-6, (1 - self._tokens) / self.rate))


class CircuitBreaker:
    """closed → (N consecutive failures) → open for T s → half-open: one probe call;
    its success closes the breaker, its failure opens it again."""

    def __init__(self, failures: int, seconds: float):
        self.threshold = failures
        self.seconds = seconds
        self.consecutive = 0
        self.opened_at: float | None = None
        self.probing = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        if trio.current_time() - self.opened_at >= self.seconds:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """May a call start now? In half-open, only one probe at a time."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self.probing:
            self.probing = True
            return True
        return False

    def record(self, trunk_failure: bool) -> None:
        if trunk_failure:
            self.consecutive += 1
            if self.probing or self.consecutive >= self.threshold:
                self.opened_at = trio.current_time()
        else:
            self.consecutive = 0
            self.opened_at = None
        self.probing = False


class Trunk:
    """One trunk. `Trunk.from_config(cfg)` or `Trunk.from_uri("sip:host:port")`."""

    def __init__(self, name: str, host: str, port: int = 5060, *, transport: str = "udp",
                 username: str | None = None, password: str | None = None,
                 max_channels: int | None = None, max_cps: float | None = None,
                 dial_prefix: str = "", strip_plus: bool = True, caller_id: str | None = None,
                 order: int = 0, register: bool = False,
                 options_interval: float | None = None, breaker_failures: int = 5,
                 breaker_seconds: float = 30.0):
        self.name = name
        self.host = host
        self.port = port
        self.transport = transport.lower()   # "udp" or "tcp"
        self.username = username
        self.password = password
        self.max_channels = max_channels
        self.bucket = TokenBucket(max_cps) if max_cps else None
        self.dial_prefix = dial_prefix
        self.strip_plus = strip_plus
        self.caller_id = caller_id
        self.order = order
        self.register = register
        self.options_interval = options_interval
        self.breaker = CircuitBreaker(breaker_failures, breaker_seconds)
        self.in_use = 0
        self.placed = 0                       # INVITEs sent by `TrunkPool.place`, for the CPS gauge
        self.alive = True                     # last OPTIONS keep-alive answered
        self._channel_freed = trio.Event()

    @classmethod
    def from_config(cls, cfg: "TrunkConfig") -> "Trunk":
        password = cfg.password
        if password is None and cfg.password_env:
            password = os.environ.get(cfg.password_env)
        return cls(cfg.name, cfg.host, cfg.port, transport=cfg.transport, username=cfg.username,
                   password=password, max_channels=cfg.max_channels, max_cps=cfg.max_cps,
                   dial_prefix=cfg.dial_prefix, strip_plus=cfg.strip_plus, caller_id=cfg.caller_id,
                   order=cfg.order, register=cfg.register,
                   options_interval=cfg.options_interval_seconds,
                   breaker_failures=cfg.breaker_failures, breaker_seconds=cfg.breaker_seconds)

    @classmethod
    def from_uri(cls, uri: str, **kwargs) -> "Trunk":
        """`sip:HOST[:PORT][;transport=tcp]` (as `dialer call --trunk` takes it); no limits
        unless given. Raises ValueError for a transport other than udp or tcp."""
        parsed = parse_uri(uri if ":" in uri and uri.split(":", 1)[0] in ("sip", "sips") else
                           f"sip:{uri}")
        host, port = parsed.address
        transport = (parsed.params.get("transport") or "udp").lower()
        if transport not in TRANSPORTS:
            raise ValueError(f"transport={transport} is not supported (udp or tcp)")
        kwargs.setdefault("transport", transport)
        return cls(kwargs.pop("name", f"{host}:{port}"), host, port, **kwargs)

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def credentials(self) -> tuple[str, str] | None:
        if self.username and self.password is not None:
            return (self.username, self.password)
        return None

    def format_number(self, number: str) -> str:
        if self.strip_plus and number.startswith("+"):
            number = number[1:]
        return self.dial_prefix + number

    def request_uri(self, number: str) -> str:
        port = "" if self.port == 5060 else f":{self.port}"
        params = ";transport=tcp" if self.transport == "tcp" else ""
        return f"sip:{self.format_number(number)}@{self.host}{port}{params}"

    # --- capacity ----------------------------------------------------------------------

    @property
    def full(self) -> bool:
        """Every channel in use?"""
        return self.max_channels is not None and self.in_use >= self.max_channels

    @property
    def available(self) -> bool:
        """Usable for a new call right now (channel free, breaker closed, alive)?"""
        return not self.full and self.alive and self.breaker.state != "open"

    def free_now(self) -> bool:
        """Would `acquire()` return without waiting (a channel free and a CPS token there)?"""
        return not self.full and (self.bucket is None or self.bucket.has_token())

    async def acquire(self) -> None:
        """Wait for a free channel and a CPS token; then the call counts against the trunk."""
        while self.full:
            await self._channel_freed.wait()
        self.in_use += 1
        try:
            if self.bucket is not None:
                await self.bucket.take()
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        self.in_use -= 1
        self._channel_freed.set()
        self._channel_freed = trio.Event()

    def record(self, call: "Call") -> None:
        """Feed a finished call's result to the breaker."""
        self.breaker.record(outcomes.try_next_trunk(call.sip_status or 0,
                                                    transport_timeout=call.transport_timeout))

    def __repr__(self) -> str:
        return f"<Trunk {self.name} {self.host}:{self.port}>"


class NoTrunkAvailable(Exception):
    """Every trunk is out (breaker open, keep-alive failing) or the pool is empty."""


class TrunkPool:
    """Trunks in failover order (lowest `order` first)."""

    def __init__(self, trunks: list[Trunk]):
        self.trunks = sorted(trunks, key=lambda t: t.order)

    @classmethod
    def from_config(cls, configs) -> "TrunkPool":
        return cls([Trunk.from_config(c) for c in configs])

    def allows(self, address: tuple[str, int]) -> bool:
        """Is `address` one of our trunks? For `Endpoint(allow=...)`: requests from other
        sources get 403. Matched on host only: carriers often send from another port."""
        return any(t.host == address[0] for t in self.trunks)

    def candidates(self) -> list[Trunk]:
        return [t for t in self.trunks if t.alive and t.breaker.state != "open"]

    async def dial(self, endpoint: "Endpoint", number: str, **kwargs) -> "Call":
        """Place a call, failing over to the next trunk while the failure is the trunk's.

        Returns the call that decided the outcome (answered, busy, ... or the last
        failure): it waits for the call to be answered or ended. `place` is the same
        without a task waiting.
        """
        decided = _Decided()
        await self.place(endpoint, number, decided, **kwargs)
        return await decided.fate()

    async def place(self, endpoint: "Endpoint", number: str, watch: "Watch", **kwargs) -> None:
        """Send the INVITE and return: what comes later is told to `watch` (see `Watch`).

        The first trunk that may take a call (breaker, keep-alive; a full trunk is passed
        over for a later one with a free channel; if every trunk is full, the first is
        waited for) gets the INVITE now if `acquire()` would not wait, else from a task
        started with `watch.spawn`. A trunk failure (5xx, transport timeout) fails over to
        the next trunk, which does not count as an attempt; `watch.fated(call)` is told
        only of the call that decided the outcome. Raises NoTrunkAvailable if no trunk
        can take a call now.
        """
        candidates = self.candidates()
        candidates = [t for t in candidates if t.available] or candidates
        await _Placement(endpoint, number, kwargs, iter(candidates), watch).next_trunk()

    async def keep_alive(self, endpoint: "Endpoint") -> None:
        """OPTIONS keep-alives (and REGISTER refreshes) for every trunk that asks for them;
        run it in a nursery for the endpoint's lifetime."""
        async with trio.open_nursery() as nursery:
            for trunk in self.trunks:
                if trunk.options_interval:
                    nursery.start_soon(self._options_loop, endpoint, trunk)
                if trunk.register:
                    nursery.start_soon(self._register_loop, endpoint, trunk)

    async def _options_loop(self, endpoint: "Endpoint", trunk: Trunk) -> None:
        while True:
            status = await endpoint.options(trunk.address, transport=trunk.transport)
            trunk.alive = status is not None and status < 500
            await trio.sleep(trunk.options_interval)

    async def _register_loop(self, endpoint: "Endpoint", trunk: Trunk, expires: int = 300) -> None:
        while True:
            status = await endpoint.register(trunk, expires=expires)
            await trio.sleep(expires * 0.8 if status and 200 <= status < 300 else 30)


class Watch(Protocol):
    """Who placed a call through `TrunkPool.place`, told what becomes of it."""

    call: "Call | None"              # set to each leg as its INVITE leaves (what to hang up)

    def fated(self, call: "Call") -> None:
        """Once: `call` was answered or ended (and is not failed over). Runs synchronously
        in the endpoint's task that learnt it: it must not wait for anything."""

    def spawn(self, fn: Callable[[], Awaitable[None]]) -> None:
        """Run `await fn()` in a task (waiting for a channel or a CPS token, the next trunk)."""


class _Decided:
    """The `Watch` of `TrunkPool.dial`: its one task waits for the fate, and does in turn
    what `place` would have spawned."""

    def __init__(self):
        self.call: "Call | None" = None
        self._fate: "Call | None" = None
        self._todo: list[Callable[[], Awaitable[None]]] = []
        self._wake = trio.Event()

    def fated(self, call: "Call") -> None:
        self._fate = call
        self._wake.set()

    def spawn(self, fn: Callable[[], Awaitable[None]]) -> None:
        self._todo.append(fn)
        self._wake.set()

    async def fate(self) -> "Call":
        while self._fate is None:
            if self._todo:
                await self._todo.pop(0)()
            else:
                await self._wake.wait()
                self._wake = trio.Event()
        return self._fate


class _Placement:
    """One call through the pool: the trunks left to fail over to, and the last leg."""

    def __init__(self, endpoint: "Endpoint", number: str, kwargs: dict, trunks, watch: Watch):
        self.endpoint, self.number, self.kwargs = endpoint, number, kwargs
        self.trunks, self.watch = trunks, watch
        self.last: "Call | None" = None

    async def next_trunk(self) -> None:
        """INVITE on the next trunk whose breaker allows it, or tell the last leg's fate."""
        for trunk in self.trunks:
            if not trunk.breaker.allow():
                continue
            if trunk.free_now():
                await self._dial(trunk)
            else:
                self.watch.spawn(lambda: self._dial(trunk))
            return
        if self.last is None:
            raise NoTrunkAvailable("no trunk can take a call now")
        self.watch.fated(self.last)

    async def _dial(self, trunk: Trunk) -> None:
        call = self.watch.call = self.last = await self.endpoint.dial(trunk, self.number, **self.kwargs)
        trunk.placed += 1
        if call.state in ("answered", "ended"):     # a send that failed at once ends the call
            self._fated(call)
        else:
            call.on_fate = self._fated

    def _fated(self, call: "Call") -> None:
        if call.state == "answered" or not call.try_next_trunk:
            self.watch.fated(call)
        else:
            self.watch.spawn(self.next_trunk)


__all__ = ["Trunk", "TrunkPool", "TokenBucket", "CircuitBreaker", "NoTrunkAvailable"]
