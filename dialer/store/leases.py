"""Lead leases: how a dialer node takes leads for itself.

A claim marks rows with the node's name and an expiry in one UPDATE over a
`FOR UPDATE SKIP LOCKED` sub-select, so concurrent claimers (tasks or nodes)
skip each other's rows instead of waiting or double-claiming. A lease that
expires returns the lead to the pool. `now` is passed in (from the engine's
Clock) rather than read from the server, so virtual-time runs stay coherent.
"""

from __future__ import annotations

import datetime as dt


async def claim_leads(conn, campaign_id: int, owner: str, limit: int, lease: dt.timedelta,
                      now: dt.datetime) -> list[int]:
    """Lease up to `limit` unleased, unfinished leads of a campaign; return their ids."""
    rows = await conn.fetch(
        """UPDATE lead SET lease_owner = $2, lease_expires_at = $5::timestamptz + $4::interval
           WHERE id IN (
               SELECT id FROM lead
               WHERE campaign_id = $1 AND NOT completed AND valid
                 AND (lease_expires_at IS NULL OR lease_expires_at <= $5)
               ORDER BY priority DESC, id
               LIMIT $3
               FOR UPDATE SKIP LOCKED)
           RETURNING id""",
        campaign_id, owner, limit, lease, now)
    return [r["id"] for r in rows]


async def release_leads(conn, owner: str, lead_ids: list[int]) -> int:
    """Give back leases this owner holds (e.g. leads left in the hopper at shutdown)."""
    result = await conn.execute(
        "UPDATE lead SET lease_owner = NULL, lease_expires_at = NULL "
        "WHERE lease_owner = $1 AND id = ANY($2::bigint[])", owner, lead_ids)
    return int(result.split()[-1])
