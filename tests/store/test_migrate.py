import trio

from dialer.store import Store
from dialer.store.migrate import applied_versions, available_migrations, migrate


async def test_migrate_applies_every_migration_once(empty_database_url):
    async with Store.open(empty_database_url) as store:
        first = await migrate(store)
        assert [m.version for m in first] == [m.version for m in available_migrations()]
        again = await migrate(store)
        assert again == []
        assert await applied_versions(store) == [m.version for m in available_migrations()]
        # The schema really exists: a campaign row can be written.
        await store.execute("INSERT INTO campaign (name) VALUES ('x')")


async def test_concurrent_migrations_do_not_collide(empty_database_url):
    results = []

    async def one_node():
        async with Store.open(empty_database_url, max_size=1) as store:
            results.append(await migrate(store))

    async with trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(one_node)
    applied = [m.version for batch in results for m in batch]
    # Every migration was applied exactly once, by whichever node got the lock first.
    assert sorted(applied) == [m.version for m in available_migrations()]
    async with Store.open(empty_database_url) as store:
        count = await store.fetchval("SELECT count(*) FROM schema_migration")
        assert count == len(available_migrations())
