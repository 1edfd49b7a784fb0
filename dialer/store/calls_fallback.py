"""Stand-in attempt units used until the lifecycle's `dialer/store/attempts.py` is merged.

Same signatures as the lifecycle's `start_attempts` / `finish_attempts`, much less rule:
the lead's attempts are counted, it is retried after its call mode's put-off for the
outcome (no calling-window alignment, no max-attempts move), an answered call waits
for its wrap code (status ANSWERED), and the lease is released. See engine/compat.py.
"""

from __future__ import annotations

import datetime as dt
import json

OUTCOME_STATUS = {"answered": "ANSWERED", "machine": "AM", "busy": "B", "no_answer": "NA",
                  "invalid": "INVALID", "rejected": "NA", "failed": "FAIL", "abandoned": "DROP",
                  "unknown": "NA"}


async def start_attempts(conn, starts) -> list[int]:
    if not starts:
        return []
    ids = [r[0] for r in await conn.fetch(
        "SELECT nextval('attempt_id_seq') FROM generate_series(1, $1)", len(starts))]
    rows = [(i, s.lead_id, s.campaign_id, s.list_id, s.node, s.trunk, s.call_id, s.called_number,
             s.caller_number, s.lead_timezone, s.lead_region, s.call_mode, s.started_at)
            for i, s in zip(ids, starts)]
    await conn.executemany(
        """INSERT INTO attempt (id, lead_id, campaign_id, list_id, node, trunk, call_id, called_number,
               caller_number, lead_timezone, lead_region, call_mode, started_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)""", rows)
    return ids


async def finish_attempts(conn, ends) -> list[None]:
    if not ends:
        return []
    await conn.executemany(
        """UPDATE attempt SET outcome = $2, ended_at = $3, sip_status = $4,
               ringing_at = coalesce($5, ringing_at), answered_at = coalesce($6, answered_at),
               bridged_at = coalesce($7, bridged_at), operator_id = coalesce($8, operator_id)
           WHERE id = $1 AND ended_at IS NULL""",
        [(e.attempt_id, e.outcome, e.ended_at, e.sip_status, e.ringing_at, e.answered_at, e.bridged_at,
          e.operator_id) for e in ends])
    rows = await conn.fetch(
        """SELECT a.id, a.lead_id, m.put_off
           FROM attempt a JOIN lead l ON l.id = a.lead_id
           LEFT JOIN call_mode m ON m.campaign_id = l.campaign_id AND m.name = l.call_mode
           WHERE a.id = ANY($1::bigint[])""", [e.attempt_id for e in ends])
    by_id = {r["id"]: r for r in rows}
    updates = []
    for e in ends:
        r = by_id.get(e.attempt_id)
        if r is None:
            continue
        put_off = json.loads(r["put_off"]) if isinstance(r["put_off"], str) else (r["put_off"] or {})
        status = OUTCOME_STATUS.get(e.outcome, "NA")
        next_at = e.ended_at + dt.timedelta(minutes=put_off.get(e.outcome, 10))
        updates.append((r["lead_id"], status, next_at, status == "INVALID", e.outcome, e.ended_at,
                        e.ended_at if e.outcome == "answered" else None))
    await conn.executemany(
        """UPDATE lead SET attempts = attempts + 1, status = $2, next_attempt_at = $3, completed = $4,
               last_outcome = $5, last_attempt_at = $6, last_contacted_at = coalesce($7, last_contacted_at),
               lease_owner = NULL, lease_expires_at = NULL, updated_at = $6
           WHERE id = $1""", updates)
    return [None] * len(ends)


async def claim_lead_rows(conn, campaign_id: int, owner: str, limit: int, lease: dt.timedelta,
                          now: dt.datetime) -> list[dict]:
    """Lease up to `limit` leads that are due and auto-dialed; their rows (stand-in hopper)."""
    rows = await conn.fetch(
        """UPDATE lead SET lease_owner = $2, lease_expires_at = $5::timestamptz + $4::interval
           WHERE id IN (
               SELECT l.id FROM lead l
               JOIN lead_list ll ON ll.id = l.list_id AND ll.active
               JOIN lead_status s ON s.campaign_id = l.campaign_id AND s.code = l.status AND s.auto_dial
               WHERE l.campaign_id = $1 AND NOT l.completed AND l.valid
                 AND (l.next_attempt_at IS NULL OR l.next_attempt_at <= $5)
                 AND (l.lease_expires_at IS NULL OR l.lease_expires_at <= $5)
               ORDER BY l.priority DESC, l.next_attempt_at NULLS FIRST, l.id
               LIMIT $3
               FOR UPDATE OF l SKIP LOCKED)
           RETURNING id, campaign_id, list_id, phone, timezone, timezones, region, country, call_mode,
                     status, attempts, priority, lease_expires_at""",
        campaign_id, owner, limit, lease, now)
    return [dict(r) for r in rows]
