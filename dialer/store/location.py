"""Which PostgreSQL the tool uses: `DIALER_DATABASE_URL`, or an embedded one."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Iterator

from .embedded import EmbeddedServer, start_embedded

DATABASE_URL_ENV = "DIALER_DATABASE_URL"


@dataclass
class Database:
    url: str
    embedded: EmbeddedServer | None

    def describe(self) -> str:
        if self.embedded is not None:
            return f"embedded PostgreSQL in {self.embedded.data_dir}"
        return f"{DATABASE_URL_ENV}={redact(self.url)}"


def redact(url: str) -> str:
    """Hide a password in a URL before it is printed."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    if ":" in creds:
        creds = creds.split(":", 1)[0] + ":***"
    return f"{scheme}://{creds}@{host}"


@contextlib.contextmanager
def database(url: str | None = None) -> Iterator[Database]:
    """Yield the database to use, starting (and later releasing) an embedded one if needed."""
    url = url or os.environ.get(DATABASE_URL_ENV)
    if url:
        yield Database(url=url, embedded=None)
        return
    server = start_embedded()
    try:
        yield Database(url=server.url, embedded=server)
    finally:
        server.stop()
