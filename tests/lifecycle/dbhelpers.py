"""Seed a campaign, a list, leads and operators in a test database."""

import datetime as dt

from dialer.store.campaigns import create_campaign

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=UTC)   # 10:00 in New York, a Monday


async def seed(conn, n=3, *, name="c", validation=False, **campaign):
    c = await create_campaign(conn, {"name": name, "validation": validation, **campaign})
    lid = await conn.fetchval("INSERT INTO lead_list (campaign_id, name) VALUES ($1, 'main') RETURNING id", c["id"])
    ids = [r["id"] for r in await conn.fetch(
        """INSERT INTO lead (campaign_id, list_id, phone, timezone, first_name, customer_key)
           SELECT $1, $2, '+1202555' || lpad(g::text, 4, '0'), 'America/New_York', 'Ann' || g, 'K' || g
           FROM generate_series(1, $3) g RETURNING id""", c["id"], lid, n)]
    ops = [r["id"] for r in await conn.fetch(
        "INSERT INTO operator (name) VALUES ($1), ($2) RETURNING id", f"{name}-alice", f"{name}-bob")]
    return {"campaign_id": c["id"], "list_id": lid, "leads": ids, "operators": ops}


async def lead_row(conn, lead_id):
    return dict(await conn.fetchrow("SELECT * FROM lead WHERE id = $1", lead_id))
