"""Units of work for call-centre validation: the validators' listing and their decisions."""

from __future__ import annotations

import datetime as dt

from dialer.lifecycle.validation import validation_move

from .lead_ops import add_note, get_lead


async def validation_listing(conn, campaign_id: int, contact_status: str | None = None,
                             limit: int = 500) -> list[dict]:
    """Leads held for validation that validators see: valid (or flagged valid) only,
    with the telephone and all notes joined by semicolons."""
    rows = await conn.fetch(
        """SELECT l.id, l.phone, l.first_name, l.last_name, l.status, l.wrap_code, l.contact_status,
                  l.last_contacted_at,
                  (SELECT string_agg(n.body, '; ' ORDER BY n.created_at, n.id) FROM lead_note n
                   WHERE n.lead_id = l.id) AS notes
           FROM lead l
           WHERE l.campaign_id = $1 AND l.valid AND l.contact_status IS NOT NULL
             AND ($2::text IS NULL OR l.contact_status = $2)
           ORDER BY l.id LIMIT $3""", campaign_id, contact_status, limit)
    return [dict(r) for r in rows]


async def set_contact_status(conn, lead_id: int, new: str, author: str, now: dt.datetime,
                             note: str | None = None) -> dict:
    """A validator's decision, with a note kept under their name and the time."""
    lead = await get_lead(conn, lead_id, lock=True)
    status, valid = validation_move(lead_id, lead["contact_status"], lead["valid"], new)
    await conn.execute("UPDATE lead SET contact_status = $2, valid = $3, updated_at = $4 WHERE id = $1",
                       lead_id, status, valid, now)
    body = f"validation {lead['contact_status']} -> {status}" + (f": {note}" if note else "")
    await add_note(conn, lead_id, author, body, now, kind="validation")
    return {"lead_id": lead_id, "contact_status": status, "valid": valid}
