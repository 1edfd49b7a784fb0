"""A simulated campaign day in virtual time: engine + the simulator's carrier on the in-memory
network, a desk-driven operator team, real PostgreSQL. Invariants: the audit finds nothing,
lists get their weighted shares, abandons are counted, every attempt is closed."""

from pathlib import Path

import pytest

from dialer.engine.loadtest import DayOptions, run_day
from sim.profile import load_profile

ROOT = Path(__file__).resolve().parents[2]


async def test_virtual_day_holds_the_invariants(store, autojump_clock):
    profile = load_profile(ROOT / "config" / "sim" / "default.toml")
    result = await run_day(store, profile, DayOptions(operators=5, duration=3600, leads=2000,
                                                      pacing="progressive", seed=7))
    assert result["calls"] > 100
    assert result["audit_violations"] == 0, result["audit_by_rule"]
    assert await store.fetchval("SELECT count(*) FROM attempt WHERE ended_at IS NULL") == 0
    o = result["outcomes"]
    assert o.get("answered", 0) > 0 and o.get("machine", 0) > 0 and o.get("busy", 0) > 0
    shares = result["dials_per_list"]
    total = sum(shares.values())
    # weights 70 / 30 / 100 → 35 % / 15 % / 50 % of dials
    assert shares["east"] / total == pytest.approx(0.35, abs=0.03)
    assert shares["central"] / total == pytest.approx(0.15, abs=0.03)
    assert shares["west"] / total == pytest.approx(0.50, abs=0.03)
    assert 0 < result["occupancy"] <= 1
