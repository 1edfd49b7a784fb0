"""The abandon-rate controller: slows down when abandons rise, speeds up when operators wait."""

import pytest

from dialer.pacing import AbandonController, AbandonWindows


def test_windows_day_and_rolling_hour():
    w = AbandonWindows()
    for i in range(100):
        w.record(float(i), abandoned=(i < 10))
    assert w.day_rate == pytest.approx(0.10)
    assert w.hour_rate(100.0) == pytest.approx(0.10)
    # An hour later the first 50 answers (all 10 abandons) have left the hour window.
    assert w.hour_counts(3650.0) == (50, 0)
    assert w.day_rate == pytest.approx(0.10)


def test_abandons_lower_the_threshold():
    c = AbandonController(target=0.03)
    before = c.threshold
    for i in range(20):
        c.settle(float(i), abandoned=True)
    assert c.threshold < before / 5


def test_bridged_answers_raise_the_threshold():
    c = AbandonController(target=0.03)
    before = c.threshold
    for i in range(200):
        c.settle(float(i), abandoned=False)
    assert c.threshold > before * 2


def test_threshold_settles_where_the_rate_meets_the_aim():
    c = AbandonController(target=0.03, uncertainty_margin=0.0, team_margin=0.0, base_margin=0.0)
    # Abandon 1 in 20 (5 %): above target, so the threshold keeps falling.
    start = c.threshold
    for i in range(2000):
        c.settle(float(i), abandoned=(i % 20 == 0))
    assert c.threshold < start
    # Abandon 1 in 50 (2 %): under target, so it rises again.
    low = c.threshold
    for i in range(2000, 4000):
        c.settle(float(i), abandoned=(i % 50 == 0))
    assert c.threshold > low


def test_margin_grows_with_uncertainty():
    c = AbandonController(target=0.03)
    c.operators = 20
    early = c.margin()
    for i in range(2000):
        c.windows.record(float(i), False)
    assert c.margin() < early
    late_big_team = c.margin()
    c.operators = 5
    assert c.margin() > late_big_team
    assert c.aim(2000.0) < 0.03


def test_hot_hour_cuts_the_aim():
    c = AbandonController(target=0.03)
    for i in range(1000):
        c.windows.record(float(i), False)
    calm = c.aim(1000.0)
    for i in range(100):
        c.windows.record(10000.0 + i, abandoned=(i % 10 == 0))   # 10 % in the last hour
    assert c.windows.day_rate < 0.01
    assert c.aim(10100.0) < calm * 0.6


def test_hour_guard_stops_risky_dials_before_a_small_team_s_hour_passes_5_percent():
    # ~70 live answers an hour (5 operators, 15 % live): 3 abandons in the last hour are the most
    # one more may join without the hour going over the 4.5 % cap.
    c = AbandonController(target=0.03)
    for i in range(70):
        c.settle(i * 51.0, abandoned=False)          # an hour of calm: 70 bridged
    now = 70 * 51.0
    assert not c.hour_guard(now) and c.threshold_at(now) == c.threshold
    for k in range(3):
        c.settle(now + k, abandoned=True)
    assert c.hour_guard(now + 3)
    assert c.threshold_at(now + 3) == c.min_threshold < c.threshold
    # An hour later those abandons have left the window, the guard lets go.
    later = now + 3700.0
    for i in range(70):
        c.settle(later - 3600 + i * 51.0, abandoned=False)
    assert not c.hour_guard(later + 3)
