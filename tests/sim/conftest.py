"""Simulator tests run in virtual time; seed trio's tie-breaking so each test
replays the same way every time (see sim/virtual.py)."""

import pytest

from sim.virtual import seed_trio_scheduler


@pytest.fixture(autouse=True)
def _repeatable_scheduling():
    seed_trio_scheduler(0)
