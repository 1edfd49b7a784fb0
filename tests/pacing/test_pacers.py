"""Pacers' decisions on hand-made snapshots."""

import pytest

from dialer.config import PacingConfig
from dialer.pacing import (AdaptiveDialLevelPacer, CallResolved, LiveAnswerSettled, PowerPacer,
                           PredictivePacer, PreviewPacer, ProgressivePacer, Snapshot, TalkEnded,
                           WrapEnded, make_pacer)


def test_preview_never_launches():
    assert PreviewPacer().decide(Snapshot(now=0.0, ready_operators=5)).launch == 0


def test_progressive_one_call_per_ready_operator_minus_calls_in_flight():
    p = ProgressivePacer()
    assert p.decide(Snapshot(now=0.0, ready_operators=5)).launch == 5
    snap = Snapshot(now=10.0, ready_operators=5, ringing_since=(1.0, 2.0), waiting_calls=1,
                    machine_calls=3, talking_since=(0.0,))
    assert p.decide(snap).launch == 2      # machines need no one; ringing and waiting calls do
    assert p.decide(Snapshot(now=0.0, ready_operators=1, ringing_since=(0.0, 0.0))).launch == 0


def test_power_fixed_ratio_and_line_cap():
    p = PowerPacer(PacingConfig(power_ratio=2.0, max_lines_per_operator=3.0))
    assert p.decide(Snapshot(now=0.0, ready_operators=4)).launch == 8
    assert p.decide(Snapshot(now=0.0, ready_operators=4, ringing_since=(0.0,) * 5)).launch == 3
    capped = PowerPacer(PacingConfig(power_ratio=3.0, max_lines_per_operator=1.5))
    assert capped.decide(Snapshot(now=0.0, ready_operators=4)).launch == 6


def test_adaptive_level_rises_while_operators_wait():
    p = AdaptiveDialLevelPacer()
    t = 0.0
    while t < 120.0:
        p.decide(Snapshot(now=t, ready_operators=5, talking_since=(0.0,) * 15))
        t += 0.5
    assert p.level > 1.5
    d = p.decide(Snapshot(now=t, ready_operators=5, talking_since=(0.0,) * 15))
    assert d.launch > 5


def test_adaptive_hard_limit_resets_level_when_day_drops_pass_target():
    p = AdaptiveDialLevelPacer(initial_level=2.5)
    for i in range(100):
        p.observe(LiveAnswerSettled(float(i), abandoned=(i % 10 == 0)))   # 10 % dropped
    t = 0.0
    while t < 31.0:
        p.decide(Snapshot(now=t, ready_operators=5, talking_since=(0.0,) * 15))
        t += 0.5
    assert p.level == 1.0


def _trained(pacer: PredictivePacer) -> PredictivePacer:
    """Feed a day's worth of steady experience: 25 % live at ~8 s, 120 s talks, 30 s wraps."""
    for i in range(2000):
        kind = "live" if i % 4 == 0 else ("machine" if i % 4 == 1 else "no_answer")
        age = 8.0 if kind != "no_answer" else 25.0
        pacer.observe(CallResolved(0.0, age, kind))
    for i in range(500):
        pacer.observe(TalkEnded(0.0, 60.0 + (i % 5) * 30.0))
        pacer.observe(WrapEnded(0.0, 30.0))
    return pacer


def test_predictive_overdials_when_operators_are_free():
    p = _trained(PredictivePacer())
    d = p.decide(Snapshot(now=1000.0, ready_operators=10, talking_since=(990.0,) * 10))
    # 25 % answer live: well over one call per ready operator, but not unboundedly many.
    assert 15 <= d.launch <= 60


def test_predictive_waits_when_no_operator_frees_soon():
    p = _trained(PredictivePacer())
    # Everyone just started talking (>= 60 s + 30 s wrap left): no call is safe.
    snap = Snapshot(now=1000.0, ready_operators=0, talking_since=(999.0,) * 20)
    assert p.decide(snap).launch == 0


def test_predictive_dials_ahead_of_operators_finishing_wrap_up():
    p = _trained(PredictivePacer())
    soon = Snapshot(now=1000.0, ready_operators=0, talking_since=(999.0,) * 10,
                    wrapping_since=(975.0,) * 10)          # 25 s into 30 s wraps
    late = Snapshot(now=1000.0, ready_operators=0, talking_since=(999.0,) * 10,
                    wrapping_since=(999.0,) * 10)          # just started wrapping
    assert p.decide(soon).launch > p.decide(late).launch


def test_predictive_counts_calls_already_ringing():
    p = _trained(PredictivePacer())
    empty = p.decide(Snapshot(now=1000.0, ready_operators=10, talking_since=(990.0,) * 10))
    busy = p.decide(Snapshot(now=1000.0, ready_operators=10, talking_since=(990.0,) * 10,
                             ringing_since=(999.0,) * 20))
    assert busy.launch < empty.launch


def test_predictive_slows_down_when_abandons_rise_and_speeds_up_when_operators_wait():
    snap = Snapshot(now=1000.0, ready_operators=3, talking_since=(900.0,) * 12,
                    wrapping_since=(975.0,) * 8)           # 8 operators free in ~5 s
    base = _trained(PredictivePacer()).decide(snap).launch
    hot = _trained(PredictivePacer())
    for i in range(40):
        hot.observe(LiveAnswerSettled(float(i), abandoned=(i % 4 == 0)))
    calm = _trained(PredictivePacer())
    for i in range(400):
        calm.observe(LiveAnswerSettled(float(i), abandoned=False))
    assert hot.decide(snap).launch < base < calm.decide(snap).launch


def test_predictive_falls_back_to_progressive_with_few_operators():
    p = _trained(PredictivePacer(PacingConfig(predictive_min_operators=3)))
    d = p.decide(Snapshot(now=0.0, ready_operators=2))
    assert d.launch == 2 and "progressive" in d.reason


def test_largest_launch_search():
    for threshold in (0.0, 0.05, 0.31, 0.99):
        for room in (0, 1, 7, 64):
            def risk(j):
                return j * 0.01
            expect = min(room, sum(1 for j in range(room) if risk(j) <= threshold))
            assert PredictivePacer.largest_launch(risk, threshold, room) == expect


def test_make_pacer_checks_allowed_modes():
    cfg = PacingConfig(allowed_modes=["progressive"])
    assert isinstance(make_pacer("progressive", cfg), ProgressivePacer)
    with pytest.raises(ValueError, match="allowed_modes"):
        make_pacer("predictive", cfg)
    with pytest.raises(ValueError, match="'warp'"):
        make_pacer("warp")
