"""An operator's (or supervisor's) wrap code → the lead's next state."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .outcomes import LeadState
from .rules import CampaignRules, RuleError
from .windows import Window

CALLBACK_STATUS = "CALLBK"


@dataclass(frozen=True)
class WrapResult:
    wrap_code: str
    status: str
    call_mode: str
    completed: bool
    next_attempt_at: dt.datetime | None
    contact_status: str | None       # None: leave as it is
    adds_dnc: bool
    callback_at: dt.datetime | None


def after_wrap(rules: CampaignRules, lead: LeadState, code: str, now: dt.datetime, window: Window,
               *, complete: bool = False, callback_at: dt.datetime | None = None) -> WrapResult:
    wc = rules.wrap_code(code)
    if callback_at is not None and callback_at <= now:
        raise RuleError(f"callback time {callback_at.isoformat()} is in the past (now {now.isoformat()})")
    if wc.is_callback and callback_at is None:
        raise RuleError(f"wrap code {wc.code!r} schedules a callback: give the callback time")

    status = rules.status(wc.next_status or lead.status)
    if callback_at is not None and not (status.call_mode == "callback"):
        status = rules.status(_callback_status(rules))
    completed = (wc.completes or status.completed or wc.adds_dnc or complete)
    if callback_at is not None and completed:
        raise RuleError(f"wrap code {wc.code!r} completes the lead: it cannot also schedule a callback")

    if completed:
        next_at = None
    elif callback_at is not None:
        next_at = callback_at          # the operator chose the time; the window is the hopper's check
    elif wc.retry_after is not None:
        next_at = window.next_allowed(now + wc.retry_after) or now + wc.retry_after
    else:
        next_at = None

    contact_status = "unconfirmed" if (rules.validation and wc.needs_validation) else None
    return WrapResult(wc.code, status.code, status.call_mode or lead.call_mode, completed, next_at,
                      contact_status, wc.adds_dnc, callback_at)


def _callback_status(rules: CampaignRules) -> str:
    if CALLBACK_STATUS in rules.statuses:
        return CALLBACK_STATUS
    for s in rules.statuses.values():
        if s.call_mode == "callback":
            return s.code
    return CALLBACK_STATUS
