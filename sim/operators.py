"""Simulated operators: phones that register with the dialer and people who wrap calls up.

Each operator has a SIP phone (its own endpoint and socket) that REGISTERs with
the dialer's registrar (answering its digest challenge) and refreshes the
binding, and a person who:

- logs in at a drawn offset from the start and says "ready";
- auto-answers a bridged call after a drawn delay (and answers the re-INVITE
  that joins media, which the endpoint does by itself), talks until the dialer
  hangs the leg up (the called party hung up), then wraps up for a drawn time
  and sets a wrap code, drawn by weight, through the dialer's operator API;
- takes the profile's breaks (pause, then ready again) and logs out at the end
  of the shift (and unregisters).

The operator API is the `OperatorDesk` protocol below; the engine's desk
(`dialer.engine.operators.OperatorDesk`) fits it as is. Methods may be plain
or async: the simulator awaits whatever returns an awaitable.
"""

from __future__ import annotations

import inspect
import logging
import math
import random
import sys
from dataclasses import dataclass, field
from typing import Any, Protocol

import trio

from dialer.net import Address, Network
from dialer.sip.endpoint import ENDED, Call, open_endpoint
from dialer.sip.sdp import SdpError, answer_offer, make_offer, parse_sdp
from dialer.sip.transaction import DEFAULT_TIMERS, TimerValues
from dialer.sip.trunk import Trunk

from .profile import Profile

log = logging.getLogger("sim.operators")

REGISTER_EXPIRES = 3600


class OperatorDesk(Protocol):
    """What an operator does at the dialer, by operator name (= SIP user)."""

    def login(self, operator: str) -> Any: ...  # logged in, not yet ready (paused)

    def ready(self, operator: str) -> Any: ...  # may receive calls

    def pause(self, operator: str, reason: str = "break") -> Any: ...  # no calls for now

    def wrap(self, operator: str, code: str, notes: str | None = None) -> Any: ...
    # sets the wrap code of the call just ended; the desk then makes the operator
    # ready again (or paused / logged out if that was asked for during the call)

    def logout(self, operator: str) -> Any: ...


async def _act(result: Any) -> Any:
    return await result if inspect.isawaitable(result) else result


class LoggingDesk:
    """A desk that only records (and optionally prints) what operators do:
    for standalone phones whose dialer has no operator API to call, and for tests."""

    def __init__(self, echo: bool = False):
        self.echo = echo
        self.actions: list[tuple[float, str, str, tuple]] = []

    def _record(self, operator: str, action: str, *args: Any) -> None:
        self.actions.append((trio.current_time(), operator, action, args))
        if self.echo:
            extra = " ".join(str(a) for a in args if a)
            print(f"{operator} {action} {extra}".rstrip(), file=sys.stderr, flush=True)

    def login(self, operator: str) -> None:
        self._record(operator, "login")

    def ready(self, operator: str) -> None:
        self._record(operator, "ready")

    def pause(self, operator: str, reason: str = "break") -> None:
        self._record(operator, "pause", reason)

    async def wrap(self, operator: str, code: str, notes: str | None = None) -> None:
        await trio.lowlevel.checkpoint()
        self._record(operator, "wrap", code, notes)

    def logout(self, operator: str) -> None:
        self._record(operator, "logout")


@dataclass
class OperatorStats:
    registered: bool = False
    calls: int = 0
    refused: int = 0  # INVITEs while busy or away (486/480)
    talk: float = 0.0
    wrap: float = 0.0
    breaks: int = 0
    codes: dict[str, int] = field(default_factory=dict)
    wrap_errors: int = 0

    def as_dict(self) -> dict:
        return {"registered": self.registered, "calls": self.calls, "refused": self.refused,
                "talk": round(self.talk, 6), "wrap": round(self.wrap, 6), "breaks": self.breaks,
                "codes": dict(sorted(self.codes.items())), "wrap_errors": self.wrap_errors}


class SimOperator:
    def __init__(self, team: "OperatorTeam", name: str, index: int):
        self.team = team
        self.name = name
        self.index = index
        self.stats = OperatorStats()
        self.available = False  # logged in and not on a break
        self.busy = False  # a call is ringing, up or in wrap-up
        self._idle = trio.Event()
        self._idle.set()
        self._calls = 0
        self._endpoint = None
        self._trunk: Trunk | None = None
        self._left = False

    def _rng(self, what: str) -> random.Random:
        return random.Random(f"{self.team.seed}/{self.name}/{what}")

    # --- the phone ---------------------------------------------------------------------

    async def on_call(self, call: Call) -> None:
        if self.busy or not self.available:
            self.stats.refused += 1
            await call.reject(486 if self.busy else 480)
            return
        self.busy = True
        self._idle = trio.Event()
        try:
            await self._take(call)
        finally:
            self.busy = False
            self._idle.set()

    async def _take(self, call: Call) -> None:
        cfg = self.team.profile.operators
        rng = self._rng(f"call{self._calls}")
        self._calls += 1
        answer_delay = cfg.answer_delay.dist.sample(rng)
        wrap_time = cfg.wrap.dist.sample(rng)
        code = self.team.draw_code(rng)
        await call.ring()
        with trio.move_on_after(answer_delay):
            await call.wait_for(ENDED)
        if call.state == ENDED:  # the dialer gave up on us (its bridge deadline)
            return
        try:
            offer = parse_sdp(call.remote_sdp) if call.remote_sdp else None
            media = self.team.media_address(self.index)
            sdp = answer_offer(offer, *media) if offer else make_offer(*media)
        except SdpError:
            await call.reject(488)
            return
        await call.answer(sdp.to_bytes())
        await call.wait_ended()
        self.stats.calls += 1
        self.stats.talk += call.talk_seconds
        await trio.sleep(wrap_time)
        self.stats.wrap += wrap_time
        await self._wrap(code, f"sim call {self._calls}")
        self.stats.codes[code] = self.stats.codes.get(code, 0) + 1

    async def _wrap(self, code: str, notes: str) -> None:
        # The dialer may learn that the call ended a moment after we do; retry briefly.
        for attempt in range(5):
            try:
                await _act(self.team.desk.wrap(self.name, code, notes))
                return
            except Exception as exc:  # the desk refused (e.g. not in wrap-up yet)
                self.stats.wrap_errors += 1
                log.debug("%s: wrap %s refused (%s)", self.name, code, exc)
                await trio.sleep(1.0)

    # --- the person's day --------------------------------------------------------------

    async def run(self, network: Network, host: str, registrar: Address) -> None:
        team = self.team
        cfg = team.profile.operators
        rng = self._rng("day")
        await trio.sleep(cfg.login.dist.sample(rng))
        async with open_endpoint(network, host, 0, handler=self.on_call, user=self.name,
                                 user_agent="dialer-sim-operator", timers=team.timers) as endpoint:
            trunk = Trunk("registrar", *registrar, username=self.name, password=team.password)
            status = await endpoint.register(trunk, expires=REGISTER_EXPIRES)
            if status != 200:
                log.warning("%s: REGISTER answered %s", self.name, status)
                team.register_failures += 1
                team._logged_in()
                return
            self.stats.registered = True
            self._endpoint, self._trunk = endpoint, trunk
            login_at = trio.current_time()
            await _act(team.desk.login(self.name))
            await _act(team.desk.ready(self.name))
            self.available = True
            team._logged_in()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._refresh, endpoint, trunk)
                for brk in sorted(cfg.breaks, key=lambda b: b.after):
                    if cfg.shift and brk.after >= cfg.shift:
                        break
                    await trio.sleep_until(login_at + brk.after)
                    await self._take_break(brk.length.dist.sample(rng))
                if cfg.shift:
                    await trio.sleep_until(login_at + cfg.shift)
                else:
                    await trio.sleep_forever()
                self.available = False
                await _act(team.desk.logout(self.name))  # the desk defers it during a call
                await self._idle.wait()
                nursery.cancel_scope.cancel()
            await self.leave()

    async def leave(self) -> None:
        """Log out (if not yet) and remove the phone's registration."""
        if self._left or self._endpoint is None:
            return
        self._left = True
        if self.available:
            self.available = False
            await _act(self.team.desk.logout(self.name))
        with trio.move_on_after(5):
            await self._endpoint.register(self._trunk, expires=0)

    async def _take_break(self, length: float) -> None:
        await _act(self.team.desk.pause(self.name, "break"))  # the desk defers it during a call
        self.available = False
        await self._idle.wait()
        self.stats.breaks += 1
        await trio.sleep(length)
        self.available = True
        await _act(self.team.desk.ready(self.name))

    async def _refresh(self, endpoint, trunk: Trunk) -> None:
        while True:
            await trio.sleep(REGISTER_EXPIRES / 2)
            await endpoint.register(trunk, expires=REGISTER_EXPIRES)


class OperatorTeam:
    """N simulated operators named PREFIX1..PREFIXN (their SIP users)."""

    def __init__(self, profile: Profile, desk: OperatorDesk, *, count: int | None = None,
                 seed: int | None = None, user_prefix: str = "op", password: str = "operator",
                 timers: TimerValues = DEFAULT_TIMERS, names: list[str] | None = None):
        self.profile = profile
        self.desk = desk
        self.seed = profile.seed if seed is None else seed
        self.password = password
        self.timers = timers
        count = profile.operators.count if count is None else count
        names = names or [f"{user_prefix}{i}" for i in range(1, count + 1)]
        self.operators = [SimOperator(self, name, i) for i, name in enumerate(names)]
        codes = profile.operators.wrap_codes or {"NI": 1.0}
        self._codes = sorted(codes)
        total = math.fsum(codes.values())
        acc = 0.0
        self._cum = []
        for code in self._codes:
            acc += codes[code] / total
            self._cum.append(acc)
        self.register_failures = 0
        self._pending = len(self.operators)
        self.all_logged_in = trio.Event()

    def draw_code(self, rng: random.Random) -> str:
        x = rng.random()
        for code, edge in zip(self._codes, self._cum):
            if x < edge:
                return code
        return self._codes[-1]

    def media_address(self, index: int) -> tuple[str, int]:
        return ("127.0.0.1", 20000 + 2 * index)

    def _logged_in(self) -> None:
        self._pending -= 1
        if self._pending <= 0:
            self.all_logged_in.set()

    async def run(self, network: Network, host: str, registrar: Address, *,
                  task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Run every operator's day; `nursery.start(team.run, ...)` returns at once."""
        async with trio.open_nursery() as nursery:
            for op in self.operators:
                nursery.start_soon(op.run, network, host, registrar)
            task_status.started(self)

    def summary(self) -> dict:
        rows = {op.name: op.stats.as_dict() for op in self.operators}
        codes: dict[str, int] = {}
        for op in self.operators:
            for code, n in op.stats.codes.items():
                codes[code] = codes.get(code, 0) + n
        return {"operators": rows,
                "registered": sum(op.stats.registered for op in self.operators),
                "register_failures": self.register_failures,
                "calls": sum(op.stats.calls for op in self.operators),
                "talk": round(math.fsum(op.stats.talk for op in self.operators), 6),
                "wrap": round(math.fsum(op.stats.wrap for op in self.operators), 6),
                "codes": dict(sorted(codes.items()))}
