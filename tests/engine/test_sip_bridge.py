"""The engine over SIP: runner → trunk pool → carrier; live answers bridged to a registered
operator phone with a re-INVITE (RFC 3725); no phone → abandoned. In-memory network, virtual time."""

import datetime as dt

import trio

from dialer.clock import Clock
from dialer.engine.bridge import SipBridge, SipPlacer
from dialer.engine.compat import Hopper, finish_attempts, make_pacer, start_attempts
from dialer.engine.journal import CallJournal
from dialer.engine.operators import OperatorDesk, OperatorState
from dialer.engine.registrar import Registrar
from dialer.engine.runner import CampaignRunner, RunnerSettings
from dialer.sip.trunk import Trunk, TrunkPool
from dialer.store.operators import create_operators
from sim.network import MemoryNetwork

from sip_peers import carrier_handler, phone_handler, register_phone, run_endpoint
from test_runner import START, _seed


async def _wrap_when_done(desk, name):
    op = desk.get(name)
    while True:
        while op.state is not OperatorState.WRAP_UP:
            await trio.sleep(0.5)
        await trio.sleep(5)
        await desk.wrap(name, "NI")


async def test_live_answers_are_bridged_to_the_registered_phone(store, autojump_clock):
    campaign = await store.run(_seed, 6)
    rows = await store.run(create_operators, [{"name": "alice", "sip_user": "alice", "sip_password": "pw-a"},
                                              {"name": "bob", "sip_user": "bob", "sip_password": "pw-b"}])
    desk = OperatorDesk()
    for r in rows:
        desk.add(r["id"], r["name"], sip_user=r["sip_user"])
    registrar = Registrar(desk, {r["sip_user"]: (r["id"], r["sip_password"]) for r in rows})
    net = MemoryNetwork()
    carrier_log, phone_log = [], []
    clock = Clock(START)
    async with trio.open_nursery() as nursery:
        carrier = await nursery.start(run_endpoint, net, {"handler": carrier_handler(carrier_log)})
        engine = await nursery.start(run_endpoint, net, {"on_request": registrar.on_request})
        phone = await nursery.start(run_endpoint, net, {"handler": phone_handler(phone_log)})
        assert await register_phone(phone, engine, "alice", "pw-a") == 200
        assert await register_phone(phone, engine, "bob", "wrong") == 401, "bob's phone needs bob's password"
        desk.login("alice", ready=True)
        desk.login("bob", ready=True)       # logged in, ready, but no registered phone
        nursery.start_soon(_wrap_when_done, desk, "alice")
        nursery.start_soon(_wrap_when_done, desk, "bob")

        pool = TrunkPool([Trunk("carrier", *carrier.local_address)])
        journal = CallJournal(store, start_attempts, finish_attempts)
        runner = CampaignRunner(campaign, clock=clock, journal=journal,
                                hopper=Hopper(store, clock, campaign["id"], "node-sip"),
                                pacer=make_pacer("progressive"), placer=SipPlacer(engine, pool), desk=desk,
                                bridge=SipBridge(engine, registrar),
                                settings=RunnerSettings(node="node-sip", drain_timeout=120))
        await nursery.start(journal.run)
        await nursery.start(runner.run)
        await trio.sleep(300)
        runner.stop()
        while runner.in_flight():
            await trio.sleep(1)
        await journal.drained()
        nursery.cancel_scope.cancel()

    attempts = await store.fetch("SELECT * FROM attempt ORDER BY id")
    assert attempts and all(a["ended_at"] for a in attempts)
    ops = {r["name"]: r["id"] for r in rows}
    bridged = [a for a in attempts if a["outcome"] == "answered"]
    abandoned = [a for a in attempts if a["outcome"] == "abandoned"]
    # alice's phone took every bridged call; bob (no phone) never did, so calls reserved for him
    # found no phone within 2 s... unless alice freed up: either way no call went to bob.
    assert bridged and all(a["operator_id"] == ops["alice"] for a in bridged)
    assert len(phone_log) == len(bridged)
    # The customer leg got a re-INVITE carrying the operator phone's media (port 31000).
    reinvited = [e for e in carrier_log if e["reinvites"]]
    assert len(reinvited) == len(bridged)
    assert all(b"31000" in e["reinvites"][0] for e in reinvited)
    for a in abandoned:
        assert a["answered_at"] is not None
    assert len(bridged) + len(abandoned) == len(attempts)


class _Spawns(trio.abc.Instrument):
    def __init__(self):
        self.names = []

    def task_spawned(self, task):
        self.names.append(task.name)


async def test_calls_never_answered_are_no_tasks_and_are_recorded(store, autojump_clock):
    """Over SIP, the INVITE leaves from the launch round and an unanswered call's fate is
    recorded from the call's hook (`Call.on_fate`): no task is ever spawned for it."""
    campaign = await store.run(_seed, 6)

    async def busy(call):
        await call.ring()
        await trio.sleep(2)
        await call.reject(486)

    net = MemoryNetwork()
    clock = Clock(START)
    spawns = _Spawns()
    async with trio.open_nursery() as nursery:
        carrier = await nursery.start(run_endpoint, net, {"handler": busy})
        engine = await nursery.start(run_endpoint, net, {})
        pool = TrunkPool([Trunk("carrier", *carrier.local_address)])
        journal = CallJournal(store, start_attempts, finish_attempts)
        runner = CampaignRunner(campaign, clock=clock, journal=journal,
                                hopper=Hopper(store, clock, campaign["id"], "node-sip"),
                                pacer=make_pacer("progressive"), placer=SipPlacer(engine, pool),
                                desk=OperatorDesk(),     # bench mode: 3 calls at a time, no operators
                                settings=RunnerSettings(node="node-sip", drain_timeout=60, hangup_answered=True,
                                                        max_in_flight=3))
        await nursery.start(journal.run)
        trio.lowlevel.add_instrument(spawns)
        try:
            await nursery.start(runner.run)
            await trio.sleep(60)
            runner.stop()
            while runner.in_flight():
                await trio.sleep(1)
        finally:
            trio.lowlevel.remove_instrument(spawns)
        await journal.drained()
        nursery.cancel_scope.cancel()

    attempts = await store.fetch("SELECT outcome, sip_status, ended_at FROM attempt")
    assert len(attempts) > 5 and all(a["outcome"] == "busy" and a["sip_status"] == 486 and a["ended_at"]
                                     for a in attempts)
    # The runner itself and its lease upkeep, nothing per call (the carrier's handler runs in a
    # task per call, on its side).
    assert sorted(name for name in spawns.names if name.startswith("dialer.engine")) == ["dialer.engine.runner.CampaignRunner.run",
                                    "dialer.engine.runner.CampaignRunner.run.<locals>.keep_hopper"]
    assert pool.trunks[0].placed == len(attempts)


async def test_the_drains_cut_cancels_ringing_sip_calls_and_records_them_unknown(store, autojump_clock):
    """A ringing call is no task: the drain's cut hangs it up itself (CANCEL) and records
    `unknown`, once (the CANCEL's 487 fires the call's hook, which records nothing more)."""
    campaign = await store.run(_seed, 6)
    inbound = []

    async def rings_forever(call):
        inbound.append(call)
        await call.ring()
        await trio.sleep_forever()

    net = MemoryNetwork()
    clock = Clock(START)
    async with trio.open_nursery() as nursery:
        carrier = await nursery.start(run_endpoint, net, {"handler": rings_forever})
        engine = await nursery.start(run_endpoint, net, {})
        pool = TrunkPool([Trunk("carrier", *carrier.local_address)])
        journal = CallJournal(store, start_attempts, finish_attempts)
        runner = CampaignRunner(campaign, clock=clock, journal=journal,
                                hopper=Hopper(store, clock, campaign["id"], "node-sip"),
                                pacer=make_pacer("progressive"), placer=SipPlacer(engine, pool),
                                desk=OperatorDesk(),
                                settings=RunnerSettings(node="node-sip", drain_timeout=5, ring_timeout=600,
                                                        hangup_answered=True, max_in_flight=3))
        await nursery.start(journal.run)
        await nursery.start(runner.run)
        await trio.sleep(10)
        runner.stop()
        while runner.in_flight():
            await trio.sleep(1)
        await journal.drained()
        await trio.sleep(1)
        nursery.cancel_scope.cancel()

    attempts = await store.fetch("SELECT outcome, ended_at FROM attempt")
    assert len(attempts) == 3 and all(a["outcome"] == "unknown" and a["ended_at"] for a in attempts)
    assert len(inbound) == 3 and all(call.state == "ended" and call.cancelled for call in inbound)
    assert runner.stats == {"unknown": 3}
