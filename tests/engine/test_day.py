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


async def test_power_dialing_abandons_are_counted_and_locked_out(store, autojump_clock):
    # Power pacing with few operators answers more calls than there are people: abandons happen.
    profile = load_profile(ROOT / "config" / "sim" / "answer-all.toml")
    result = await run_day(store, profile, DayOptions(operators=2, duration=1200, leads=1000,
                                                      pacing="power", seed=11))
    abandoned = result["outcomes"].get("abandoned", 0)
    assert abandoned > 0, result["outcomes"]
    assert result["abandon_rate"] == abandoned / result["live_answers"]
    # Each abandoned number is locked out (72 h in DayOptions' campaign): its lead is not due
    # before the lock-out ends, and the audit saw no call inside a lock-out.
    rows = await store.fetch(
        "SELECT a.ended_at, l.next_attempt_at FROM attempt a JOIN lead l ON l.id = a.lead_id "
        "WHERE a.outcome = 'abandoned'")
    assert rows and all(r["next_attempt_at"] is not None and
                        (r["next_attempt_at"] - r["ended_at"]).total_seconds() >= 72 * 3600 for r in rows)
    assert "lockout" not in result["audit_by_rule"]
    assert await store.fetchval("SELECT count(*) FROM attempt WHERE ended_at IS NULL") == 0
