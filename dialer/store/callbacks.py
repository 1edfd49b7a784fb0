"""Unit of work: the callbacks an operator (or anyone) may take now.

Mirrors `dialer.lifecycle.callbacks.may_take` in SQL so the hopper can fetch
them first ("due callbacks are dialed before anything else").
"""

from __future__ import annotations

import datetime as dt


async def due_callbacks(conn, campaign_id: int, now: dt.datetime, operator_id: int | None = None,
                        limit: int = 100) -> list[dict]:
    """Open callbacks due at `now` that `operator_id` may take (None: only campaign-wide
    ones and owned ones past their grace when the campaign lets anyone take them)."""
    rows = await conn.fetch(
        """SELECT cb.id, cb.lead_id, cb.due_at, cb.operator_id, cb.note
           FROM callback cb JOIN campaign c ON c.id = cb.campaign_id JOIN lead l ON l.id = cb.lead_id
           WHERE cb.campaign_id = $1 AND cb.done_at IS NULL AND cb.due_at <= $2
             AND NOT l.completed AND l.valid
             AND (cb.operator_id IS NULL OR cb.operator_id = $3
                  OR (c.callback_grace_action = 'anyone' AND cb.due_at + c.callback_grace <= $2))
           ORDER BY cb.due_at, cb.id LIMIT $4""",
        campaign_id, now, operator_id, limit)
    return [dict(r) for r in rows]
