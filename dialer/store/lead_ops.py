"""Units of work for what a supervisor does to one lead: show, edit, wrap, copy, delete, search.

Each is one transaction: a bad field, code or time raises before anything is
written, so nothing is ever half-applied.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Sequence

from dialer.lifecycle.callbacks import localize
from dialer.lifecycle.edits import CUSTOM_PREFIX, check_field, clean_value, current_value, reprocess, status_effects
from dialer.lifecycle.outcomes import LeadState
from dialer.lifecycle.rules import RuleError
from dialer.lifecycle.wraps import after_wrap

from .attempts import default_window
from .campaigns import NotFound
from .rules import load_rules

LEAD_COLUMNS = """l.id, l.campaign_id, c.name AS campaign, l.list_id, ll.name AS list, l.customer_key, l.phone,
    l.alt_phones, l.phone_type, l.first_name, l.last_name, l.email, l.address, l.city, l.region, l.postal_code,
    l.country, l.timezone, l.timezones, l.fields, l.source, l.status, l.call_mode, l.priority, l.attempts,
    l.next_attempt_at, l.last_attempt_at, l.last_contacted_at, l.last_outcome, l.wrap_code, l.completed,
    l.contact_status, l.valid, l.lease_owner, l.lease_expires_at, l.created_at, l.updated_at"""
# The names a row of LEAD_COLUMNS has (for --columns).
COLUMN_NAMES = tuple(c.strip().split(" AS ")[-1].split(".")[-1] for c in LEAD_COLUMNS.split(","))
LEAD_FROM = "lead l JOIN campaign c ON c.id = l.campaign_id JOIN lead_list ll ON ll.id = l.list_id"


def _lead_dict(row) -> dict:
    d = dict(row)
    if isinstance(d.get("fields"), str):
        d["fields"] = json.loads(d["fields"])
    return d


async def get_lead(conn, lead_id: int, *, lock: bool = False) -> dict:
    row = await conn.fetchrow(
        f"SELECT {LEAD_COLUMNS} FROM {LEAD_FROM} WHERE l.id = $1" + (" FOR UPDATE OF l" if lock else ""),
        lead_id)
    if row is None:
        raise NotFound(f"no lead with id {lead_id}")
    return _lead_dict(row)


async def show_lead(conn, lead_id: int) -> dict:
    """All fields, notes (with author and time), callbacks and the call history."""
    lead = await get_lead(conn, lead_id)
    notes = [dict(r) for r in await conn.fetch(
        "SELECT id, author, kind, body, created_at FROM lead_note WHERE lead_id = $1 ORDER BY created_at, id",
        lead_id)]
    lead["notes"] = notes
    # Exports and the details page show all notes in one cell, semicolon-separated.
    lead["notes_joined"] = "; ".join(n["body"] for n in notes)
    lead["callbacks"] = [dict(r) for r in await conn.fetch(
        """SELECT cb.id, cb.due_at, cb.operator_id, o.name AS operator, cb.note, cb.created_at, cb.done_at
           FROM callback cb LEFT JOIN operator o ON o.id = cb.operator_id
           WHERE cb.lead_id = $1 ORDER BY cb.due_at""", lead_id)]
    lead["history"] = [dict(r) for r in await conn.fetch(
        """SELECT a.id, a.called_number, a.caller_number, c.name AS campaign, o.name AS operator, a.wrap_code,
                  a.started_at, a.answered_at, a.ended_at, a.sip_status, a.outcome, a.call_mode, a.notes
           FROM attempt a JOIN campaign c ON c.id = a.campaign_id LEFT JOIN operator o ON o.id = a.operator_id
           WHERE a.lead_id = $1 ORDER BY a.started_at, a.id""", lead_id)]
    return lead


async def add_note(conn, lead_id: int, author: str, body: str, now: dt.datetime, kind: str = "note") -> None:
    await conn.execute(
        "INSERT INTO lead_note (lead_id, author, kind, body, created_at) VALUES ($1, $2, $3, $4, $5)",
        lead_id, author, kind, body, now)


def describe_changes(changes: dict[str, tuple[Any, Any]]) -> str:
    return "; ".join(f"{name}: {_show(old)} -> {_show(new)}" for name, (old, new) in changes.items())


def _show(value: Any) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def plan_edit(lead: dict, country: str, assignments: dict[str, str], where: str = "",
              campaign_timezone: str = "America/New_York", statuses: dict | None = None) -> dict[str, tuple]:
    """{field: (old, new)} for the fields that really change, derived ones (phone type,
    timezone; call mode and completed for a status) included; RuleError on a bad field or value."""
    changes = {}
    for name, raw in assignments.items():
        label = f"{where}{name}" if where else name
        check_field(name, label if not where else where.rstrip(": "))
        new = clean_value(name, raw, country, label)
        old = current_value(lead, name)
        if new != old and not (new is None and old in ("", None)):
            changes[name] = (old, new)
    try:
        changes.update(reprocess(lead, changes, country, campaign_timezone))
    except ValueError as exc:   # the import's RowError: the lead's stored phone no longer parses
        raise RuleError(f"{where}{exc}") from None
    changes.update(status_effects(changes, lead, statuses or {}, f"{where}status" if where else "status"))
    return changes


async def write_changes(conn, lead: dict, changes: dict[str, tuple], now: dt.datetime) -> list[str]:
    """Store planned changes and their effects (DNC as on import)."""
    columns = {k: new for k, (_, new) in changes.items() if not k.startswith(CUSTOM_PREFIX)}
    custom = {k[len(CUSTOM_PREFIX):]: new for k, (_, new) in changes.items() if k.startswith(CUSTOM_PREFIX)}
    sets, args = [], []
    for k, v in columns.items():
        args.append(v)
        sets.append(f"{k} = ${len(args) + 1}")
    if custom:
        args.append(json.dumps(custom))
        sets.append(f"fields = fields || ${len(args) + 1}::jsonb")
    args.append(now)
    sets.append(f"updated_at = ${len(args) + 1}")
    await conn.execute(f"UPDATE lead SET {', '.join(sets)} WHERE id = $1", lead["id"], *args)
    effects = []
    if "phone" in columns:
        # As on import (its default DNC scope, "account": any list of the account),
        # with the import's "mark" action: an existing lead cannot be skipped, so
        # it is finished as DNC. Another lead with the number is noted.
        from .dnc import dnc_matches

        on_dnc = await dnc_matches(conn, [columns["phone"]], lead["campaign_id"], "account")
        if on_dnc:
            await conn.execute(
                "UPDATE lead SET status = 'DNC', completed = true, next_attempt_at = NULL WHERE id = $1",
                lead["id"])
            effects.append("number is on the do-not-call list (" + ", ".join(on_dnc[columns["phone"]])
                           + "): status DNC")
        dups = [r["id"] for r in await conn.fetch(
            "SELECT id FROM lead WHERE campaign_id = $1 AND phone = $2 AND id <> $3 ORDER BY id LIMIT 5",
            lead["campaign_id"], columns["phone"], lead["id"])]
        if dups:
            effects.append("duplicate: same number as lead(s) " + ", ".join(map(str, dups)))
    return effects


async def edit_lead(conn, lead_id: int, assignments: dict[str, str], author: str, now: dt.datetime) -> dict:
    """Change fields (re-validated like an import row); a note lists each old -> new."""
    lead = await get_lead(conn, lead_id, lock=True)
    campaign = await conn.fetchrow("SELECT country, timezone FROM campaign WHERE id = $1", lead["campaign_id"])
    statuses = (await load_rules(conn, [lead["campaign_id"]]))[lead["campaign_id"]].statuses
    changes = plan_edit(lead, campaign["country"], assignments, campaign_timezone=campaign["timezone"],
                        statuses=statuses)
    effects = []
    if changes:
        effects = await write_changes(conn, lead, changes, now)
        body = "edited: " + describe_changes(changes) + "".join(f"; {e}" for e in effects)
        await add_note(conn, lead_id, author, body, now, kind="edit")
    return {"lead_id": lead_id, "changes": {k: {"old": o, "new": n} for k, (o, n) in changes.items()},
            "effects": effects}


async def apply_wrap(conn, lead_id: int, code: str, *, now: dt.datetime, author: str,
                     operator_id: int | None = None, note: str | None = None,
                     callback_at: dt.datetime | None = None, callback_owner: int | None = None,
                     complete: bool = False, attempt_id: int | None = None,
                     window_for=default_window) -> dict:
    """An operator's wrap code + notes + callback, in the caller's one transaction.

    `callback_at` without a timezone is the lead's local time. `callback_owner`
    (an operator id) makes the callback that operator's own; None makes it
    campaign-wide. The wrap code also lands on the attempt (`attempt_id`, or
    the lead's latest). The lease is left alone: the engine released it when
    the call ended, and a supervisor's wrap must not free a lead a node holds.
    """
    lead = await get_lead(conn, lead_id, lock=True)
    rules = (await load_rules(conn, [lead["campaign_id"]]))[lead["campaign_id"]]
    for who, label in ((operator_id, "operator"), (callback_owner, "callback owner")):
        if who is not None and not await conn.fetchval("SELECT 1 FROM operator WHERE id = $1", who):
            raise NotFound(f"{label}: no operator with id {who}")
    result = decide_wrap(rules, lead, code, now, window_for(rules, lead), complete=complete,
                         callback_at=callback_at)
    await conn.execute(
        """UPDATE lead SET wrap_code = $2, status = $3, call_mode = $4, completed = $5, next_attempt_at = $6,
               contact_status = coalesce($7, contact_status), updated_at = $8
           WHERE id = $1""",
        lead_id, result.wrap_code, result.status, result.call_mode, result.completed, result.next_attempt_at,
        result.contact_status, now)
    if attempt_id is None:
        attempt_id = await conn.fetchval(
            "SELECT id FROM attempt WHERE lead_id = $1 ORDER BY started_at DESC, id DESC LIMIT 1", lead_id)
    elif not await conn.fetchval("SELECT 1 FROM attempt WHERE id = $1 AND lead_id = $2", attempt_id, lead_id):
        raise NotFound(f"no attempt {attempt_id} on lead {lead_id}")
    if attempt_id is not None:
        await conn.execute(
            """UPDATE attempt SET wrap_code = $2, operator_id = coalesce($3, operator_id),
                   notes = CASE WHEN $4::text IS NULL THEN notes
                                ELSE concat_ws('; ', notes, $4::text) END
               WHERE id = $1""", attempt_id, result.wrap_code, operator_id, note)
    if result.adds_dnc:
        # Not dnc.add_dnc: the time must be the caller's (virtual under the simulator), not the server's.
        await conn.execute(
            "INSERT INTO dnc (phone, campaign_id, source, added_at) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (phone, coalesce(campaign_id, 0)) DO NOTHING",
            lead["phone"], lead["campaign_id"], f"wrap {result.wrap_code} lead {lead_id}", now)
    callback_id = None
    if result.callback_at is not None:
        # A new callback replaces any still open for this lead.
        await conn.execute("UPDATE callback SET done_at = $2 WHERE lead_id = $1 AND done_at IS NULL",
                           lead_id, now)
        callback_id = await conn.fetchval(
            "INSERT INTO callback (lead_id, campaign_id, due_at, operator_id, note, created_at) "
            "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            lead_id, lead["campaign_id"], result.callback_at, callback_owner, note, now)
    await add_note(conn, lead_id, author, wrap_note(result.wrap_code, note), now, kind="wrap")
    return wrap_summary(lead_id, result, callback_id, attempt_id)


def decide_wrap(rules, lead: dict, code: str, now: dt.datetime, window, *, complete: bool = False,
                callback_at: dt.datetime | None = None):
    """The lead's next state after a wrap (pure): `callback_at` without a timezone is the lead's
    local time. Shared by `apply_wrap` and its batch form (`wrap_batch.apply_wraps`)."""
    if callback_at is not None and callback_at.tzinfo is None:
        callback_at = localize(callback_at, lead["timezone"])
    state = LeadState(lead["id"], lead["status"], lead["call_mode"], lead["attempts"], lead["timezone"],
                      lead["timezones"])
    return after_wrap(rules, state, code, now, window, complete=complete, callback_at=callback_at)


def wrap_note(wrap_code: str, note: str | None) -> str:
    """The body of the lead note a wrap leaves."""
    return f"wrap {wrap_code}" + (f": {note}" if note else "")


def wrap_summary(lead_id: int, result, callback_id: int | None, attempt_id: int | None) -> dict:
    """What a wrap returns, one-by-one or batched."""
    return {"lead_id": lead_id, "wrap_code": result.wrap_code, "status": result.status,
            "call_mode": result.call_mode, "completed": result.completed,
            "next_attempt_at": result.next_attempt_at, "contact_status": result.contact_status,
            "added_dnc": result.adds_dnc, "callback_id": callback_id, "callback_at": result.callback_at,
            "attempt_id": attempt_id}


async def copy_lead(conn, lead_id: int, to_list: str | int, now: dt.datetime,
                    customer_key: str | None = None) -> dict:
    """Copy a lead into a list (of any campaign); with a customer key that already
    exists in that list, update that lead instead of adding one."""
    src = await get_lead(conn, lead_id)
    target = await _find_list(conn, to_list, src["campaign_id"])
    key = customer_key if customer_key is not None else src["customer_key"]
    data_cols = ["phone", "alt_phones", "phone_type", "first_name", "last_name", "email", "address", "city",
                 "region", "postal_code", "country", "timezone", "timezones"]
    values = [src[c] for c in data_cols] + [json.dumps(src["fields"] or {})]
    existing = None
    if customer_key is not None:
        existing = await conn.fetchval(
            "SELECT id FROM lead WHERE list_id = $1 AND customer_key = $2 ORDER BY id LIMIT 1 FOR UPDATE",
            target["id"], customer_key)
    if existing is not None:
        sets = ", ".join(f"{c} = ${i + 2}" for i, c in enumerate(data_cols))
        await conn.execute(
            f"UPDATE lead SET {sets}, fields = fields || ${len(data_cols) + 2}::jsonb, "
            f"updated_at = ${len(data_cols) + 3} WHERE id = $1", existing, *values, now)
        await add_note(conn, existing, "copy", f"updated from lead {lead_id}", now, kind="copy")
        return {"lead_id": existing, "updated": True, "list_id": target["id"]}
    cols = ", ".join(data_cols)
    params = ", ".join(f"${i + 5}" for i in range(len(data_cols)))
    new_id = await conn.fetchval(
        f"""INSERT INTO lead (campaign_id, list_id, customer_key, source, {cols}, fields, created_at, updated_at)
            VALUES ($1, $2, $3, $4, {params}, ${len(data_cols) + 5}::jsonb, ${len(data_cols) + 6},
                    ${len(data_cols) + 6})
            RETURNING id""",
        target["campaign_id"], target["id"], key, "copy", *values, now)
    await add_note(conn, new_id, "copy", f"copied from lead {lead_id}", now, kind="copy")
    return {"lead_id": new_id, "updated": False, "list_id": target["id"]}


async def _find_list(conn, ref: str | int, campaign_id: int) -> dict:
    row = None
    if isinstance(ref, int) or str(ref).isdigit():
        row = await conn.fetchrow("SELECT id, campaign_id, name FROM lead_list WHERE id = $1", int(ref))
    if row is None:
        row = await conn.fetchrow(
            "SELECT id, campaign_id, name FROM lead_list WHERE name = $1 ORDER BY (campaign_id = $2) DESC, id "
            "LIMIT 1", str(ref), campaign_id)
    if row is None:
        raise NotFound(f"no list {ref!r}")
    return dict(row)


async def delete_lead(conn, lead_id: int) -> dict:
    """Delete a lead permanently; its attempts stay in the history with no lead."""
    row = await conn.fetchrow("DELETE FROM lead WHERE id = $1 RETURNING id, phone, list_id", lead_id)
    if row is None:
        raise NotFound(f"no lead with id {lead_id}")
    return dict(row)


SEARCH_KEYS = ("id", "campaign", "list", "contacted_from", "contacted_to", "attempt", "wrap_code", "operator",
               "completed", "status", "phone", "fields", "limit")


async def search_leads(conn, q: dict[str, Any]) -> list[dict]:
    """Quick search by id or id prefix; advanced by the other keys (all ANDed).

    q keys: id (exact id or prefix of digits), campaign, list (name or id),
    contacted_from/contacted_to (last_contacted_at range), attempt (an
    attempt id), wrap_code, operator (name or id: any attempt by them),
    completed (bool), status, phone, fields ({name: value}), limit.
    """
    where, args = [], []

    def arg(value):
        args.append(value)
        return f"${len(args)}"

    if q.get("id") is not None:
        text = str(q["id"]).strip()
        if not text.isdigit():
            raise RuleError(f"id: {text!r} is not a lead id or id prefix")
        where.append(f"(l.id = {arg(int(text))}::bigint OR l.id::text LIKE {arg(text + '%')})")
    if q.get("campaign") is not None:
        c = str(q["campaign"])
        where.append(f"(c.name = {arg(c)}" + (f" OR c.id = {arg(int(c))}::bigint)" if c.isdigit() else ")"))
    if q.get("list") is not None:
        lst = str(q["list"])
        where.append(f"(ll.name = {arg(lst)}" + (f" OR ll.id = {arg(int(lst))}::bigint)" if lst.isdigit() else ")"))
    if q.get("contacted_from") is not None:
        where.append(f"l.last_contacted_at >= {arg(q['contacted_from'])}")
    if q.get("contacted_to") is not None:
        where.append(f"l.last_contacted_at < {arg(q['contacted_to'])}")
    if q.get("attempt") is not None:
        where.append(f"EXISTS (SELECT 1 FROM attempt a WHERE a.lead_id = l.id AND a.id = {arg(int(q['attempt']))})")
    if q.get("wrap_code") is not None:
        where.append(f"l.wrap_code = {arg(q['wrap_code'])}")
    if q.get("operator") is not None:
        op = str(q["operator"])
        cond = f"o.name = {arg(op)}" + (f" OR o.id = {arg(int(op))}::bigint" if op.isdigit() else "")
        where.append(f"EXISTS (SELECT 1 FROM attempt a JOIN operator o ON o.id = a.operator_id "
                     f"WHERE a.lead_id = l.id AND ({cond}))")
    if q.get("completed") is not None:
        where.append(f"l.completed = {arg(bool(q['completed']))}")
    if q.get("status") is not None:
        where.append(f"l.status = {arg(q['status'])}")
    if q.get("phone") is not None:
        where.append(f"l.phone = {arg(q['phone'])}")
    for name, value in (q.get("fields") or {}).items():
        where.append(f"l.fields ->> {arg(name)} = {arg(str(value))}")
    limit = int(q.get("limit") or 100)
    sql = f"SELECT {LEAD_COLUMNS} FROM {LEAD_FROM}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY l.id LIMIT {arg(limit)}"
    return [_lead_dict(r) for r in await conn.fetch(sql, *args)]


async def notes_joined(conn, lead_ids: Sequence[int]) -> dict[int, str]:
    """Each lead's notes in time order, joined by '; ' (how exports and reports show them)."""
    rows = await conn.fetch(
        """SELECT lead_id, string_agg(body, '; ' ORDER BY created_at, id) AS notes FROM lead_note
           WHERE lead_id = ANY($1::bigint[]) GROUP BY lead_id""", list(lead_ids))
    return {r["lead_id"]: r["notes"] for r in rows}
