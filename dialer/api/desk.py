"""The operator desk: what the HTTP API asks of the engine's operator side.

The engine (issue 8) owns the operator state machine (logged out, ready,
reserved, on call, wrap-up, paused) and its Python API. The HTTP layer talks
to it only through `OperatorDesk`, so the engine can be passed to
`create_app` as the desk. Until the engine is wired in, `LocalDesk` keeps the
same states in memory so the pages, the API and their tests run on their own;
a (simulated) call reaches an operator through `LocalDesk.offer_call`, the
hook the engine's bridge will call.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from typing import Iterator, Protocol

import trio

from dialer.clock import Clock
from dialer.store.web import operator_wrap

STATES = ("logged_out", "ready", "reserved", "on_call", "wrap_up", "paused")


class DeskError(Exception):
    """An operator action that is not possible now; `status` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.status = status


class OperatorDesk(Protocol):
    async def login(self, operator_id: int, campaign_id: int) -> dict: ...
    async def logout(self, operator_id: int) -> dict: ...
    async def ready(self, operator_id: int) -> dict: ...
    async def pause(self, operator_id: int, reason: str) -> dict: ...
    async def wrap(self, operator_id: int, *, code: str, notes: str | None,
                   callback_at: dt.datetime | None, callback_owned: bool) -> dict: ...
    async def preview_next(self, operator_id: int) -> dict: ...
    async def preview_dial(self, operator_id: int) -> dict: ...
    async def preview_skip(self, operator_id: int) -> dict: ...
    def status(self, operator_id: int) -> dict: ...
    def statuses(self) -> list[dict]: ...
    def subscribe(self, operator_id: int) -> contextlib.AbstractContextManager[trio.MemoryReceiveChannel]: ...


@dataclass
class _Operator:
    operator_id: int
    campaign_id: int | None = None
    state: str = "logged_out"
    reason: str | None = None
    since: float = 0.0
    logged_in_at: float | None = None
    busy_seconds: float = 0.0       # on call + wrap-up, for occupancy
    call: dict | None = None        # {"attempt_id", "lead_id"} while on call / in wrap-up
    listeners: list[trio.MemorySendChannel] = field(default_factory=list)


class LocalDesk:
    """Operator states in memory, with the transitions the engine will enforce."""

    def __init__(self, store, clock: Clock | None = None):
        self.store = store
        self.clock = clock
        self._ops: dict[int, _Operator] = {}

    def _now(self) -> float:
        return trio.current_time()

    def now(self) -> dt.datetime:
        if self.clock is None:
            self.clock = Clock()
        return self.clock.now()

    def _op(self, operator_id: int) -> _Operator:
        return self._ops.setdefault(operator_id, _Operator(operator_id))

    def _move(self, op: _Operator, state: str, reason: str | None = None) -> dict:
        now = self._now()
        if op.state in ("on_call", "wrap_up"):
            op.busy_seconds += now - op.since
        op.state, op.reason, op.since = state, reason, now
        snapshot = self.status(op.operator_id)
        for channel in list(op.listeners):
            try:
                channel.send_nowait(snapshot)
            except trio.WouldBlock:
                pass  # a slow page misses an intermediate state; the next one is complete
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                op.listeners.remove(channel)
        return snapshot

    def _require(self, op: _Operator, *allowed: str, action: str) -> None:
        if op.state not in allowed:
            raise DeskError(f"cannot {action} while {op.state.replace('_', ' ')}")

    async def login(self, operator_id: int, campaign_id: int) -> dict:
        op = self._op(operator_id)
        self._require(op, "logged_out", action="log in")
        op.campaign_id, op.logged_in_at, op.busy_seconds = campaign_id, self._now(), 0.0
        return self._move(op, "paused", "logged in")

    async def logout(self, operator_id: int) -> dict:
        op = self._op(operator_id)
        self._require(op, "ready", "paused", action="log out")
        op.campaign_id = op.logged_in_at = None
        return self._move(op, "logged_out")

    async def ready(self, operator_id: int) -> dict:
        op = self._op(operator_id)
        self._require(op, "paused", "ready", action="go ready")
        return self._move(op, "ready")

    async def pause(self, operator_id: int, reason: str) -> dict:
        op = self._op(operator_id)
        self._require(op, "ready", "paused", action="pause")
        return self._move(op, "paused", reason)

    async def wrap(self, operator_id: int, *, code: str, notes: str | None,
                   callback_at: dt.datetime | None, callback_owned: bool) -> dict:
        op = self._op(operator_id)
        self._require(op, "on_call", "wrap_up", action="wrap up")
        call = op.call
        # The lifecycle's wrap: lead's next state, DNC, callback and notes in one transaction.
        result = await self.store.run(operator_wrap, call["lead_id"], call["attempt_id"], operator_id, code, notes,
                                      callback_at, operator_id if callback_owned else None, self.now())
        op.call = None
        self._move(op, "ready")
        return result

    async def preview_next(self, operator_id: int) -> dict:
        raise DeskError("preview mode needs the dialing engine (`dialer run`)", 503)

    preview_dial = preview_skip = preview_next

    # -- the engine side: a bridged call reaches an operator ------------------------------
    def offer_call(self, operator_id: int, lead_id: int, attempt_id: int) -> dict:
        op = self._op(operator_id)
        self._require(op, "ready", action="take a call")
        op.call = {"attempt_id": attempt_id, "lead_id": lead_id}
        return self._move(op, "on_call")

    def end_call(self, operator_id: int) -> dict:
        op = self._op(operator_id)
        self._require(op, "on_call", action="hang up")
        return self._move(op, "wrap_up")

    # -- reading ---------------------------------------------------------------------------
    def status(self, operator_id: int) -> dict:
        op = self._op(operator_id)
        now = self._now()
        return {"operator_id": op.operator_id, "state": op.state, "reason": op.reason,
                "campaign_id": op.campaign_id, "seconds_in_state": round(now - op.since, 1),
                "call": dict(op.call) if op.call else None}

    def statuses(self) -> list[dict]:
        out = []
        now = self._now()
        for op in self._ops.values():
            if op.state == "logged_out":
                continue
            snapshot = self.status(op.operator_id)
            busy = op.busy_seconds + (now - op.since if op.state in ("on_call", "wrap_up") else 0.0)
            logged = now - (op.logged_in_at or now)
            snapshot["occupancy"] = round(busy / logged, 3) if logged > 0 else None
            out.append(snapshot)
        return out

    @contextlib.contextmanager
    def subscribe(self, operator_id: int) -> Iterator[trio.MemoryReceiveChannel]:
        send, receive = trio.open_memory_channel(16)
        op = self._op(operator_id)
        op.listeners.append(send)
        send.send_nowait(self.status(operator_id))
        try:
            yield receive
        finally:
            if send in op.listeners:
                op.listeners.remove(send)
            send.close()

