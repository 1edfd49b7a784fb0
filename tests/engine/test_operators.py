"""The operator state machine and the ready line (no database, virtual time)."""

import datetime as dt

import pytest
import trio
import trio.testing

from dialer.engine.operators import CallInfo, OperatorDesk, OperatorError, OperatorState as S, TRANSITIONS

from desk_moves import MOVES, random_move



def _desk(n=3, **kw):
    desk = OperatorDesk(**kw)
    for i in range(1, n + 1):
        desk.add(i, f"op{i}")
    return desk


async def test_login_starts_paused_then_ready(autojump_clock):
    desk = _desk()
    op = desk.login("op1")
    assert op.state is S.PAUSED and op.reason == "login"
    desk.ready("op1")
    assert op.state is S.READY and op.reason is None
    assert desk.ready_count() == 1


async def test_refused_transitions_name_the_operator_and_state(autojump_clock):
    desk = _desk()
    with pytest.raises(OperatorError, match="op1 cannot ready while logged_out"):
        desk.ready("op1")
    desk.login("op1", ready=True)
    with pytest.raises(OperatorError, match="not in wrap-up"):
        await desk.wrap("op1", "SALE")
    with pytest.raises(OperatorError, match="no operator"):
        desk.get("nobody")


async def test_every_state_reachable_and_table_closed(autojump_clock):
    # Every state appears as a target and as a source in the table.
    targets = set(TRANSITIONS.values())
    sources = {s for s, _ in TRANSITIONS}
    assert targets == set(S) and sources == set(S)


async def test_longest_idle_first(autojump_clock):
    desk = _desk(3)
    for name in ("op2", "op3", "op1"):
        desk.login(name, ready=True)
        await trio.sleep(1)
    assert desk.try_reserve().name == "op2"
    assert desk.try_reserve().name == "op3"
    op1 = desk.try_reserve()
    assert op1.name == "op1"
    assert desk.try_reserve() is None


async def test_release_keeps_place_in_line(autojump_clock):
    desk = _desk(2)
    desk.login("op1", ready=True)
    await trio.sleep(1)
    desk.login("op2", ready=True)
    op1 = desk.try_reserve()
    assert op1.name == "op1"
    await trio.sleep(5)
    desk.release(op1)
    assert desk.longest_idle().name == "op1", "a failed bridge must not send the operator to the back"


async def test_full_call_cycle_and_wrap_hook(autojump_clock):
    stored = []

    async def on_wrap(op, call, code, notes, callback_at):
        if code == "BAD":
            raise ValueError("unknown wrap code 'BAD'")
        stored.append((op.name, call.lead_id, code, notes, callback_at))

    desk = _desk(1, on_wrap=on_wrap)
    desk.login("op1", ready=True)
    op = desk.try_reserve()
    desk.connect(op, CallInfo(attempt_id=7, lead_id=70, campaign_id=1))
    assert op.state is S.ON_CALL
    desk.hangup(op)
    assert op.state is S.WRAP_UP
    with pytest.raises(ValueError):
        await desk.wrap("op1", "BAD")
    assert op.state is S.WRAP_UP, "a refused wrap leaves the operator in wrap-up"
    when = dt.datetime(2026, 3, 3, 15, tzinfo=dt.timezone.utc)
    await desk.wrap("op1", "CALLBK", "call tomorrow", when)
    assert op.state is S.READY and op.call is None
    assert stored == [("op1", 70, "CALLBK", "call tomorrow", when)]


async def test_pause_and_logout_during_call_apply_after_wrap(autojump_clock):
    desk = _desk(2)
    for name in ("op1", "op2"):
        desk.login(name, ready=True)
    a, b = desk.try_reserve(), desk.try_reserve()
    for op in (a, b):
        desk.connect(op, CallInfo(lead_id=op.id))
    desk.pause(a.id, "lunch")
    desk.logout(b.id)
    assert a.state is S.ON_CALL and b.state is S.ON_CALL, "a button press never cuts a call"
    for op in (a, b):
        desk.hangup(op)
        await desk.wrap(op.id, "NI")
    assert a.state is S.PAUSED and a.reason == "lunch"
    assert b.state is S.LOGGED_OUT


async def test_ready_during_call_cancels_pending_pause(autojump_clock):
    desk = _desk(1)
    desk.login("op1", ready=True)
    op = desk.try_reserve()
    desk.pause("op1", "break")
    desk.ready("op1")
    desk.connect(op, CallInfo())
    desk.hangup(op)
    await desk.wrap("op1", "NI")
    assert op.state is S.READY


async def test_reserve_waits_for_an_operator_within_timeout(autojump_clock):
    desk = _desk(1)
    desk.login("op1")
    got = []

    async def call():
        got.append(await desk.reserve(timeout=2.0))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(call)
        await trio.sleep(1.5)
        desk.ready("op1")
    assert got[0] is not None and got[0].state is S.RESERVED


async def test_reserve_times_out_at_the_abandon_limit(autojump_clock):
    desk = _desk(1)
    desk.login("op1")
    start = trio.current_time()
    assert await desk.reserve(timeout=2.0) is None
    assert trio.current_time() - start == pytest.approx(2.0)
    assert desk.waiting() == 0


async def test_waiting_calls_are_served_in_order(autojump_clock):
    desk = _desk(2)
    desk.login("op1")
    desk.login("op2")
    order = []

    async def call(tag):
        op = await desk.reserve(timeout=10)
        order.append((tag, op.name))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(call, "first")
        await trio.sleep(0.1)
        nursery.start_soon(call, "second")
        await trio.sleep(0.1)
        desk.ready("op2")
        await trio.sleep(0.1)
        desk.ready("op1")
    assert order == [("first", "op2"), ("second", "op1")]


async def test_campaign_assignment_is_respected(autojump_clock):
    desk = OperatorDesk()
    desk.add(1, "a", campaigns={1})
    desk.add(2, "b", campaigns={2})
    desk.login("a", ready=True)
    desk.login("b", ready=True)
    assert desk.try_reserve(2).name == "b"
    assert desk.try_reserve(2) is None
    assert desk.ready_count(1) == 1


async def test_seconds_by_state_and_occupancy(autojump_clock):
    desk = _desk(1)
    desk.login("op1", ready=True)
    await trio.sleep(10)          # ready 10
    op = desk.try_reserve()
    desk.connect(op, CallInfo())
    await trio.sleep(60)          # talk 60
    desk.hangup(op)
    await trio.sleep(30)          # wrap 30
    await desk.wrap("op1", "NI")
    s = desk.seconds_by_state("op1")
    assert s["on_call"] == pytest.approx(60) and s["wrap_up"] == pytest.approx(30)
    assert desk.occupancy() == pytest.approx(90 / 100)


async def test_listeners_see_every_move(autojump_clock):
    seen = []
    desk = _desk(1, listeners=[lambda op, old, new: seen.append((old.value, new.value))])
    desk.login("op1", ready=True)
    desk.pause("op1", "break")
    assert seen == [("logged_out", "paused"), ("paused", "ready"), ("ready", "paused")]


async def test_phone_required_for_ready(autojump_clock):
    desk = OperatorDesk(require_phone=True)
    desk.add(1, "op1")
    desk.login("op1")
    with pytest.raises(OperatorError, match="no registered phone"):
        desk.ready("op1")
    desk.set_contact("op1", ("127.0.0.1", 5062))
    desk.ready("op1")
    desk.set_contact("op1", None)       # registration removed or expired
    assert desk.get("op1").state is S.PAUSED and desk.get("op1").reason == "no phone"


async def test_reserve_can_skip_operators_already_tried(autojump_clock):
    desk = _desk(2)
    desk.login("op1", ready=True)
    desk.login("op2", ready=True)
    assert desk.try_reserve(exclude={1}).name == "op2"
    assert await desk.reserve(timeout=1.0, exclude={1}) is None


def _longest_idle_by_walk(desk, campaign_id, exclude):
    """The ready line's answer as a walk over every operator gives it (the desk kept a
    sorted line instead: this is what it must agree with)."""
    best = None
    for op in desk.operators.values():
        if op.state is S.READY and op.serves(campaign_id) and op.id not in exclude:
            if best is None or (op.idle_since, op.idle_seq) < (best.idle_since, best.idle_seq):
                best = op
    return best


@pytest.mark.parametrize("seed", range(5))
def test_ready_line_agrees_with_a_walk_whatever_moves(seed):
    import random

    rng = random.Random(seed)
    clock = [0.0]
    desk = OperatorDesk(now=lambda: clock[0])
    for i in (7, 3, 9, 1, 5):
        desk.add(i, f"op{i}", campaigns={1} if i != 9 else {2})
    for _ in range(600):
        clock[0] += rng.choice([0.0, rng.random()])     # equal idle times: the tie-break counts
        if not random_move(desk, rng, (*MOVES, "try_reserve")):
            continue
        for campaign in (None, 1, 2):
            exclude = frozenset(rng.sample(sorted(desk.operators), 2))
            for ex in (frozenset(), exclude):
                assert desk.longest_idle(campaign, ex) is _longest_idle_by_walk(desk, campaign, ex)
