"""Units of work for operators (the people who take the calls)."""

from __future__ import annotations

from typing import Sequence


async def create_operators(conn, specs: Sequence[dict]) -> list[dict]:
    """Insert operators (name, display_name, sip_user, sip_password); their rows in order."""
    rows = []
    for spec in specs:
        rows.append(dict(await conn.fetchrow(
            """INSERT INTO operator (name, display_name, sip_user, sip_password) VALUES ($1, $2, $3, $4)
               ON CONFLICT (name) DO UPDATE SET display_name = EXCLUDED.display_name,
                   sip_user = EXCLUDED.sip_user, sip_password = EXCLUDED.sip_password, active = true
               RETURNING id, name, display_name, sip_user, sip_password, active""",
            spec["name"], spec.get("display_name"), spec.get("sip_user", spec["name"]), spec.get("sip_password"))))
    return rows


async def active_operators(conn) -> list[dict]:
    rows = await conn.fetch(
        "SELECT id, name, display_name, sip_user, sip_password FROM operator WHERE active ORDER BY id")
    return [dict(r) for r in rows]


async def record_wrap(conn, attempt_id: int | None, code: str, notes: str | None) -> None:
    """The wrap code and notes on the attempt row (the lead's next state is the lifecycle's job)."""
    if attempt_id is not None:
        await conn.execute("UPDATE attempt SET wrap_code = $2, notes = coalesce($3, notes) WHERE id = $1",
                           attempt_id, code, notes)
