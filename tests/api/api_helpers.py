"""Rows the API tests need, written straight to the test database."""

from __future__ import annotations

import httpx

from dialer.api import passwords
from dialer.store import users as user_store

PASSWORD = "correct horse battery"


class Web:
    def __init__(self, app, url, store, desk):
        self.app, self.url, self.store, self.desk = app, url, store, desk
        self.client = httpx.AsyncClient(base_url=url, timeout=10)
        self.users: dict[str, dict] = {}

    async def add_user(self, name: str, role: str) -> dict:
        hashed = await passwords.hash_password(PASSWORD)
        user = await self.store.run(user_store.create_user, name, role, hashed)
        self.users[name] = user
        return user

    async def login(self, name: str, role: str | None = None) -> dict:
        """Create the user if needed and return Authorization headers for a new session."""
        if name not in self.users:
            await self.add_user(name, role or name)
        r = await self.client.post("/api/login", json={"name": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
        self.client.cookies.clear()  # tests authenticate with the header unless they say otherwise
        return {"Authorization": f"Bearer {r.json()['token']}"}


async def add_lead(store, campaign, list_index=0, **fields) -> int:
    values = {"phone": "+12125550100", "first_name": "Ada", "last_name": "Lovelace",
              "timezone": "America/New_York", **fields}
    cols = ", ".join(values)
    marks = ", ".join(f"${i + 3}" for i in range(len(values)))
    return await store.fetchval(
        f"INSERT INTO lead (campaign_id, list_id, {cols}) VALUES ($1, $2, {marks}) RETURNING id",
        campaign["id"], campaign["list_ids"][list_index], *values.values())


async def add_attempt(store, campaign, lead_id, operator_id=None, **fields) -> int:
    return await store.fetchval(
        """INSERT INTO attempt (lead_id, campaign_id, list_id, called_number, started_at, answered_at,
               bridged_at, ended_at, outcome, operator_id)
           SELECT id, campaign_id, list_id, phone, now(), now(), now(), now(), $2, $3 FROM lead WHERE id = $1
           RETURNING id""", lead_id, fields.get("outcome", "answered"), operator_id)
