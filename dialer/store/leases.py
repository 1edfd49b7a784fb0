"""Lead leases: how a dialer node takes leads for itself.

A claim marks rows with the node's name and an expiry in one UPDATE over a
`FOR UPDATE SKIP LOCKED` sub-select, so concurrent claimers (tasks or nodes)
skip each other's rows instead of waiting or double-claiming. A lease that
expires returns the lead to the pool: claims treat it as no lease.
`now` is passed in (from the engine's Clock) rather than read from the server,
so virtual-time runs stay coherent.

This is the bare mechanism; the hopper (`dialer/store/hopper.py`,
`dialer/queue/hopper.py`) adds calling windows, DNC, list mix and ordering.
"""

from __future__ import annotations

import datetime as dt

from .hopper import release_leads, sweep_expired

__all__ = ["claim_leads", "release_leads", "sweep_expired"]


async def claim_leads(conn, campaign_id: int, owner: str, limit: int, lease: dt.timedelta,
                      now: dt.datetime) -> list[int]:
    """Lease up to `limit` unleased, unfinished leads of a campaign; return their ids."""
    rows = await conn.fetch(
        """UPDATE lead SET lease_owner = $2, lease_expires_at = $5::timestamptz + $4::interval
           WHERE id IN (
               SELECT id FROM lead
               WHERE campaign_id = $1 AND NOT completed AND valid
                 AND (lease_owner IS NULL OR lease_expires_at <= $5)
               ORDER BY priority DESC, id
               LIMIT $3
               FOR UPDATE SKIP LOCKED)
           RETURNING id""",
        campaign_id, owner, limit, lease, now)
    return [r["id"] for r in rows]
