"""Units of work for do-not-call numbers and NANP wireless blocks.

DNC rows with campaign_id NULL are the account-wide list. Scopes when
filtering (import, lead add/edit): `account` = every DNC row of the account
(account-wide and any campaign's), `campaign` = the account-wide list plus
the campaign's own, `none` = no filtering.
"""

from __future__ import annotations

from typing import Iterable, Sequence

DNC_SCOPES = ("none", "account", "campaign")


def dnc_condition(scope: str, alias: str = "d", campaign_param: str = "$2") -> str:
    """SQL condition restricting dnc rows `alias` to a scope (campaign id in campaign_param)."""
    if scope == "account":
        return f"{campaign_param}::bigint IS NOT DISTINCT FROM {campaign_param}"  # always true; keeps the parameter used
    if scope == "campaign":
        return f"({alias}.campaign_id IS NULL OR {alias}.campaign_id = {campaign_param})"
    raise ValueError(f"unknown DNC scope {scope!r}")


async def add_dnc(conn, phones: Iterable[str], campaign_id: int | None, source: str | None = None) -> int:
    """Add E.164 numbers; returns how many were new."""
    phones = sorted(set(phones))
    if not phones:
        return 0
    result = await conn.fetch(
        """INSERT INTO dnc (phone, campaign_id, source) SELECT p, $2, $3 FROM unnest($1::text[]) p
           ON CONFLICT (phone, coalesce(campaign_id, 0)) DO NOTHING RETURNING phone""",
        phones, campaign_id, source)
    return len(result)


async def remove_dnc(conn, phones: Sequence[str], campaign_id: int | None) -> int:
    result = await conn.fetch(
        "DELETE FROM dnc WHERE phone = ANY($1::text[]) AND coalesce(campaign_id, 0) = coalesce($2::bigint, 0) "
        "RETURNING phone", list(phones), campaign_id)
    return len(result)


async def dnc_matches(conn, phones: Sequence[str], campaign_id: int | None, scope: str = "campaign") -> dict:
    """{phone: [scopes it is listed in]} for the numbers that are on a DNC list in `scope`.
    Scope names in the result: "account" for the account-wide list, else the campaign name."""
    if scope == "none" or not phones:
        return {}
    rows = await conn.fetch(
        f"""SELECT d.phone, coalesce(c.name, 'account') AS scope FROM dnc d
            LEFT JOIN campaign c ON c.id = d.campaign_id
            WHERE d.phone = ANY($1::text[]) AND {dnc_condition(scope)} ORDER BY d.phone, d.campaign_id NULLS FIRST""",
        list(phones), campaign_id)
    found: dict[str, list[str]] = {}
    for r in rows:
        found.setdefault(r["phone"], []).append(r["scope"])
    return found


async def list_dnc(conn, campaign_id: int | None, all_scopes: bool = False, limit: int | None = None) -> list[dict]:
    rows = await conn.fetch(
        """SELECT d.phone, coalesce(c.name, 'account') AS scope, d.source, d.added_at FROM dnc d
           LEFT JOIN campaign c ON c.id = d.campaign_id
           WHERE $2 OR coalesce(d.campaign_id, 0) = coalesce($1::bigint, 0)
           ORDER BY d.phone LIMIT $3""", campaign_id, all_scopes, limit)
    return [dict(r) for r in rows]


async def import_wireless_blocks(conn, prefixes: Iterable[str], replace: bool = False) -> int:
    """Load NANP wireless blocks (6 digits NPA-NXX or 7 digits NPA-NXX-X)."""
    if replace:
        await conn.execute("DELETE FROM wireless_block")
    result = await conn.fetch(
        "INSERT INTO wireless_block (prefix) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING RETURNING prefix",
        sorted(set(prefixes)))
    return len(result)


async def wireless_count(conn) -> int:
    return await conn.fetchval("SELECT count(*) FROM wireless_block")


async def is_wireless_block(conn, e164: str) -> bool:
    """True when a +1 number falls in a loaded wireless block."""
    if not e164.startswith("+1") or len(e164) != 12:
        return False
    return bool(await conn.fetchval("SELECT 1 FROM wireless_block WHERE prefix IN ($1, $2)",
                                    e164[2:8], e164[2:9]))
