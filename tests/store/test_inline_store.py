"""The inline store (virtual time only): crossings run a private asyncio loop to the end inside
the calling trio task instead of going through trio-asyncio. Same results, same transactions,
no virtual time passes, and it refuses to run in real time."""

import asyncpg
import pytest
import trio
import trio.testing

from dialer.store import Store


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

            async def insert_twice(conn):
                await conn.execute("INSERT INTO t VALUES (7)")
                await conn.execute("INSERT INTO t VALUES (7)")

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
