"""Units of work for lead lists."""

from __future__ import annotations

from .campaigns import NotFound, find_campaign

SYS_DUPLICATE_LIST = "SYS_DUPLICATE_LEADS"

LIST_COLUMNS = """l.id, l.campaign_id, c.name AS campaign, l.name, l.to_dial, l.weight, l.strategy,
    l.active, l.system, l.created_at,
    (SELECT count(*) FROM lead WHERE lead.list_id = l.id) AS total_leads"""


class ListError(ValueError):
    """A list operation that is not allowed (e.g. deleting a list that is to be dialed)."""


async def create_list(conn, campaign_ref, name: str, weight: int = 100, to_dial: bool = False,
                      strategy: str = "oldest", active: bool = True) -> dict:
    campaign = await find_campaign(conn, campaign_ref)
    if await conn.fetchval("SELECT 1 FROM lead_list WHERE campaign_id = $1 AND name = $2",
                           campaign["id"], name):
        raise ListError(f"campaign {campaign['name']!r} already has a list {name!r}")
    list_id = await conn.fetchval(
        """INSERT INTO lead_list (campaign_id, name, weight, to_dial, strategy, active)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
        campaign["id"], name, weight, to_dial, strategy, active)
    return await find_list(conn, list_id)


async def find_list(conn, ref, campaign_ref=None) -> dict:
    """A list by id, or by name (within a campaign when given; a name used in
    several campaigns needs the campaign)."""
    campaign_id = (await find_campaign(conn, campaign_ref))["id"] if campaign_ref is not None else None
    rows = []
    if isinstance(ref, int) or str(ref).isdigit():
        rows = await conn.fetch(f"SELECT {LIST_COLUMNS} FROM lead_list l JOIN campaign c ON c.id = l.campaign_id "
                                "WHERE l.id = $1 AND ($2::bigint IS NULL OR l.campaign_id = $2)",
                                int(ref), campaign_id)
    if not rows:
        rows = await conn.fetch(f"SELECT {LIST_COLUMNS} FROM lead_list l JOIN campaign c ON c.id = l.campaign_id "
                                "WHERE l.name = $1 AND ($2::bigint IS NULL OR l.campaign_id = $2) ORDER BY l.id",
                                str(ref), campaign_id)
    if not rows:
        where = f" in campaign {campaign_ref!r}" if campaign_ref is not None else ""
        raise NotFound(f"no list {ref!r}{where}")
    if len(rows) > 1:
        raise NotFound(f"list name {ref!r} is used in several campaigns "
                       f"({', '.join(r['campaign'] for r in rows)}); give --campaign or the list id")
    return dict(rows[0])


async def list_lists(conn, campaign_ref=None) -> list[dict]:
    campaign_id = (await find_campaign(conn, campaign_ref))["id"] if campaign_ref is not None else None
    rows = await conn.fetch(
        f"""SELECT {LIST_COLUMNS} FROM lead_list l JOIN campaign c ON c.id = l.campaign_id
            WHERE $1::bigint IS NULL OR l.campaign_id = $1 ORDER BY l.campaign_id, l.id""", campaign_id)
    result = [dict(r) for r in rows]
    _add_weight_percent(result)
    return result


def _add_weight_percent(lists: list[dict]) -> None:
    """Weight as a share of the campaign's dialable lists (to_dial and active):
    70/30/100 -> 35 %/15 %/50 %. Lists not dialed get None."""
    totals: dict[int, int] = {}
    for l in lists:
        if l["to_dial"] and l["active"]:
            totals[l["campaign_id"]] = totals.get(l["campaign_id"], 0) + l["weight"]
    for l in lists:
        total = totals.get(l["campaign_id"], 0)
        l["weight_percent"] = (round(100.0 * l["weight"] / total, 1)
                               if l["to_dial"] and l["active"] and total else None)


async def show_list(conn, ref, campaign_ref=None) -> dict:
    lst = await find_list(conn, ref, campaign_ref)
    siblings = await list_lists(conn, lst["campaign_id"])
    return next(l for l in siblings if l["id"] == lst["id"])


async def update_list(conn, ref, campaign_ref=None, changes: dict | None = None) -> dict:
    """Change name, weight, to_dial, strategy, active (None values are left alone)."""
    changes = changes or {}
    lst = await find_list(conn, ref, campaign_ref)
    allowed = {"name", "weight", "to_dial", "strategy", "active"}
    sets = {k: v for k, v in changes.items() if k in allowed and v is not None}
    if sets:
        assignments = ", ".join(f"{k} = ${i + 2}" for i, k in enumerate(sets))
        await conn.execute(f"UPDATE lead_list SET {assignments} WHERE id = $1", lst["id"], *sets.values())
    return await show_list(conn, lst["id"])


async def delete_list(conn, ref, campaign_ref=None) -> dict:
    """Delete a list and its leads; refused while the list is to be dialed."""
    lst = await find_list(conn, ref, campaign_ref)
    if lst["to_dial"]:
        raise ListError(f"list {lst['name']!r} (id {lst['id']}) is set to dial and cannot be deleted; "
                        "turn it off first (dialer list update --no-to-dial)")
    await conn.execute("DELETE FROM lead_list WHERE id = $1", lst["id"])
    return lst


async def system_duplicate_list(conn, campaign_id: int) -> int:
    """The campaign's inactive SYS_DUPLICATE_LEADS list, created on first use."""
    return await conn.fetchval(
        """INSERT INTO lead_list (campaign_id, name, to_dial, active, system) VALUES ($1, $2, false, false, true)
           ON CONFLICT (campaign_id, name) DO UPDATE SET system = true RETURNING id""",
        campaign_id, SYS_DUPLICATE_LIST)
