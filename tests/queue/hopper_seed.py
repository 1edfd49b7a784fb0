"""Seeding helpers for hopper tests: campaigns, lists and leads made in SQL."""

import datetime as dt

from dialer.store.attempts import AttemptStart
from dialer.store.campaigns import create_campaign
from dialer.store.launch import recheck_and_start

UTC = dt.timezone.utc
# Monday 2 March 2026, 15:00 UTC = 10:00 in New York: inside every default window.
MONDAY_10_NY = dt.datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


async def campaign(conn, name="c", **spec):
    spec.setdefault("calling_start", dt.time(8))
    spec.setdefault("calling_end", dt.time(21))
    return (await create_campaign(conn, {"name": name, **spec}))["id"]


async def lead_list(conn, cid, name, weight=100, strategy="oldest", to_dial=True, active=True):
    return await conn.fetchval(
        "INSERT INTO lead_list (campaign_id, name, weight, strategy, to_dial, active) "
        "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", cid, name, weight, strategy, to_dial, active)


async def leads(conn, cid, lid, count, *, prefix=None, timezone="America/New_York", **columns):
    """`count` leads with distinct phones; extra columns are set on all of them."""
    prefix = prefix or f"+1202{lid:03d}"
    rows = await conn.fetch(
        "INSERT INTO lead (campaign_id, list_id, phone, timezone) "
        "SELECT $1, $2, $3 || lpad(g::text, 4, '0'), $5 FROM generate_series(1, $4) g RETURNING id",
        cid, lid, prefix, count, timezone)
    ids = [r["id"] for r in rows]
    for column, value in columns.items():
        await conn.execute(f"UPDATE lead SET {column} = $2 WHERE id = ANY($1::bigint[])", ids, value)
    return ids


def engine_start(cid, clock, node="n1"):
    """The engine's launch for `Hopper.take(start=)`: the re-check and the attempt rows in one
    statement (`recheck_and_start`), each lead dialed at the number the hopper holds for it."""
    async def start(conn, check, leads):
        what, ids, release = check
        starts = [AttemptStart(lead_id=lead.id, campaign_id=cid, called_number=lead.phone,
                               started_at=clock.now(), list_id=lead.list_id, node=node) for lead in leads]
        return list(await recheck_and_start(conn, what, ids, release, starts))
    return start
