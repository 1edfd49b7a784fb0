"""The pool resets a connection's session state only after bare use, and that is enough."""


async def _dirty(conn):
    await conn.execute("SET application_name = 'left-behind'")
    await conn.execute("SELECT pg_advisory_lock(424242)")


async def _local(conn):
    await conn.execute("SET LOCAL application_name = 'local-only'")
    return await conn.fetchval("SELECT current_setting('application_name')")


async def _seen(conn):
    return await conn.fetchval("SELECT current_setting('application_name')"), await conn.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")


async def test_bare_use_is_reset_and_transactions_leave_nothing(store):
    await store.run_without_transaction(_dirty)
    assert await store.run(_local) == "local-only"
    # Whichever pooled connection answers, none carries the bare use's session state.
    for _ in range(12):
        name, locks = await store.run(_seen)
        assert name != "left-behind" and name != "local-only"
        assert locks == 0
