"""The predictive pacer: a time-resolved look-ahead learned from events, under abandon control.

For each extra call it might launch now, the pacer asks: if this call is answered live, what is
the chance that no operator is free within 2 s of the answer? On a `GRID` (0.5 s) grid of answer
times t up to the ring timeout it compares

    supply(t) = ready operators + busy operators free by t + 2 s   (each from its own residual)
    demand(t) = waiting live answers + ringing calls answered live by t + the other extra calls

and the call is abandoned at t when supply(t) - demand(t) < 1. Supply and demand are sums of
independent Bernoulli variables (one per operator, one per call), so their difference is taken
as normal with the summed mean and variance. The risk of the call is that chance weighted by
when its live answer would come. Calls are added while the risk stays at or under a threshold
that `AbandonController` steers from the observed abandon rate.

Busy operators are handled by state: one in wrap-up with w seconds spent frees after the wrap
residual; one talking with e seconds spent frees after the talk residual *plus* a wrap-up (the
wrap-up distribution enters through five of its quantiles). Nothing about the distributions is
given: they are learned from `TalkEnded`, `WrapEnded` and `CallResolved` events.
"""

from __future__ import annotations

import math
from collections import Counter

from dialer.config.model import PacingConfig

from .abandon import AbandonController
from .base import Pacer
from .baselines import ProgressivePacer
from .estimators import GRID, CallTimingEstimate, DurationEstimate
from .snapshot import CallResolved, Decision, Event, LiveAnswerSettled, Snapshot, TalkEnded, WrapEnded

BRIDGE_LIMIT = 2.0          # seconds a live answer may wait for an operator before it is abandoned
_SQRT2 = math.sqrt(2.0)
_WRAP_QUANTILES = (0.1, 0.3, 0.5, 0.7, 0.9)


class PredictivePacer(Pacer):
    mode = "predictive"

    def __init__(self, config: PacingConfig | None = None, controller: AbandonController | None = None):
        super().__init__(config)
        cfg = self.config
        self.talk = DurationEstimate(prior_mean=150.0, prior_sd=120.0)
        self.wrap = DurationEstimate(prior_mean=20.0, prior_sd=15.0)
        self.timing = CallTimingEstimate(ring_timeout=cfg.ring_timeout_seconds)
        self.controller = controller or AbandonController(
            target=cfg.target_abandon_rate, base_margin=cfg.abandon_safety_margin)
        self.steps = int(cfg.ring_timeout_seconds / GRID)
        self._fallback = ProgressivePacer(cfg)
        self._wrap_quantiles: list[float] | None = None

    # ---- learning -------------------------------------------------------------------------
    def observe(self, event: Event) -> None:
        if isinstance(event, CallResolved):
            self.timing.observe(event.at - event.launched_at, event.result == "live")
        elif isinstance(event, LiveAnswerSettled):
            self.controller.settle(event.at, event.abandoned)
        elif isinstance(event, TalkEnded):
            self.talk.observe(event.at - event.started_at)
        elif isinstance(event, WrapEnded):
            self.wrap.observe(event.at - event.started_at)
            self._wrap_quantiles = None

    # ---- deciding -------------------------------------------------------------------------
    def _supply(self, snap: Snapshot) -> tuple[list[float], list[float]]:
        """Per grid step: mean and variance of operators free by (answer time + 2 s)."""
        steps, now = self.steps, snap.now
        mean = [float(snap.ready_operators)] * steps
        var = [0.0] * steps
        wrap_tail = self.wrap.tail()
        nw = self.wrap.bins
        for since in snap.wrapping_since:
            i = min(int((now - since) / GRID), nw - 1)
            base = wrap_tail[i]
            if base <= 0.0:
                continue
            start = int((now - since + BRIDGE_LIMIT) / GRID)
            inv = 1.0 / base
            window = wrap_tail[start + 1:start + 1 + steps]
            window += [0.0] * (steps - len(window))
            for k, rest in enumerate(window):
                p = 1.0 - rest * inv
                mean[k] += p
                var[k] += p * (1.0 - p)
        talking = list(snap.talking_since) + [now] * snap.reserved_operators
        if talking:
            if self._wrap_quantiles is None:
                self._wrap_quantiles = [self.wrap.quantile(q) for q in _WRAP_QUANTILES]
            horizon = self.steps * GRID + BRIDGE_LIMIT
            shifts = [w for w in self._wrap_quantiles if w < horizon]
            if shifts:
                talk_tail = self.talk.tail()
                nt = self.talk.bins
                share = 1.0 / len(_WRAP_QUANTILES)
                for since in talking:
                    elapsed = now - since
                    i = min(int(elapsed / GRID), nt - 1)
                    base = talk_tail[i]
                    if base <= 0.0:
                        continue
                    inv = share / base
                    probs = [0.0] * steps
                    for w in shifts:
                        # x = (k+1)*GRID + 2 - w seconds more: only k with x > 0 can be free.
                        first = max(0, math.ceil((w - BRIDGE_LIMIT) / GRID - 1e-9))
                        start = int((elapsed + BRIDGE_LIMIT - w) / GRID) + 1
                        lo = max(start + first, 0)
                        window = talk_tail[lo:start + steps] if start + steps > 0 else []
                        window += [0.0] * (steps - first - len(window))
                        for k, rest in enumerate(window, first):
                            probs[k] += (base - rest) * inv
                    for k, p in enumerate(probs):
                        mean[k] += p
                        var[k] += p * (1.0 - p)
        return mean, var

    def _demand(self, snap: Snapshot) -> tuple[list[float], list[float]]:
        """Per grid step: mean and variance of live answers needing an operator by then."""
        steps, now = self.steps, snap.now
        mean = [float(snap.waiting_calls)] * steps
        var = [0.0] * steps
        by_age = Counter(int((now - t) / GRID) for t in snap.ringing_since)
        for age_bin, n in by_age.items():
            for k, q in enumerate(self.timing.live_by_grid(age_bin * GRID, steps)):
                mean[k] += n * q
                var[k] += n * q * (1.0 - q)
        return mean, var

    def risk_model(self, snap: Snapshot):
        """A function j -> P(abandon | live) for the (j+1)-th extra call launched now."""
        s_mean, s_var = self._supply(snap)
        d_mean, d_var = self._demand(snap)
        steps = self.steps
        q = self.timing.live_by_grid(0.0, steps)
        weights = self.timing.answer_time_weights(steps)
        grid = [(weights[k], s_mean[k] - d_mean[k] - 0.5, s_var[k] + d_var[k], q[k], q[k] * (1 - q[k]))
                for k in range(steps) if weights[k] > 1e-4]
        total_w = sum(g[0] for g in grid) or 1.0
        erfc, sqrt = math.erfc, math.sqrt

        def risk(j: int) -> float:
            r = 0.0
            for w, m, v, qk, vk in grid:
                m_j = m - j * qk                # abandoned when the balance is below one operator
                v_j = v + j * vk
                if v_j <= 1e-12:
                    r += w if m_j < 0 else 0.0
                else:
                    r += w * 0.5 * erfc(m_j / sqrt(2.0 * v_j))
            return r / total_w
        return risk

    @staticmethod
    def largest_launch(risk, threshold: float, room: int) -> int:
        """How many extra calls to launch: 1 + the largest j < room with risk(j) <= threshold.

        risk(j) rises with j, so gallop then bisect: a handful of evaluations, not `room`.
        """
        if room <= 0 or risk(0) > threshold:
            return 0
        lo, step = 0, 1                     # invariant: risk(lo) <= threshold
        while lo + step < room and risk(lo + step) <= threshold:
            lo += step
            step *= 2
        hi = min(lo + step, room)           # hi == room, or risk(hi) > threshold
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if risk(mid) <= threshold:
                lo = mid
            else:
                hi = mid
        return lo + 1

    def decide(self, snap: Snapshot) -> Decision:
        cfg = self.config
        active = snap.active_operators
        if active < cfg.predictive_min_operators:
            d = self._fallback.decide(snap)
            return Decision(d.launch, f"progressive: fewer than {cfg.predictive_min_operators} operators",
                            d.dial_level)
        self.controller.operators = active
        threshold = self.controller.threshold
        room = self.line_cap(snap, 10**6)
        level_room = max(0, math.floor(cfg.max_dial_level * active) - snap.calls_without_operator
                         - len(snap.talking_since) - snap.reserved_operators)
        room = min(room, level_room)
        floor = max(0, math.ceil(cfg.min_dial_level * snap.ready_operators - 1e-9)
                    - snap.calls_without_operator)
        launch = 0
        if room > 0:
            launch = self.largest_launch(self.risk_model(snap), threshold, room)
        launch = min(max(launch, floor), room)
        level = (snap.calls_without_operator + launch) / max(snap.ready_operators, 1)
        return Decision(launch, f"risk <= {threshold:.3f}", level)
