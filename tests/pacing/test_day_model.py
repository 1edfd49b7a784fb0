"""A short day of the stand-alone call-centre model (virtual time, seeded) through the pacers.

The engine + simulator version (a whole 8-hour day) is test_engine_day.py; this one drives the
pure pacers through the same interface in a second, so pacing regressions show up early.
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import pacing_model  # noqa: E402


@pytest.fixture(scope="module")
def hour_of_20_operators():
    sc = pacing_model.Scenario(operators=20, live_rate=0.25, hours=1.0)
    return {name: pacing_model.run(name, sc, seed=3).summary(sc.hours)
            for name in ("progressive", "predictive")}


def test_predictive_first_hour_stays_under_the_hour_limit(hour_of_20_operators):
    # The first hour, priors still being replaced by data, is the hardest; the day target (3 %)
    # is checked over whole days in bench/pacing_model.py (docs/BENCHMARKS.md), too slow here.
    # The controller's hour budget aims at 4 %; the worst-hour limit is 5 %.
    r = hour_of_20_operators["predictive"]
    assert r["live_answers"] > 300
    assert r["abandon_rate"] <= 0.04


def test_predictive_keeps_operators_busier_than_progressive(hour_of_20_operators):
    pred, prog = hour_of_20_operators["predictive"], hour_of_20_operators["progressive"]
    assert prog["abandon_rate"] == 0.0
    assert pred["occupancy"] > prog["occupancy"] + 0.10
    assert pred["occupancy"] > 0.88
    assert pred["mean_wait_seconds"] < prog["mean_wait_seconds"] / 2
