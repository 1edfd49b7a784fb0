import trio

from dialer.store.campaigns import create_campaign, find_campaign


async def test_unit_of_work_commits_or_rolls_back_as_one(store):
    await store.run(create_campaign, {"name": "c"})

    async def half_done(conn):
        await conn.execute("INSERT INTO campaign (name) VALUES ('partial')")
        raise RuntimeError("boom")

    try:
        await store.run(half_done)
    except RuntimeError:
        pass
    names = [r["name"] for r in await store.fetch("SELECT name FROM campaign ORDER BY id")]
    assert names == ["c"]


async def test_cancelled_query_is_cancelled_on_the_server(store):
    with trio.move_on_after(0.5) as scope:
        await store.fetchval("SELECT pg_sleep(30) /* dialer-cancel-test */")
    assert scope.cancelled_caught

    # The server stops the query (not just our wait for it): poll briefly.
    running = None
    for _ in range(50):
        running = await store.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE query LIKE '%dialer-cancel-test%' AND state = 'active' AND pid <> pg_backend_pid()")
        if running == 0:
            break
        await trio.sleep(0.1)
    assert running == 0
    # And the pool's connections still work.
    for _ in range(5):
        assert await store.fetchval("SELECT 41 + 1") == 42


async def test_default_campaign_gets_statuses_modes_and_wrap_codes(store):
    c = await store.run(create_campaign, {"name": "defaults"})
    assert (await store.run(find_campaign, "defaults"))["id"] == c["id"]
    assert (await store.run(find_campaign, str(c["id"])))["name"] == "defaults"
    assert await store.fetchval("SELECT count(*) FROM lead_status WHERE campaign_id=$1", c["id"]) > 5
    assert await store.fetchval("SELECT count(*) FROM call_mode WHERE campaign_id=$1", c["id"]) >= 4
    assert await store.fetchval("SELECT count(*) FROM wrap_code WHERE campaign_id=$1 AND adds_dnc", c["id"]) == 1


async def test_kept_savepoint_keeps_its_work_to_the_commit_and_undoes_a_failed_block(store):
    from dialer.store.bridge import kept_savepoint

    async def plain(conn):
        await conn.execute("INSERT INTO campaign (name) VALUES ('first')")
        async with kept_savepoint(conn):
            await conn.execute("INSERT INTO campaign (name) VALUES ('second')")
        try:
            async with kept_savepoint(conn):
                await conn.execute("INSERT INTO campaign (name) VALUES ('undone')")
                raise RuntimeError("boom")
        except RuntimeError:
            pass
        await conn.execute("INSERT INTO campaign (name) VALUES ('third')")

    await store.run(plain)
    names = [r["name"] for r in await store.fetch("SELECT name FROM campaign ORDER BY id")]
    assert names == ["first", "second", "third"]
