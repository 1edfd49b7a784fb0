"""A launch round and the journal flush sent ahead (virtual time's inline store): the launch runs
beside the flush when they touch none of the same leads and numbers, and finishes the flush first
when they do, so a number the flush puts on DNC, or locks out with an abandoned call, is never
dialed by the launch that follows it.

The real units over a real PostgreSQL: the journal's `finish_attempts` and wraps (`apply_wraps`),
the hopper's take with the engine's launch statement (`recheck_and_start`). The flush first sleeps
in the server, so it is surely still in flight when the launch crosses: a launch that ran beside
it by mistake would read the number before the flush wrote anything."""

import datetime as dt

import asyncpg
import pytest

from dialer.clock import Clock
from dialer.engine.journal import CallJournal
from dialer.queue.hopper import Hopper
from dialer.store.attempts import AttemptEnd, AttemptStart, finish_attempts, start_attempts
from dialer.store.wrap_batch import apply_wrap_kw, apply_wraps

import hopper_seed as seed
from hopper_seed import MONDAY_10_NY

pytestmark = pytest.mark.db

NUMBER = "+12029990001"          # the number of the call the flush ends


async def _slow_finish(conn, ends):
    await conn.execute("SELECT pg_sleep(0.5)")
    return await finish_attempts(conn, ends)


async def _setup(conn, first_number: str):
    """A campaign whose dialing list gives `first_number`'s lead first, then four others; and, in
    a list nobody dials, the lead whose call (to NUMBER) is in progress."""
    cid = await seed.campaign(conn, abandon_lockout=dt.timedelta(hours=1))
    dialing = await seed.lead_list(conn, cid, "dialing")
    idle = await seed.lead_list(conn, cid, "idle", weight=0)
    warm_up = (await seed.leads(conn, cid, dialing, 1, prefix="+1202777"))[0]
    first = await conn.fetchval("INSERT INTO lead (campaign_id, list_id, phone, timezone) "
                                "VALUES ($1, $2, $3, 'America/New_York') RETURNING id", cid, dialing, first_number)
    others = await seed.leads(conn, cid, dialing, 4, prefix="+1202888")
    in_call = await conn.fetchval("INSERT INTO lead (campaign_id, list_id, phone, timezone) "
                                  "VALUES ($1, $2, $3, 'America/New_York') RETURNING id", cid, idle, NUMBER)
    return cid, warm_up, first, others, in_call


def _ending(outcome: str, wrap: str | None = None):
    """What the flush stores: the call to NUMBER ends with `outcome`, and the operator's `wrap`
    code follows it."""
    def queue(journal, clock, attempt, in_call):
        journal.finish(AttemptEnd(attempt, outcome, clock.now()), touches=(in_call, NUMBER))
        if wrap is not None:
            journal.later(apply_wrap_kw, dict(lead_id=in_call, code=wrap, now=clock.now(), author="op",
                                              attempt_id=attempt), batch=apply_wraps, touches=(in_call, NUMBER))
    return queue


async def _call_in_progress(store, cid, in_call, clock) -> int:
    """The attempt row of the call to NUMBER, whose ending the flush will store."""
    return (await store.run(start_attempts, [AttemptStart(lead_id=in_call, campaign_id=cid, called_number=NUMBER,
                                                          started_at=clock.now(), node="n1")]))[0]


async def _launch_behind_a_flush(store, first_number: str, queue):
    """The flush of what `queue` queues is sent ahead; then a take of one lead, whose first pick
    has `first_number`."""
    cid, warm_up, first, others, in_call = await store.run(_setup, first_number)
    clock = Clock(MONDAY_10_NY)
    attempt = await _call_in_progress(store, cid, in_call, clock)
    hopper = Hopper(store, clock, cid, "n1")
    start = seed.engine_start(cid, clock)

    # The first take fills the buffers (the whole list) and dials the warm-up lead.
    assert [lead.id for lead in await hopper.take(1, start=start)] == [warm_up]
    journal = CallJournal(store, start_attempts, _slow_finish)
    queue(journal, clock, attempt, in_call)
    await journal.flush(settle=False)
    flush = journal._ahead[2]
    assert not flush._task.done(), "the flush must be in flight when the launch crosses, or this proves nothing"
    before = store.ahead_stats
    got = [lead.id for lead in await hopper.take(1, start=start)]
    in_flight_after = not flush._task.done()
    stats = {k: v - before.get(k, 0) for k, v in store.ahead_stats.items() if v != before.get(k, 0)}
    await journal.drained()
    dialed = {r["lead_id"] for r in await store.fetch("SELECT lead_id FROM attempt WHERE lead_id <> $1", in_call)}
    return first, others, got, in_flight_after, stats, dialed


async def test_a_launch_that_touches_nothing_of_the_flush_runs_beside_it(inline_store, autojump_clock):
    first, others, got, in_flight_after, stats, dialed = await _launch_behind_a_flush(
        inline_store, "+12025550100", _ending("answered", "DNC"))
    assert got == [first]
    assert stats == {"beside": 1}, "the launch ran beside the flush in flight"
    assert in_flight_after, "the flush was not finished for the launch"
    assert first in dialed
    # The flush still did all its work, once finished.
    assert await inline_store.fetchval("SELECT count(*) FROM dnc WHERE phone = $1", NUMBER) == 1


async def test_a_launch_of_a_number_the_flush_puts_on_dnc_waits_for_it_and_does_not_dial_it(inline_store, autojump_clock):
    """Another lead with the number the flush's wrap puts on DNC: the launch finishes the flush
    first, its re-check sees the DNC entry, and the lead is handed back, not dialed."""
    first, others, got, in_flight_after, stats, dialed = await _launch_behind_a_flush(
        inline_store, NUMBER, _ending("answered", "DNC"))
    assert first not in got and first not in dialed
    assert stats == {"settled": 1}, "the launch finished the flush before it crossed"
    assert got == [others[0]], "the next lead in line replaced it"
    assert await inline_store.fetchval("SELECT lease_owner FROM lead WHERE id = $1", first) is None


async def test_a_launch_of_a_number_the_flush_locks_out_waits_for_it_and_does_not_dial_it(inline_store, autojump_clock):
    """The flush closes the call to the number as abandoned: inside the campaign's lock-out,
    another lead with that number must not be dialed."""
    first, others, got, in_flight_after, stats, dialed = await _launch_behind_a_flush(
        inline_store, NUMBER, _ending("abandoned"))
    assert first not in got and first not in dialed
    assert stats == {"settled": 1}
    assert got == [others[0]]


async def test_a_flush_with_a_unit_of_unknown_footprint_is_finished_before_any_launch(inline_store, autojump_clock):
    """A unit queued without `touches` may touch anything: the flush carries no footprint, and the
    launch, however far from the call it ends, finishes it first."""
    def queue(journal, clock, attempt, in_call):
        _ending("answered")(journal, clock, attempt, in_call)
        journal.later(lambda conn: conn.execute("SELECT 1"))

    first, others, got, in_flight_after, stats, dialed = await _launch_behind_a_flush(
        inline_store, "+12025550100", queue)
    assert stats == {"settled": 1}
    assert got == [first] and first in dialed


async def _launch_with_a_top_up_behind_a_flush(store, finish_unit):
    """A flush of one call's ending (by `finish_unit`) is sent ahead; then a take big enough that
    the hopper sends a top-up claim ahead right after its launch, which runs beside the flush."""
    cid, warm_up, first, others, in_call = await store.run(_setup, "+12025550100")
    dialing = await store.fetchval("SELECT list_id FROM lead WHERE id = $1", first)
    await store.run(lambda conn: seed.leads(conn, cid, dialing, 40, prefix="+1202666"))
    clock = Clock(MONDAY_10_NY)
    attempt = await _call_in_progress(store, cid, in_call, clock)
    hopper = Hopper(store, clock, cid, "n1")
    start = seed.engine_start(cid, clock)

    await hopper.take(1, start=start)
    journal = CallJournal(store, start_attempts, finish_unit)
    _ending("answered")(journal, clock, attempt, in_call)
    await journal.flush(settle=False)
    flush = journal._ahead[2]
    assert not flush._task.done()
    before = store.ahead_stats
    got = await hopper.take(5, start=start)
    stats = {k: v - before.get(k, 0) for k, v in store.ahead_stats.items() if v != before.get(k, 0)}
    return hopper, journal, flush, got, stats, start


async def test_a_top_up_claim_after_a_launch_beside_a_flush_queues_behind_it(inline_store, autojump_clock):
    """The claim sent ahead after a launch that ran beside a flush does not finish the flush: it
    queues behind it, and both are in flight when the take returns. The next take finishes both,
    in order, and absorbs the claim; the journal then accounts for its flush as ever."""
    hopper, journal, flush, got, stats, start = await _launch_with_a_top_up_behind_a_flush(inline_store, _slow_finish)
    assert len(got) == 5
    claim = hopper._top_up[2]
    assert not flush._task.done() and not claim._task.done(), "the take returned without waiting for either"
    assert stats == {"beside": 1, "queued": 1}, "the launch ran beside the flush, the claim queued behind it"
    buffered = hopper.buffered()
    assert len(await hopper.take(1, start=start)) == 1
    assert flush._task.done(), "the next take finished the flush and the claim behind it"
    assert hopper.buffered() > buffered - 1, "and absorbed what the claim leased"
    await journal.drained()
    assert journal.finished == 1
    assert await inline_store.fetchval("SELECT outcome FROM attempt WHERE called_number = $1", NUMBER) == "answered"


async def test_a_failed_flush_with_a_claim_behind_it_still_raises_for_the_journal(inline_store, autojump_clock):
    """The flush fails: the journal's next settle raises its error, as ever, and the claim queued
    behind it still runs and is absorbed by the next take."""
    async def failing_finish(conn, ends):
        await conn.execute("SELECT pg_sleep(0.5)")
        await conn.execute("SELECT 1 / 0")

    hopper, journal, flush, got, stats, start = await _launch_with_a_top_up_behind_a_flush(inline_store, failing_finish)
    assert stats == {"beside": 1, "queued": 1}
    buffered = hopper.buffered()
    assert len(await hopper.take(1, start=start)) == 1
    assert hopper.buffered() > buffered - 1, "the claim behind the failed flush was absorbed"
    with pytest.raises(asyncpg.DivisionByZeroError):
        journal._settle_ahead()
