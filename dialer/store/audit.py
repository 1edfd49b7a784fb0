"""The facts `dialer audit` judges, read in one transaction.

Set-wise checks that are natural in SQL (a DNC entry older than the call, a
call inside an abandon lock-out, two calls to one lead at once) are found here;
the per-attempt rules that need lead-local time (calling hours, daily limits,
max attempts) are judged in `dialer/engine/audit.py` from the rows returned.
"""

from __future__ import annotations

import datetime as dt

from .campaigns import find_campaign


async def audit_facts(conn, campaign_ref: str | int, since: dt.datetime | None) -> dict:
    campaign = await find_campaign(conn, campaign_ref)
    cid = campaign["id"]
    since = since or dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    # ordinal: the attempt's number on its lead, counted over all history (not just since).
    attempts = await conn.fetch(
        """WITH a AS (
               SELECT t.*, row_number() OVER (PARTITION BY t.lead_id ORDER BY t.started_at, t.id) AS ordinal
               FROM attempt t WHERE t.campaign_id = $1)
           SELECT a.id, a.lead_id, a.list_id, a.called_number, a.started_at, a.ringing_at, a.answered_at,
                  a.bridged_at, a.ended_at, a.sip_status, a.outcome, a.call_mode, a.ordinal, a.node,
                  coalesce(a.lead_timezone, l.timezone) AS timezone, l.timezones,
                  coalesce(a.lead_region, l.region) AS region, l.country
           FROM a LEFT JOIN lead l ON l.id = a.lead_id
           WHERE a.started_at >= $2
           ORDER BY a.started_at, a.id""", cid, since)
    modes = await conn.fetch("SELECT name, max_attempts FROM call_mode WHERE campaign_id = $1", cid)
    dnc = await conn.fetch(
        """SELECT a.id, min(d.added_at) AS listed_at FROM attempt a
           JOIN dnc d ON d.phone = a.called_number AND (d.campaign_id IS NULL OR d.campaign_id = a.campaign_id)
                     AND d.added_at <= a.started_at
           WHERE a.campaign_id = $1 AND a.started_at >= $2
           GROUP BY a.id""", cid, since)
    lockouts = []
    if campaign["abandon_lockout"] is not None:
        lockouts = await conn.fetch(
            """SELECT a.id, min(p.id) AS abandoned_attempt FROM attempt a
               JOIN attempt p ON p.campaign_id = a.campaign_id AND p.called_number = a.called_number
                             AND p.outcome = 'abandoned' AND p.id <> a.id
                             AND coalesce(p.ended_at, p.started_at) <= a.started_at
                             AND a.started_at < coalesce(p.ended_at, p.started_at) + $3::interval
               WHERE a.campaign_id = $1 AND a.started_at >= $2
               GROUP BY a.id""", cid, since, campaign["abandon_lockout"])
    overlaps = await conn.fetch(
        """SELECT b.id, min(a.id) AS other FROM attempt a
           JOIN attempt b ON b.lead_id = a.lead_id AND a.id < b.id
                         AND b.started_at < coalesce(a.ended_at, 'infinity'::timestamptz)
                         AND a.started_at < coalesce(b.ended_at, 'infinity'::timestamptz)
           WHERE a.campaign_id = $1 AND b.started_at >= $2
           GROUP BY b.id""", cid, since)
    return {
        "campaign": campaign,
        "attempts": [dict(r) for r in attempts],
        "max_attempts": {r["name"]: r["max_attempts"] for r in modes},
        "dnc": {r["id"]: r["listed_at"] for r in dnc},
        "lockouts": {r["id"]: r["abandoned_attempt"] for r in lockouts},
        "overlaps": {r["id"]: r["other"] for r in overlaps},
    }
