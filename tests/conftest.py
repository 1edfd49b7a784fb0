"""Shared fixtures: a real PostgreSQL for every test that asks for one.

With `DIALER_DATABASE_URL` set, that server is used; otherwise an embedded
PostgreSQL (pgserver) is started in `.dialer/pg-test`. Either way the session
builds one migrated template database, and each test gets its own fresh copy
(`CREATE DATABASE ... TEMPLATE`), dropped afterwards, so tests never see each
other's rows and may run concurrency experiments freely.
"""

from __future__ import annotations

import io
import itertools
import os
import contextlib
import urllib.parse
from pathlib import Path

import pytest
import trio

from dialer.store import Store
from dialer.store.location import DATABASE_URL_ENV
from dialer.store.migrate import migrate
from sim.network import CHECK_CARRIED_ENV

# The in-memory network hands SIP messages over beside their bytes; in the tests every one
# is checked against its bytes parsed (sim/network.py, docs/SIMULATOR.md). Subprocesses
# (the CLI tests) inherit it.
os.environ.setdefault(CHECK_CARRIED_ENV, "1")

ROOT = Path(__file__).resolve().parent.parent
_counter = itertools.count()


def with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


async def _admin(url: str, *statements: str) -> None:
    async with Store.open(url, min_size=1, max_size=1) as admin:
        for sql in statements:
            await admin.execute(sql)


@pytest.fixture(scope="session")
def pg_server_url():
    """URL of the PostgreSQL server used by this test session (any database on it)."""
    url = os.environ.get(DATABASE_URL_ENV)
    if url:
        yield url
        return
    from dialer.store.embedded import start_embedded

    server = start_embedded(ROOT / ".dialer" / "pg-test")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def template_database(pg_server_url):
    """A migrated database that each test's database is copied from."""
    name = f"dialer_tpl_{os.getpid()}"
    trio.run(_admin, pg_server_url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')

    async def build():
        async with Store.open(with_database(pg_server_url, name), max_size=1) as store:
            await migrate(store)

    trio.run(build)
    yield name
    trio.run(_admin, pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fresh_database(pg_server_url: str, template: str | None):
    name = f"dialer_t_{os.getpid()}_{next(_counter)}"
    source = f' TEMPLATE "{template}"' if template else ""
    trio.run(_admin, pg_server_url, f'CREATE DATABASE "{name}"{source}')
    return name


def _migrated_database(pg_server_url: str, template: str):
    name = _fresh_database(pg_server_url, template)
    yield with_database(pg_server_url, name)
    trio.run(_admin, pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(pg_server_url, template_database):
    """A fresh, migrated database of this test's own."""
    yield from _migrated_database(pg_server_url, template_database)


@pytest.fixture
def other_database_url(pg_server_url, template_database):
    """A second one, for running the same thing twice side by side and comparing."""
    yield from _migrated_database(pg_server_url, template_database)


@pytest.fixture
def empty_database_url(pg_server_url):
    """A fresh database with no schema at all (for migration tests)."""
    name = _fresh_database(pg_server_url, None)
    yield with_database(pg_server_url, name)
    trio.run(_admin, pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def store(database_url):
    async with Store.open(database_url) as s:
        yield s


@pytest.fixture
async def inline_store(database_url, autojump_clock):
    """The store as virtual days use it (`Store.open(inline=True)`): MockClock only. With the
    session settings `dialer loadtest` gives its throwaway database (`dialer/cli/loadtest.py`):
    commits that do not wait for the disk (a day commits tens of thousands of times; on a server
    with slow fsync that was most of the test's time) and generic plans."""
    from dialer.cli.loadtest import THROWAWAY_SETTINGS

    async with Store.open(database_url, inline=True, server_settings=THROWAWAY_SETTINGS) as s:
        yield s


class CliResult:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    def json(self):
        import json

        return json.loads(self.out)

    def __repr__(self) -> str:
        return f"CliResult(code={self.code}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def cli(database_url):
    """Run `dialer ARGS...` in-process against this test's database (sync tests only)."""
    from dialer.cli import main

    def run(*args: str) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(["--database-url", database_url, *map(str, args)])
            except SystemExit as exc:  # argparse usage errors
                code = exc.code if isinstance(exc.code, int) else 2
        return CliResult(code, out.getvalue(), err.getvalue())

    return run


def pytest_collection_modifyitems(config, items):
    for item in items:
        if {"database_url", "empty_database_url", "store", "cli"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)
