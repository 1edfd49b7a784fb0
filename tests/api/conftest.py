"""A real HTTP server (hypercorn, trio worker) on 127.0.0.1:0 over a fresh database per test."""

from __future__ import annotations

import argon2
import pytest

from dialer.api import LocalDesk, Settings, create_app, passwords, serve
from dialer.store.campaigns import create_campaign

from api_helpers import Web


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    # Real argon2id, with parameters small enough for dozens of logins per test.
    monkeypatch.setattr(passwords, "HASHER", argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))


@pytest.fixture
async def web(store, nursery):
    desk = LocalDesk(store)
    app = create_app(store, desk=desk, settings=Settings(max_json_bytes=4096, max_upload_bytes=64 * 1024,
                                                             sse_keepalive_seconds=0.5))
    urls = await nursery.start(serve, app, "127.0.0.1", 0)
    w = Web(app, urls[0], store, desk)
    yield w
    await w.client.aclose()


@pytest.fixture
async def campaign(store):
    camp = await store.run(create_campaign, {"name": "spring", "validation": True})
    ids = []
    for name, weight in (("fresh", 60), ("old", 30), ("vip", 10)):
        ids.append(await store.fetchval(
            "INSERT INTO lead_list (campaign_id, name, to_dial, weight) VALUES ($1, $2, true, $3) RETURNING id",
            camp["id"], name, weight))
    camp["list_ids"] = ids
    return camp
