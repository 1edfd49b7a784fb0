"""A campaign's lifecycle rules, loaded once and consulted for every call."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

OUTCOMES = ("answered", "machine", "busy", "no_answer", "invalid", "rejected", "failed",
            "abandoned", "unknown")


class RuleError(ValueError):
    """A request the campaign's rules cannot satisfy (unknown code, past callback, ...)."""


@dataclass(frozen=True)
class Status:
    code: str
    label: str
    auto_dial: bool
    call_mode: str | None
    completed: bool


@dataclass(frozen=True)
class CallMode:
    name: str
    new_lead_priority: bool = False
    time_on_standard: dt.timedelta | None = None
    put_off: dict[str, int] = field(default_factory=dict)   # outcome -> minutes
    max_attempts: int | None = None
    exhausted_status: str | None = None
    position: int = 0

    def put_off_for(self, outcome: str) -> dt.timedelta:
        return dt.timedelta(minutes=self.put_off.get(outcome, 0))


@dataclass(frozen=True)
class WrapCode:
    code: str
    label: str
    completes: bool = False
    retry_after: dt.timedelta | None = None
    next_status: str | None = None
    adds_dnc: bool = False
    needs_validation: bool = False
    is_callback: bool = False


@dataclass(frozen=True)
class Hours:
    """Lead-local calling hours of a campaign: [start, end) on `days` except `holidays`."""

    start: dt.time = dt.time(9)
    end: dt.time = dt.time(21)
    days: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)      # ISO weekdays
    holidays: frozenset[dt.date] = frozenset()


@dataclass(frozen=True)
class CampaignRules:
    campaign_id: int
    name: str
    statuses: dict[str, Status]
    modes: dict[str, CallMode]
    wrap_codes: dict[str, WrapCode]
    outcome_status: dict[str, str]
    hours: Hours = Hours()
    timezone: str = "America/New_York"
    country: str = "US"
    validation: bool = False
    callback_grace: dt.timedelta = dt.timedelta(minutes=15)
    callback_grace_action: str = "anyone"
    editable_statuses: tuple[str, ...] = ("CAUTION",)
    abandon_lockout: dt.timedelta | None = None

    def status(self, code: str) -> Status:
        found = self.statuses.get(code)
        if found is None:
            # A status named in data but not defined: treat as a non-dialed, open status
            # rather than crash mid-batch; `rules show` lists the defined ones.
            return Status(code, code, False, None, False)
        return found

    def mode(self, name: str | None) -> CallMode:
        return self.modes.get(name or "") or CallMode(name or "")

    def wrap_code(self, code: str) -> WrapCode:
        found = self.wrap_codes.get(code)
        if found is None:
            known = ", ".join(sorted(self.wrap_codes)) or "none"
            raise RuleError(f"unknown wrap code {code!r} in campaign {self.name!r} (known: {known})")
        return found

    def problems(self) -> list[str]:
        """References to statuses or modes that do not exist (shown by `rules show`)."""
        out = []
        for outcome, code in self.outcome_status.items():
            if code not in self.statuses:
                out.append(f"outcome {outcome} moves leads to unknown status {code!r}")
        for m in self.modes.values():
            if m.exhausted_status and m.exhausted_status not in self.statuses:
                out.append(f"call mode {m.name}: exhausted status {m.exhausted_status!r} is not a status")
        for w in self.wrap_codes.values():
            if w.next_status and w.next_status not in self.statuses:
                out.append(f"wrap code {w.code}: next status {w.next_status!r} is not a status")
        for s in self.statuses.values():
            if s.call_mode and s.call_mode not in self.modes:
                out.append(f"status {s.code}: call mode {s.call_mode!r} is not a call mode")
        return out
