"""Units of work behind the web pages and the HTTP API.

Reads shaped for the screens (a lead with its call history, lists with their
share of the dial mix, wallboard figures). The few writes here are stand-ins
marked as such: the lifecycle and engine branches own those rules, and the API
switches to their units as they land on main.
"""

from __future__ import annotations

import datetime as dt
import json

from .campaigns import NotFound, find_campaign

LEAD_COLUMNS = """l.id, l.campaign_id, l.list_id, l.customer_key, l.phone, l.alt_phones, l.phone_type,
    l.first_name, l.last_name, l.email, l.address, l.city, l.region, l.postal_code, l.country,
    l.timezone, l.fields, l.source, l.status, l.call_mode, l.priority, l.attempts, l.next_attempt_at,
    l.last_attempt_at, l.last_contacted_at, l.last_outcome, l.wrap_code, l.completed,
    l.contact_status, l.valid, l.created_at, l.updated_at"""

LIST_COLUMNS = "id, campaign_id, name, to_dial, weight, strategy, active, system"
STRATEGIES = ("oldest", "newest", "fewest_attempts", "random")
DIAL_MODES = ("preview", "progressive", "power", "predictive")
CONTACT_STATUSES = ("unconfirmed", "confirmed", "rejected")


class InvalidChange(ValueError):
    """A requested change names a bad value; the message names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


def _lead(row) -> dict:
    lead = dict(row)
    if isinstance(lead.get("fields"), str):
        lead["fields"] = json.loads(lead["fields"])
    return lead


def _campaign(row: dict) -> dict:
    if isinstance(row.get("settings"), str):
        row["settings"] = json.loads(row["settings"])
    return row


# -- campaigns and lists ---------------------------------------------------------------------

async def campaign_lists(conn, campaign_id: int) -> list[dict]:
    """A campaign's lists, each with its share (%) of the dial mix among dialable lists."""
    rows = await conn.fetch(
        f"""SELECT {LIST_COLUMNS},
               (SELECT count(*) FROM lead WHERE lead.list_id = ll.id) AS leads,
               (SELECT count(*) FROM lead WHERE lead.list_id = ll.id AND NOT completed AND valid)
                   AS dialable_leads
            FROM lead_list ll WHERE campaign_id = $1 ORDER BY id""", campaign_id)
    lists = [dict(r) for r in rows]
    total = sum(l["weight"] for l in lists if _dialable(l))
    for l in lists:
        l["share_percent"] = round(100.0 * l["weight"] / total, 1) if _dialable(l) and total else 0.0
    return lists


def _dialable(lst: dict) -> bool:
    return lst["to_dial"] and lst["active"] and not lst["system"]


async def campaign_detail(conn, ref: str | int) -> dict:
    campaign = _campaign(await find_campaign(conn, ref))
    campaign["lists"] = await campaign_lists(conn, campaign["id"])
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


async def update_list(conn, list_id: int, changes: dict) -> dict:
    """to_dial, weight, strategy (and active) of one list; returns the campaign's lists."""
    row = await conn.fetchrow("SELECT campaign_id, system FROM lead_list WHERE id = $1", list_id)
    if row is None:
        raise NotFound(f"no list {list_id}")
    checks = {
        "to_dial": lambda v: isinstance(v, bool) or "must be true or false",
        "active": lambda v: isinstance(v, bool) or "must be true or false",
        "weight": lambda v: (isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 1_000_000)
        or f"{v!r} is not a whole number from 0 to 1000000",
        "strategy": lambda v: v in STRATEGIES or f"{v!r} is not one of {', '.join(STRATEGIES)}",
    }
    for key in changes:
        if key not in checks:
            raise InvalidChange(key, f"cannot be changed here; one of {', '.join(checks)}")
        verdict = checks[key](changes[key])
        if verdict is not True:
            raise InvalidChange(key, verdict)
    for key, value in changes.items():
        await conn.execute(f"UPDATE lead_list SET {key} = $2 WHERE id = $1", list_id, value)
    return {"campaign_id": row["campaign_id"], "lists": await campaign_lists(conn, row["campaign_id"])}


# -- leads ----------------------------------------------------------------------------------

async def lead_detail(conn, lead_id: int) -> dict:
    row = await conn.fetchrow(f"SELECT {LEAD_COLUMNS}, ll.name AS list_name FROM lead l "
                              "JOIN lead_list ll ON ll.id = l.list_id WHERE l.id = $1", lead_id)
    if row is None:
        raise NotFound(f"no lead {lead_id}")
    lead = _lead(row)
    lead["calls"] = [dict(r) for r in await conn.fetch(
        """SELECT a.id, a.called_number, a.caller_number, a.campaign_id, o.name AS operator,
                  a.wrap_code, a.started_at, a.answered_at, a.ended_at, a.sip_status, a.outcome, a.notes
           FROM attempt a LEFT JOIN operator o ON o.id = a.operator_id
           WHERE a.lead_id = $1 ORDER BY a.started_at DESC, a.id DESC""", lead_id)]
    lead["notes"] = [dict(r) for r in await conn.fetch(
        "SELECT author, kind, body, created_at FROM lead_note WHERE lead_id = $1 ORDER BY created_at, id",
        lead_id)]
    return lead


async def search_leads(conn, text: str | None, campaign_id: int | None, list_id: int | None,
                       limit: int) -> list[dict]:
    """Quick search: id or id prefix, phone digits, name, customer key."""
    where, args = [], []
    if text:
        text = text.strip()
        args.append(text)
        n = len(args)
        clauses = [f"l.customer_key = ${n}", f"l.first_name ILIKE ${n} || '%'", f"l.last_name ILIKE ${n} || '%'",
                   f"(l.first_name || ' ' || l.last_name) ILIKE ${n} || '%'"]
        digits = "".join(c for c in text if c.isdigit())
        if digits and digits == text.lstrip("+").replace(" ", "").replace("-", ""):
            args.append(digits)
            clauses += [f"l.id::text LIKE ${len(args)} || '%'", f"l.phone LIKE '%' || ${len(args)} || '%'"]
        where.append("(" + " OR ".join(clauses) + ")")
    if campaign_id is not None:
        args.append(campaign_id)
        where.append(f"l.campaign_id = ${len(args)}")
    if list_id is not None:
        args.append(list_id)
        where.append(f"l.list_id = ${len(args)}")
    args.append(limit)
    rows = await conn.fetch(
        f"""SELECT l.id, l.campaign_id, l.list_id, l.phone, l.first_name, l.last_name, l.status,
                   l.completed, l.attempts, l.last_contacted_at, l.wrap_code, l.contact_status
            FROM lead l {'WHERE ' + ' AND '.join(where) if where else ''}
            ORDER BY l.id LIMIT ${len(args)}""", *args)
    return [dict(r) for r in rows]


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


async def wrap_codes(conn, campaign_id: int) -> list[dict]:
    rows = await conn.fetch("""SELECT code, label, completes, is_callback FROM wrap_code
                               WHERE campaign_id = $1 ORDER BY code""", campaign_id)
    return [dict(r) for r in rows]


# -- validation -------------------------------------------------------------------------------

async def held_leads(conn, campaign_id: int | None, limit: int) -> list[dict]:
    """Leads held for call-centre validation: unconfirmed and still valid."""
    rows = await conn.fetch(
        """SELECT l.id, l.campaign_id, c.name AS campaign, l.phone, l.first_name, l.last_name,
                  l.contact_status, l.wrap_code, l.status, l.last_contacted_at,
                  (SELECT string_agg(body, '; ' ORDER BY created_at) FROM lead_note n
                    WHERE n.lead_id = l.id AND n.kind = 'validation') AS notes
           FROM lead l JOIN campaign c ON c.id = l.campaign_id
           WHERE l.contact_status = 'unconfirmed' AND l.valid
             AND ($1::bigint IS NULL OR l.campaign_id = $1)
           ORDER BY l.last_contacted_at NULLS LAST, l.id LIMIT $2""", campaign_id, limit)
    return [dict(r) for r in rows]


async def set_contact_status(conn, lead_id: int, status: str, note: str | None, author: str) -> dict:
    """Stand-in for the lifecycle branch's validation unit: rejected leads become invalid."""
    if status not in CONTACT_STATUSES:
        raise InvalidChange("contact_status", f"{status!r} is not one of {', '.join(CONTACT_STATUSES)}")
    row = await conn.fetchrow("SELECT contact_status, valid FROM lead WHERE id = $1 FOR UPDATE", lead_id)
    if row is None or row["contact_status"] is None:
        raise NotFound(f"no lead {lead_id} held for validation")
    await conn.execute(
        """UPDATE lead SET contact_status = $2, valid = CASE WHEN $2 = 'rejected' THEN false ELSE valid END,
               updated_at = now() WHERE id = $1""", lead_id, status)
    body = f"contact status {row['contact_status']} -> {status}" + (f": {note}" if note else "")
    await conn.execute("INSERT INTO lead_note (lead_id, author, kind, body) VALUES ($1, $2, 'validation', $3)",
                       lead_id, author, body)
    return await lead_detail(conn, lead_id)


# -- wrap (stand-in for the engine's wrap until it lands) --------------------------------------

async def record_wrap(conn, operator_id: int, attempt_id: int, code: str, notes: str | None,
                      callback_at: dt.datetime | None, callback_owned: bool) -> dict:
    attempt = await conn.fetchrow(
        "SELECT id, lead_id, campaign_id, operator_id FROM attempt WHERE id = $1 FOR UPDATE", attempt_id)
    if attempt is None or attempt["operator_id"] != operator_id:
        raise NotFound(f"no call {attempt_id} of this operator")
    wc = await conn.fetchrow("SELECT * FROM wrap_code WHERE campaign_id = $1 AND code = $2",
                             attempt["campaign_id"], code)
    if wc is None:
        raise InvalidChange("code", f"{code!r} is not a wrap code of this campaign")
    if wc["is_callback"] and callback_at is None:
        raise InvalidChange("callback_at", f"wrap code {code} needs a callback time")
    if callback_at is not None and callback_at <= await conn.fetchval("SELECT now()"):
        raise InvalidChange("callback_at", f"{callback_at.isoformat()} is in the past")
    validation = await conn.fetchval("SELECT validation FROM campaign WHERE id = $1", attempt["campaign_id"])
    await conn.execute("UPDATE attempt SET wrap_code = $2, notes = $3 WHERE id = $1", attempt_id, code, notes)
    await conn.execute(
        """UPDATE lead SET wrap_code = $2, status = coalesce($3, status), completed = $4,
               contact_status = CASE WHEN $5 THEN 'unconfirmed' ELSE contact_status END,
               last_contacted_at = now(), updated_at = now() WHERE id = $1""",
        attempt["lead_id"], code, wc["next_status"], wc["completes"], wc["needs_validation"] and validation)
    operator = await conn.fetchval("SELECT name FROM operator WHERE id = $1", operator_id)
    if notes:
        await conn.execute("INSERT INTO lead_note (lead_id, author, kind, body) VALUES ($1, $2, 'wrap', $3)",
                           attempt["lead_id"], operator, notes)
    callback_id = None
    if callback_at is not None:
        callback_id = await conn.fetchval(
            """INSERT INTO callback (lead_id, campaign_id, due_at, operator_id, note)
               VALUES ($1, $2, $3, $4, $5) RETURNING id""",
            attempt["lead_id"], attempt["campaign_id"], callback_at,
            operator_id if callback_owned else None, notes)
    return {"attempt_id": attempt_id, "lead_id": attempt["lead_id"], "wrap_code": code,
            "callback_id": callback_id}


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
                   AND a.started_at >= date_trunc('day', now())) AS dials
            FROM campaign c ORDER BY c.id""")]
    per_list = await conn.fetch(
        """SELECT ll.campaign_id, ll.id, ll.name, count(a.id) AS dials
           FROM lead_list ll LEFT JOIN attempt a ON a.list_id = ll.id AND a.started_at >= date_trunc('day', now())
           GROUP BY ll.campaign_id, ll.id, ll.name ORDER BY ll.id""")
    for c in campaigns:
        c["abandon_rate"] = round(c["abandoned"] / c["live_answers"], 4) if c["live_answers"] else 0.0
        c["lists"] = [{"id": r["id"], "name": r["name"], "dials": r["dials"]}
                      for r in per_list if r["campaign_id"] == c["id"]]
    names = {r["id"]: r["name"] for r in await conn.fetch("SELECT id, name FROM operator")}
    return {"campaigns": campaigns, "operator_names": names}
