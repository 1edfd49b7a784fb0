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

import numpy as np

from dialer.config.model import PacingConfig

from .abandon import AbandonController
from .base import Pacer
from .baselines import ProgressivePacer
from .estimators import GRID, CallTimingEstimate, DurationEstimate
from .snapshot import CallResolved, Decision, Event, LiveAnswerSettled, Snapshot, TalkEnded, WrapEnded

BRIDGE_LIMIT = 2.0          # seconds a live answer may wait for an operator before it is abandoned
_SQRT2 = math.sqrt(2.0)
_WRAP_QUANTILES = (0.1, 0.3, 0.5, 0.7, 0.9)


def _normal_sf(z: np.ndarray) -> np.ndarray:
    """P(N(0,1) > z), vectorised (erfc by Abramowitz & Stegun 7.1.26, error < 1.5e-7)."""
    x = np.abs(z) / _SQRT2
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                                                                          + t * 1.061405429))))
    upper = 0.5 * poly * np.exp(-x * x)          # P(N > |z|)
    return np.where(z >= 0, upper, 1.0 - upper)


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
        self._k = np.arange(1, self.steps + 1)
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
    def _supply(self, snap: Snapshot) -> tuple[np.ndarray, np.ndarray]:
        """Per grid step: mean and variance of operators free by (answer time + 2 s)."""
        steps, now = self.steps, snap.now
        mean = np.full(steps, float(snap.ready_operators))
        var = np.zeros(steps)
        if snap.wrapping_since:
            tail = self.wrap.tail_array()
            n = self.wrap.bins
            elapsed = now - np.array(snap.wrapping_since)
            base = tail[np.minimum((elapsed / GRID).astype(int), n - 1)]
            start = ((elapsed + BRIDGE_LIMIT) / GRID).astype(int)
            rest = tail[np.minimum(start[:, None] + self._k[None, :], n)]
            p = 1.0 - rest / np.maximum(base, 1e-300)[:, None]
            mean += p.sum(axis=0)
            var += (p * (1.0 - p)).sum(axis=0)
        talking = snap.talking_since + (now,) * snap.reserved_operators
        if talking:
            if self._wrap_quantiles is None:
                self._wrap_quantiles = [self.wrap.quantile(q) for q in _WRAP_QUANTILES]
            horizon = self.steps * GRID + BRIDGE_LIMIT
            shifts = [w for w in self._wrap_quantiles if w < horizon]
            if shifts:
                tail = self.talk.tail_array()
                n = self.talk.bins
                elapsed = now - np.array(talking)
                base = np.maximum(tail[np.minimum((elapsed / GRID).astype(int), n - 1)], 1e-300)
                p = np.zeros((len(talking), steps))
                for w in shifts:
                    # x = (k+1)*GRID + 2 - w more seconds: only x > 0 can be free in time.
                    x = self._k * GRID + BRIDGE_LIMIT - w
                    idx = np.minimum(((elapsed[:, None] + x[None, :]) / GRID).astype(int), n)
                    done = 1.0 - tail[idx] / base[:, None]
                    p += np.where(x[None, :] > 0, done, 0.0)
                p /= len(_WRAP_QUANTILES)
                mean += p.sum(axis=0)
                var += (p * (1.0 - p)).sum(axis=0)
        return mean, var

    def _demand(self, snap: Snapshot) -> tuple[np.ndarray, np.ndarray]:
        """Per grid step: mean and variance of live answers needing an operator by then."""
        steps = self.steps
        mean = np.full(steps, float(snap.waiting_calls))
        var = np.zeros(steps)
        if snap.ringing_since:
            live_tail, all_tail = self.timing.tails_array()
            n = self.timing.bins
            age = snap.now - np.array(snap.ringing_since)
            i = np.minimum((age / GRID).astype(int), n - 1)
            later = live_tail[np.minimum(i[:, None] + self._k[None, :], n)]
            q = (live_tail[i][:, None] - later) / np.maximum(all_tail[i], 1e-300)[:, None]
            mean += q.sum(axis=0)
            var += (q * (1.0 - q)).sum(axis=0)
        return mean, var

    def risk_model(self, snap: Snapshot):
        """A function j -> P(abandon | live) for the (j+1)-th extra call launched now."""
        s_mean, s_var = self._supply(snap)
        d_mean, d_var = self._demand(snap)
        steps = self.steps
        q = np.array(self.timing.live_by_grid(0.0, steps))
        weights = np.array(self.timing.answer_time_weights(steps))
        keep = weights > 1e-4
        w = weights[keep] / (weights[keep].sum() or 1.0)
        m = (s_mean - d_mean - 0.5)[keep]          # abandoned when the balance is below one operator
        v = (s_var + d_var)[keep]
        qk, vk = q[keep], (q * (1.0 - q))[keep]

        def risk(j: int) -> float:
            m_j = m - j * qk
            v_j = np.maximum(v + j * vk, 1e-12)
            return float(w @ _normal_sf(m_j / np.sqrt(v_j)))
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
        threshold = self.controller.threshold_at(snap.now)
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
