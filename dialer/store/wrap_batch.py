"""Many wraps in a handful of statements: the batch form of `lead_ops.apply_wrap`.

`apply_wrap` costs about seven round trips per wrap (lock the lead, rules, operator check,
lead update, attempt check, attempt update, note; two more for a callback). When many wraps
are stored together (the journal's flush in `dialer loadtest`: `journal.later(...,
batch=apply_wraps)`) the same work for all of them takes about eight statements in all. Each
wrap's decision is the same pure function (`after_wrap`) on the same locked lead row, so the
result is what applying them one by one would give.

Anything `apply_wrap` would refuse (unknown lead, operator, attempt or code, a callback in the
past) raises here before anything is written, and so does what this form does not cover (a
lead wrapped twice in the batch, a wrap without its attempt id): the caller's savepoint rolls
back and the journal applies the wraps one by one, where only the bad one fails.
"""

from __future__ import annotations

from typing import Any, Sequence

from dialer.lifecycle.callbacks import localize
from dialer.lifecycle.outcomes import LeadState
from dialer.lifecycle.wraps import after_wrap

from .attempts import default_window
from .campaigns import NotFound
from .lead_ops import LEAD_COLUMNS, LEAD_FROM, _lead_dict
from .rules import load_rules


async def apply_wraps(conn, wraps: Sequence[tuple[Any, ...]]) -> list[dict]:
    """`apply_wrap_kw(conn, kw)` for each `(kw,)` in `wraps` (the argument tuples of the units
    the journal queued), in order, in the caller's transaction; their results, in order."""
    items = [dict(args[0]) for args in wraps]
    if not items:
        return []
    lead_ids = [w["lead_id"] for w in items]
    if len(set(lead_ids)) != len(lead_ids):
        raise ValueError("apply_wraps: a lead wrapped twice in one batch (apply them one by one)")
    if any(w.get("attempt_id") is None for w in items):
        raise ValueError("apply_wraps: every wrap needs its attempt id (apply them one by one)")
    if any(w.get("window_for", default_window) is not default_window for w in items):
        raise ValueError("apply_wraps: the default calling window only")

    # Lock the leads in id order, as one statement (apply_wrap locks one at a time).
    leads = {r["id"]: _lead_dict(r) for r in await conn.fetch(
        f"SELECT {LEAD_COLUMNS} FROM {LEAD_FROM} WHERE l.id = ANY($1::bigint[]) ORDER BY l.id FOR UPDATE OF l",
        sorted(lead_ids))}
    for lead_id in lead_ids:
        if lead_id not in leads:
            raise NotFound(f"no lead with id {lead_id}")
    rules = await load_rules(conn, sorted({lead["campaign_id"] for lead in leads.values()}))
    people = {who for w in items for who in (w.get("operator_id"), w.get("callback_owner")) if who is not None}
    known = {r["id"] for r in await conn.fetch("SELECT id FROM operator WHERE id = ANY($1::bigint[])",
                                               sorted(people))} if people else set()
    attempts = {r["id"]: r["lead_id"] for r in await conn.fetch(
        "SELECT id, lead_id FROM attempt WHERE id = ANY($1::bigint[])", [w["attempt_id"] for w in items])}

    decided = []
    for w in items:
        lead = leads[w["lead_id"]]
        callback_at = w.get("callback_at")
        if callback_at is not None and callback_at.tzinfo is None:
            callback_at = localize(callback_at, lead["timezone"])
        for who, label in ((w.get("operator_id"), "operator"), (w.get("callback_owner"), "callback owner")):
            if who is not None and who not in known:
                raise NotFound(f"{label}: no operator with id {who}")
        r = rules[lead["campaign_id"]]
        state = LeadState(lead["id"], lead["status"], lead["call_mode"], lead["attempts"], lead["timezone"],
                          lead["timezones"])
        result = after_wrap(r, state, w["code"], w["now"], default_window(r, lead),
                            complete=w.get("complete", False), callback_at=callback_at)
        if attempts.get(w["attempt_id"]) != lead["id"]:
            raise NotFound(f"no attempt {w['attempt_id']} on lead {lead['id']}")
        decided.append((w, lead, result))

    await conn.execute(
        """UPDATE lead SET wrap_code = u.wrap_code, status = u.status, call_mode = u.call_mode,
               completed = u.completed, next_attempt_at = u.next_at,
               contact_status = coalesce(u.contact_status, lead.contact_status), updated_at = u.now
           FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bool[], $6::timestamptz[],
                       $7::text[], $8::timestamptz[])
                AS u(id, wrap_code, status, call_mode, completed, next_at, contact_status, now)
           WHERE lead.id = u.id""",
        *_columns([(lead["id"], res.wrap_code, res.status, res.call_mode, res.completed, res.next_attempt_at,
                    res.contact_status, w["now"]) for w, lead, res in decided]))
    await conn.execute(
        """UPDATE attempt SET wrap_code = u.wrap_code, operator_id = coalesce(u.operator_id, attempt.operator_id),
               notes = CASE WHEN u.note IS NULL THEN attempt.notes ELSE concat_ws('; ', attempt.notes, u.note) END
           FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[]) AS u(id, wrap_code, operator_id, note)
           WHERE attempt.id = u.id""",
        *_columns([(w["attempt_id"], res.wrap_code, w.get("operator_id"), w.get("note"))
                   for w, lead, res in decided]))
    dnc = [(lead["phone"], lead["campaign_id"], f"wrap {res.wrap_code} lead {lead['id']}", w["now"])
           for w, lead, res in decided if res.adds_dnc]
    if dnc:
        # The caller's time (virtual under the simulator), not the server's: as apply_wrap.
        await conn.execute(
            "INSERT INTO dnc (phone, campaign_id, source, added_at) "
            "SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::timestamptz[]) "
            "ON CONFLICT (phone, coalesce(campaign_id, 0)) DO NOTHING", *_columns(dnc))
    callback_ids: dict[int, int] = {}
    calls_back = [(lead["id"], lead["campaign_id"], res.callback_at, w.get("callback_owner"), w.get("note"),
                   w["now"]) for w, lead, res in decided if res.callback_at is not None]
    if calls_back:
        # A new callback replaces any still open for its lead (the UPDATE does not see the rows
        # the INSERT adds: one statement, one snapshot). Ids drawn up front, as start_attempts.
        rows = await conn.fetch(
            """WITH input AS (
                   SELECT nextval(pg_get_serial_sequence('callback', 'id')) AS id, u.*
                   FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::bigint[], $5::text[],
                               $6::timestamptz[]) AS u(lead_id, campaign_id, due_at, operator_id, note, now)),
               closed AS (
                   UPDATE callback SET done_at = input.now FROM input
                   WHERE callback.lead_id = input.lead_id AND callback.done_at IS NULL),
               inserted AS (
                   INSERT INTO callback (id, lead_id, campaign_id, due_at, operator_id, note, created_at)
                   SELECT id, lead_id, campaign_id, due_at, operator_id, note, now FROM input RETURNING id)
               SELECT input.id, input.lead_id FROM input JOIN inserted USING (id)""",
            *_columns(calls_back))
        callback_ids = {r["lead_id"]: r["id"] for r in rows}
    await conn.execute(
        "INSERT INTO lead_note (lead_id, author, kind, body, created_at) "
        "SELECT u.lead_id, u.author, 'wrap', u.body, u.now "
        "FROM unnest($1::bigint[], $2::text[], $3::text[], $4::timestamptz[]) WITH ORDINALITY "
        "AS u(lead_id, author, body, now, ord) ORDER BY u.ord",
        *_columns([(lead["id"], w["author"], f"wrap {res.wrap_code}" + (f": {w['note']}" if w.get("note") else ""),
                    w["now"]) for w, lead, res in decided]))
    return [{"lead_id": lead["id"], "wrap_code": res.wrap_code, "status": res.status, "call_mode": res.call_mode,
             "completed": res.completed, "next_attempt_at": res.next_attempt_at,
             "contact_status": res.contact_status, "added_dnc": res.adds_dnc,
             "callback_id": callback_ids.get(lead["id"]), "callback_at": res.callback_at,
             "attempt_id": w["attempt_id"]} for w, lead, res in decided]


async def apply_wrap_kw(conn, kw: dict) -> dict:
    """`apply_wrap` with its arguments in one dict: the one-by-one form `apply_wraps` batches
    (`journal.later(apply_wrap_kw, kw, batch=apply_wraps)`)."""
    from .lead_ops import apply_wrap

    kw = dict(kw)
    return await apply_wrap(conn, kw.pop("lead_id"), kw.pop("code"), **kw)


def _columns(rows: list[tuple]) -> list[list]:
    return [list(c) for c in zip(*rows)]
