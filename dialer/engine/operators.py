"""Operators: who is logged in, who is free, and who gets the next live call.

An operator is in exactly one state at a time:

    logged_out ──login──▶ paused("login") ──ready──▶ ready ──reserve──▶ reserved
    reserved ──connect──▶ on_call ──hangup──▶ wrap_up ──wrap──▶ ready (or paused / logged_out)
    reserved ──release──▶ ready        (the bridge failed before the phone answered)
    ready ⇄ paused(reason)             (pause / ready)

The transitions are one table (`TRANSITIONS`); nothing else changes a state.
A pause or log-out asked for while the operator is busy (reserved, on a call or
in wrap-up) is remembered and applied when the wrap code is set, so a call is
never cut short by a button press.

The `OperatorDesk` is the Python API that operator phones (the simulator now,
HTTP later) and the engine call. The engine asks for the **longest-idle ready
operator**; if none is ready it may wait (up to the 2 s abandon limit), queued
first come, first served behind other waiting calls. When an operator becomes
ready while calls wait, that operator goes straight to the oldest waiting call.

Time comes from `now` (default `trio.current_time`), so this runs under
MockClock. Per-state seconds are accounted for occupancy figures.
"""

from __future__ import annotations

import collections
import datetime as dt
import enum
import itertools
from bisect import bisect_left, insort
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import trio


class OperatorState(str, enum.Enum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    RESERVED = "reserved"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


S = OperatorState

# (state, event) -> next state. Events not listed are refused.
TRANSITIONS: dict[tuple[OperatorState, str], OperatorState] = {
    (S.LOGGED_OUT, "login"): S.PAUSED,
    (S.PAUSED, "ready"): S.READY,
    (S.PAUSED, "pause"): S.PAUSED,          # change of reason
    (S.READY, "ready"): S.READY,            # idempotent; keeps the place in line
    (S.READY, "pause"): S.PAUSED,
    (S.READY, "reserve"): S.RESERVED,
    (S.RESERVED, "release"): S.READY,
    (S.RESERVED, "connect"): S.ON_CALL,
    (S.ON_CALL, "hangup"): S.WRAP_UP,
    (S.WRAP_UP, "wrap"): S.READY,           # or PAUSED / LOGGED_OUT when asked for meanwhile
    (S.READY, "logout"): S.LOGGED_OUT,
    (S.PAUSED, "logout"): S.LOGGED_OUT,
}

BUSY = (S.RESERVED, S.ON_CALL, S.WRAP_UP)


class OperatorError(Exception):
    """A request the operator's current state does not allow; the message says which."""


@dataclass
class CallInfo:
    """What the desk knows of the call an operator is on (for the wrap)."""

    attempt_id: int | None = None
    lead_id: int | None = None
    campaign_id: int | None = None
    extra: dict = field(default_factory=dict)
    number: str | None = None                    # the number called


@dataclass
class Operator:
    id: int
    name: str
    sip_user: str | None = None
    campaigns: frozenset[int] | None = None     # None: any campaign
    state: OperatorState = S.LOGGED_OUT
    reason: str | None = None                    # pause reason
    since: float = 0.0                           # entered the current state at
    idle_since: float = 0.0                      # place in the ready line (longest idle first)
    idle_seq: int = 0                            # tie-break for equal idle_since
    contact: Any = None                          # where the phone rings (set by the registrar)
    call: CallInfo | None = None
    last_campaign_id: int | None = None          # campaign of the last call (for wrap-up events)
    talk_started: float = 0.0
    wrap_started: float = 0.0
    pending: tuple[str, str | None] | None = None  # ("pause", reason) or ("logout", None)
    seconds: dict[OperatorState, float] = field(default_factory=lambda: collections.defaultdict(float))
    calls: int = 0

    def serves(self, campaign_id: int | None) -> bool:
        return campaign_id is None or self.campaigns is None or campaign_id in self.campaigns

    def as_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "state": self.state.value, "reason": self.reason,
                "calls": self.calls, "lead_id": self.call.lead_id if self.call else None}


def callback_owner(op: "Operator", call: CallInfo, callback_at: dt.datetime | None) -> int | None:
    """Whose callback a wrap schedules: the wrapping operator's own unless the desk said
    otherwise (the web's "only me" box, or a simulated operator, puts `callback_owner` in the
    call's extra: an operator id, or None for campaign-wide). No callback, no owner."""
    if callback_at is None:
        return None
    return call.extra["callback_owner"] if "callback_owner" in call.extra else op.id


WrapHook = Callable[[Operator, CallInfo, str, str | None, dt.datetime | None], Awaitable[None]]
Listener = Callable[[Operator, OperatorState, OperatorState], None]


class _Waiter:
    __slots__ = ("campaign_id", "event", "operator", "exclude")

    def __init__(self, campaign_id: int | None, exclude: frozenset[int] = frozenset()):
        self.campaign_id = campaign_id
        self.exclude = exclude
        self.event = trio.Event()
        self.operator: Operator | None = None


class OperatorDesk:
    """The operators of one engine: state machine, ready line, Python API."""

    def __init__(self, *, now: Callable[[], float] = trio.current_time,
                 on_wrap: WrapHook | None = None, listeners: list[Listener] | None = None,
                 require_phone: bool = False):
        self._now = now
        # With SIP bridging an operator without a registered phone cannot take a call, so
        # may not be ready (and is paused when the phone's registration goes away).
        self.require_phone = require_phone
        self._on_wrap = on_wrap
        self.listeners: list[Listener] = list(listeners or [])
        self.operators: dict[int, Operator] = {}
        self._by_name: dict[str, Operator] = {}
        self._waiters: collections.deque[_Waiter] = collections.deque()
        self._order = itertools.count()
        # The ready operators, longest idle first: (idle_since, idle_seq, id), kept by `_move`,
        # so finding the longest-idle one is a look at the front, not a walk over everyone.
        self._ready_line: list[tuple[float, int, int]] = []

    # ---- registry ---------------------------------------------------------------
    def add(self, id: int, name: str, *, sip_user: str | None = None,
            campaigns: frozenset[int] | set[int] | None = None) -> Operator:
        if id in self.operators:
            raise OperatorError(f"operator {id} is already on the desk")
        op = Operator(id, name, sip_user, frozenset(campaigns) if campaigns is not None else None,
                      since=self._now())
        self.operators[id] = op
        self._by_name[name] = op
        return op

    def get(self, ref: int | str) -> Operator:
        op = self.operators.get(ref) if isinstance(ref, int) else self._by_name.get(ref)
        if op is None:
            raise OperatorError(f"no operator {ref!r}")
        return op

    def set_contact(self, ref: int | str, contact: Any) -> None:
        """Where the operator's phone rings (the registrar calls this on REGISTER)."""
        op = self.get(ref)
        op.contact = contact
        if contact is None and self.require_phone and op.state is S.READY:
            self._move(op, "pause", reason="no phone")

    # ---- the operator's own API (phones, HTTP) ----------------------------------
    def login(self, ref: int | str, *, ready: bool = False) -> Operator:
        op = self.get(ref)
        self._move(op, "login", reason="login")
        if ready:
            self.ready(op.id)
        return op

    def logout(self, ref: int | str) -> Operator:
        op = self.get(ref)
        if op.state in BUSY:
            op.pending = ("logout", None)
            return op
        self._move(op, "logout")
        return op

    def ready(self, ref: int | str) -> Operator:
        op = self.get(ref)
        if op.state in BUSY:
            if op.pending is not None and op.pending[0] == "pause":
                op.pending = None   # "ready" cancels a pause asked for during the call
                return op
            raise OperatorError(f"operator {op.name} is {op.state.value}: set a wrap code first")
        if self.require_phone and op.contact is None:
            raise OperatorError(f"operator {op.name} has no registered phone")
        self._move(op, "ready")
        return op

    def pause(self, ref: int | str, reason: str = "break") -> Operator:
        op = self.get(ref)
        if op.state in BUSY:
            op.pending = ("pause", reason)
            return op
        self._move(op, "pause", reason=reason)
        return op

    async def wrap(self, ref: int | str, code: str, notes: str | None = None,
                   callback_at: dt.datetime | None = None) -> Operator:
        """Set the wrap code of the call just ended; then ready (or the pause/log-out asked for).

        The engine's hook stores it first (lead's next state, callback); if that
        refuses (unknown code, callback in the past) the operator stays in wrap-up.
        """
        op = self.get(ref)
        if op.state is not S.WRAP_UP:
            raise OperatorError(f"operator {op.name} is {op.state.value}, not in wrap-up")
        call = op.call or CallInfo()
        if self._on_wrap is not None:
            await self._on_wrap(op, call, code, notes, callback_at)
        if op.state is not S.WRAP_UP:  # pragma: no cover - guarded by the check above
            return op
        op.call = None
        pending, op.pending = op.pending, None
        self._move(op, "wrap")
        if pending is not None:
            kind, reason = pending
            self._move(op, "pause", reason=reason) if kind == "pause" else self._move(op, "logout")
        return op

    # ---- the engine's API -------------------------------------------------------
    def ready_count(self, campaign_id: int | None = None) -> int:
        return sum(1 for op in self.operators.values() if op.state is S.READY and op.serves(campaign_id))

    def counts(self) -> dict[str, int]:
        result = {s.value: 0 for s in OperatorState}
        for op in self.operators.values():
            result[op.state.value] += 1
        return result

    def longest_idle(self, campaign_id: int | None = None, exclude=frozenset()) -> Operator | None:
        operators = self.operators
        for _, _, op_id in self._ready_line:
            op = operators[op_id]
            if op.serves(campaign_id) and op_id not in exclude:
                return op
        return None

    def try_reserve(self, campaign_id: int | None = None, exclude=frozenset()) -> Operator | None:
        """Reserve the longest-idle ready operator now, or None."""
        op = self.longest_idle(campaign_id, exclude)
        if op is not None:
            self._move(op, "reserve")
        return op

    def reserve_this(self, op: Operator) -> None:
        """Reserve one given ready operator (preview: they asked for a lead themselves)."""
        self._move(op, "reserve")

    async def reserve(self, campaign_id: int | None = None, *, timeout: float,
                      exclude=frozenset()) -> Operator | None:
        """Reserve the longest-idle ready operator, waiting up to `timeout` seconds in line.

        Calls already waiting are served first: a new call does not jump the queue.
        """
        if not self._waiters:
            op = self.try_reserve(campaign_id, exclude)
            if op is not None:
                return op
        waiter = _Waiter(campaign_id, frozenset(exclude))
        self._waiters.append(waiter)
        try:
            with trio.move_on_after(timeout):
                await waiter.event.wait()
        finally:
            if waiter.operator is None:
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    pass
        return waiter.operator

    def waiting(self) -> int:
        return len(self._waiters)

    def release(self, op: Operator) -> None:
        """Give back a reservation that did not become a call; the operator keeps their place."""
        self._move(op, "release", keep_place=True)

    def connect(self, op: Operator, call: CallInfo) -> None:
        op.call = call
        op.last_campaign_id = call.campaign_id
        op.calls += 1
        self._move(op, "connect")

    def hangup(self, op: Operator) -> None:
        self._move(op, "hangup")

    # ---- accounting ---------------------------------------------------------------
    def seconds_by_state(self, ref: int | str | None = None) -> dict[str, float]:
        """Seconds spent in each state so far (all operators, or one), current stretch included."""
        now = self._now()
        ops = [self.get(ref)] if ref is not None else list(self.operators.values())
        total: dict[str, float] = {s.value: 0.0 for s in OperatorState}
        for op in ops:
            for state, secs in op.seconds.items():
                total[state.value] += secs
            total[op.state.value] += now - op.since
        return total

    def occupancy(self) -> float:
        """(talk + wrap) / logged-in time, over all operators so far."""
        s = self.seconds_by_state()
        logged_in = sum(v for k, v in s.items() if k != S.LOGGED_OUT.value)
        busy = s[S.ON_CALL.value] + s[S.WRAP_UP.value]
        return busy / logged_in if logged_in else 0.0

    # ---- the one place states change ----------------------------------------------
    def _move(self, op: Operator, event: str, *, reason: str | None = None, keep_place: bool = False) -> None:
        old = op.state
        new = TRANSITIONS.get((old, event))
        if new is None:
            raise OperatorError(f"operator {op.name} cannot {event} while {old.value}")
        now = self._now()
        op.seconds[old] += now - op.since
        op.since = now
        op.state = new
        op.reason = reason if new is S.PAUSED else None
        if new is not old:
            if old is S.READY:
                line = self._ready_line
                del line[bisect_left(line, (op.idle_since, op.idle_seq, op.id))]
            elif new is S.READY:
                if not keep_place:
                    op.idle_since, op.idle_seq = now, next(self._order)
                insort(self._ready_line, (op.idle_since, op.idle_seq, op.id))
        if new is S.ON_CALL:
            op.talk_started = now
        elif new is S.WRAP_UP:
            op.wrap_started = now
        if new is S.LOGGED_OUT:
            op.pending = None
        for listener in self.listeners:
            listener(op, old, new)
        if new is S.READY:
            self._hand_to_waiter(op)

    def _hand_to_waiter(self, op: Operator) -> None:
        for waiter in self._waiters:
            if op.serves(waiter.campaign_id) and op.id not in waiter.exclude:
                self._waiters.remove(waiter)
                self._move(op, "reserve")
                waiter.operator = op
                waiter.event.set()
                return
