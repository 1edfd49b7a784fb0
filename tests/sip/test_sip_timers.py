"""The endpoint's timer queue, the transactions' `wants_timer`, and the random tokens."""

import copy

import pytest
import trio

from dialer.sip.message import make_response, parse_message
from dialer.sip.timers import LINGER_LATENESS, TimerQueue
from dialer.sip.tokens import token_hex
from dialer.sip.transaction import (LINGER_TIMERS, ClientInviteTransaction,
                                    ClientNonInviteTransaction, ServerInviteTransaction,
                                    ServerNonInviteTransaction, Terminated)
from sip_samples import INVITE


async def test_timers_fire_in_order_and_a_moot_one_never_fires(autojump_clock):
    queue, fired = TimerQueue(), []

    async def record(arg):
        fired.append((arg, trio.current_time()))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(queue.serve, trio.lowlevel.checkpoint, lambda: None)
        await trio.sleep(0)
        queue.schedule(2, record, "two")
        queue.schedule(1, record, "one")   # earlier than the sleeping task's deadline
        moot = {"needed": True}
        queue.schedule(1.5, record, "moot", lambda arg: moot["needed"])
        moot["needed"] = False
        queue.settle()
        await trio.sleep(3)
        nursery.cancel_scope.cancel()
    assert fired == [("one", 1.0), ("two", 2.0)]


async def test_a_linger_timer_fires_late_at_most_by_the_lateness(autojump_clock):
    queue, fired = TimerQueue(), []

    def record(arg):        # a linger timer's function is a plain one
        fired.append(trio.current_time())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(queue.serve, trio.lowlevel.checkpoint, lambda: None)
        await trio.sleep(0)
        queue.schedule_linger(5, record, None)
        await trio.sleep(5 + LINGER_LATENESS + 1)
        assert fired == [pytest.approx(5 + LINGER_LATENESS)]
        # ... and before a message would meet it: the receive loop fires the ones due first
        queue.schedule_linger(1, record, None)
        await trio.sleep(1.5)
        queue.fire_lingers_due(lambda: None)
        assert len(fired) == 2
        nursery.cancel_scope.cancel()


def _machines():
    """One transaction of each kind in each state it can reach, over UDP and TCP."""
    invite, bye = parse_message(INVITE), parse_message(INVITE.replace(b"INVITE", b"BYE"))
    ack = parse_message(INVITE.replace(b"INVITE sip", b"ACK sip").replace(b"CSeq: 1 INVITE",
                                                                           b"CSeq: 1 ACK"))
    out = []
    for reliable in (False, True):
        for cls, request in ((ClientInviteTransaction, invite), (ClientNonInviteTransaction, bye)):
            for status in (None, 100, 180, 200, 486):
                tx = cls(request, reliable=reliable)
                tx.start()
                if status:
                    tx.receive_response(make_response(request, status, to_tag="x"))
                out.append(tx)
        for cls, request in ((ServerInviteTransaction, invite), (ServerNonInviteTransaction, bye)):
            for status in (180, 200, 486):
                tx = cls(request, reliable=reliable)
                tx.send_response(make_response(request, status, to_tag="x"))
                out.append(tx)
                if cls is ServerInviteTransaction and status == 486:
                    confirmed = copy.deepcopy(tx)
                    confirmed.receive_request(ack)
                    out.append(confirmed)
    return out


def test_wants_timer_says_exactly_whether_the_timer_would_do_something():
    for tx in _machines():
        for name in "ABDEFGHIJKLM":
            wants = tx.wants_timer(name)
            events = copy.deepcopy(tx).timer_fired(name)
            assert wants == bool(events), (type(tx).__name__, tx.state, name)
            if name in LINGER_TIMERS and events:
                assert [type(e) for e in events] == [Terminated]  # a linger only ends


def test_tokens_are_hex_and_do_not_repeat():
    tokens = [token_hex(8) for _ in range(5000)]   # several 4 KB blocks
    assert all(len(t) == 16 and int(t, 16) >= 0 for t in tokens)
    assert len(set(tokens)) == len(tokens)


async def test_the_timer_sleep_returns_at_its_deadline_and_still_obeys_outer_cancellation(
        autojump_clock):
    from dialer.sip.timers import _sleep_in

    # Its own deadline (or its own cancel()) ends it with a plain return...
    start = trio.current_time()
    with trio.CancelScope(deadline=start + 3) as scope:
        await _sleep_in(scope)
        returned = True
    assert returned and trio.current_time() == start + 3
    async with trio.open_nursery() as nursery:
        with trio.CancelScope() as scope:
            nursery.start_soon(lambda: _cancel_later(scope))
            await _sleep_in(scope)
            returned_again = True
    assert returned_again
    # ... while an outer scope's cancellation raises Cancelled, as any sleep would.
    with trio.move_on_after(1) as outer:
        with trio.CancelScope(deadline=trio.current_time() + 5) as scope:
            await _sleep_in(scope)
        pytest.fail("the outer cancellation did not reach the sleep")
    assert outer.cancelled_caught


async def _cancel_later(scope):
    await trio.sleep(1)
    scope.cancel()


async def test_lingers_of_different_delays_fire_in_deadline_then_start_order(autojump_clock):
    queue, fired = TimerQueue(), []
    for delay, name in [(32, "a32"), (5, "b5"), (32, "c32"), (0, "d0"), (5, "e5")]:
        queue.schedule_linger(delay, fired.append, name)
        await trio.sleep(1)                          # started a second apart
    await trio.sleep(5)                              # t = 10: d0, b5 and e5 are due
    queue.fire_lingers_due(lambda: None)
    assert fired == ["d0", "b5", "e5"]               # deadlines 3, 6, 9
    assert len(queue) == 2
    queue.schedule_linger(22, fired.append, "f22")   # deadline 32, like a32, started later
    await trio.sleep(30)
    queue.fire_lingers_due(lambda: None)
    assert fired[3:] == ["a32", "f22", "c32"] and len(queue) == 0
