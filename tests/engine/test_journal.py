"""The journal's batching: endings, and units queued behind them, stored in order, in few crossings.

Real PostgreSQL (the `store` fixture); the units here are small SQL writes into a scratch table
so the order and the savepoints can be read back.
"""

import pytest
import trio

from dialer.engine.journal import CallJournal


@pytest.fixture(params=["pool", "inline"])
def any_store(request):
    """The pooled store, and virtual time's inline store, which sends the flushes ahead
    (`Store.send_ahead`): the journal must store the same rows in the same order with both."""
    return request.getfixturevalue("store" if request.param == "pool" else "inline_store")


async def _scratch(store):
    await store.execute("CREATE TABLE journal_log (seq serial PRIMARY KEY, what text NOT NULL)")


async def _log_ends(conn, ends):
    for end in ends:
        await conn.execute("INSERT INTO journal_log (what) VALUES ($1)", f"end {end}")
    return [f"stored {end}" for end in ends]


async def _log(conn, what):
    await conn.execute("INSERT INTO journal_log (what) VALUES ($1)", what)
    if what.startswith("bad"):
        raise ValueError(what)
    return what.upper()


async def _never(conn, starts):
    raise AssertionError("no starts here")


def _journal(store, interval: float):
    """A journal over the scratch units, and the list its `on_finished` results go to."""
    finished = []
    journal = CallJournal(store, _never, _log_ends, flush_interval=interval,
                          on_finished=lambda end, result: finished.append(result))
    return journal, finished


async def _rows(store):
    return [r["what"] for r in await store.fetch("SELECT what FROM journal_log ORDER BY seq")]


async def test_later_units_follow_their_endings_in_one_crossing_and_fail_alone(any_store, autojump_clock):
    store = any_store
    await _scratch(store)
    journal, finished = _journal(store, 5.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(journal.run)
        journal.finish(1)
        journal.finish(2)
        journal.later(_log, "wrap 2")
        journal.later(_log, "bad wrap")          # fails in its savepoint: nothing else is lost
        journal.later(_log, "wrap 1")
        journal.finish(3)
        await trio.sleep(1.0)
        assert await _rows(store) == []          # the interval has not passed: nothing crossed yet
        await journal.drained()
        nursery.cancel_scope.cancel()
    # The endings queued before the units come first; the failed unit left no row.
    assert await _rows(store) == ["end 1", "end 2", "end 3", "wrap 2", "wrap 1"]
    assert journal.later_failed == 1
    assert finished == ["stored 1", "stored 2", "stored 3"]
    assert journal.crossings == 1


async def test_after_endings_runs_in_the_flush_crossing_and_raises_its_own_error(any_store, autojump_clock):
    store = any_store
    await _scratch(store)
    journal = CallJournal(store, _never, _log_ends, flush_interval=60.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(journal.run)
        journal.finish(7)
        started = trio.current_time()
        assert await journal.after_endings(_log, "wrap 7") == "WRAP 7"
        assert trio.current_time() == started    # no wait for the flush interval
        journal.finish(8)
        try:
            await journal.after_endings(_log, "bad wrap 8")
        except ValueError as exc:
            assert str(exc) == "bad wrap 8"
        else:
            raise AssertionError("the unit's error must reach the caller")
        await journal.drained()
        nursery.cancel_scope.cancel()
    # The endings committed even though the second unit failed (savepoint).
    assert await _rows(store) == ["end 7", "wrap 7", "end 8"]
    assert journal.crossings == 2


async def test_endings_ride_a_launch_rounds_crossing_and_stay_queued_when_it_fails(store, autojump_clock):
    await _scratch(store)
    journal, finished = _journal(store, 2.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(journal.run)
        journal.finish(1)
        journal.later(_log, "wrap 1")
        journal.finish(2)

        async def round_(conn, ride):
            await conn.execute("INSERT INTO journal_log (what) VALUES ('round B')")
            await ride(conn)
            await ride(conn)                    # a second call in the same round does nothing

        # Not yet due (queued less than the interval ago): a round carries nothing.
        async with journal.riding() as ride:
            await store.run(round_, ride)
            ride.committed()
        assert journal.pending() == 2 and journal.rides == 0
        await trio.sleep(2.5)                   # due now; the flusher gives a round one more interval

        # A round whose transaction fails: nothing it carried is lost, all stays queued.
        async def failing_round(conn, ride):
            await conn.execute("INSERT INTO journal_log (what) VALUES ('round A')")
            await ride(conn)
            raise RuntimeError("round failed")

        try:
            async with journal.riding() as ride:
                await store.run(failing_round, ride)
                ride.committed()
        except RuntimeError:
            pass
        else:
            raise AssertionError("the round's error must reach the round")
        assert journal.pending() == 2 and await _rows(store) == ["round B"]

        crossings = journal.crossings
        async with journal.riding() as ride:
            await store.run(round_, ride)
            ride.committed()
        assert journal.pending() == 0 and journal.rides == 1
        await trio.sleep(3.0)                   # past the interval: the flusher has nothing to do
        assert journal.crossings == crossings
        journal.finish(3)
        await journal.drained()
        nursery.cancel_scope.cancel()
    assert await _rows(store) == ["round B", "round B", "end 1", "end 2", "wrap 1", "end 3"]
    assert finished == ["stored 1", "stored 2", "stored 3"]


async def _log_many(conn, args_list):
    for (what,) in args_list:
        if what.startswith("bad"):
            raise ValueError(what)
    await conn.executemany("INSERT INTO journal_log (what) VALUES ($1)", [(f"{w} (batch)",) for (w,) in args_list])


async def test_later_units_with_a_batch_form_run_together_and_fall_back_one_by_one(store, autojump_clock):
    await _scratch(store)
    journal = CallJournal(store, _never, _log_ends, flush_interval=1.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(journal.run)
        journal.finish(1)
        journal.later(_log, "a", batch=_log_many)
        journal.later(_log, "b", batch=_log_many)
        journal.later(_log, "plain")
        journal.later(_log, "c", batch=_log_many)
        journal.later(_log, "bad d", batch=_log_many)     # spoils the group: c and bad d one by one
        journal.later(_log, "e", batch=_log_many)
        await journal.drained()
        nursery.cancel_scope.cancel()
    assert await _rows(store) == ["end 1", "a (batch)", "b (batch)", "plain", "c", "e"]
    assert journal.later_failed == 1
    assert journal.crossings == 1


async def test_a_flush_sent_ahead_is_accounted_for_once_finished_and_in_order(inline_store, autojump_clock):
    """The flusher's own flushes go ahead (the simulation goes on while PostgreSQL stores them);
    their results reach `on_finished` when the flush is finished, in queue order, and `drained`
    waits for the last one."""
    store = inline_store
    await _scratch(store)
    journal, finished = _journal(store, 1.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(journal.run)
        journal.finish(1)
        await trio.sleep(2.5)                     # due, no ride came: the flusher sent it ahead
        assert journal.crossings == 1 and journal._ahead is not None and finished == []
        journal.finish(2)
        journal.later(_log, "wrap 2")
        await trio.sleep(2.5)                     # the next flush finishes the first one first
        assert finished == ["stored 1"]
        await journal.drained()
        assert journal._ahead is None and finished == ["stored 1", "stored 2"]
        nursery.cancel_scope.cancel()
    assert await _rows(store) == ["end 1", "end 2", "wrap 2"]
    assert journal.crossings == 2 and journal.rides == 0


async def test_a_journal_keeps_footprints_only_where_its_flushes_are_sent_ahead(any_store, autojump_clock):
    """The leads and numbers of what is queued (`dialer.store.footprint`) are for the flushes
    sent ahead: a journal on a store that runs its flushes at once keeps none (a daemon's
    journal would otherwise gather every lead and number of its life), and one that sends them
    ahead starts afresh once its queue is stored."""
    store = any_store
    await _scratch(store)
    journal = CallJournal(store, _never, _log_ends, flush_interval=1.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(journal.run)
        for i in range(50):
            journal.finish(i, touches=(i, f"+1202555{i:04d}"))
        await journal.drained()
        nursery.cancel_scope.cancel()
    if store.sends_ahead:
        assert journal._touching is not None and not journal._touching
    else:
        assert journal._touching is None
