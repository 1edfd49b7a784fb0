"""Crash safety: the engine torn down mid-campaign with calls in flight, then restarted.

The first run is cancelled outright (as a killed process would stop: no drain, no
outcomes for calls in flight). On restart, recovery closes the open attempts as
`unknown` and frees the leases; the second run dials on. Every lead is accounted for
(its attempt count equals its attempt rows, no attempt left open) and no lead was
ever in two calls at once.
"""

import datetime as dt

import trio

from dialer.clock import Clock
from dialer.engine.audit import run_audit
from dialer.engine.compat import Hopper, finish_attempts, finish_unknown, make_pacer, start_attempts
from dialer.engine.journal import CallJournal
from dialer.engine.operators import OperatorDesk, OperatorState
from dialer.engine.runner import CampaignRunner, RunnerSettings
from dialer.store.operators import create_operators
from dialer.store.recovery import recover_node

from engine_scripted import ScriptedPlacer
from test_runner import START, _operator, _seed

NODE = "node-crash"


async def _session(store, clock, campaign, operators, seconds, *, crash):
    desk = OperatorDesk()
    for row in operators:
        desk.add(row["id"], row["name"])
    journal = CallJournal(store, start_attempts, finish_attempts)
    source = Hopper(store, clock, campaign["id"], NODE)
    async with trio.open_nursery() as nursery:
        placer = ScriptedPlacer(nursery)
        runner = CampaignRunner(campaign, clock=clock, journal=journal, hopper=source,
                                pacer=make_pacer("power"), placer=placer, desk=desk,
                                settings=RunnerSettings(node=NODE, drain_timeout=300),
                                classify=lambda call: "machine" if call.machine else "live")
        await nursery.start(journal.run)
        for row in operators:
            nursery.start_soon(_operator, desk, row["name"])
        await nursery.start(runner.run)
        await trio.sleep(seconds)
        in_flight = runner.in_flight()
        if crash:
            nursery.cancel_scope.cancel()          # no drain, no goodbye
            return in_flight
        runner.stop()
        while runner.in_flight():
            await trio.sleep(1)
        while any(op.state is OperatorState.WRAP_UP for op in desk.operators.values()):
            await trio.sleep(1)
        await journal.drained()
        nursery.cancel_scope.cancel()
    return in_flight


async def test_cancelled_mid_campaign_then_restarted(store, autojump_clock):
    campaign = await store.run(_seed, 80)
    operators = await store.run(create_operators, [{"name": f"op{i}"} for i in range(4)])
    clock = Clock(START)

    in_flight = await _session(store, clock, campaign, operators, 200, crash=True)
    assert in_flight > 0, "the crash must hit calls in flight"
    open_rows = await store.fetchval("SELECT count(*) FROM attempt WHERE ended_at IS NULL")
    assert open_rows > 0, "a crash leaves open attempts as evidence"

    recovered = await store.run(recover_node, NODE, clock.now(), finish_unknown)
    assert len(recovered["closed"]) == open_rows

    await _session(store, clock, campaign, operators, 900, crash=False)

    assert await store.fetchval("SELECT count(*) FROM attempt WHERE ended_at IS NULL") == 0
    assert await store.fetchval("SELECT count(*) FROM attempt WHERE outcome = 'unknown'") == open_rows
    mismatched = await store.fetch(
        "SELECT l.id, l.attempts, count(a.id) AS rows FROM lead l LEFT JOIN attempt a ON a.lead_id = l.id "
        "GROUP BY l.id HAVING l.attempts <> count(a.id)")
    assert mismatched == [], "every attempt counted on its lead, none lost"
    assert await store.fetchval("SELECT count(*) FROM lead WHERE lease_owner IS NOT NULL") == 0
    report = await run_audit(store, campaign["id"])
    assert [v for v in report.violations if v.rule == "double_dial"] == []
    # Leads whose call was cut were retried only after their put-off, not at once.
    unknown_redials = await store.fetch(
        "SELECT a.lead_id, a.ended_at, b.started_at FROM attempt a JOIN attempt b "
        "ON b.lead_id = a.lead_id AND b.started_at > a.started_at WHERE a.outcome = 'unknown'")
    assert all(r["started_at"] >= r["ended_at"] + dt.timedelta(minutes=9) for r in unknown_redials)
