"""`Store.open(server_settings=...)`: the settings reach the server on every pooled connection,
survive the pool's reset after a bare use, and change what PostgreSQL does (here
`plan_cache_mode`, which bench/hopper.py and bench/lifecycle_attempts.py compare)."""

from dialer.store import Store

_PLANS = ("SELECT generic_plans, custom_plans FROM pg_prepared_statements "
          "WHERE statement LIKE '%plan-cache-probe%' AND statement NOT LIKE '%pg_prepared_statements%'")
GENERIC = {"plan_cache_mode": "force_generic_plan"}


async def _mode(conn):
    return await conn.fetchval("SHOW plan_cache_mode")


async def _set_auto(conn):
    await conn.execute("SET plan_cache_mode = auto")


async def _plans_of_an_array_statement(conn):
    """asyncpg prepares the statement (named, cached per connection) and runs it once."""
    await conn.fetch("SELECT id FROM lead WHERE id = ANY($1::bigint[]) /* plan-cache-probe */", [1, 2, 3])
    return tuple(await conn.fetchrow(_PLANS))


async def test_settings_reach_every_connection_and_survive_the_reset(database_url):
    async with Store.open(database_url, max_size=3, server_settings=GENERIC) as store:
        assert await store.fetchval("SHOW plan_cache_mode") == "force_generic_plan"
        # A bare use that changes the setting: the pool's RESET ALL puts the startup value back.
        await store.run_without_transaction(_set_auto)
        for _ in range(9):
            assert await store.run(_mode) == "force_generic_plan"
            assert await store.run_statements(_mode) == "force_generic_plan"
            assert await store.fetchval("SHOW plan_cache_mode") == "force_generic_plan"


async def test_generic_plan_from_the_first_run_only_with_the_setting(database_url):
    async with Store.open(database_url, max_size=1, server_settings=GENERIC) as store:
        assert await store.run(_plans_of_an_array_statement) == (1, 0)
    # Without it, the server's default (auto) plans the first runs with the values.
    async with Store.open(database_url, max_size=1) as store:
        assert await store.fetchval("SHOW plan_cache_mode") == "auto"
        assert await store.run(_plans_of_an_array_statement) == (0, 1)
