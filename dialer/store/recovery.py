"""Crash recovery: what a node does with the evidence a dead process left behind.

An attempt row is written before its INVITE leaves, so a process that died
mid-call leaves attempts with no end. On start a node closes its own open
attempts as `unknown` (the lead's next state follows the retry rules for that
outcome) and gives back every lease it still holds: it holds nothing yet.
Leases of other nodes are not touched; they return to the pool at expiry.

`finish(conn, attempt_ids, now)` closes attempts as `unknown` and moves their
leads on; the engine passes one built on the lifecycle's rules. The fallback
here only counts the attempt and asks for a retry after `UNKNOWN_RETRY`.
"""

from __future__ import annotations

import datetime as dt
from typing import Awaitable, Callable, Sequence

UNKNOWN_RETRY = dt.timedelta(minutes=10)


async def open_attempts(conn, node: str) -> list[dict]:
    rows = await conn.fetch(
        "SELECT id, lead_id, campaign_id, started_at FROM attempt WHERE node = $1 AND ended_at IS NULL "
        "ORDER BY id FOR UPDATE", node)
    return [dict(r) for r in rows]


async def recover_node(conn, node: str, now: dt.datetime,
                       finish: Callable[..., Awaitable] | None = None) -> dict:
    """Close this node's open attempts as `unknown`, release its leases; one transaction."""
    stale = await open_attempts(conn, node)
    if stale:
        await (finish or close_unknown)(conn, [a["id"] for a in stale], now)
    released = await conn.execute(
        "UPDATE lead SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = $1", node)
    return {"closed": [a["id"] for a in stale], "released": int(released.split()[-1])}


async def close_unknown(conn, attempt_ids: Sequence[int], now: dt.datetime) -> None:
    """Fallback close: attempt outcome `unknown`, lead attempts + 1, retry after UNKNOWN_RETRY."""
    rows = await conn.fetch(
        "UPDATE attempt SET ended_at = $2, outcome = 'unknown' WHERE id = ANY($1::bigint[]) AND ended_at IS NULL "
        "RETURNING lead_id", list(attempt_ids), now)
    lead_ids = sorted({r["lead_id"] for r in rows if r["lead_id"] is not None})
    await conn.execute(
        """UPDATE lead SET attempts = attempts + 1, last_outcome = 'unknown', next_attempt_at = $2,
               lease_owner = NULL, lease_expires_at = NULL, updated_at = $3
           WHERE id = ANY($1::bigint[])""", lead_ids, now + UNKNOWN_RETRY, now)


async def renew_leases(conn, owner: str, lead_ids: Sequence[int], until: dt.datetime) -> int:
    """Extend leases of leads this node is calling, so a long call never lets its lead be claimed."""
    result = await conn.execute(
        "UPDATE lead SET lease_expires_at = $3 WHERE lease_owner = $1 AND id = ANY($2::bigint[])",
        owner, list(lead_ids), until)
    return int(result.split()[-1])
