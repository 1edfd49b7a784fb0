"""Many wraps in a handful of statements: the batch form of `lead_ops.apply_wrap`.

`apply_wrap` costs about seven round trips per wrap (lock the lead, rules, operator check,
lead update, attempt check, attempt update, note; two more for a callback). When many wraps
are stored together (the journal's flush in `dialer loadtest`: `journal.later(...,
batch=apply_wraps)`) the same work for all of them takes four: lock the leads, the rules, the
operators and attempts named, and every write in one statement. Each
wrap's decision is the same pure function (`after_wrap`) on the same locked lead row, so the
result is what applying them one by one would give.

Anything `apply_wrap` would refuse (unknown lead, operator, attempt or code, a callback in the
past) raises here before anything is written, and so does what this form does not cover (a
lead wrapped twice in the batch, a wrap without its attempt id): the caller's savepoint rolls
back and the journal applies the wraps one by one, where only the bad one fails.
"""

from __future__ import annotations

from typing import Any, Sequence

from .array_text import array_literal, column_arrays
from .attempts import default_window
from .campaigns import NotFound
from .lead_ops import LEAD_COLUMNS, LEAD_FROM, _lead_dict, decide_wrap, wrap_note, wrap_summary
from .rules import TRANSACTION_ID, load_rules_once


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

    people = {who for w in items for who in (w.get("operator_id"), w.get("callback_owner")) if who is not None}
    leads, known, attempts, transaction_id = await _lock_leads_and_check(
        conn, sorted(lead_ids), sorted(people), [w["attempt_id"] for w in items])
    for lead_id in lead_ids:
        if lead_id not in leads:
            raise NotFound(f"no lead with id {lead_id}")
    # The rules the endings flushed before these wraps, in this transaction, were decided with.
    rules = await load_rules_once(conn, transaction_id, sorted({lead["campaign_id"] for lead in leads.values()}))

    decided = []
    for w in items:
        lead = leads[w["lead_id"]]
        for who, label in ((w.get("operator_id"), "operator"), (w.get("callback_owner"), "callback owner")):
            if who is not None and who not in known:
                raise NotFound(f"{label}: no operator with id {who}")
        r = rules[lead["campaign_id"]]
        result = decide_wrap(r, lead, w["code"], w["now"], default_window(r, lead),
                             complete=w.get("complete", False), callback_at=w.get("callback_at"))
        if attempts.get(w["attempt_id"]) != lead["id"]:
            raise NotFound(f"no attempt {w['attempt_id']} on lead {lead['id']}")
        decided.append((w, lead, result))

    leads_u = [(lead["id"], res.wrap_code, res.status, res.call_mode, res.completed, res.next_attempt_at,
                res.contact_status, w["now"]) for w, lead, res in decided]
    attempts_u = [(w["attempt_id"], res.wrap_code, w.get("operator_id"), w.get("note")) for w, lead, res in decided]
    # The caller's time (virtual under the simulator), not the server's: as apply_wrap.
    dnc = [(lead["phone"], lead["campaign_id"], f"wrap {res.wrap_code} lead {lead['id']}", w["now"])
           for w, lead, res in decided if res.adds_dnc]
    calls_back = [(lead["id"], lead["campaign_id"], res.callback_at, w.get("callback_owner"), w.get("note"),
                   w["now"]) for w, lead, res in decided if res.callback_at is not None]
    notes = [(lead["id"], w["author"], wrap_note(res.wrap_code, w.get("note")), w["now"])
             for w, lead, res in decided]
    # Every write in ONE statement (one round trip). Its parts see one snapshot: the callback
    # UPDATE closes the lead's open callbacks, not the ones the INSERT beside it adds (a new
    # callback replaces any still open, as in apply_wrap). Callback ids are drawn up front
    # (as start_attempts does) so each comes back with its lead.
    rows = await conn.fetch(
        """WITH lead_u AS (
               UPDATE lead SET wrap_code = u.wrap_code, status = u.status, call_mode = u.call_mode,
                   completed = u.completed, next_attempt_at = u.next_at,
                   contact_status = coalesce(u.contact_status, lead.contact_status), updated_at = u.now
               FROM unnest($1::text::bigint[], $2::text::text[], $3::text::text[], $4::text::text[], $5::text::bool[],
                           $6::timestamptz[], $7::text::text[], $8::timestamptz[])
                    AS u(id, wrap_code, status, call_mode, completed, next_at, contact_status, now)
               WHERE lead.id = u.id),
           attempt_u AS (
               UPDATE attempt SET wrap_code = u.wrap_code, operator_id = coalesce(u.operator_id, attempt.operator_id),
                   notes = CASE WHEN u.note IS NULL THEN attempt.notes
                                ELSE concat_ws('; ', attempt.notes, u.note) END
               FROM unnest($9::text::bigint[], $10::text::text[], $11::text::bigint[], $12::text::text[])
                    AS u(id, wrap_code, operator_id, note)
               WHERE attempt.id = u.id),
           dnc_i AS (
               INSERT INTO dnc (phone, campaign_id, source, added_at)
               SELECT * FROM unnest($13::text::text[], $14::text::bigint[], $15::text::text[], $16::timestamptz[])
               ON CONFLICT (phone, coalesce(campaign_id, 0)) DO NOTHING),
           note_i AS (
               INSERT INTO lead_note (lead_id, author, kind, body, created_at)
               SELECT u.lead_id, u.author, 'wrap', u.body, u.now
               FROM unnest($17::text::bigint[], $18::text::text[], $19::text::text[], $20::timestamptz[]) WITH ORDINALITY
                    AS u(lead_id, author, body, now, ord) ORDER BY u.ord),
           cb AS (
               SELECT nextval(pg_get_serial_sequence('callback', 'id')) AS id, u.*
               FROM unnest($21::text::bigint[], $22::text::bigint[], $23::timestamptz[], $24::text::bigint[],
                           $25::text::text[], $26::timestamptz[]) AS u(lead_id, campaign_id, due_at, operator_id, note, now)),
           cb_closed AS (
               UPDATE callback SET done_at = cb.now FROM cb
               WHERE callback.lead_id = cb.lead_id AND callback.done_at IS NULL),
           cb_i AS (
               INSERT INTO callback (id, lead_id, campaign_id, due_at, operator_id, note, created_at)
               SELECT id, lead_id, campaign_id, due_at, operator_id, note, now FROM cb RETURNING id)
           SELECT cb.id, cb.lead_id FROM cb JOIN cb_i USING (id)""",
        *column_arrays(leads_u, _LEAD_U), *column_arrays(attempts_u, _ATTEMPT_U), *column_arrays(dnc, _DNC_I),
        *column_arrays(notes, _NOTE_I), *column_arrays(calls_back, _CB))
    callback_ids = {r["lead_id"]: r["id"] for r in rows}
    return [wrap_summary(lead["id"], res, callback_ids.get(lead["id"]), w["attempt_id"])
            for w, lead, res in decided]


# The leads locked in id order (apply_wrap locks one at a time), and the operators and attempts
# the wraps name, in ONE statement (was two round trips): the two look-ups are uncorrelated
# subqueries, run once, their answers on every lead row.
_LOCK_LEADS_AND_CHECK = f"""
SELECT {LEAD_COLUMNS},
       ARRAY(SELECT id FROM operator WHERE id = ANY($2::text::bigint[])) AS known_operators,
       ARRAY(SELECT id FROM attempt WHERE id = ANY($3::text::bigint[]) ORDER BY id) AS attempt_ids,
       ARRAY(SELECT lead_id FROM attempt WHERE id = ANY($3::text::bigint[]) ORDER BY id) AS attempt_leads,
       {TRANSACTION_ID}
FROM {LEAD_FROM} WHERE l.id = ANY($1::text::bigint[]) ORDER BY l.id FOR UPDATE OF l"""
_CHECKS = ("known_operators", "attempt_ids", "attempt_leads", "transaction_id")


async def _lock_leads_and_check(conn, lead_ids: list[int], operator_ids: list[int],
                                attempt_ids: list[int]) -> tuple[dict[int, dict], set[int], dict[int, int | None], int]:
    """({lead id: lead}, the operator ids that exist, {attempt id: its lead id}, the transaction's
    id); the leads locked."""
    rows = await conn.fetch(_LOCK_LEADS_AND_CHECK, array_literal(lead_ids, "bigint"),
                            array_literal(operator_ids, "bigint"), array_literal(attempt_ids, "bigint"))
    if not rows:
        return {}, set(), {}, None
    first = rows[0]
    known, attempts = set(first["known_operators"]), dict(zip(first["attempt_ids"], first["attempt_leads"]))
    leads = {}
    for r in rows:
        lead = _lead_dict(r)
        for column in _CHECKS:
            del lead[column]
        leads[lead["id"]] = lead
    return leads, known, attempts, first["transaction_id"]


async def apply_wrap_kw(conn, kw: dict) -> dict:
    """`apply_wrap` with its arguments in one dict: the one-by-one form `apply_wraps` batches
    (`journal.later(apply_wrap_kw, kw, batch=apply_wraps)`)."""
    from .lead_ops import apply_wrap

    kw = dict(kw)
    return await apply_wrap(conn, kw.pop("lead_id"), kw.pop("code"), **kw)


# Each part's array types; the integer, text and boolean ones go as text literals (`array_text`:
# asyncpg tests every element of a list parameter), timestamps (None) as lists.
_LEAD_U = ("bigint", "text", "text", "text", "bool", None, "text", None)
_ATTEMPT_U = ("bigint", "text", "bigint", "text")
_DNC_I = ("text", "bigint", "text", None)
_NOTE_I = ("bigint", "text", "text", None)
_CB = ("bigint", "bigint", None, "bigint", "text", None)
