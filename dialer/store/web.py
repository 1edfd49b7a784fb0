"""Units of work behind the web pages and the HTTP API.

Reads shaped for the screens (wallboard figures, an operator's own calls and
callbacks) and the campaign switches a supervisor flips live. Everything with
a business rule (lead edit, wrap, copy, delete, validation, list changes, DNC,
bulk edit, import) is the lifecycle's and import's units, which the API calls
directly.
"""

from __future__ import annotations

import json

from .campaigns import find_campaign
from .lists import list_lists
from .validation import validation_listing

STRATEGIES = ("oldest", "newest", "fewest_attempts", "random")
DIAL_MODES = ("preview", "progressive", "power", "predictive")
CONTACT_STATUSES = ("unconfirmed", "confirmed", "rejected")


class InvalidChange(ValueError):
    """A requested change names a bad value; the message names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


def _campaign(row: dict) -> dict:
    if isinstance(row.get("settings"), str):
        row["settings"] = json.loads(row["settings"])
    return row


# -- campaigns and lists ---------------------------------------------------------------------

async def campaign_detail(conn, ref: str | int) -> dict:
    campaign = _campaign(await find_campaign(conn, ref))
    campaign["lists"] = await list_lists(conn, campaign["id"])
    campaign["wrap_codes"] = [dict(r) for r in await conn.fetch(
        """SELECT code, label, completes, is_callback, needs_validation, adds_dnc
           FROM wrap_code WHERE campaign_id = $1 ORDER BY code""", campaign["id"])]
    return campaign


async def update_campaign(conn, ref: str | int, changes: dict) -> dict:
    """Start/stop dialing (`active`), dial mode and pacing targets."""
    campaign = await find_campaign(conn, ref)
    cid = campaign["id"]
    if "active" in changes:
        if not isinstance(changes["active"], bool):
            raise InvalidChange("active", "must be true or false")
        await conn.execute("UPDATE campaign SET active = $2 WHERE id = $1", cid, changes["active"])
    if "dial_mode" in changes:
        if changes["dial_mode"] not in DIAL_MODES:
            raise InvalidChange("dial_mode", f"{changes['dial_mode']!r} is not one of {', '.join(DIAL_MODES)}")
        await conn.execute("UPDATE campaign SET dial_mode = $2 WHERE id = $1", cid, changes["dial_mode"])
    if "pacing" in changes:
        pacing = _check_pacing(changes["pacing"])
        await conn.execute(
            """UPDATE campaign SET settings = jsonb_set(settings, '{pacing}',
                   coalesce(settings->'pacing', '{}'::jsonb) || $2::jsonb) WHERE id = $1""",
            cid, json.dumps(pacing))
    return await campaign_detail(conn, cid)


# Pacing targets a supervisor may change live, with their allowed ranges.
PACING_LIMITS = {
    "target_abandon_rate": (0.0, 1.0),
    "power_ratio": (0.1, 20.0),
    "max_dial_level": (0.1, 20.0),
    "min_dial_level": (0.1, 20.0),
}


def _check_pacing(pacing) -> dict:
    if not isinstance(pacing, dict) or not pacing:
        raise InvalidChange("pacing", "must be an object such as {\"target_abandon_rate\": 0.03}")
    for key, value in pacing.items():
        if key not in PACING_LIMITS:
            raise InvalidChange(f"pacing.{key}", f"unknown; one of {', '.join(PACING_LIMITS)}")
        low, high = PACING_LIMITS[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise InvalidChange(f"pacing.{key}", f"{value!r} is not a number from {low} to {high}")
    return pacing


# -- leads ----------------------------------------------------------------------------------

async def operator_connected(conn, operator_id: int, lead_id: int) -> bool:
    """Whether this operator has been connected to this lead (an attempt bridged to them)."""
    return bool(await conn.fetchval(
        "SELECT 1 FROM attempt WHERE lead_id = $1 AND operator_id = $2 LIMIT 1", lead_id, operator_id))


async def operator_calls(conn, operator_id: int, limit: int) -> list[dict]:
    rows = await conn.fetch(
        """SELECT a.id, a.lead_id, a.called_number, a.started_at, a.answered_at, a.ended_at, a.outcome,
                  a.wrap_code, a.notes, l.first_name, l.last_name
           FROM attempt a LEFT JOIN lead l ON l.id = a.lead_id
           WHERE a.operator_id = $1 ORDER BY a.started_at DESC, a.id DESC LIMIT $2""", operator_id, limit)
    return [dict(r) for r in rows]


async def operator_callbacks(conn, operator_id: int) -> list[dict]:
    rows = await conn.fetch(
        """SELECT c.id, c.lead_id, c.campaign_id, c.due_at, c.note, l.first_name, l.last_name, l.phone,
                  l.timezone
           FROM callback c JOIN lead l ON l.id = c.lead_id
           WHERE c.operator_id = $1 AND c.done_at IS NULL ORDER BY c.due_at""", operator_id)
    return [dict(r) for r in rows]


async def active_campaigns(conn) -> list[dict]:
    """What an operator may log in to: campaigns that are dialing."""
    return [dict(r) for r in await conn.fetch("SELECT id, name, dial_mode FROM campaign WHERE active ORDER BY name")]


async def operator_name(conn, operator_id: int) -> str | None:
    return await conn.fetchval("SELECT name FROM operator WHERE id = $1", operator_id)


async def operator_wrap(conn, lead_id: int, attempt_id: int | None, operator_id: int, code: str,
                        notes: str | None, callback_at, owner: int | None, now) -> dict:
    """An operator's wrap-up through the lifecycle's apply_wrap, signed with the operator's name."""
    from .lead_ops import apply_wrap

    author = await operator_name(conn, operator_id) or f"operator {operator_id}"
    return await apply_wrap(conn, lead_id, code, now=now, author=author, operator_id=operator_id, note=notes,
                            callback_at=callback_at, callback_owner=owner, attempt_id=attempt_id)


async def wrap_codes(conn, campaign_id: int) -> list[dict]:
    rows = await conn.fetch("""SELECT code, label, completes, is_callback FROM wrap_code
                               WHERE campaign_id = $1 ORDER BY code""", campaign_id)
    return [dict(r) for r in rows]


# -- validation -------------------------------------------------------------------------------

async def held_leads(conn, campaign_id: int | None, limit: int) -> list[dict]:
    """Leads held for validation (unconfirmed, valid), from the lifecycle's listing, over one
    campaign or every campaign that validates."""
    if campaign_id is None:
        ids = [r["id"] for r in await conn.fetch("SELECT id, name FROM campaign WHERE validation ORDER BY id")]
    else:
        ids = [campaign_id]
    names = {r["id"]: r["name"] for r in await conn.fetch("SELECT id, name FROM campaign")}
    out: list[dict] = []
    for cid in ids:
        for row in await validation_listing(conn, cid, "unconfirmed", limit - len(out)):
            out.append({**row, "campaign_id": cid, "campaign": names.get(cid)})
        if len(out) >= limit:
            break
    return out


# -- wallboard --------------------------------------------------------------------------------

async def wallboard(conn) -> dict:
    """Today's (UTC) figures per campaign: calls in flight, abandon rate, dials per list."""
    campaigns = [dict(r) for r in await conn.fetch(
        """SELECT c.id, c.name, c.active, c.dial_mode,
               (SELECT count(*) FROM attempt a WHERE a.campaign_id = c.id AND a.ended_at IS NULL)
                   AS calls_in_flight,
               (SELECT count(*) FROM attempt a WHERE a.campaign_id = c.id
                   AND a.started_at >= date_trunc('day', now()) AND a.outcome = 'abandoned') AS abandoned,
               (SELECT count(*) FROM attempt a WHERE a.campaign_id = c.id
                   AND a.started_at >= date_trunc('day', now()) AND a.outcome IN ('answered', 'abandoned'))
                   AS live_answers,
               (SELECT count(*) FROM attempt a WHERE a.campaign_id = c.id
                   AND a.started_at >= date_trunc('day', now())) AS dials,
               (SELECT count(*) FROM lead l WHERE l.campaign_id = c.id AND l.lease_owner IS NOT NULL
                   AND l.lease_expires_at > now()) AS leased
            FROM campaign c ORDER BY c.id""")]
    per_list = await conn.fetch(
        """SELECT ll.campaign_id, ll.id, ll.name, count(a.id) AS dials
           FROM lead_list ll LEFT JOIN attempt a ON a.list_id = ll.id AND a.started_at >= date_trunc('day', now())
           GROUP BY ll.campaign_id, ll.id, ll.name ORDER BY ll.id""")
    for c in campaigns:
        c["abandon_rate"] = round(c["abandoned"] / c["live_answers"], 4) if c["live_answers"] else 0.0
        # The hopper holds leases: leased leads not yet in a call are waiting to be dialed.
        c["hopper_depth"] = max(0, c.pop("leased") - c["calls_in_flight"])
        c["lists"] = [{"id": r["id"], "name": r["name"], "dials": r["dials"]}
                      for r in per_list if r["campaign_id"] == c["id"]]
    names = {r["id"]: r["name"] for r in await conn.fetch("SELECT id, name FROM operator")}
    return {"campaigns": campaigns, "operator_names": names}
