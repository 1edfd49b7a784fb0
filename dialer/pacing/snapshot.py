"""What a pacer sees (`Snapshot`), what it is told (events) and what it answers (`Decision`).

Everything here is plain data. Times are floats in seconds on the caller's clock
(`trio.current_time()` in the engine, the event queue's clock in `bench/pacing_model.py`);
the pacing package never reads a clock itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Snapshot:
    """The campaign's state at `now`, as the engine's runner sees it.

    `ringing_since` holds the launch time (INVITE sent) of every call whose fate is not yet
    known; `talking_since` the bridge time of every operator on a call; `wrapping_since` the
    time each operator in wrap-up hung up. Paused and logged-out operators are not counted.
    """

    now: float
    ready_operators: int
    talking_since: tuple[float, ...] = ()
    wrapping_since: tuple[float, ...] = ()
    ringing_since: tuple[float, ...] = ()
    waiting_calls: int = 0      # live answers not yet bridged (each needs an operator within 2 s)
    machine_calls: int = 0      # answered by a machine, being hung up: hold a line, need no one
    reserved_operators: int = 0  # reserved for a waiting call, phone ringing: busy, free soon

    @property
    def active_operators(self) -> int:
        """Operators logged in and not paused: ready, reserved, talking or in wrap-up."""
        return (self.ready_operators + self.reserved_operators + len(self.talking_since)
                + len(self.wrapping_since))

    @property
    def calls_without_operator(self) -> int:
        """Calls placed that do not (yet) have an operator and may still need one."""
        return len(self.ringing_since) + self.waiting_calls


@dataclass(frozen=True)
class Decision:
    """Launch `launch` calls now. `dial_level` and `reason` are for metrics and logs."""

    launch: int
    reason: str = ""
    dial_level: float | None = None


# ---- events the engine reports; pacers learn from them -------------------------------------

CallResult = Literal["live", "machine", "busy", "no_answer", "invalid", "failed", "rejected"]


@dataclass(frozen=True)
class CallResolved:
    """A placed call's fate became known: answered (live or machine) or ended without answer.

    `launched_at` is when the INVITE left, `at` when the answer (or the failure) came.
    """

    launched_at: float
    at: float
    result: CallResult


@dataclass(frozen=True)
class LiveAnswerSettled:
    """A live answer was bridged to an operator (`abandoned=False`) or abandoned after 2 s."""

    at: float
    abandoned: bool


@dataclass(frozen=True)
class TalkEnded:
    """An operator's call ended (`started_at` is the bridge time); wrap-up starts at `at`."""

    started_at: float
    at: float


@dataclass(frozen=True)
class WrapEnded:
    """An operator finished wrap-up (begun at `started_at`) and is ready again at `at`."""

    started_at: float
    at: float


Event = CallResolved | LiveAnswerSettled | TalkEnded | WrapEnded
