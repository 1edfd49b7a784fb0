"""The engine's operator desk (dialer.engine.operators.OperatorDesk) behind the API's OperatorDesk.

The engine owns the state machine and the wrap rules; this adapter only
translates: operator ids and campaigns in, status snapshots and live updates
out, the engine's OperatorError into the API's DeskError. It imports nothing
from the engine, so the API keeps working on branches without it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Iterator

import trio

from dialer.store.web import operator_name

from .desk import DeskError


class EngineDesk:
    def __init__(self, desk, store, runners=None):
        self.desk = desk
        self.store = store
        # The engine's campaign runners, read when needed (they come and go with campaigns).
        self._runners = runners or (lambda: [])
        self._subscribers: dict[int, list[trio.MemorySendChannel]] = {}
        desk.listeners.append(self._changed)

    # -- translation -----------------------------------------------------------------------
    def _op(self, operator_id: int):
        op = self.desk.operators.get(operator_id)
        if op is None:
            raise DeskError("not logged in to dialing")
        return op

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except DeskError:
            raise
        except Exception as exc:
            # OperatorError (a state that forbids it) is 409; a refused wrap (unknown code,
            # callback in the past: the lifecycle's ValueErrors) is the caller's input, 400.
            if type(exc).__name__ == "OperatorError":
                raise DeskError(str(exc), 409) from None
            if isinstance(exc, (ValueError, LookupError)):
                raise DeskError(str(exc), 400) from None
            raise

    def _changed(self, op, old, new) -> None:
        snapshot = self.status(op.id)
        for channel in list(self._subscribers.get(op.id, ())):
            try:
                channel.send_nowait(snapshot)
            except trio.WouldBlock:
                pass
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._subscribers[op.id].remove(channel)

    # -- the operator's actions ------------------------------------------------------------
    async def login(self, operator_id: int, campaign_id: int) -> dict:
        with self._errors():
            op = self.desk.operators.get(operator_id)
            if op is None:
                name = await self.store.run(operator_name, operator_id)
                op = self.desk.add(operator_id, name, campaigns={campaign_id})
            elif op.state.value == "logged_out":
                op.campaigns = frozenset({campaign_id})
            self.desk.login(operator_id)
        return self.status(operator_id)

    async def logout(self, operator_id: int) -> dict:
        with self._errors():
            self._op(operator_id)
            self.desk.logout(operator_id)
        return self.status(operator_id)

    async def ready(self, operator_id: int) -> dict:
        with self._errors():
            self._op(operator_id)
            self.desk.ready(operator_id)
        return self.status(operator_id)

    async def pause(self, operator_id: int, reason: str) -> dict:
        with self._errors():
            self._op(operator_id)
            self.desk.pause(operator_id, reason)
        return self.status(operator_id)

    async def wrap(self, operator_id: int, *, code: str, notes: str | None,
                   callback_at: dt.datetime | None, callback_owned: bool) -> dict:
        with self._errors():
            op = self._op(operator_id)
            call = op.call
            if call is not None:
                # The operator's choice (own or campaign-wide), for the engine's wrap hook.
                call.extra["callback_owner"] = operator_id if callback_owned else None
            if op.state.value == "on_call":
                raise DeskError("the call is still connected: wrap up after it ends", 409)
            await self.desk.wrap(operator_id, code, notes, callback_at)
        return {"attempt_id": call.attempt_id if call else None, "lead_id": call.lead_id if call else None,
                "wrap_code": code, "state": self.status(operator_id)["state"]}

    def _runner_for(self, operator_id: int):
        """The campaign runner that serves this operator (preview mode lives on the runner)."""
        op = self._op(operator_id)
        for runner in self._runners():
            if op.campaigns is None or runner.campaign_id in op.campaigns:
                if hasattr(runner, "preview_next"):
                    return runner
        raise DeskError("preview mode: no campaign of yours is running in this engine", 503)

    async def _preview(self, operator_id: int, action: str) -> dict:
        from dialer.store.lead_ops import show_lead

        runner = self._runner_for(operator_id)
        with self._errors():
            if action == "next":
                lead = await runner.preview_next(operator_id)
                if lead is None:
                    return {"lead": None}
                return {"lead": await self.store.run(show_lead, lead.id)}
            if action == "dial":
                return {"attempt_id": await runner.preview_dial(operator_id)}
            await runner.preview_skip(operator_id)
            return {"skipped": True}

    async def preview_next(self, operator_id: int) -> dict:
        return await self._preview(operator_id, "next")

    async def preview_dial(self, operator_id: int) -> dict:
        return await self._preview(operator_id, "dial")

    async def preview_skip(self, operator_id: int) -> dict:
        return await self._preview(operator_id, "skip")

    # -- reading ---------------------------------------------------------------------------
    def status(self, operator_id: int) -> dict:
        op = self.desk.operators.get(operator_id)
        if op is None:
            return {"operator_id": operator_id, "state": "logged_out", "reason": None, "campaign_id": None,
                    "seconds_in_state": 0.0, "call": None}
        campaigns = sorted(op.campaigns) if op.campaigns else []
        call = None
        if op.call is not None and op.state.value in ("on_call", "wrap_up"):
            call = {"attempt_id": op.call.attempt_id, "lead_id": op.call.lead_id}
        return {"operator_id": op.id, "state": op.state.value, "reason": op.reason,
                "campaign_id": campaigns[0] if len(campaigns) == 1 else op.last_campaign_id,
                "seconds_in_state": round(trio.current_time() - op.since, 1), "call": call}

    def statuses(self) -> list[dict]:
        out = []
        for op in self.desk.operators.values():
            if op.state.value == "logged_out":
                continue
            snapshot = self.status(op.id)
            seconds = self.desk.seconds_by_state(op.id)
            logged = sum(v for k, v in seconds.items() if k != "logged_out")
            busy = seconds.get("on_call", 0.0) + seconds.get("wrap_up", 0.0)
            snapshot["occupancy"] = round(busy / logged, 3) if logged > 0 else None
            out.append(snapshot)
        return out

    @contextlib.contextmanager
    def subscribe(self, operator_id: int) -> Iterator[trio.MemoryReceiveChannel]:
        send, receive = trio.open_memory_channel(16)
        channels = self._subscribers.setdefault(operator_id, [])
        channels.append(send)
        send.send_nowait(self.status(operator_id))
        try:
            yield receive
        finally:
            if send in channels:
                channels.remove(send)
            send.close()
