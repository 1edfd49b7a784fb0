"""The campaign runner's orchestration in virtual time, on a real PostgreSQL.

Calls are placed through a scripted placer (no SIP stack: see engine_scripted.py);
operators are desk-only and wrap 10 s after each call. Checks the promises the runner
makes: a row before every INVITE, an outcome for every call, no lead dialed twice at
once, abandons only when no operator was free, a clean drain on stop.
"""

import datetime as dt

import trio

from dialer.clock import Clock
from dialer.engine.audit import run_audit
from dialer.engine.compat import Hopper, finish_attempts, make_pacer, start_attempts
from dialer.engine.journal import CallJournal
from dialer.engine.metrics import EngineMetrics
from dialer.engine.operators import OperatorDesk, OperatorState
from dialer.engine.runner import CampaignRunner, RunnerSettings
from dialer.store.campaigns import create_campaign
from dialer.store.operators import create_operators

from engine_scripted import ScriptedPlacer

START = dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.timezone.utc)   # 10:00 in New York


async def _seed(conn, leads=60):
    c = await create_campaign(conn, {"name": "run"})
    lid = await conn.fetchval("INSERT INTO lead_list (campaign_id, name, to_dial) VALUES ($1, 'l', true) "
                              "RETURNING id", c["id"])
    await conn.execute(
        "INSERT INTO lead (campaign_id, list_id, phone, timezone, region, country) "
        "SELECT $1, $2, '+1212555' || lpad(g::text, 4, '0'), 'America/New_York', 'NY', 'US' "
        "FROM generate_series(1, $3) g", c["id"], lid, leads)
    return c


async def _operator(desk, name, wrap_seconds=10.0):
    desk.login(name, ready=True)
    op = desk.get(name)
    while True:
        while op.state is not OperatorState.WRAP_UP:
            await trio.sleep(0.5)
        await trio.sleep(wrap_seconds)
        await desk.wrap(name, "NI")


async def _run(store, minutes, *, operators=3, stop_after=None, hangup_answered=False):
    campaign = await store.run(_seed)
    clock = Clock(START)
    metrics = EngineMetrics()
    desk = OperatorDesk(listeners=[metrics.operator_moved])
    rows = await store.run(create_operators, [{"name": f"op{i + 1}"} for i in range(operators)])
    for row in rows:
        desk.add(row["id"], row["name"])
    journal = CallJournal(store, start_attempts, finish_attempts, metrics=metrics)
    source = Hopper(store, clock, campaign["id"], "node-1")
    async with trio.open_nursery() as nursery:
        placer = ScriptedPlacer(nursery)
        runner = CampaignRunner(campaign, clock=clock, journal=journal, hopper=source,
                                pacer=make_pacer("progressive"), placer=placer, desk=desk, metrics=metrics,
                                settings=RunnerSettings(node="node-1", hangup_answered=hangup_answered,
                                                        drain_timeout=120),
                                classify=lambda call: "machine" if call.machine else "live")
        await nursery.start(journal.run)
        ops = trio.CancelScope()

        async def team():
            with ops:
                async with trio.open_nursery() as team_nursery:
                    for i in range(operators):
                        team_nursery.start_soon(_operator, desk, f"op{i + 1}")

        nursery.start_soon(team)
        await nursery.start(runner.run)
        await trio.sleep(minutes * 60)
        runner.stop()
        while runner.in_flight():
            await trio.sleep(1)
        await trio.sleep(30)       # let the last wraps happen
        ops.cancel()
        await journal.drained()
        nursery.cancel_scope.cancel()
    return campaign, runner, placer, metrics, desk


async def test_runner_places_calls_and_stores_every_outcome(store, autojump_clock):
    campaign, runner, placer, metrics, desk = await _run(store, 20)
    rows = await store.fetch("SELECT * FROM attempt ORDER BY id")
    assert len(rows) == len(placer.dialed) > 30
    assert all(r["ended_at"] is not None and r["outcome"] for r in rows), "every call has an outcome"
    by_digit = {}
    for r in rows:
        by_digit.setdefault(r["called_number"][-1], set()).add(r["outcome"])
    assert by_digit["4"] == {"busy"} and by_digit["7"] == {"invalid"} and by_digit["9"] == {"machine"}
    assert by_digit["5"] == {"no_answer"} and by_digit["8"] == {"failed"}
    assert by_digit["0"] <= {"answered", "abandoned"}
    # Progressive pacing keeps one operator per call in flight: nobody waits, nothing abandoned.
    assert metrics.registry.get_sample_value("dialer_abandons_total", {"campaign": "run"}) is None
    answered = [r for r in rows if r["outcome"] == "answered"]
    assert answered and all(r["operator_id"] and r["bridged_at"] for r in answered)
    leads = await store.fetch("SELECT * FROM lead WHERE attempts > 0")
    assert sum(r["attempts"] for r in leads) == len(rows)
    assert all(r["lease_owner"] is None for r in leads), "every lease released after the call"
    report = await run_audit(store, campaign["id"])
    assert report.violations == [], report.violations
    assert desk.occupancy() > 0


async def test_bench_mode_hangs_up_answered_calls_at_once(store, autojump_clock):
    campaign, runner, placer, metrics, desk = await _run(store, 2, operators=0, hangup_answered=True)
    rows = await store.fetch("SELECT outcome, count(*) AS n FROM attempt GROUP BY 1")
    counts = {r["outcome"]: r["n"] for r in rows}
    # 60 leads, each dialed once in the first round (retries are put off for minutes).
    assert sum(counts.values()) == 60
    assert counts["answered"] == 24 and "abandoned" not in counts

