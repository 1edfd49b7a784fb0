"""The estimates the predictive pacer learns: priors first, then data, conditional answers."""

import random

import pytest

from dialer.pacing import CallTimingEstimate, DurationEstimate


def test_prior_answers_before_any_data():
    talk = DurationEstimate(prior_mean=150.0, prior_sd=120.0)
    assert talk.observations == 0
    assert talk.mean() == pytest.approx(150.0, rel=0.05)
    assert 0.0 < talk.done_within(0.0, 60.0) < 1.0


def test_data_takes_over_from_the_prior():
    wrap = DurationEstimate(prior_mean=20.0, prior_sd=15.0)
    for _ in range(500):
        wrap.observe(30.0)
    assert wrap.mean() == pytest.approx(30.0, abs=1.5)
    # An operator 20 s into a 30 s wrap-up: free within 12 s, not within 5 s.
    assert wrap.done_within(20.0, 12.0) > 0.95
    assert wrap.done_within(20.0, 5.0) < 0.05


def test_residual_is_conditional_on_time_already_spent():
    # Half the calls last 10 s, half 200 s: at the start ~105 s remain on average, but a call
    # already 20 s long is one of the long ones and has ~180 s left.
    talk = DurationEstimate(prior_mean=100.0, prior_sd=50.0, prior_weight=1.0)
    for _ in range(1000):
        talk.observe(10.0)
        talk.observe(200.0)
    assert talk.expected_residual(0.0) == pytest.approx(105.0, abs=5.0)
    assert talk.expected_residual(20.0) == pytest.approx(180.0, abs=5.0)
    assert talk.done_within(20.0, 10.0) < 0.01
    assert talk.done_within(5.0, 10.0) > 0.45


def test_grid_matches_pointwise():
    rng = random.Random(1)
    talk = DurationEstimate(prior_mean=120.0, prior_sd=90.0)
    for _ in range(300):
        talk.observe(rng.lognormvariate(4.6, 0.7))
    grid = talk.done_within_grid(80.0, 10, offset=2.0)
    for s, p in enumerate(grid, 1):
        assert p == pytest.approx(talk.done_within(80.0, 2.0 + s * 0.5), abs=1e-9)
    assert grid == sorted(grid)


def test_call_timing_learns_live_rate_and_conditions_on_age():
    timing = CallTimingEstimate(ring_timeout=25.0)
    rng = random.Random(2)
    for _ in range(4000):
        u = rng.random()
        if u < 0.25:
            timing.observe(rng.uniform(4.0, 12.0), live=True)
        elif u < 0.35:
            timing.observe(rng.uniform(4.0, 12.0), live=False)     # machine
        elif u < 0.5:
            timing.observe(rng.uniform(0.5, 3.0), live=False)      # busy / invalid
        else:
            timing.observe(25.0, live=False)                       # no answer at the timeout
    assert timing.live_rate() == pytest.approx(0.25, abs=0.02)
    # Still ringing after 3 s: failures are behind it, so a live answer is likelier.
    assert timing.live_eventually(3.0) > timing.live_rate()
    # Still ringing after 13 s: every live answer comes by 12 s, so it will not be one.
    assert timing.live_eventually(13.0) < 0.01
    by = timing.live_by_grid(0.0, 50)
    assert by == sorted(by) and by[-1] == pytest.approx(timing.live_rate(), abs=0.01)
    weights = timing.answer_time_weights(50)
    assert sum(weights) == pytest.approx(1.0, abs=0.01)
    assert sum(weights[:8]) < 0.05  # almost no live answers in the first 4 s
