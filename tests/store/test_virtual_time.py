"""Database work takes no virtual time under MockClock, and the clock still jumps otherwise."""

import trio
import trio.testing

from dialer.store import Store


def test_database_calls_take_no_virtual_time(database_url):
    clock = trio.testing.MockClock(autojump_threshold=0)

    async def main():
        async with Store.open(database_url) as store:
            fired = []

            async def timer():
                await trio.sleep(5)
                fired.append(trio.current_time())

            async with trio.open_nursery() as nursery:
                nursery.start_soon(timer)
                start = trio.current_time()
                # Real seconds pass on the server, virtual time must not.
                await store.fetchval("SELECT pg_sleep(0.3)")
                assert trio.current_time() == start
                assert fired == []
                # Once nothing waits on the database, the clock jumps again.
                await trio.sleep(10)
            assert fired == [start + 5]
            assert clock.autojump_threshold == 0

    trio.run(main, clock=clock)
