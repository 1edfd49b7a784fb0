"""Helpers for import tests: a campaign to import into, files written on the fly."""

from __future__ import annotations

import pytest


@pytest.fixture
def campaign(cli):
    """A US campaign `Sales` (default zone New York) with a list `Main`."""
    r = cli("campaign", "create", "Sales", "--purpose", "insurance")
    assert r.code == 0, r
    r = cli("list", "create", "Main", "--campaign", "Sales")
    assert r.code == 0, r
    return "Sales"


@pytest.fixture
def write(tmp_path):
    """write(name, text or bytes, newline="\\n") -> path of a file in tmp_path."""
    def _write(name: str, content, newline: str = "\n"):
        path = tmp_path / name
        if isinstance(content, str):
            content = content.replace("\n", newline).encode("utf-8")
        path.write_bytes(content)
        return str(path)

    return _write


@pytest.fixture
def sql(database_url):
    """sql(query, *args) -> list of dict rows, straight from the test's database."""
    import trio

    from dialer.store import Store

    def run(query: str, *args):
        async def go():
            async with Store.open(database_url, max_size=1) as store:
                return [dict(r) for r in await store.fetch(query, *args)]

        return trio.run(go)

    return run
