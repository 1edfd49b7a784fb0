"""Unit of work for exporting leads: a server-side cursor, rows handed to a
callback as they come, so an export of millions of leads streams."""

from __future__ import annotations

from typing import Callable, Sequence

# Export column -> SQL over lead `l` (and its list `ll`).
COLUMN_SQL = {
    "id": "l.id", "campaign": "c.name", "list": "ll.name", "list_id": "l.list_id", "customer_key": "l.customer_key",
    "phone": "l.phone", "alt_phones": "array_to_string(l.alt_phones, ';')", "phone_type": "l.phone_type",
    "first_name": "l.first_name", "last_name": "l.last_name", "email": "l.email", "address": "l.address",
    "city": "l.city", "region": "l.region", "postal_code": "l.postal_code", "country": "l.country",
    "timezone": "l.timezone", "status": "l.status", "attempts": "l.attempts", "called_count": "l.attempts",
    "source": "l.source", "completed": "l.completed", "last_attempt_at": "l.last_attempt_at",
    "last_contacted_at": "l.last_contacted_at", "last_outcome": "l.last_outcome", "wrap_code": "l.wrap_code",
    "created_at": "l.created_at", "updated_at": "l.updated_at", "contact_status": "l.contact_status",
    "valid": "l.valid",
    "notes": "(SELECT string_agg(n.body, '; ' ORDER BY n.created_at, n.id) FROM lead_note n WHERE n.lead_id = l.id)",
}
DEFAULT_COLUMNS = ("id", "list", "customer_key", "phone", "first_name", "last_name", "email", "address", "city",
                   "region", "postal_code", "country", "timezone", "status", "attempts", "notes")


def column_sql(name: str, index: int) -> tuple[str, list]:
    """SQL for a column and its parameters; names not standard are custom fields (lead.fields)."""
    if name in COLUMN_SQL:
        return COLUMN_SQL[name], []
    key = name[len("fields."):] if name.startswith("fields.") else name
    return f"l.fields ->> ${index}", [key]


async def export_leads(conn, campaign_id: int, list_id: int | None, statuses: Sequence[str] | None,
                       columns: Sequence[str], emit: Callable[[list], None], include_held: bool = False) -> int:
    """Stream leads to `emit`. Leads held for call-centre validation (contact status
    unconfirmed) or rejected by a validator are not final, so they are left out
    unless `include_held`."""
    params: list = [campaign_id, list_id, list(statuses) if statuses else None, include_held]
    selects = []
    for name in columns:
        sql, extra = column_sql(name, len(params) + 1)
        params.extend(extra)
        selects.append(sql)
    query = f"""SELECT {', '.join(selects)} FROM lead l JOIN lead_list ll ON ll.id = l.list_id
                JOIN campaign c ON c.id = l.campaign_id
                WHERE l.campaign_id = $1 AND ($2::bigint IS NULL OR l.list_id = $2)
                  AND ($3::text[] IS NULL OR l.status = ANY($3::text[]))
                  AND ($4::boolean OR l.contact_status IS NULL OR l.contact_status = 'confirmed')
                ORDER BY l.id"""
    n = 0
    async for record in conn.cursor(query, *params, prefetch=2000):
        emit(list(record))
        n += 1
    return n
