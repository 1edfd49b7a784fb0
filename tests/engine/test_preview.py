"""Preview mode: an operator asks for a lead, looks, then dials or skips (or times out)."""

import pytest
import trio

from dialer.clock import Clock
from dialer.engine.compat import Hopper, finish_attempts, make_pacer, start_attempts
from dialer.engine.journal import CallJournal
from dialer.engine.operators import OperatorDesk, OperatorError, OperatorState
from dialer.engine.runner import CampaignRunner, RunnerSettings
from dialer.store.operators import create_operators

from engine_scripted import ScriptedPlacer
from test_runner import START, _seed


async def _with_runner(store, body, **settings):
    campaign = await store.run(_seed, 10)
    (row,) = await store.run(create_operators, [{"name": "pat"}])
    desk = OperatorDesk()
    desk.add(row["id"], "pat")
    desk.login("pat", ready=True)
    clock = Clock(START)
    journal = CallJournal(store, start_attempts, finish_attempts)
    source = Hopper(store, clock, campaign["id"], "node-p")
    async with trio.open_nursery() as nursery:
        runner = CampaignRunner(campaign, clock=clock, journal=journal, hopper=source,
                                pacer=make_pacer("preview"), placer=ScriptedPlacer(nursery), desk=desk,
                                settings=RunnerSettings(node="node-p", **settings))
        await nursery.start(journal.run)
        await nursery.start(runner.run)
        await body(runner, desk)
        await journal.drained()
        nursery.cancel_scope.cancel()


async def test_preview_dial_connects_the_operator(store, autojump_clock):
    async def body(runner, desk):
        await trio.sleep(5)
        assert runner.in_flight() == 0, "preview mode never dials by itself"
        lead = await runner.preview_next("pat")
        assert lead.phone == "+12125550001" and desk.get("pat").state is OperatorState.RESERVED
        attempt = await runner.preview_dial("pat")
        await trio.sleep(9)       # number ...0001 answers after 8 s
        assert desk.get("pat").state is OperatorState.ON_CALL
        await trio.sleep(120)
        assert desk.get("pat").state is OperatorState.WRAP_UP
        row = await runner.journal.store.fetchrow("SELECT * FROM attempt WHERE id = $1", attempt)
        assert row["outcome"] == "answered" and row["operator_id"] == desk.get("pat").id

    await _with_runner(store, body)


async def test_preview_skip_gives_the_lead_back(store, autojump_clock):
    async def body(runner, desk):
        lead = await runner.preview_next("pat")
        await runner.preview_skip("pat")
        assert desk.get("pat").state is OperatorState.READY
        assert await runner.journal.store.fetchval("SELECT lease_owner FROM lead WHERE id = $1", lead.id) is None
        assert await runner.journal.store.fetchval("SELECT count(*) FROM attempt") == 0
        with pytest.raises(OperatorError, match="no lead in preview"):
            await runner.preview_dial("pat")

    await _with_runner(store, body)


async def test_preview_timeout_skips_by_default_or_dials(store, autojump_clock):
    async def body(runner, desk):
        await runner.preview_next("pat")
        await trio.sleep(31)
        assert desk.get("pat").state is OperatorState.READY
        assert await runner.journal.store.fetchval("SELECT count(*) FROM attempt") == 0

    await _with_runner(store, body, preview_timeout=30)


async def test_preview_timeout_can_dial(store, autojump_clock):
    async def body(runner, desk):
        await runner.preview_next("pat")
        await trio.sleep(31)
        assert await runner.journal.store.fetchval("SELECT count(*) FROM attempt") == 1

    await _with_runner(store, body, preview_timeout=30, preview_timeout_action="dial")
