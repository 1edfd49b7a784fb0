"""Estimates the predictive pacer keeps up to date from events, with priors before data.

Two kinds, both plain histograms on a fixed time grid, because the quantities the pacer needs
are *conditional* ones that a histogram answers directly and that a fitted mean would get wrong:

* `DurationEstimate` (talk time, wrap-up time): the chance that an operator who has already
  spent `elapsed` seconds is free within `x` more seconds, P(T <= elapsed + x | T > elapsed),
  and the expected residual time E[T - elapsed | T > elapsed]. With lognormal talk times the
  residual of a call already 5 minutes long is far from the mean handle time.
* `CallTimingEstimate` (ring and answer): for a call placed `age` seconds ago and still
  ringing, the chance it is answered live by `age + x` — learned jointly from the outcome and
  the time it took, so busy and invalid numbers (decided in a second or two) and no-answers
  (decided at the ring timeout) shape the conditional probabilities as they should: a call
  still ringing after 20 s is unlikely to be answered at all.

Priors are pseudo-observations spread over the grid (a lognormal shape); their weight is a few
observations, so real data takes over within minutes. Counts are halved when they grow past
`memory`, so the estimates follow a campaign whose lists or hours change during the day.
"""

from __future__ import annotations

import math

import numpy as np

GRID = 0.5  # seconds: the resolution of every estimate and of the predictive look-ahead


def lognormal_masses(mean: float, sd: float, bins: int, width: float) -> list[float]:
    """Probability mass of a lognormal(mean, sd) in [j*width, (j+1)*width), the last bin open."""
    sigma2 = math.log(1.0 + (sd / mean) ** 2)
    mu, sigma = math.log(mean) - sigma2 / 2.0, math.sqrt(sigma2)

    def cdf(x: float) -> float:
        if x <= 0:
            return 0.0
        return 0.5 * (1.0 + math.erf((math.log(x) - mu) / (sigma * math.sqrt(2.0))))

    masses = [cdf((j + 1) * width) - cdf(j * width) for j in range(bins - 1)]
    masses.append(1.0 - cdf((bins - 1) * width))
    return masses


class DurationEstimate:
    """A duration distribution (talk or wrap-up time) on a `GRID` histogram up to `horizon` s."""

    def __init__(self, prior_mean: float, prior_sd: float, prior_weight: float = 10.0,
                 horizon: float = 3600.0, memory: float = 5000.0):
        self.bins = int(horizon / GRID) + 1          # the last bin holds everything longer
        self._prior = [prior_weight * m for m in lognormal_masses(prior_mean, prior_sd, self.bins, GRID)]
        self._counts = [0.0] * self.bins
        self.observations = 0.0
        self._memory = memory
        self._tail: list[float] | None = None
        self._stale = 0.0

    def observe(self, seconds: float) -> None:
        self._counts[min(max(int(seconds / GRID), 0), self.bins - 1)] += 1.0
        self.observations += 1.0
        if self.observations > self._memory:
            self._counts = [c * 0.5 for c in self._counts]
            self.observations *= 0.5
        # Rebuilding the tail costs `bins` steps; do it once the data moved by 2 % (and always
        # for the first 50 observations, when each one matters).
        self._stale += 1.0
        if self._stale >= max(1.0, 0.02 * self.observations) or self.observations <= 50:
            self._tail = None
            self._stale = 0.0

    def tail(self) -> list[float]:
        """tail[i] = weight of durations >= i*GRID (length bins + 1, tail[bins] = 0)."""
        if self._tail is None:
            weights = np.add(self._prior, self._counts)
            self._tail_array = np.concatenate([np.cumsum(weights[::-1])[::-1], [0.0]])
            self._tail = self._tail_array.tolist()
        return self._tail

    def tail_array(self) -> np.ndarray:
        """`tail()` as a numpy array, for the look-ahead's vectorised arithmetic."""
        self.tail()
        return self._tail_array

    def mean(self) -> float:
        return self.expected_residual(0.0)

    def done_within(self, elapsed: float, x: float) -> float:
        """P(T < elapsed + x | T >= elapsed): the chance it ends within x more seconds."""
        tail = self.tail()
        i = min(int(elapsed / GRID), self.bins - 1)
        k = min(int((elapsed + x) / GRID), self.bins)
        if tail[i] <= 0.0:
            return 1.0
        return 1.0 - tail[k] / tail[i]

    def done_within_grid(self, elapsed: float, steps: int, offset: float = 0.0) -> list[float]:
        """[done_within(elapsed, offset + s*GRID) for s in 1..steps], computed in one pass."""
        tail = self.tail()
        n = self.bins
        i = min(int(elapsed / GRID), n - 1)
        base = tail[i]
        if base <= 0.0:
            return [1.0] * steps
        start = int((elapsed + offset) / GRID)
        inv = 1.0 / base
        return [1.0 - tail[min(start + s, n)] * inv for s in range(1, steps + 1)]

    def expected_residual(self, elapsed: float) -> float:
        """E[T - elapsed | T >= elapsed] in seconds (bin middles; the open last bin as its start)."""
        i = min(int(elapsed / GRID), self.bins - 1)
        weight = total = 0.0
        for j in range(i, self.bins):
            w = self._prior[j] + self._counts[j]
            weight += w
            total += w * max((j + 0.5) * GRID - elapsed, 0.0)
        return total / weight if weight > 0 else 0.0

    def quantile(self, q: float) -> float:
        tail = self.tail()
        target = (1.0 - q) * tail[0]
        for j in range(self.bins):
            if tail[j + 1] <= target:
                return (j + 0.5) * GRID
        return self.bins * GRID


class CallTimingEstimate:
    """When and how placed calls resolve: live answer, or anything else (machine, busy, ...).

    Kept as two histograms over the call's age at resolution: live answers, and all calls.
    """

    def __init__(self, ring_timeout: float = 25.0, prior_live: float = 0.2,
                 prior_answer_mean: float = 8.0, prior_answer_sd: float = 5.0,
                 prior_weight: float = 20.0, memory: float = 20000.0):
        self.bins = int(ring_timeout / GRID) + 3       # past the timeout: stragglers
        answer = lognormal_masses(prior_answer_mean, prior_answer_sd, self.bins, GRID)
        # Prior: `prior_live` live answers and as many machine answers at answer times, a
        # quarter of calls failing within 3 s, the rest unanswered at the timeout.
        fail = 0.25
        early = int(3.0 / GRID)
        self._live = [prior_weight * prior_live * m for m in answer]
        self._all = [prior_weight * 2 * prior_live * m for m in answer]
        for j in range(early):
            self._all[j] += prior_weight * fail / early
        self._all[min(int(ring_timeout / GRID), self.bins - 1)] += \
            prior_weight * max(0.0, 1.0 - fail - 2 * prior_live)
        self.observations = 0.0
        self.live_observations = 0.0
        self._memory = memory
        self._cache: tuple[list[float], list[float]] | None = None
        self._stale = 0.0

    def observe(self, age: float, live: bool) -> None:
        j = min(max(int(age / GRID), 0), self.bins - 1)
        self._all[j] += 1.0
        self.observations += 1.0
        if live:
            self._live[j] += 1.0
            self.live_observations += 1.0
        if self.observations > self._memory:
            self._all = [c * 0.5 for c in self._all]
            self._live = [c * 0.5 for c in self._live]
            self.observations *= 0.5
            self.live_observations *= 0.5
        self._stale += 1.0
        if self._stale >= max(1.0, 0.01 * self.observations) or self.observations <= 200:
            self._cache = None
            self._stale = 0.0

    def tails(self) -> tuple[list[float], list[float]]:
        """(live_tail, all_tail): weight resolving at age >= i*GRID, length bins + 1."""
        if self._cache is None:
            live_tail = [0.0] * (self.bins + 1)
            all_tail = [0.0] * (self.bins + 1)
            for j in range(self.bins - 1, -1, -1):
                live_tail[j] = live_tail[j + 1] + self._live[j]
                all_tail[j] = all_tail[j + 1] + self._all[j]
            self._cache = (live_tail, all_tail)
            self._cache_arrays = (np.array(live_tail), np.array(all_tail))
        return self._cache

    def tails_array(self) -> tuple[np.ndarray, np.ndarray]:
        """`tails()` as numpy arrays."""
        self.tails()
        return self._cache_arrays

    def live_rate(self) -> float:
        """P(a placed call is answered live)."""
        live_tail, all_tail = self.tails()
        return live_tail[0] / all_tail[0]

    def live_eventually(self, age: float) -> float:
        """P(answered live at all | still ringing at `age`)."""
        live_tail, all_tail = self.tails()
        i = min(int(age / GRID), self.bins - 1)
        return live_tail[i] / all_tail[i] if all_tail[i] > 0 else 0.0

    def live_by_grid(self, age: float, steps: int) -> list[float]:
        """[P(answered live by age + s*GRID | ringing at age) for s in 1..steps]."""
        live_tail, all_tail = self.tails()
        n = self.bins
        i = min(int(age / GRID), n - 1)
        if all_tail[i] <= 0.0:
            return [0.0] * steps
        inv = 1.0 / all_tail[i]
        top = live_tail[i]
        window = live_tail[i + 1:i + 1 + steps]
        window += [0.0] * (steps - len(window))
        return [(top - rest) * inv for rest in window]

    def answer_time_weights(self, steps: int) -> list[float]:
        """P(a live answer comes in grid step s (age in [(s-1)*GRID, s*GRID))), s in 1..steps."""
        total = sum(self._live) or 1.0
        return [(self._live[s - 1] if s - 1 < self.bins else 0.0) / total for s in range(1, steps + 1)]
