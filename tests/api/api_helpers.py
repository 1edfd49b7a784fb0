"""Rows the API tests need, written straight to the test database."""

from __future__ import annotations


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
