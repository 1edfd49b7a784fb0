"""A launch round's write, in one statement: the take-time re-check and the attempt rows.

Before any INVITE leaves, the engine must know that each lead it is about to dial is still
leased to this node, not completed and not on a DNC list *now* (an entry may have arrived
since the hopper claimed it), and it must have stored an attempt row for it (a crash then
leaves evidence, never a silent dial). Both used to be separate statements in a transaction:
BEGIN, re-check, release, insert, COMMIT, five round trips for what is usually one or two
calls. Here they are one statement, which PostgreSQL runs atomically on its own: the leads
that pass get their attempt rows, the ones that fail (and the ones the caller hands back)
lose their lease, and nothing else happens if the statement fails.

The re-check is `dialer.store.hopper.recheck`'s, word for word (`RECHECK_WHERE`): lease, not
completed, the number in the database still the number dialed (each start's), DNC, and the
number's abandon lock-out and daily limit.

A round's starts share their campaign, node, trunk, caller number and start time: each is bound
once, and only the columns that vary per call go in as arrays (9 array parameters instead of 14:
asyncpg encodes every element of each, PostgreSQL decodes them). They go as text literals cast
in the statement (`dialer.store.array_text`: ~45 `collections.abc` tests by asyncpg a launch round
of 1-2 calls fewer).
"""

from __future__ import annotations

from typing import Sequence

from .array_text import array_literal
from .attempts import INSERT_STARTS, ROUND_COLUMNS, ROW_COLUMNS, START_COLUMNS, AttemptStart
from .hopper import RECHECK_WHERE, Check


_TYPES = dict(zip(START_COLUMNS, ("bigint", "bigint", "bigint", "text", "text", "text", "text", "text", "text", "text",
                                  "text", "timestamptz")))
# The round's shared columns, one parameter each ($9...), then one array per varying column.
_ROUND = {c: f"${9 + i}::{_TYPES[c]}" for i, c in enumerate(ROUND_COLUMNS)}
_FIRST_ARRAY = 9 + len(ROUND_COLUMNS)
_ARRAYS = ", ".join(f"${_FIRST_ARRAY + i}::text::{_TYPES[c]}[]" for i, c in enumerate(ROW_COLUMNS))
_INPUT_COLUMNS = ", ".join(f"{_ROUND[c]} AS {c}" if c in _ROUND else f"u.{c}" for c in START_COLUMNS)
# Last, the number each lead of $1 is dialed at (its start's), NULL for a lead without a start:
# that one is handed back whatever its number, so any number will do.
_NUMBERS = f"${_FIRST_ARRAY + len(ROW_COLUMNS)}::text::text[]"
_STILL_OURS = RECHECK_WHERE.format(owner="$2::text", now="$3::timestamptz", campaign="$4::bigint",
                                   lockout_since="$6::timestamptz", day_limit="$7::int", horizon="$8::timestamptz",
                                   number=f"coalesce(({_NUMBERS})[array_position($1::text::bigint[], l.id)], l.phone)")

_STATEMENT = f"""
WITH ok AS (
    SELECT l.id FROM lead l WHERE l.id = ANY($1::text::bigint[]) AND {_STILL_OURS}),
input AS (
    SELECT nextval('attempt_id_seq') AS id, {_INPUT_COLUMNS}
    FROM unnest({_ARRAYS}) AS u({", ".join(ROW_COLUMNS)})
    WHERE u.lead_id IN (SELECT id FROM ok)),
{INSERT_STARTS},
-- Leases go back for the leads that failed and for those the caller does not dial now (one
-- index scan over both arrays: as `id = ANY($5) OR id = ANY($1)` it was a bitmap OR of two).
released AS (
    UPDATE lead SET lease_owner = NULL, lease_expires_at = NULL
    WHERE lease_owner = $2 AND id = ANY($1::text::bigint[] || $5::text::bigint[])
      AND (id = ANY($5::text::bigint[]) OR id NOT IN (SELECT id FROM ok)))
SELECT ok.id AS lead_id, inserted.id AS attempt_id FROM ok LEFT JOIN inserted ON inserted.lead_id = ok.id
"""


async def recheck_and_start(conn, check: Check, ids: Sequence[int], release: Sequence[int],
                            starts: Sequence[AttemptStart]) -> dict[int, int | None]:
    """Re-check `ids` (leads `check.owner` picked to dial) as `dialer.store.hopper.recheck` does,
    store an attempt row for each of them that passes and has a start in `starts`, and release
    the ones that fail plus `release`. The starts are one round's: they share ROUND_COLUMNS
    (campaign, node, trunk, caller number, start time; a ValueError otherwise).

    Returns {lead id: attempt id} for every lead of `ids` that passed (attempt id None for one
    that passed but had no start: the caller kept it back, and released it through `release`).
    One statement, so one round trip and atomic without a transaction around it."""
    if not ids and not release:
        return {}
    stray = {s.lead_id for s in starts} - (set(ids) - set(release))
    if stray:
        raise ValueError(f"attempt starts for leads not re-checked or handed back: {sorted(stray)}")
    shared = _shared(starts)
    rows = await conn.fetch(_STATEMENT, array_literal(ids, "bigint"), check.owner, check.now, check.campaign_id,
                            array_literal(release, "bigint"), *check.number_rule_args(), *shared,
                            *[array_literal([getattr(s, column) for s in starts], _TYPES[column])
                              for column in ROW_COLUMNS],
                            array_literal(_numbers(ids, starts), "text"))
    passed = {r["lead_id"]: r["attempt_id"] for r in rows}
    missing = [s.lead_id for s in starts if s.lead_id in passed and passed[s.lead_id] is None]
    if missing:
        raise RuntimeError(f"attempt rows were not stored for leads {missing}")
    return passed


def _shared(starts: Sequence[AttemptStart]) -> tuple:
    """The starts' ROUND_COLUMNS values (all None for no starts: nothing is inserted)."""
    if not starts:
        return (None,) * len(ROUND_COLUMNS)
    values = [tuple(getattr(s, c) for c in ROUND_COLUMNS) for s in starts]
    if any(v != values[0] for v in values):
        raise ValueError(f"attempt starts of one launch round must share {', '.join(ROUND_COLUMNS)}")
    return values[0]


def _numbers(ids: Sequence[int], starts: Sequence[AttemptStart]) -> list[str | None]:
    """The number each of `ids` is about to be dialed at, None for those without a start."""
    dialed = {s.lead_id: s.called_number for s in starts}
    return [dialed.get(i) for i in ids]
