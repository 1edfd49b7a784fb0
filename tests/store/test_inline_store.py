"""The inline store (virtual time only): crossings run a private asyncio loop to the end inside
the calling trio task instead of going through trio-asyncio. Same results, same transactions,
no virtual time passes, and it refuses to run in real time."""

import time

import asyncpg
import pytest
import trio
import trio.testing

from dialer.store import Store
from dialer.store.footprint import Footprint


async def insert_twice(conn):
    await conn.execute("INSERT INTO t VALUES (7)")
    await conn.execute("INSERT INTO t VALUES (7)")      # a unique violation: the unit fails


async def _slow_insert_twice(conn):
    """`insert_twice` after 0.3 s in the server: a unit still in flight a while, then failing."""
    await conn.execute("SELECT pg_sleep(0.3)")
    await insert_twice(conn)


async def _count(conn):
    return await conn.fetchval("SELECT count(*) FROM t")


def _virtual(main, *args):
    return trio.run(main, *args, clock=trio.testing.MockClock(autojump_threshold=0))


def test_units_statements_and_queries_work_and_take_no_virtual_time(database_url):
    async def main():
        async with Store.open(database_url, inline=True) as store:
            fired = []

            async def timer():
                await trio.sleep(5)
                fired.append(trio.current_time())

            async def two_rows(conn):
                await conn.execute("CREATE TABLE t (x int PRIMARY KEY)")
                await conn.execute("INSERT INTO t VALUES (1), (2)")
                return await conn.fetchval("SELECT count(*) FROM t")

            async with trio.open_nursery() as nursery:
                nursery.start_soon(timer)
                start = trio.current_time()
                assert await store.run(two_rows) == 2
                await store.fetchval("SELECT pg_sleep(0.2)")     # real time passes on the server
                assert trio.current_time() == start and fired == []
                assert await store.run_statements(lambda conn: conn.fetchval("SELECT sum(x) FROM t")) == 3
                await trio.sleep(10)
            assert fired == [start + 5]

    _virtual(main)


def test_a_failing_unit_rolls_back_and_raises_its_error(database_url):
    async def main():
        async with Store.open(database_url, inline=True) as store:
            await store.execute("CREATE TABLE t (x int PRIMARY KEY)")

            with pytest.raises(asyncpg.UniqueViolationError):
                await store.run(insert_twice)
            assert await store.fetchval("SELECT count(*) FROM t") == 0
            # The pool is still usable after the failure.
            assert await store.fetchval("SELECT 41 + 1") == 42

    _virtual(main)


def test_a_crossing_is_a_checkpoint_that_keeps_its_result(database_url):
    async def main():
        async with Store.open(database_url, inline=True) as store:
            await store.execute("CREATE TABLE t (x int)")
            with trio.CancelScope() as scope:
                scope.cancel()
                with pytest.raises(trio.Cancelled):
                    await store.execute("INSERT INTO t VALUES (1)")   # cancelled before it ran
            assert await store.fetchval("SELECT count(*) FROM t") == 0
            # Other tasks get their turn around a crossing.
            ran = []
            async with trio.open_nursery() as nursery:
                nursery.start_soon(lambda: ran.append(1) or trio.sleep(0))
                await store.execute("INSERT INTO t VALUES (2)")
                assert ran == [1]

    _virtual(main)


def test_real_time_is_refused(database_url):
    async def main():
        with pytest.raises(ValueError, match="virtual time"):
            async with Store.open(database_url, inline=True):
                pass

    trio.run(main)


def test_a_unit_sent_ahead_runs_while_trio_goes_on_and_before_the_next_crossing(database_url):
    """`send_ahead` returns at once (the unit is on its way, not finished: the server sleeps),
    other tasks and virtual time go on, and the next crossing sees what it wrote: units reach
    the database in the order they were issued."""
    async def main():
        async with Store.open(database_url, inline=True) as store:
            assert store.sends_ahead
            await store.execute("CREATE TABLE t (x int)")

            async def slow_insert(conn, x):
                await conn.execute("SELECT pg_sleep(0.3)")
                await conn.execute("INSERT INTO t VALUES ($1)", x)
                return x * 10

            ahead = await store.send_ahead(slow_insert, 4)
            assert not ahead._task.done()                 # returned before the server answered
            start = trio.current_time()
            await trio.sleep(60)                          # the simulation goes on meanwhile
            assert trio.current_time() == start + 60
            assert await store.fetchval("SELECT count(*) FROM t") == 1    # ran before this crossing
            assert ahead.result() == 40

    _virtual(main)


def test_a_unit_sent_ahead_keeps_its_transaction_and_its_error_for_result(database_url):
    async def main():
        async with Store.open(database_url, inline=True) as store:
            await store.execute("CREATE TABLE t (x int PRIMARY KEY)")

            failed = await store.send_ahead(insert_twice)
            # Someone else's crossing finishes it first: the error waits for its owner.
            assert await store.fetchval("SELECT count(*) FROM t") == 0    # rolled back as a whole
            with pytest.raises(asyncpg.UniqueViolationError):
                failed.result()
            # Two in a row: the second queues behind the first, and sees what it wrote.
            first = await store.send_ahead(lambda conn: conn.execute("INSERT INTO t VALUES (1)"))
            second = await store.send_ahead(lambda conn: conn.fetchval("SELECT count(*) FROM t"))
            assert second.result() == 1
            assert first.result() == "INSERT 0 1"

    _virtual(main)


def test_send_ahead_on_a_plain_store_runs_the_unit_at_once(database_url):
    async def main():
        async with Store.open(database_url) as store:
            assert not store.sends_ahead
            ahead = await store.send_ahead(lambda conn: conn.fetchval("SELECT 6 * 7"))
            assert ahead.result() == 42
            failed = await store.send_ahead(lambda conn: conn.fetchval("SELECT 1 / 0"))
            with pytest.raises(asyncpg.DivisionByZeroError):
                failed.result()

    trio.run(main)


def test_an_inline_store_opened_without_send_ahead_runs_units_at_once(database_url):
    async def main():
        async with Store.open(database_url, inline=True, send_ahead=False) as store:
            assert not store.sends_ahead
            await store.execute("CREATE TABLE t (x int)")
            ahead = await store.send_ahead(lambda conn: conn.execute("INSERT INTO t VALUES (1)"))
            assert ahead._task is None and ahead.result() == "INSERT 0 1"     # done before returning

    _virtual(main)


def test_a_crossing_whose_reads_miss_the_unit_ahead_runs_beside_it(database_url):
    """A crossing that declares its reads (`run_statements(reads=)`) disjoint from the footprint
    of the unit in flight runs without finishing it; one that overlaps it, or declares nothing,
    finishes it first, as every crossing did."""
    async def main():
        async with Store.open(database_url, inline=True) as store:
            await store.execute("CREATE TABLE t (x int)")

            async def slow_insert(conn, x):
                await conn.execute("SELECT pg_sleep(0.5)")
                await conn.execute("INSERT INTO t VALUES ($1)", x)
                return x

            touches = Footprint([1, 2], ["+100", "+200"])
            ahead = await store.send_ahead(slow_insert, 1, touches=touches)
            assert await store.run_statements(_count, reads=Footprint([3], ["+300"])) == 0
            assert not ahead._task.done(), "ran beside it: the unit ahead is still in flight"
            assert store.ahead_stats == {"beside": 1}
            # The same lead, or the same number: it finishes the unit ahead first.
            assert await store.run_statements(_count, reads=Footprint([2], ["+300"])) == 1
            assert store.ahead_stats == {"beside": 1, "settled": 1}
            ahead = await store.send_ahead(slow_insert, 2, touches=touches)
            assert await store.run_statements(_count, reads=Footprint([3], ["+200"])) == 2
            # No reads declared, or a unit ahead without a footprint: first, as always.
            ahead = await store.send_ahead(slow_insert, 3, touches=touches)
            assert await store.run_statements(_count) == 3
            ahead = await store.send_ahead(slow_insert, 4)
            assert await store.run_statements(_count, reads=Footprint([3], ["+300"])) == 4
            assert store.ahead_stats == {"beside": 1, "settled": 4}
            assert ahead.result() == 4

    _virtual(main)


def test_a_unit_ahead_that_fails_beside_a_crossing_keeps_its_error_for_result(database_url):
    async def main():
        async with Store.open(database_url, inline=True) as store:
            await store.execute("CREATE TABLE t (x int PRIMARY KEY)")

            failed = await store.send_ahead(_slow_insert_twice, touches=Footprint([1], ["+100"]))
            # Beside it, a crossing that outlasts it: the unit ahead fails meanwhile.
            await store.run_statements(lambda conn: conn.execute("SELECT pg_sleep(0.6)"),
                                       reads=Footprint([2], ["+200"]))
            assert store.ahead_stats == {"beside": 1}
            assert failed._task.done()
            with pytest.raises(asyncpg.UniqueViolationError):
                failed.result()
            assert await store.fetchval("SELECT count(*) FROM t") == 0    # rolled back as a whole
            # A second unit sent ahead is sent as ever.
            ahead = await store.send_ahead(lambda conn: conn.execute("INSERT INTO t VALUES (1)"))
            assert ahead.result() == "INSERT 0 1"

    _virtual(main)


async def _slow(conn, x, seconds=0.3):
    await conn.execute("SELECT pg_sleep($1)", seconds)
    await conn.execute("INSERT INTO t VALUES ($1)", x)
    return await conn.fetchval("SELECT count(*) FROM t")


def test_a_second_unit_sent_ahead_queues_behind_the_first_without_finishing_it(database_url):
    """Sending a unit while another is ahead waits for nothing: both are in flight, the database
    runs them in the order sent (the second sees the first's row), and the poller moves the queue
    on by itself; `result()` of the first finishes only the first."""
    async def main():
        async with Store.open(database_url, inline=True) as store:
            await store.execute("CREATE TABLE t (x int)")
            first = await store.send_ahead(_slow, 1)
            second = await store.send_ahead(_slow, 2)
            assert not first._task.done() and not second._task.done(), "the second did not finish the first"
            assert store.ahead_stats == {"queued": 1}
            assert first.result() == 1
            assert not second._task.done(), "the first's result() finished only the first"
            third = await store.send_ahead(_slow, 3, 0.05)
            deadline = time.monotonic() + 10
            while not third._task.done() and time.monotonic() < deadline:
                await trio.sleep(1)     # trio's scheduler passes: only the poller turns the loop
            assert third._task.done(), "the poller moved the queue on"
            assert store.ahead_stats == {"queued": 2}
            assert (second.result(), third.result()) == (2, 3)

    _virtual(main)


def test_a_failing_unit_ahead_keeps_its_error_and_the_one_behind_it_still_runs(database_url):
    """The first unit fails (rolled back as a whole); the one queued behind it runs all the same,
    on the same connection, and each gives its own result, in any order they are asked."""
    async def main():
        async with Store.open(database_url, inline=True) as store:
            await store.execute("CREATE TABLE t (x int PRIMARY KEY)")

            failed = await store.send_ahead(_slow_insert_twice)
            second = await store.send_ahead(_slow, 1)
            assert not failed._task.done(), "both in flight"
            assert second.result() == 1, "ran after the first, which left nothing behind"
            with pytest.raises(asyncpg.UniqueViolationError):
                failed.result()
            with pytest.raises(asyncpg.UniqueViolationError):
                failed.result()            # kept, however often it is asked
            assert await store.fetchval("SELECT count(*) FROM t") == 1

    _virtual(main)


def test_a_crossing_must_miss_every_unit_queued_ahead_to_run_beside_them(database_url):
    """Reads that miss both units in flight run beside them; reads that meet either one, or a
    unit queued without a footprint (a claim: anything), finish them all first, in order."""
    async def main():
        async with Store.open(database_url, inline=True) as store:
            await store.execute("CREATE TABLE t (x int)")

            one, two = Footprint([1], ["+100"]), Footprint([2], ["+200"])
            first = await store.send_ahead(_slow, 1, touches=one)
            second = await store.send_ahead(_slow, 2, touches=two)
            assert await store.run_statements(_count, reads=Footprint([3], ["+300"])) == 0
            assert not first._task.done() and not second._task.done()
            assert store.ahead_stats == {"queued": 1, "beside": 1}
            # Meets only the second (behind): both are finished first.
            assert await store.run_statements(_count, reads=Footprint([3], ["+200"])) == 2
            assert store.ahead_stats == {"queued": 1, "beside": 1, "settled": 1}
            assert (first.result(), second.result()) == (1, 2)
            # Meets only the first (ahead), and the same for a unit with no footprint behind it.
            first = await store.send_ahead(_slow, 3, touches=one)
            second = await store.send_ahead(_slow, 4, touches=two)
            assert await store.run_statements(_count, reads=Footprint([1], ["+300"])) == 4
            first = await store.send_ahead(_slow, 5, touches=one)
            second = await store.send_ahead(_slow, 6)
            assert await store.run_statements(_count, reads=Footprint([3], ["+300"])) == 6
            assert store.ahead_stats == {"queued": 3, "beside": 1, "settled": 3}
            assert (first.result(), second.result()) == (5, 6)

    _virtual(main)
