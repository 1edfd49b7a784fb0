"""A dial outcome → the lead's next state.

The call mode a lead was dialed in decides its put-off delay and its maximum
attempts (as in the contact-centre "dial-up mode" settings this follows); the
status the outcome maps to decides whether the lead is dialed again, and in
which mode. `lead.attempts` counts every attempt on the lead, so a mode's
`max_attempts` is a ceiling on the lead's total: a callback mode that allows
8 gives a lead that had 6 in `new` two more.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Sequence

from .rules import OUTCOMES, CampaignRules, RuleError
from .windows import Window

FALLBACK_EXHAUSTED_STATUS = "MAXED"


@dataclass(frozen=True)
class LeadState:
    """What the rules need to know about a lead."""

    id: int
    status: str
    call_mode: str
    attempts: int
    timezone: str | None = None
    timezones: Sequence[str] | None = None


@dataclass(frozen=True)
class NextState:
    status: str
    call_mode: str
    attempts: int
    next_attempt_at: dt.datetime | None
    completed: bool
    exhausted: bool = False
    contacted: bool = False          # a person answered: last_contacted_at moves


def after_outcome(rules: CampaignRules, lead: LeadState, outcome: str, ended_at: dt.datetime,
                  window: Window) -> NextState:
    if outcome not in OUTCOMES:
        raise RuleError(f"unknown outcome {outcome!r} (one of {', '.join(OUTCOMES)})")
    dialed_mode = rules.mode(lead.call_mode)
    attempts = lead.attempts + 1
    status = rules.status(rules.outcome_status.get(outcome, lead.status))
    call_mode = status.call_mode or lead.call_mode
    contacted = outcome == "answered"

    if status.completed or not status.auto_dial:
        # Finished (invalid number, ...) or waiting for a person (answered → wrap code).
        return NextState(status.code, call_mode, attempts, None, status.completed, contacted=contacted)

    # The ceiling of the mode it was dialed in, and of the mode it would be dialed in next: a
    # callback mode allowing 8 can end in retry mode allowing 5, and a lead left there with 7
    # attempts would never be dialed again nor marked exhausted.
    for mode in (dialed_mode, rules.mode(call_mode)):
        if mode.max_attempts is not None and attempts >= mode.max_attempts:
            exhausted = rules.status(mode.exhausted_status or FALLBACK_EXHAUSTED_STATUS)
            return NextState(exhausted.code, exhausted.call_mode or call_mode, attempts, None,
                             exhausted.completed, exhausted=True, contacted=contacted)

    delay = dialed_mode.put_off_for(outcome)
    if outcome == "abandoned" and rules.abandon_lockout is not None:
        delay = max(delay, rules.abandon_lockout)
    earliest = ended_at + delay
    # No opening within the horizon (a campaign with no calling days): keep the
    # earliest time; the hopper's own window check still refuses to dial.
    next_at = window.next_allowed(earliest) or earliest
    return NextState(status.code, call_mode, attempts, next_at, False, contacted=contacted)
