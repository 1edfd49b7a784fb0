"""Units of work the engine runs on every call, batched.

`start_attempts` writes the attempt rows BEFORE the INVITEs leave (a crash
leaves evidence, never a silent dial). `finish_attempts` closes attempts with
their outcomes and moves each lead to its next state (attempts + 1, status,
call mode, next attempt time inside the lead's calling window, exhausted
status at max attempts, completed flag, lease released) in the caller's one
transaction. Both take lists so the engine can flush a few hundred calls per
crossing: the statement count per batch is constant (unnest arrays), not per
call.

All times come from the caller's `dialer.clock.Clock`, never the server.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, Sequence

from dialer.lifecycle.outcomes import LeadState, NextState, after_outcome
from dialer.lifecycle.rules import OUTCOMES, CampaignRules, RuleError
from dialer.lifecycle.windows import Window, lead_window

from .array_text import array_literal, column_arrays
from .rules import TRANSACTION_ID, load_rules_once

WindowFactory = Callable[[CampaignRules, dict], Window]


@dataclass(frozen=True)
class AttemptStart:
    lead_id: int
    campaign_id: int
    called_number: str
    started_at: dt.datetime
    list_id: int | None = None
    node: str | None = None
    trunk: str | None = None
    call_id: str | None = None
    caller_number: str | None = None
    lead_timezone: str | None = None
    lead_region: str | None = None
    call_mode: str | None = None


@dataclass(frozen=True)
class AttemptEnd:
    attempt_id: int
    outcome: str
    ended_at: dt.datetime
    sip_status: int | None = None
    ringing_at: dt.datetime | None = None
    answered_at: dt.datetime | None = None
    bridged_at: dt.datetime | None = None
    operator_id: int | None = None


@dataclass(frozen=True)
class Finished:
    """What happened to one attempt's lead (None fields: the lead is gone)."""

    attempt_id: int
    lead_id: int | None
    next: NextState | None
    already_closed: bool = False


def default_window(rules: CampaignRules, lead: dict) -> Window:
    return lead_window(rules, lead)


# An attempt start's columns (AttemptStart's fields) and their SQL types, as the statements that
# store starts unnest them: here and in the launch round's statement (dialer/store/launch.py).
START_COLUMNS = ("lead_id", "campaign_id", "list_id", "node", "trunk", "call_id", "called_number",
                 "caller_number", "lead_timezone", "lead_region", "call_mode", "started_at")
_START_TYPES = ("bigint", "bigint", "bigint", "text", "text", "text", "text", "text", "text", "text", "text",
                "timestamptz")


# A launch round's starts share these columns (one campaign, node, trunk, caller number and
# instant): the launch statement binds each once instead of an array of equal values
# (dialer/store/launch.py); the other columns vary per start.
ROUND_COLUMNS = ("campaign_id", "node", "trunk", "caller_number", "started_at")
ROW_COLUMNS = tuple(c for c in START_COLUMNS if c not in ROUND_COLUMNS)


def unnest_starts(first: int) -> str:
    """`unnest($first::bigint[], ...)` over START_COLUMNS' arrays, numbered from `first`."""
    return "unnest(" + ", ".join(f"${first + i}::{t}[]" for i, t in enumerate(_START_TYPES)) + ")"


def start_arrays(starts: Sequence[AttemptStart]) -> list[list]:
    """The starts as one array per START_COLUMNS column (empty arrays for no starts)."""
    return [[getattr(s, column) for s in starts] for column in START_COLUMNS]


# Insert the `input` rows (id + START_COLUMNS), and note the attempt time on each lead: the lead's
# own record of it, for "why was it called at 20:58?".
INSERT_STARTS = f"""inserted AS (
               INSERT INTO attempt (id, {", ".join(START_COLUMNS)})
               SELECT id, {", ".join(START_COLUMNS)} FROM input
               RETURNING id, lead_id),
           noted AS (
               UPDATE lead SET last_attempt_at = input.started_at FROM input WHERE lead.id = input.lead_id)"""


async def start_attempts(conn, starts: Sequence[AttemptStart]) -> list[int]:
    """Insert one attempt row per start; return their ids in the same order."""
    if not starts:
        return []
    # One round trip (a launch round's crossing holds virtual time still in the simulator, and
    # costs a round trip per statement in production): draw the ids, insert the rows, and note
    # the attempt time on each lead. Each id comes back with its input's ordinal, so the
    # returned order is the input order whatever order PostgreSQL drew them in.
    rows = await conn.fetch(
        f"""WITH input AS (
               SELECT nextval('attempt_id_seq') AS id, u.*
               FROM {unnest_starts(1)} WITH ORDINALITY AS u({", ".join(START_COLUMNS)}, ord)),
           {INSERT_STARTS}
           SELECT input.id, input.ord FROM input JOIN inserted USING (id) ORDER BY input.ord""",
        *start_arrays(starts))
    if len(rows) != len(starts):
        raise RuntimeError("attempt rows were not all stored")
    return [r["id"] for r in rows]


async def finish_attempts(conn, ends: Sequence[AttemptEnd], *,
                          rules: dict[int, CampaignRules] | None = None,
                          window_for: WindowFactory = default_window) -> list[Finished]:
    """Close attempts and move their leads on, all in the caller's transaction.

    `rules` may be passed in (the engine caches them per campaign); missing
    campaigns are loaded. Attempts already closed are left alone (a retried
    flush is harmless) and reported with `already_closed`. An unknown attempt
    id or outcome raises RuleError before anything is written.
    """
    if not ends:
        return []
    ids = [e.attempt_id for e in ends]
    if len(set(ids)) != len(ids):
        raise RuleError("the same attempt id is finished twice in one batch")
    attempts, leads = await _lock_attempts_and_leads(conn, ids)
    by_attempt = {r["id"]: r for r in attempts}
    unknown = [i for i in ids if i not in by_attempt]
    if unknown:
        raise RuleError(f"no attempt with id {unknown[0]}")
    bad = [e for e in ends if e.outcome not in OUTCOMES]
    if bad:
        raise RuleError(f"attempt {bad[0].attempt_id}: unknown outcome {bad[0].outcome!r} "
                        f"(one of {', '.join(OUTCOMES)})")
    rules = dict(rules or {})
    missing = {r["campaign_id"] for r in leads.values()} - set(rules)
    if missing:
        rules.update(await load_rules_once(conn, attempts[0]["transaction_id"], missing))

    results: list[Finished] = []
    closing: list[AttemptEnd] = []
    moved: dict[int, tuple] = {}
    for e in ends:
        row = by_attempt[e.attempt_id]
        if row["ended_at"] is not None:
            results.append(Finished(e.attempt_id, row["lead_id"], None, already_closed=True))
            continue
        closing.append(e)
        lead = leads.get(row["lead_id"])
        if lead is None:
            # Lead deleted mid-call: close the attempt, nothing to move.
            results.append(Finished(e.attempt_id, None, None))
            continue
        r = rules[lead["campaign_id"]]
        state = LeadState(lead["id"], lead["status"], lead["call_mode"], lead["attempts"], lead["timezone"],
                          lead["timezones"])
        nxt = after_outcome(r, state, e.outcome, e.ended_at, window_for(r, lead))
        if row["wrap_code"] is not None or lead["completed"]:
            # A person already decided this lead during the call (the operator's wrap
            # reached the store before this batched close, or a supervisor finished
            # it): their decision stands; the attempt still counts.
            nxt = NextState(lead["status"], lead["call_mode"], nxt.attempts, lead["next_attempt_at"],
                            lead["completed"], contacted=nxt.contacted)
        results.append(Finished(e.attempt_id, lead["id"], nxt))
        # Two attempts on one lead in a batch (several numbers dialed) chain.
        lead.update(status=nxt.status, call_mode=nxt.call_mode, attempts=nxt.attempts,
                    completed=nxt.completed, next_attempt_at=nxt.next_attempt_at)
        contacted = (e.answered_at or e.ended_at) if nxt.contacted else moved.get(lead["id"], (None,) * 7)[6]
        moved[lead["id"]] = (lead["id"], nxt.status, nxt.call_mode, nxt.next_attempt_at, nxt.completed,
                             nxt.attempts, contacted, e.outcome, e.ended_at)

    if closing:
        # One statement (one round trip): the attempts close, and their leads move on.
        await _close_and_move(conn, [(e.attempt_id, e.outcome, e.ended_at, e.sip_status, e.ringing_at,
                                      e.answered_at, e.bridged_at, e.operator_id) for e in closing],
                              list(moved.values()))
    return results


_LEAD_COLUMNS = ("id", "campaign_id", "status", "call_mode", "attempts", "timezone", "timezones", "region", "country",
                 "completed", "next_attempt_at")

# The attempts (in id order), then their leads (in id order), locked FOR UPDATE, read in ONE
# statement: was two round trips. The lock order is the two statements' one: the ARRAY(...) over
# `a` is an init plan, run to its end (every attempt locked) before the scan of the leads starts,
# and the leads are locked as they leave their sort, in id order, as every batch locks them (no
# deadlock between concurrent batches). Each attempt row comes with its lead's columns (NULL for
# a lead that is gone).
_LOCK_ATTEMPTS_AND_LEADS = f"""
WITH a AS (
    SELECT id, lead_id, campaign_id, ended_at, wrap_code FROM attempt WHERE id = ANY($1::text::bigint[])
    ORDER BY id FOR UPDATE),
l AS (
    SELECT {", ".join(_LEAD_COLUMNS)} FROM lead WHERE id = ANY(ARRAY(SELECT lead_id FROM a))
    ORDER BY id FOR UPDATE)
SELECT a.id, a.lead_id, a.campaign_id, a.ended_at, a.wrap_code, {TRANSACTION_ID},
       {", ".join(f"l.{c} AS lead_{c}" for c in _LEAD_COLUMNS)}
FROM a LEFT JOIN l ON l.id = a.lead_id ORDER BY a.id"""


async def _lock_attempts_and_leads(conn, ids: list[int]) -> tuple[list, dict[int, dict]]:
    """The attempts `ids` and their leads, locked: (attempt rows, {lead id: lead as a dict})."""
    attempts, leads = [], {}
    for r in await conn.fetch(_LOCK_ATTEMPTS_AND_LEADS, array_literal(ids, "bigint")):
        attempts.append(r)
        if r["lead_id"] is not None and r["lead_id"] not in leads:
            leads[r["lead_id"]] = {c: r["lead_" + c] for c in _LEAD_COLUMNS}
    return attempts, leads


# The close-and-move statement's array types, attempt columns then lead columns; the integer, text
# and boolean ones go as text literals (`array_text`: asyncpg's per-element tests), timestamps as lists.
_CLOSE_TYPES = ("bigint", "text", None, "int", None, None, None, "bigint")
_MOVE_TYPES = ("bigint", "text", "text", None, "bool", "int", None, "text", None)


async def _close_and_move(conn, closing: list[tuple], updates: list[tuple]) -> None:
    attempt_cols = column_arrays(closing, _CLOSE_TYPES)
    lead_cols = column_arrays(updates, _MOVE_TYPES)
    # The attempts close; the leads move on, and their due callbacks have now been dialed. The
    # parts touch different rows (the leads and attempts are locked above), one snapshot.
    await conn.execute(
        """WITH closed AS (
               UPDATE attempt SET outcome = a.outcome, ended_at = a.ended_at, sip_status = a.sip_status,
                   ringing_at = coalesce(a.ringing_at, attempt.ringing_at),
                   answered_at = coalesce(a.answered_at, attempt.answered_at),
                   bridged_at = coalesce(a.bridged_at, attempt.bridged_at),
                   operator_id = coalesce(a.operator_id, attempt.operator_id)
               FROM unnest($1::text::bigint[], $2::text::text[], $3::timestamptz[], $4::text::int[],
                           $5::timestamptz[], $6::timestamptz[], $7::timestamptz[], $8::text::bigint[])
                    AS a(id, outcome, ended_at, sip_status, ringing_at, answered_at, bridged_at, operator_id)
               WHERE attempt.id = a.id),
           u AS (
               SELECT * FROM unnest($9::text::bigint[], $10::text::text[], $11::text::text[], $12::timestamptz[],
                                    $13::text::bool[], $14::text::int[], $15::timestamptz[], $16::text::text[],
                                    $17::timestamptz[])
                   AS u(id, status, call_mode, next_at, completed, attempts, contacted_at, outcome, ended_at)),
           called_back AS (
               UPDATE callback SET done_at = u.ended_at FROM u
               WHERE callback.lead_id = u.id AND callback.done_at IS NULL AND callback.due_at <= u.ended_at)
           UPDATE lead SET status = u.status, call_mode = u.call_mode, next_attempt_at = u.next_at,
               completed = u.completed, attempts = u.attempts, last_outcome = u.outcome,
               last_contacted_at = coalesce(u.contacted_at, lead.last_contacted_at),
               lease_owner = NULL, lease_expires_at = NULL, updated_at = u.ended_at
           FROM u WHERE lead.id = u.id""", *attempt_cols, *lead_cols)
