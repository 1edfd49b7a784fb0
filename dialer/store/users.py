"""Units of work for web users and their sessions (migration 050).

Passwords arrive here already hashed and tokens already digested: the store
never sees a secret in the clear.
"""

from __future__ import annotations

import datetime as dt

from .campaigns import NotFound

ROLES = ("operator", "validator", "supervisor", "admin")
USER_COLUMNS = "u.id, u.name, u.role, u.operator_id, u.active, u.created_at, u.password_changed_at"


class UserError(ValueError):
    """A user request that cannot be met (duplicate name, unknown role, ...)."""


async def create_user(conn, name: str, role: str, password_hash: str,
                      display_name: str | None = None) -> dict:
    """Add a user; an operator user gets (or is tied to) the `operator` row of the same name."""
    if role not in ROLES:
        raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if not name or len(name) > 100 or any(c.isspace() for c in name):
        raise UserError(f"user name {name!r}: 1-100 characters, no spaces")
    if await conn.fetchval("SELECT 1 FROM app_user WHERE name = $1", name):
        raise UserError(f"user {name!r} already exists")
    operator_id = None
    if role == "operator":
        operator_id = await conn.fetchval(
            """INSERT INTO operator (name, display_name) VALUES ($1, $2)
               ON CONFLICT (name) DO UPDATE SET display_name = coalesce(EXCLUDED.display_name,
                                                                         operator.display_name)
               RETURNING id""", name, display_name)
    row = await conn.fetchrow(
        """INSERT INTO app_user (name, role, password_hash, operator_id) VALUES ($1, $2, $3, $4)
           RETURNING id""", name, role, password_hash, operator_id)
    return await find_user(conn, row["id"])


async def find_user(conn, ref: str | int) -> dict:
    row = None
    if isinstance(ref, int) or str(ref).isdigit():
        row = await conn.fetchrow(f"SELECT {USER_COLUMNS} FROM app_user u WHERE u.id = $1", int(ref))
    if row is None:
        row = await conn.fetchrow(f"SELECT {USER_COLUMNS} FROM app_user u WHERE u.name = $1", str(ref))
    if row is None:
        raise NotFound(f"no user {ref!r}")
    return dict(row)


async def list_users(conn) -> list[dict]:
    rows = await conn.fetch(f"SELECT {USER_COLUMNS} FROM app_user u ORDER BY u.name")
    return [dict(r) for r in rows]


async def login_record(conn, name: str) -> dict | None:
    """What a login checks: the stored hash and whether the user may log in."""
    row = await conn.fetchrow(
        f"SELECT {USER_COLUMNS}, u.password_hash FROM app_user u WHERE u.name = $1", name)
    return dict(row) if row else None


async def set_password(conn, ref: str | int, password_hash: str) -> dict:
    """Change a password and end every session of that user."""
    user = await find_user(conn, ref)
    await conn.execute("UPDATE app_user SET password_hash = $2, password_changed_at = now() WHERE id = $1",
                       user["id"], password_hash)
    await conn.execute("DELETE FROM user_session WHERE user_id = $1", user["id"])
    return user


async def rehash_password(conn, user_id: int, password_hash: str) -> None:
    """Store a stronger hash of the same password (after a login with old parameters)."""
    await conn.execute("UPDATE app_user SET password_hash = $2 WHERE id = $1", user_id, password_hash)


async def set_active(conn, ref: str | int, active: bool) -> dict:
    """Disable (ending every session) or re-enable a user."""
    user = await find_user(conn, ref)
    await conn.execute("UPDATE app_user SET active = $2 WHERE id = $1", user["id"], active)
    if not active:
        await conn.execute("DELETE FROM user_session WHERE user_id = $1", user["id"])
    user["active"] = active
    return user


async def open_session(conn, user_id: int, token_hash: bytes, lifetime: dt.timedelta) -> dt.datetime:
    """Record a new session; returns when it expires. Expired sessions are swept here."""
    await conn.execute("DELETE FROM user_session WHERE expires_at < now()")
    return await conn.fetchval(
        """INSERT INTO user_session (token_hash, user_id, expires_at) VALUES ($1, $2, now() + $3)
           RETURNING expires_at""", token_hash, user_id, lifetime)


async def session_user(conn, token_hash: bytes) -> dict | None:
    """The active user behind a live session token, or None."""
    row = await conn.fetchrow(
        f"""UPDATE user_session s SET last_seen_at = now()
            FROM app_user u
            WHERE s.token_hash = $1 AND s.user_id = u.id AND s.expires_at > now() AND u.active
            RETURNING {USER_COLUMNS}, s.expires_at""", token_hash)
    return dict(row) if row else None


async def close_session(conn, token_hash: bytes) -> bool:
    return await conn.fetchval("DELETE FROM user_session WHERE token_hash = $1 RETURNING true", token_hash) \
        or False
