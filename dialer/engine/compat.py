"""The engine's view of its neighbours, with stand-ins while they are being merged.

The runner speaks to: the pacing package (`Snapshot`, pacer events, `make_pacer`),
the lifecycle's attempt units (`start_attempts`, `finish_attempts`, `AttemptStart`,
`AttemptEnd`). Where a neighbour is present it is used as is; where it is not yet on
this branch, a minimal stand-in with the same names and fields keeps the engine
runnable (progressive pacing; attempts counted, put-off from the call mode, lease
released). Everything transitional lives here, so removing a stand-in is one edit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Literal

# ---- pacing ------------------------------------------------------------------------------
try:
    from dialer.pacing.snapshot import (CallResolved, Decision, LiveAnswerSettled, Snapshot,  # noqa: F401
                                        TalkEnded, WrapEnded)
    from dialer.pacing.factory import make_pacer  # noqa: F401
    HAVE_PACING = True
except ImportError:  # pragma: no cover - exercised only before the pacing branch is merged
    HAVE_PACING = False

    @dataclasses.dataclass(frozen=True)
    class Snapshot:  # type: ignore[no-redef]
        now: float
        ready_operators: int
        talking_since: tuple[float, ...] = ()
        wrapping_since: tuple[float, ...] = ()
        ringing_since: tuple[float, ...] = ()
        waiting_calls: int = 0
        machine_calls: int = 0
        reserved_operators: int = 0

        @property
        def calls_without_operator(self) -> int:
            return len(self.ringing_since) + self.waiting_calls

    @dataclasses.dataclass(frozen=True)
    class Decision:  # type: ignore[no-redef]
        launch: int
        reason: str = ""
        dial_level: float | None = None

    @dataclasses.dataclass(frozen=True)
    class CallResolved:  # type: ignore[no-redef]
        launched_at: float
        at: float
        result: Literal["live", "machine", "busy", "no_answer", "invalid", "failed", "rejected"]

    @dataclasses.dataclass(frozen=True)
    class LiveAnswerSettled:  # type: ignore[no-redef]
        at: float
        abandoned: bool

    @dataclasses.dataclass(frozen=True)
    class TalkEnded:  # type: ignore[no-redef]
        started_at: float
        at: float

    @dataclasses.dataclass(frozen=True)
    class WrapEnded:  # type: ignore[no-redef]
        started_at: float
        at: float

    class _Progressive:
        mode = "progressive"
        tick = 0.5

        def observe(self, event) -> None:
            pass

        def decide(self, s: Snapshot) -> Decision:
            return Decision(max(0, s.ready_operators - s.calls_without_operator), "progressive", 1.0)

    class _Power(_Progressive):
        mode = "power"

        def __init__(self, ratio: float = 1.5):
            self.ratio = ratio

        def decide(self, s: Snapshot) -> Decision:
            import math
            want = math.ceil(self.ratio * s.ready_operators - 1e-9) - s.calls_without_operator
            return Decision(max(0, want), "power", self.ratio)

    class _Preview(_Progressive):
        mode = "preview"

        def decide(self, s: Snapshot) -> Decision:
            return Decision(0, "preview", 0.0)

    def make_pacer(mode: str, config=None):  # type: ignore[no-redef]
        if mode == "progressive" or mode == "predictive":
            return _Progressive()
        if mode == "power":
            return _Power()
        if mode == "preview":
            return _Preview()
        raise ValueError(f"pacing mode {mode!r}: not one of preview, progressive, power, predictive")


# ---- lifecycle: attempt rows -----------------------------------------------------------------
try:
    from dialer.store.attempts import AttemptEnd, AttemptStart, finish_attempts, start_attempts  # noqa: F401
    HAVE_LIFECYCLE = True
except ImportError:  # pragma: no cover - exercised only before the lifecycle branch is merged
    HAVE_LIFECYCLE = False
    from dialer.store.calls_fallback import finish_attempts, start_attempts  # noqa: F401

    @dataclasses.dataclass(frozen=True)
    class AttemptStart:  # type: ignore[no-redef]
        lead_id: int
        campaign_id: int
        called_number: str
        started_at: dt.datetime
        list_id: int | None = None
        node: str | None = None
        trunk: str | None = None
        call_id: str | None = None
        caller_number: str | None = None
        lead_timezone: str | None = None
        lead_region: str | None = None
        call_mode: str | None = None

    @dataclasses.dataclass(frozen=True)
    class AttemptEnd:  # type: ignore[no-redef]
        attempt_id: int
        outcome: str
        ended_at: dt.datetime
        sip_status: int | None = None
        ringing_at: dt.datetime | None = None
        answered_at: dt.datetime | None = None
        bridged_at: dt.datetime | None = None
        operator_id: int | None = None


async def finish_unknown(conn, attempt_ids, now: dt.datetime):
    """Crash recovery's close: the lifecycle rules for outcome `unknown` (see store/recovery.py)."""
    return await finish_attempts(conn, [AttemptEnd(i, "unknown", now) for i in attempt_ids])


# ---- hopper --------------------------------------------------------------------------------
class LeaseLeadSource:
    """A stand-in with the Hopper's API (`take`, `done`, `release_all`, `buffered`): leases due,
    auto-dialed leads straight from the table, no list mix and no calling-window check.
    The real `dialer.queue.Hopper` replaces it once merged."""

    def __init__(self, store, clock, campaign_id: int, node: str, *,
                 lease: dt.timedelta = dt.timedelta(seconds=120)):
        self.store, self.clock, self.campaign_id, self.node, self.lease = store, clock, campaign_id, node, lease
        self._in_flight: set[int] = set()
        self._renewed_at = dt.datetime.min.replace(tzinfo=dt.timezone.utc)

    async def take(self, n: int, ready_operators=None) -> list:
        from types import SimpleNamespace

        from dialer.store.calls_fallback import claim_lead_rows

        if n <= 0:
            return []
        await self._renew()
        rows = await self.store.run(claim_lead_rows, self.campaign_id, self.node, n, self.lease,
                                    self.clock.now())
        self._in_flight.update(r["id"] for r in rows)
        return [SimpleNamespace(**r) for r in rows]

    def done(self, lead_id: int) -> None:
        self._in_flight.discard(lead_id)

    async def _renew(self) -> None:
        # A lead in a long call must not be claimable: renew in-flight leases well before expiry.
        from dialer.store.recovery import renew_leases

        now = self.clock.now()
        if self._in_flight and now >= self._renewed_at + self.lease / 4:
            await self.store.run(renew_leases, self.node, sorted(self._in_flight), now + self.lease)
            self._renewed_at = now

    async def run(self, *, task_status=None) -> None:
        import trio

        if task_status is not None:
            task_status.started()
        while True:
            await self._renew()
            await trio.sleep(self.lease.total_seconds() / 8)

    async def release_all(self) -> int:
        return 0

    def buffered(self) -> int:
        return 0


def make_lead_source(store, clock, campaign_id: int, node: str, **kw):
    try:
        from dialer.queue.hopper import Hopper
    except ImportError:  # pragma: no cover - before the hopper branch is merged
        return LeaseLeadSource(store, clock, campaign_id, node)
    return Hopper(store, clock, campaign_id, node, **kw)
