"""A short real-UDP loadtest whose operators are the simulator's SIP phones: they REGISTER with
the engine's registrar (digest), auto-answer the bridged INVITE and the re-INVITE that joins the
called party's media, and wrap through the desk. Real PostgreSQL, real sockets on 127.0.0.1."""

from dialer.engine.loadtest import DayOptions, run_day
from sim.profile import parse_profile

# Short rings and talks so the drain after 10 s of dialing is quick; most calls answer live.
PROFILE = """
name = "phones"
seed = 3
[outcomes]
answered = 0.6
machine = 0.1
invalid = 0.1
rest = "busy"
[ring]
default = { kind = "uniform", low = 1, high = 3 }
[talk]
kind = "uniform"
low = 2
high = 5
[machine]
greeting = { kind = "fixed", value = 1 }
recording = { kind = "fixed", value = 1 }
[operators]
count = 3
login = { kind = "fixed", value = 0 }
answer_delay = { kind = "fixed", value = 0.2 }
wrap = { kind = "uniform", low = 0.5, high = 1.5 }
wrap_codes = { NI = 0.5, SALE = 0.2, CALLBK = 0.3 }
"""


async def test_real_udp_loadtest_bridges_calls_to_registered_phones(store):
    result = await run_day(store, parse_profile(PROFILE), DayOptions(
        operators=3, duration=10, leads=300, virtual=False, seed=3, campaign="phones"))
    assert result["operators_via"] == "phones"
    phones = result["phones"]
    assert phones["registered"] == 3 and phones["register_failures"] == 0
    assert phones["registrar"]["challenged"] >= 3          # every phone answered a digest challenge
    bridged = await store.fetch("SELECT operator_id FROM attempt WHERE outcome = 'answered'")
    assert len(bridged) >= 3, result["outcomes"]
    # Every answered call reached a phone, and every call a phone answered is one of them.
    assert phones["bridge"]["bridged"] == len(bridged) == phones["calls_answered_by_phones"], phones
    assert phones["bridge"]["reinvite_failed"] == 0 and phones["wrap_errors"] == 0
    operators = {r["id"] for r in await store.fetch("SELECT id FROM operator")}
    assert {r["operator_id"] for r in bridged} <= operators and None not in {r["operator_id"] for r in bridged}
    # The phones' wraps reached the database (wrap code on every bridged attempt).
    assert await store.fetchval("SELECT count(*) FROM attempt WHERE outcome = 'answered' AND wrap_code IS NULL") == 0
    assert result["audit_violations"] == 0, result["audit_by_rule"]
    assert result["carrier"]["calls"] == result["calls"]


async def test_real_udp_loadtest_can_still_drive_the_desk(store):
    result = await run_day(store, parse_profile(PROFILE), DayOptions(
        operators=2, duration=5, leads=200, virtual=False, seed=3, campaign="desk", operators_via="desk"))
    assert result["operators_via"] == "desk" and "phones" not in result
    assert result["outcomes"].get("answered", 0) > 0 and result["audit_violations"] == 0
