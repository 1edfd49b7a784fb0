"""Callback ownership through the engine: the wrap path (`Engine._store_wrap`) keeps an
operator's callback for that operator, and the runner puts the callback through to its owner
(not to whoever has been idle longest), on a real PostgreSQL in virtual time."""

import datetime as dt

import trio

from dialer.clock import Clock
from dialer.engine.compat import Hopper, finish_attempts, make_pacer, start_attempts
from dialer.engine.engine import Engine, EngineOptions
from dialer.engine.journal import CallJournal
from dialer.engine.operators import CallInfo, Operator, OperatorState as S, callback_owner
from dialer.engine.runner import CampaignRunner, RunnerSettings
from dialer.sip.trunk import TrunkPool
from dialer.store.operators import create_operators

from engine_scripted import ScriptedPlacer
from test_runner import START, _seed


def test_callback_owner_is_the_wrapping_operator_unless_the_desk_says_otherwise():
    op = Operator(7, "alice")
    at = START + dt.timedelta(hours=1)
    assert callback_owner(op, CallInfo(), at) == 7
    assert callback_owner(op, CallInfo(extra={"callback_owner": None}), at) is None   # campaign-wide
    assert callback_owner(op, CallInfo(extra={"callback_owner": 9}), at) == 9
    assert callback_owner(op, CallInfo(), None) is None                                # no callback


async def _engine(store, campaign, names):
    engine = Engine(store, TrunkPool([]), EngineOptions(node="node-cb", http_listen=None, require_phone=False))
    engine.clock = Clock(START)
    engine.journal = CallJournal(store, start_attempts, finish_attempts)
    rows = await store.run(create_operators, [{"name": n} for n in names])
    for row in rows:
        engine.desk.add(row["id"], row["name"])
    return engine, {row["name"]: row["id"] for row in rows}


async def test_store_wrap_keeps_the_callback_for_its_owner_or_the_campaign(store, autojump_clock):
    campaign = await store.run(_seed, 2)
    engine, ids = await _engine(store, campaign, ["alice", "bob"])
    leads = [r["id"] for r in await store.fetch("SELECT id FROM lead ORDER BY id")]
    desk = engine.desk
    due = START + dt.timedelta(minutes=30)
    for name, lead, extra in (("alice", leads[0], {}), ("bob", leads[1], {"callback_owner": None})):
        desk.login(name, ready=True)
        op = desk.try_reserve(exclude={i for n, i in ids.items() if n != name})
        desk.connect(op, CallInfo(None, lead, campaign["id"], extra=dict(extra)))
        desk.hangup(op)
        await desk.wrap(name, "CALLBK", "call me back", due)
        assert op.state is S.READY
    rows = {r["lead_id"]: r for r in await store.fetch("SELECT * FROM callback")}
    assert rows[leads[0]]["operator_id"] == ids["alice"] and rows[leads[0]]["due_at"] == due
    assert rows[leads[1]]["operator_id"] is None          # bob ticked "campaign-wide"
    # Kept for its owner: at the due time the hopper hands alice's callback only to alice.
    engine.clock = Clock(due + dt.timedelta(minutes=1))
    hopper = Hopper(store, engine.clock, campaign["id"], "node-cb")
    got = await hopper.take(2, [ids["bob"]])
    assert [lead.id for lead in got] == [leads[1]]
    got = await hopper.take(2, [ids["alice"]])
    assert [lead.id for lead in got] == [leads[0]] and got[0].callback_operator == ids["alice"]


async def test_an_owned_callback_is_put_through_to_its_owner_not_the_longest_idle(store, autojump_clock):
    # One lead, +12125550001: answers after 8 s, talks 90 s (engine_scripted.SCRIPT).
    campaign = await store.run(_seed, 1)
    engine, ids = await _engine(store, campaign, ["alice", "bob"])
    desk, clock, journal = engine.desk, engine.clock, engine.journal
    async with trio.open_nursery() as nursery:
        runner = CampaignRunner(campaign, clock=clock, journal=journal,
                                hopper=Hopper(store, clock, campaign["id"], "node-cb"),
                                pacer=make_pacer("progressive"), placer=ScriptedPlacer(nursery), desk=desk,
                                settings=RunnerSettings(node="node-cb", drain_timeout=300),
                                classify=lambda call: "live")
        await nursery.start(journal.run)
        await nursery.start(runner.run)
        alice = desk.login("alice", ready=True)
        await trio.sleep(20)
        assert alice.state is S.ON_CALL
        await trio.sleep(90)
        assert alice.state is S.WRAP_UP
        # Alice schedules the callback through the engine's wrap path (hers by default) and goes
        # on a break; bob logs in and waits.
        due = clock.now() + dt.timedelta(minutes=30)
        await desk.wrap("alice", "CALLBK", None, due)
        desk.pause("alice", "break")
        bob = desk.login("bob", ready=True)
        await trio.sleep(35 * 60)          # due 5 minutes ago, inside the 15-minute grace
        assert bob.state is S.READY and await store.fetchval("SELECT count(*) FROM attempt") == 1
        # Alice is back: the callback is dialed with her reserved for it, though bob has been
        # idle far longer, and put through to her when it answers.
        desk.ready("alice")
        await trio.sleep(1)
        assert alice.state is S.RESERVED and bob.state is S.READY
        await trio.sleep(10)
        assert alice.state is S.ON_CALL and bob.state is S.READY
        runner.stop()
        await trio.sleep(100)
        await journal.drained()
        nursery.cancel_scope.cancel()
    rows = await store.fetch("SELECT * FROM attempt ORDER BY id")
    assert len(rows) == 2 and rows[1]["outcome"] == "answered"
    assert rows[1]["operator_id"] == ids["alice"] and rows[1]["started_at"] >= due
    assert await store.fetchval("SELECT done_at FROM callback") is not None


async def test_owned_callback_is_not_dialed_when_its_owner_was_taken_meanwhile(store, autojump_clock):
    # The hopper hands an owned callback out while its owner is ready; if another call took the
    # owner during that crossing, the lead goes back instead of being dialed for someone else.
    campaign = await store.run(_seed, 1)
    engine, ids = await _engine(store, campaign, ["alice"])
    runner = CampaignRunner(campaign, clock=engine.clock, journal=engine.journal, hopper=None,
                            pacer=make_pacer("progressive"), placer=None, desk=engine.desk,
                            settings=RunnerSettings(node="node-cb"))

    class Lead:
        def __init__(self, id, owner):
            self.id, self.callback_operator = id, owner

    alice = engine.desk.login("alice", ready=True)
    owners, not_now = {}, []
    kept = runner._reserve_owners([Lead(1, None), Lead(2, ids["alice"]), Lead(3, ids["alice"])], owners, not_now)
    # The first of alice's callbacks gets her; the second finds her reserved and waits.
    assert [lead.id for lead in kept] == [1, 2] and owners == {2: alice} and not_now == [3]
    assert alice.state is S.RESERVED
