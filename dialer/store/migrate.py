"""Numbered SQL migrations, applied once each, safely from several nodes at once.

Files are `dialer/store/migrations/NNN_name.sql`. Each is applied in its own
transaction and recorded in `schema_migration`; an advisory lock makes two
`dialer db migrate` runs at the same moment take turns instead of colliding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from .bridge import Store

# Any fixed 64-bit number works; it only has to be the same on every node.
MIGRATION_LOCK_KEY = 0x6469616C6572  # "dialer"

_NAME = re.compile(r"^(\d+)_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    found = []
    for entry in resources.files("dialer.store").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


async def _apply_pending(conn, migrations: list[Migration]) -> list[Migration]:
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migration (
                   version    integer PRIMARY KEY,
                   name       text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migration")}
        applied = []
        for migration in migrations:
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migration (version, name) VALUES ($1, $2)",
                    migration.version, migration.name,
                )
            applied.append(migration)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)


async def migrate(store: Store) -> list[Migration]:
    """Apply every pending migration; return the ones applied by this call."""
    return await store.run_without_transaction(_apply_pending, available_migrations())


async def _applied_versions(conn) -> list[int]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migration') IS NOT NULL")
    if not exists:
        return []
    return [r["version"] for r in await conn.fetch("SELECT version FROM schema_migration ORDER BY version")]


async def applied_versions(store: Store) -> list[int]:
    return await store.run_without_transaction(_applied_versions)
