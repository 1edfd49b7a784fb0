"""PostgreSQL, the one source of truth. See bridge.py for the shape of the API."""

from __future__ import annotations

import contextlib
from typing import AsyncIterator

from .bridge import Store, StoreError
from .location import DATABASE_URL_ENV, Database, database
from .migrate import migrate

__all__ = ["Store", "StoreError", "Database", "DATABASE_URL_ENV", "database", "migrate", "open_store"]


@contextlib.asynccontextmanager
async def open_store(url: str | None = None, *, migrated: bool = True,
                     max_size: int = 10) -> AsyncIterator[Store]:
    """Open the configured database (embedded if none), migrated unless told not to."""
    with database(url) as db:
        async with Store.open(db.url, max_size=max_size) as store:
            store.database = db
            if migrated:
                await migrate(store)
            yield store
