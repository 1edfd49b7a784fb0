"""What a simulated operator puts in a wrap (loadtest, demo, the whole-day tests).

The code is drawn from the profile's `[operators] wrap_codes` by the caller; here it is
checked against the campaign's codes (an unknown one becomes the plain `NI`), and a callback
code gets what a person would add: a time (`delay` seconds from now, drawn uniformly) and an
owner — the operator keeps it for themself with probability `owned`, else it is campaign-wide.
The owner goes where the web's "only me" box puts it (`call.extra["callback_owner"]`), so the
wrap is stored by the same path as a person's (`operators.callback_owner`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

PLAIN_CODE = "NI"


@dataclasses.dataclass
class CallbackPlan:
    delay: tuple[float, float] = (7200.0, 7200.0)   # seconds after the wrap (uniform low, high)
    owned: float = 0.5                              # share of callbacks the operator keeps

    def __post_init__(self) -> None:
        low, high = self.delay
        if not 0 < low <= high:
            raise ValueError(f"callback delay {self.delay}: need 0 < low <= high seconds")
        if not 0 <= self.owned <= 1:
            raise ValueError(f"callback owned share {self.owned} is not between 0 and 1")


class SimWraps:
    def __init__(self, clock, rules, plan: CallbackPlan | None = None, *, seed: int | str = 1):
        """rules: the campaign's `CampaignRules` (its wrap codes)."""
        self.clock = clock
        self.known = set(rules.wrap_codes)
        self.callback_codes = {c for c, w in rules.wrap_codes.items() if w.is_callback}
        self.plan = plan or CallbackPlan()
        # Its own stream, so callbacks do not shift the team's other draws for a seed.
        self.rng = random.Random(f"{seed}/callbacks")
        self.scheduled = {"owned": 0, "campaign": 0}

    def choose(self, op, code: str) -> tuple[str, dt.datetime | None]:
        """(the code to set, the callback time or None) for the operator's call just ended."""
        if code not in self.known:
            code = PLAIN_CODE
        if code not in self.callback_codes:
            return code, None
        at = self.clock.now() + dt.timedelta(seconds=self.rng.uniform(*self.plan.delay))
        owned = self.rng.random() < self.plan.owned
        if op.call is not None:
            op.call.extra["callback_owner"] = op.id if owned else None
        self.scheduled["owned" if owned else "campaign"] += 1
        return code, at
