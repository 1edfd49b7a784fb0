"""Abandon-rate windows (the day, the last hour) and the controller that steers to a target.

Abandon rate = abandoned live answers / live answers; machines, no-answers and failures are
not in the denominator. The controller turns the observed rate into the predictive pacer's
*risk threshold*: the largest chance, for one more call, that it is answered live and finds no
operator within 2 s, that the pacer will accept.
"""

from __future__ import annotations

import math
from collections import deque


class AbandonWindows:
    """Live answers and abandons since `day_start`, and over the last `hour` seconds."""

    def __init__(self, day_start: float = 0.0, hour: float = 3600.0):
        self.day_start = day_start
        self.hour = hour
        self.day_live = 0
        self.day_abandoned = 0
        self._recent: deque[tuple[float, bool]] = deque()
        self._hour_live = 0
        self._hour_abandoned = 0

    def new_day(self, at: float) -> None:
        self.day_start = at
        self.day_live = self.day_abandoned = 0

    def record(self, at: float, abandoned: bool) -> None:
        self.day_live += 1
        self.day_abandoned += abandoned
        self._recent.append((at, abandoned))
        self._hour_live += 1
        self._hour_abandoned += abandoned

    def expire(self, now: float) -> None:
        cutoff = now - self.hour
        recent = self._recent
        while recent and recent[0][0] < cutoff:
            _, abandoned = recent.popleft()
            self._hour_live -= 1
            self._hour_abandoned -= abandoned

    def hour_counts(self, now: float) -> tuple[int, int]:
        self.expire(now)
        return self._hour_live, self._hour_abandoned

    @property
    def day_rate(self) -> float:
        return self.day_abandoned / self.day_live if self.day_live else 0.0

    def hour_rate(self, now: float) -> float:
        live, abandoned = self.hour_counts(now)
        return abandoned / live if live else 0.0


class AbandonController:
    """Steers a risk threshold so the campaign's abandon rate settles under its target.

    * The aim is `target - margin`; the margin is `base_margin` plus a term that shrinks with the
      number of live answers seen today (a rate measured on few calls is uncertain, and an early
      burst of abandons cannot be undone later in the day) plus a term for small teams (with few
      operators one more call is a large step).
    * Each settled live answer nudges log(threshold): up a little when bridged, down by
      (1 - aim) / aim times as much when abandoned, so it drifts only while the rate is off aim
      (a stochastic-approximation integral controller).
    * The aim itself is corrected by the day's budget (abandons above or below aim * live so far,
      spread over the next `budget_horizon` live answers), never above target - base margin, and
      by the last hour's budget against `hour_limit` (so the worst hour stays under ~5 %).
    * A hard guard for the worst hour (`threshold_at`): when one more abandon would put the
      rolling hour's count over `hour_cap` of the live answers an hour brings, the threshold drops
      to its minimum (next to progressive) until old abandons leave the window. It matters for
      small teams: 5 operators at 15 % live answer ~70 calls an hour, where 4 abandons are 5.7 %
      and a rate-based aim reacts too late; a 20-operator team (~450 an hour) never reaches it.
    """

    def __init__(self, target: float = 0.03, base_margin: float = 0.001,
                 uncertainty_margin: float = 0.15, team_margin: float = 0.005,
                 hour_limit: float = 0.04, hour_horizon: float = 40.0, gain: float = 0.005,
                 initial_threshold: float = 0.01, min_threshold: float = 0.0005,
                 max_threshold: float = 0.6, budget_horizon: float = 150.0,
                 hour_cap: float = 0.045):
        self.target = target
        self.base_margin = base_margin
        self.uncertainty_margin = uncertainty_margin
        self.team_margin = team_margin
        self.hour_limit = hour_limit
        self.hour_horizon = hour_horizon
        self.gain = gain
        self.min_threshold = min_threshold
        self.max_threshold = max_threshold
        self.budget_horizon = budget_horizon
        self.hour_cap = hour_cap
        self._first_settle: float | None = None
        self.log_threshold = math.log(initial_threshold)
        self.windows = AbandonWindows()
        self.operators = 20  # last seen team size, for the margin

    def margin(self) -> float:
        n = self.windows.day_live
        spread = math.sqrt(self.target * (1 - self.target) / (n + 30.0))
        return (self.base_margin + self.uncertainty_margin * spread
                + self.team_margin / max(self.operators, 1))

    def aim(self, now: float) -> float:
        """The abandon rate to steer to right now."""
        base = max(self.target - self.margin(), 0.2 * self.target)
        w = self.windows
        slack = (base * w.day_live - w.day_abandoned) / self.budget_horizon
        # Spending slack never aims above the target itself.
        aim = min(max(base + slack, 0.3 * base), 1.3 * base, self.target - self.base_margin)
        # The last hour gets its own budget against `hour_limit`, spread over fewer answers:
        # an hour running hot pulls the aim down before the hour's rate passes the limit.
        live, abandoned = w.hour_counts(now)
        hour_slack = (self.hour_limit * live - abandoned) / self.hour_horizon
        aim = min(aim, max(self.hour_limit + hour_slack, 0.3 * base))
        return aim

    def hour_guard(self, now: float) -> bool:
        """True while one more abandon would take the rolling hour over `hour_cap`."""
        if self._first_settle is None:
            return False
        live, abandoned = self.windows.hour_counts(now)
        # The live answers a whole hour brings: the day's pace (at least 10 minutes of it), or
        # the window's own count once it is larger.
        elapsed = max(now - self._first_settle, 600.0)
        expected = max(live, self.windows.day_live * min(self.windows.hour / elapsed, 1.0))
        return abandoned + 1 > self.hour_cap * expected

    def threshold_at(self, now: float) -> float:
        """The risk threshold to use at `now` (`threshold`, unless the hour guard holds)."""
        return self.min_threshold if self.hour_guard(now) else self.threshold

    def settle(self, at: float, abandoned: bool) -> None:
        if self._first_settle is None:
            self._first_settle = at
        aim = self.aim(at)
        self.windows.record(at, abandoned)
        step = -(1.0 - aim) / aim if abandoned else 1.0
        self.log_threshold += self.gain * step
        lo, hi = math.log(self.min_threshold), math.log(self.max_threshold)
        self.log_threshold = min(max(self.log_threshold, lo), hi)

    @property
    def threshold(self) -> float:
        return math.exp(self.log_threshold)
