"""The baselines the predictive pacer is measured against, each from its published description."""

from __future__ import annotations

import math

from dialer.config.model import PacingConfig

from .base import Pacer
from .snapshot import Decision, Snapshot


class PreviewPacer(Pacer):
    """Preview: the operator asks for the next lead and dials it; the pacer never launches."""

    mode = "preview"

    def decide(self, snapshot: Snapshot) -> Decision:
        return Decision(0, "preview: operators dial themselves", 0.0)


class ProgressivePacer(Pacer):
    """Progressive: one call per ready operator.

    Launch = ready operators - calls in flight expected to need one. Every ringing call and
    every waiting live answer may need an operator, so each holds one; machines and failures
    are known not to and release theirs. Abandons only when a reserved operator vanishes.
    """

    mode = "progressive"

    def decide(self, snapshot: Snapshot) -> Decision:
        want = snapshot.ready_operators - snapshot.calls_without_operator
        return Decision(self.line_cap(snapshot, max(want, 0)), "one call per ready operator", 1.0)


class PowerPacer(Pacer):
    """Power (fixed ratio): `power_ratio` calls in flight per ready operator."""

    mode = "power"

    def decide(self, snapshot: Snapshot) -> Decision:
        ratio = self.config.power_ratio
        want = math.ceil(ratio * snapshot.ready_operators - 1e-9) - snapshot.calls_without_operator
        return Decision(self.line_cap(snapshot, max(want, 0)), f"fixed ratio {ratio:g}", ratio)


class AdaptiveDialLevelPacer(Pacer):
    """VICIdial-style adaptive dial level ("ADAPT_HARD_LIMIT"), from its published description.

    Dialing: calls in progress (ringing, waiting, talking) are topped up to
    ceil(level * (ready + talking operators)); at level 1.0 this is progressive.
    Every 15 s: differential = mean over the last minute of (ready operators - waiting calls);
    adj = differential / mean operators, scaled by the intensity (x (1 + i) when raising,
    x |i - 1| when lowering, i = intensity / 100 in -40..40); level *= 1 + adj, clamped to
    [max(1, min level), max level]. Level halves when over half of last minute's live answers
    dropped (with > 20 of them), and goes to 1.0 while today's drop rate (with > 50 live answers)
    is above the target: the hard limit.
    """

    mode = "adaptive"
    interval = 15.0

    def __init__(self, config: PacingConfig | None = None, intensity: float | None = None,
                 initial_level: float = 1.0):
        super().__init__(config)
        self.intensity = self.config.adaptive_intensity if intensity is None else intensity
        self.level = initial_level
        self._samples: list[tuple[float, int, int]] = []   # (time, ready - waiting, operators)
        self._next_update: float | None = None
        self._answers: list[tuple[float, bool]] = []        # last minute's settled live answers
        self.day_live = 0
        self.day_dropped = 0

    def observe(self, event) -> None:
        from .snapshot import LiveAnswerSettled

        if isinstance(event, LiveAnswerSettled):
            self.day_live += 1
            self.day_dropped += event.abandoned
            self._answers.append((event.at, event.abandoned))

    def _update(self, now: float) -> None:
        minute = now - 60.0
        self._samples = [s for s in self._samples if s[0] >= minute]
        self._answers = [a for a in self._answers if a[0] >= minute]
        if self._samples:
            differential = sum(s[1] for s in self._samples) / len(self._samples)
            operators = sum(s[2] for s in self._samples) / len(self._samples)
            if operators > 0:
                pct = differential / operators
                i = self.intensity / 100.0
                adj = pct * abs(i - 1) if pct < 0 else pct * (i + 1)
                self.level *= 1 + adj
        cfg = self.config
        self.level = min(self.level, cfg.max_dial_level)
        if len(self._answers) > 20 and sum(a[1] for a in self._answers) > len(self._answers) / 2:
            self.level /= 2
        if self.day_live > 50 and self.day_dropped / self.day_live > cfg.target_abandon_rate:
            self.level = 1.0
        self.level = max(self.level, 1.0, cfg.min_dial_level)

    def decide(self, snapshot: Snapshot) -> Decision:
        now = snapshot.now
        self._samples.append((now, snapshot.ready_operators - snapshot.waiting_calls,
                              snapshot.active_operators))
        if self._next_update is None:
            self._next_update = now + self.interval
        while now >= self._next_update:
            self._update(now)
            self._next_update += self.interval
        talking = len(snapshot.talking_since) + snapshot.reserved_operators
        goal = math.ceil(self.level * (snapshot.ready_operators + talking) - 1e-9)
        want = goal - snapshot.calls_without_operator - talking
        return Decision(self.line_cap(snapshot, max(want, 0)), f"adaptive level {self.level:.3f}",
                        self.level)
