"""Units of work for the hopper: what to claim, the claim itself, dial-time checks.

All of them take `now` from the caller (the engine's Clock), never from the
server, so virtual-time runs and `hopper show --at` agree with real runs.

A claim scans, per list and call mode, two partial indexes (migrations 030/031):
"due" leads (scheduled, `next_attempt_at <= now`, longest waiting first, from
the node's due cursor) and "fresh" leads (never scheduled, in the list
strategy's id order, from the node's fresh cursor), plus due callbacks. Each
scan is a LATERAL sub-select with `LIMIT k FOR UPDATE SKIP LOCKED`; all of them,
the ranking (callbacks, ageing, call-mode rank, due before fresh, strategy) and
the lease UPDATE of the first k per list are ONE statement, so a refill is one
round trip whatever the number of lists (the locks on candidates not chosen end
with the transaction). Every rule of the issue is in the scans' conditions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from typing import Any, Sequence

from .array_text import array_literal

MAX_INT = 2**31 - 1
MAX_ID = 2**63 - 1
# The due scan's start when there is no cursor: before any next_attempt_at.
DUE_START = (dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc), 0)

LEAD_COLUMNS = """l.id, l.list_id, l.phone, l.timezone, l.timezones, l.region, l.country, l.call_mode,
    l.status, l.attempts, l.priority, l.next_attempt_at, l.created_at"""


@dataclasses.dataclass(frozen=True)
class Gate:
    """The per-lead conditions every claim applies, besides list/mode/segment."""
    campaign_id: int
    now: dt.datetime
    auto_statuses: Sequence[str]
    open_keys: Sequence[str]
    abandon_lockout: dt.timedelta | None = None
    max_daily_per_number: int | None = None


class Params:
    """Numbers query parameters as they are used, so a statement binds only what it uses."""

    def __init__(self):
        self.args: list[Any] = []

    def __call__(self, value: Any, cast: str) -> str:
        self.args.append(value)
        return f"${len(self.args)}::{cast}"


@dataclasses.dataclass
class ListRequest:
    list_id: int
    strategy: str
    want: int
    # Fresh-lead scan start per call mode: just past this node's last claim
    # (oldest/fewest: an id; newest: scans below it), or a random id for random.
    pivots: dict[str, int] = dataclasses.field(default_factory=dict)
    # Due-lead scan start per call mode: just past the (next_attempt_at, id) of this
    # node's last due claim, so due leads that cannot be dialed yet (locked out,
    # daily limit, held by a call) are not read again on every claim.
    due_after: dict[str, tuple[dt.datetime, int]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Mode:
    name: str
    rank: int
    max_attempts: int | None
    time_on_standard: dt.timedelta | None


async def load_setup(conn, campaign_id: int) -> dict:
    """Everything the hopper needs to know about a campaign, in one crossing and one statement
    (each hopper reloads it every `setup_ttl`; as six statements it was six round trips)."""
    row = await conn.fetchrow(
        """SELECT c AS campaign,
                  ARRAY(SELECT l FROM lead_list l WHERE l.campaign_id = c.id ORDER BY l.id) AS lists,
                  ARRAY(SELECT m FROM call_mode m WHERE m.campaign_id = c.id
                        ORDER BY NOT m.new_lead_priority, m.position, m.name) AS modes,
                  ARRAY(SELECT s FROM lead_status s WHERE s.campaign_id = c.id) AS statuses,
                  ARRAY(SELECT k.key FROM lead_window_key k WHERE k.campaign_id = c.id) AS keys,
                  -- The random strategy's id range per list: [list id, lowest id, highest id].
                  ARRAY(SELECT ARRAY[l.id, (SELECT coalesce(min(id), 0) FROM lead WHERE list_id = l.id),
                                     (SELECT coalesce(max(id), 0) FROM lead WHERE list_id = l.id)]
                        FROM lead_list l WHERE l.campaign_id = c.id AND l.strategy = 'random' ORDER BY l.id)
                      AS id_ranges
           FROM campaign c WHERE c.id = $1""", campaign_id)
    if row is None:
        raise LookupError(f"campaign {campaign_id} does not exist")
    return {
        "campaign": dict(row["campaign"]),
        "lists": [{k: r[k] for k in ("id", "name", "to_dial", "weight", "strategy", "active")} for r in row["lists"]],
        "modes": [Mode(r["name"], i, r["max_attempts"], r["time_on_standard"]) for i, r in enumerate(row["modes"])],
        "auto_statuses": [r["code"] for r in row["statuses"] if r["auto_dial"] and not r["completed"]],
        "keys": list(row["keys"]),
        "id_ranges": {list_id: (lo, hi) for list_id, lo, hi in row["id_ranges"]},
    }


async def candidates(conn, gate: Gate, requests: list[ListRequest], modes: list[Mode],
                     callbacks: int, lock: bool = True) -> dict[int, list[dict]]:
    """Candidate leads per list, in dial order, up to `want` each, nothing leased
    (for `hopper show`; with `lock` they stay locked until the transaction ends)."""
    by_list: dict[int, list[dict]] = {r.list_id: [] for r in requests}
    if not requests:
        return by_list
    text, names = _statement(_shape(gate, requests, callbacks, lock), "candidates")
    for row in await conn.fetch(text, *_arguments(names, gate, requests, modes, callbacks)):
        by_list[row["list_id"]].append(_row(row))
    return by_list


async def claim(conn, gate: Gate, owner: str, lease_until: dt.datetime, requests: list[ListRequest],
                modes: list[Mode], callbacks: int) -> dict[int, list[dict]]:
    """Lease up to `want` leads per list; returns them per list in dial order.

    One statement (one round trip; on a shared machine each costs ~0.5-1 ms, more
    than the work): lock candidates with SKIP LOCKED, rank them, lease the first
    `want` of each list, return them."""
    by_list: dict[int, list[dict]] = {r.list_id: [] for r in requests}
    if not requests:
        return by_list
    text, names = _statement(_shape(gate, requests, callbacks, True), "claim")
    rows = await conn.fetch(text, *_arguments(names, gate, requests, modes, callbacks, owner, lease_until))
    for row in sorted(rows, key=lambda r: (r["list_id"], r["rn"])):
        by_list[row["list_id"]].append(_row(row))
    return by_list


# What a claim hands back: the lead, its callback if any, what kind of candidate it was
# and its rank in its list (not the sort columns: decoding them costs the client time).
_CHOSEN_COLUMNS = ", ".join(
    [f"chosen.{c.strip().removeprefix('l.')}" for c in LEAD_COLUMNS.split(",")]
    + ["chosen.callback_id", "chosen.callback_operator", "chosen.callback_due", "chosen.kind", "chosen.rn"])


def _row(row) -> dict:
    out = dict(row)
    kind = out.pop("kind")
    del out["rn"]
    if kind == "due":
        out["_due"] = True
    elif kind == "fresh":
        out["_fresh"] = True
    return out


# A claim's text depends only on its shape: which kinds of candidate it scans (callbacks,
# fresh leads upwards and/or downwards), which per-number rules are on, and whether it locks.
# The text of each shape is built once (building it cost ~160 µs a claim, a third of the
# claim's own CPU) and always comes out the same, so asyncpg's statement cache keeps one
# prepared statement per shape. Every value is a parameter, bound once however often the
# text uses it (the open keys' jsonb, say, was parsed four times a claim).
_Shape = tuple  # (callbacks, lockout, daily limit, fresh ASC, fresh DESC, lock)


def _shape(gate: Gate, requests: list[ListRequest], callbacks: int, lock: bool) -> _Shape:
    ascending = any(r.strategy != "newest" for r in requests)
    descending = any(r.strategy == "newest" for r in requests)
    return (bool(callbacks), gate.abandon_lockout is not None, gate.max_daily_per_number is not None,
            ascending, descending, lock)


class _Slots:
    """Numbers a statement's parameters by name: each named value is bound once."""

    def __init__(self):
        self.names: list[str] = []

    def __call__(self, name: str, cast: str) -> str:
        if name not in self.names:
            self.names.append(name)
        return f"${self.names.index(name) + 1}::{cast}"

    def array(self, name: str, cast: str) -> str:
        """An array sent as one text literal (`dialer.store.array_text`): asyncpg checks every
        element of a list parameter against several types, ~1.5 ms a claim for its ~3,000."""
        return self(name, "text") + f"::{cast}"


@functools.lru_cache(maxsize=64)
def _statement(shape: _Shape, final: str) -> tuple[str, tuple[str, ...]]:
    """(the statement's text, its parameters' names in order) for a shape; `final` is
    "claim" (lease the chosen leads) or "candidates" (select them)."""
    s = _Slots()
    sql = _ranked_sql(shape, s)
    if final == "claim":
        text = f"""{sql} UPDATE lead SET lease_owner = {s('owner', 'text')}, lease_expires_at = {s('lease_until', 'timestamptz')}
            FROM chosen WHERE lead.id = chosen.id RETURNING {_CHOSEN_COLUMNS}"""
    else:
        text = f"{sql} SELECT {_CHOSEN_COLUMNS} FROM chosen ORDER BY list_id, rn"
    return text, tuple(s.names)


def _gate_sql(shape: _Shape, s: _Slots, statuses: bool = True) -> str:
    """SQL conditions on lead `l` that every claim applies.

    The DNC, lock-out and daily-limit look-ups end in `OFFSET 0`, which keeps
    PostgreSQL from turning them into joins: they stay one index probe per lead the
    scan reaches (a few µs each), whatever the planner guesses from the tables' sizes.
    As joins, a planner that took the small DNC table of a new campaign for a cheap
    one re-read all of it for every lead (the 8-hour virtual day: 94,000 comparisons
    for 316 leads) and got slower as wrap-ups added numbers to it."""
    _, lockout, daily, *_ = shape
    campaign = s("campaign", "bigint")
    parts = [f"l.campaign_id = {campaign}",
             # The open keys as the keys of a jsonb object: `?` is a binary search. With
             # `= ANY($1)`, a generic plan (asyncpg's prepared statements get one after
             # 5 runs) searches the array linearly for every lead: 6 ms of a 14 ms claim
             # at 10 M leads and 225 open keys.
             f"{s('open_keys', 'jsonb')} ? lead_window_key(l.timezone, l.timezones, l.region, l.country)",
             "NOT EXISTS (SELECT 1 FROM dnc d WHERE d.phone = l.phone "
             f"AND (d.campaign_id IS NULL OR d.campaign_id = {campaign}) OFFSET 0)"]
    if statuses:
        parts.append(f"l.status = ANY({s('statuses', 'text[]')})")
    # Lock-out and daily limit: ONE probe of attempt_number_idx per lead (two probes
    # cost about as much as the rest of the claim). A number with no attempt since
    # the earlier of the two horizons, the common case, costs one index descent; the
    # lead's local midnight is only worked out for the attempts found.
    tests = []
    if lockout:
        tests.append(f"bool_or(a.outcome = 'abandoned' AND a.started_at > {s('lockout_since', 'timestamptz')})")
    if daily:
        # The day is the lead's local day (at most 25 h long, DST); attempts count
        # across all campaigns (the person is the same whoever calls).
        now = s("now", "timestamptz")
        tests.append(f"count(*) FILTER (WHERE a.started_at >= (date_trunc('day', {now} AT TIME ZONE l.timezone)"
                     f" AT TIME ZONE l.timezone)) >= {s('day_limit', 'int')}")
    if tests:
        parts.append(f"NOT EXISTS (SELECT 1 FROM attempt a WHERE a.called_number = l.phone "
                     f"AND a.started_at > {s('horizon', 'timestamptz')} HAVING {' OR '.join(tests)} OFFSET 0)")
    return " AND ".join(parts)


# Every candidate gets the same sort columns, so one window function ranks them all:
# k0 callbacks (0) before the rest (1); k1 due leads aged past their call mode's
# time-on-standard (0) first; k2 call-mode rank; k3 due (0) before fresh (1); kt due
# time; kw the random strategy's wrapped-round part last; ka attempts (fewest_attempts);
# kp position in the list's strategy order.
_NO_CALLBACK = "NULL::bigint AS callback_id, NULL::bigint AS callback_operator, NULL::timestamptz AS callback_due"


def _ranked_sql(shape: _Shape, s: _Slots) -> str:
    """`WITH ... chosen AS (...)`: the first `want` candidates of each list, ranked
    (`rn`), as the prefix of a statement that selects or leases them."""
    callbacks, _, _, ascending, descending, lock = shape
    lock_sql = "FOR UPDATE OF l SKIP LOCKED" if lock else ""
    now = s("now", "timestamptz")
    parts = []
    if callbacks:
        parts.append(f"""(SELECT {LEAD_COLUMNS}, c.id AS callback_id, c.operator_id AS callback_operator,
                       c.due_at AS callback_due, 'callback' AS kind, 0 AS k0, 0 AS k1, 0 AS k2, 0 AS k3,
                       c.due_at AS kt, 0 AS kw, 0 AS ka, c.id AS kp
                FROM callback c JOIN lead l ON l.id = c.lead_id
                WHERE c.campaign_id = {s('campaign', 'bigint')} AND c.done_at IS NULL AND c.due_at <= {now}
                  AND l.list_id = ANY({s.array('lists', 'bigint[]')}) AND NOT l.completed
                  AND l.valid AND {_unleased(now)} AND {_gate_sql(shape, s, statuses=False)}
                ORDER BY c.due_at, c.id LIMIT {s('callbacks', 'int')} {lock_sql})""")

    # Due leads per (list, mode), from the due cursor, longest waiting first.
    parts.append(f"""(SELECT c.*, {_NO_CALLBACK}, 'due' AS kind, 1 AS k0,
                       CASE WHEN c.next_attempt_at <= q.aged_before THEN 0 ELSE 1 END AS k1, q.rank AS k2, 0 AS k3,
                       c.next_attempt_at AS kt, 0 AS kw, 0 AS ka, c.id AS kp
            FROM unnest({s.array('due_list', 'bigint[]')}, {s.array('due_mode', 'text[]')},
                        {s.array('due_max', 'int[]')}, {s.array('due_want', 'int[]')},
                        {s.array('due_after_at', 'timestamptz[]')}, {s.array('due_after_id', 'bigint[]')},
                        {s.array('due_rank', 'int[]')}, {s.array('due_aged', 'timestamptz[]')})
                 AS q(list_id, mode, max_att, k, after_at, after_id, rank, aged_before)
            CROSS JOIN LATERAL (
                SELECT {LEAD_COLUMNS} FROM lead l
                WHERE l.list_id = q.list_id AND l.call_mode = q.mode
                  AND NOT l.completed AND l.valid AND {_unleased(now)}
                  AND l.next_attempt_at IS NOT NULL AND l.next_attempt_at <= {now}
                  AND (l.next_attempt_at, l.id) > (q.after_at, q.after_id)
                  AND l.attempts < q.max_att AND {_gate_sql(shape, s)}
                ORDER BY l.next_attempt_at, l.id LIMIT q.k {lock_sql}) c)""")

    # Fresh leads per (list, mode), from each one's pivot: a cursor just past the last
    # lead this node took (so leads it holds, or that cannot be dialed now, are not
    # walked over again; the hopper moves cursors back to the top when they may have
    # missed something) or, for the random strategy, a random id, from which it also
    # wraps round to the part before it (ranked after: kw = 1).
    for direction, present in (("ASC", ascending), ("DESC", descending)):
        if not present:
            continue
        position = "c.id" if direction == "ASC" else "-c.id"
        f = direction.lower()
        parts.append(f"""(SELECT c.*, {_NO_CALLBACK}, 'fresh' AS kind, 1 AS k0, 1 AS k1, q.rank AS k2, 1 AS k3,
                       NULL::timestamptz AS kt, q.wrap AS kw, CASE WHEN q.fewest THEN c.attempts ELSE 0 END AS ka,
                       {position} AS kp
            FROM unnest({s.array(f + '_list', 'bigint[]')}, {s.array(f + '_mode', 'text[]')},
                        {s.array(f + '_max', 'int[]')}, {s.array(f + '_lo', 'bigint[]')},
                        {s.array(f + '_hi', 'bigint[]')}, {s.array(f + '_want', 'int[]')},
                        {s.array(f + '_rank', 'int[]')}, {s.array(f + '_wrap', 'int[]')},
                        {s.array(f + '_fewest', 'bool[]')})
                 AS q(list_id, mode, max_att, lo, hi, k, rank, wrap, fewest)
            CROSS JOIN LATERAL (
                SELECT {LEAD_COLUMNS} FROM lead l
                WHERE l.list_id = q.list_id AND l.call_mode = q.mode
                  AND NOT l.completed AND l.valid AND l.next_attempt_at IS NULL
                  AND l.id >= q.lo AND l.id < q.hi AND l.attempts < q.max_att
                  AND {_unleased(now)} AND {_gate_sql(shape, s)}
                ORDER BY l.id {direction} LIMIT q.k {lock_sql}) c)""")

    order = "k0, k1, k2, k3, kt, kw, ka, kp"
    # Each kind in a CTE of its own: FOR UPDATE is not allowed in a UNION's arms.
    kinds = ",\n            ".join(f"kind{i} AS {part}" for i, part in enumerate(parts))
    union = " UNION ALL ".join(f"SELECT * FROM kind{i}" for i in range(len(parts)))
    return f"""WITH {kinds},
            candidate AS ({union}),
            first AS (SELECT DISTINCT ON (id) * FROM candidate ORDER BY id, {order}),
            ranked AS (SELECT f.*, row_number() OVER (PARTITION BY list_id ORDER BY {order}) AS rn FROM first f),
            chosen AS (SELECT r.* FROM ranked r
                       JOIN unnest({s.array('lists', 'bigint[]')}, {s.array('wants', 'int[]')})
                            AS w(list_id, want) ON w.list_id = r.list_id
                       WHERE r.rn <= w.want)"""


def _arguments(names: tuple[str, ...], gate: Gate, requests: list[ListRequest], modes: list[Mode],
               callbacks: int, owner: str | None = None, lease_until: dt.datetime | None = None) -> list:
    """The values of `names` (a statement's parameters, in order) for this claim."""
    v: dict[str, Any] = {"campaign": gate.campaign_id, "now": gate.now, "callbacks": callbacks,
                         "owner": owner, "lease_until": lease_until,
                         "open_keys": json.dumps(dict.fromkeys(gate.open_keys, 1)),
                         "statuses": list(gate.auto_statuses), "day_limit": gate.max_daily_per_number}
    horizons = []
    if gate.abandon_lockout is not None:
        v["lockout_since"] = gate.now - gate.abandon_lockout
        horizons.append(v["lockout_since"])
    if gate.max_daily_per_number is not None:
        horizons.append(gate.now - dt.timedelta(hours=26))
    v["horizon"] = min(horizons, default=None)
    # Every array goes as a text literal (`_Slots.array`), in the type its slot casts to.
    v["lists"] = array_literal([r.list_id for r in requests], "bigint")
    v["wants"] = array_literal([r.want for r in requests], "int")

    # Due leads: one row per (list, mode).
    triples = [(r, m) for r in requests for m in modes]
    starts = [r.due_after.get(m.name, DUE_START) for r, m in triples]
    v.update(due_list=array_literal([r.list_id for r, _ in triples], "bigint"),
             due_mode=array_literal([m.name for _, m in triples], "text"),
             due_max=array_literal([_max(m) for _, m in triples], "int"),
             due_want=array_literal([r.want for r, _ in triples], "int"),
             due_after_at=array_literal([at for at, _ in starts], "timestamptz"),
             due_after_id=array_literal([i for _, i in starts], "bigint"),
             due_rank=array_literal([m.rank for _, m in triples], "int"),
             due_aged=array_literal([gate.now - m.time_on_standard if m.time_on_standard is not None
                                     else DUE_START[0] for _, m in triples], "timestamptz"))

    # Fresh leads: one row per (list, mode) and span of ids (see _ranked_sql).
    spans: dict[str, list] = {"asc": [], "desc": []}
    for r in requests:
        for m in modes:
            pivot = r.pivots.get(m.name, 0)
            if r.strategy == "newest":
                spans["desc"].append((r, m, 0, 0, pivot or MAX_ID))
            else:
                spans["asc"].append((r, m, 0, pivot, MAX_ID))
                if r.strategy == "random" and pivot:
                    spans["asc"].append((r, m, 1, 0, pivot))
    for f, rows in spans.items():
        v.update({f + "_list": array_literal([r.list_id for r, *_ in rows], "bigint"),
                  f + "_mode": array_literal([m.name for _, m, *_ in rows], "text"),
                  f + "_max": array_literal([_max(m) for _, m, *_ in rows], "int"),
                  f + "_lo": array_literal([lo for *_, lo, _ in rows], "bigint"),
                  f + "_hi": array_literal([hi for *_, hi in rows], "bigint"),
                  f + "_want": array_literal([r.want for r, *_ in rows], "int"),
                  f + "_rank": array_literal([m.rank for _, m, *_ in rows], "int"),
                  f + "_wrap": array_literal([w for _, _, w, _, _ in rows], "int"),
                  f + "_fewest": array_literal([r.strategy == "fewest_attempts" for r, *_ in rows], "bool")})
    return [v[name] for name in names]


def _unleased(now: str) -> str:
    # Not leased, or leased by a node that let the lease run out (it died or
    # stalled): expired leases return to the pool without any sweep.
    return f"(l.lease_owner IS NULL OR l.lease_expires_at <= {now})"


def _max(mode: Mode) -> int:
    return mode.max_attempts if mode.max_attempts is not None else MAX_INT


async def sweep_expired(conn, campaign_id: int, now: dt.datetime) -> int:
    """Clear leases that ran out (their node died or stalled). Claims do not need
    this (they treat an expired lease as none); it tidies up, e.g. for `hopper show`."""
    result = await conn.execute(
        "UPDATE lead SET lease_owner = NULL, lease_expires_at = NULL "
        "WHERE campaign_id = $1 AND lease_owner IS NOT NULL AND lease_expires_at <= $2", campaign_id, now)
    return int(result.split()[-1])


@dataclasses.dataclass(frozen=True)
class Check:
    """What the dial-time re-check of leased leads needs: whose leases, when, and the
    campaign whose DNC list and per-number rules (abandon lock-out, daily limit) apply."""
    campaign_id: int
    owner: str
    now: dt.datetime
    abandon_lockout: dt.timedelta | None = None
    max_daily_per_number: int | None = None

    def number_rule_args(self) -> tuple[dt.datetime | None, int | None, dt.datetime]:
        """(lock-out start or None, daily limit or None, the earliest attempt either can see)."""
        since = self.now - self.abandon_lockout if self.abandon_lockout is not None else None
        horizons = [h for h in (since, self.now - dt.timedelta(hours=26) if self.max_daily_per_number is not None
                                else None) if h is not None]
        return since, self.max_daily_per_number, min(horizons, default=self.now)


# The dial-time check of a lead `l`, as a claim's gate has it but for leads already leased:
# still leased to us, not completed, its number on no DNC list that applies, and no attempt to
# its number that locks it out now (an abandoned call inside the lock-out, or the daily limit
# reached since the lead's local midnight). The number rules are checked here too because a
# lead can wait in the hopper while another lead with the same number is dialed: its claim
# saw no such attempt, its dial would. NULL lock-out start / limit: that rule is off.
# And the lead's number is still the one we hold (`{number}`, the number we are about to dial):
# an import's update by customer key rewrites `lead.phone` whatever the lease, and the rules
# here read the number in the database, so without this the number dialed would be one never
# checked (it may be on DNC since). Such a lead is handed back; its next claim brings the new
# number, checked then.
# Placeholders: owner, now, campaign, lockout_since, day_limit, horizon, number. Shared with the
# launch round's one statement (`dialer/store/launch.py`).
RECHECK_WHERE = """l.lease_owner = {owner} AND l.lease_expires_at > {now} AND NOT l.completed
    AND l.phone = {number}
    AND NOT EXISTS (SELECT 1 FROM dnc d WHERE d.phone = l.phone
                    AND (d.campaign_id IS NULL OR d.campaign_id = {campaign}) OFFSET 0)
    AND NOT EXISTS (SELECT 1 FROM attempt a WHERE a.called_number = l.phone AND a.started_at > {horizon}
                    HAVING bool_or(a.outcome = 'abandoned' AND a.started_at > {lockout_since})
                        OR count(*) FILTER (WHERE a.started_at >= (date_trunc('day', {now} AT TIME ZONE l.timezone)
                                                                  AT TIME ZONE l.timezone)) >= {day_limit}
                    OFFSET 0)"""

_RECHECK = "SELECT l.id FROM lead l WHERE l.id = ANY($1::bigint[]) AND " + RECHECK_WHERE.format(
    owner="$2::text", now="$3::timestamptz", campaign="$4::bigint", lockout_since="$5::timestamptz",
    day_limit="$6::int", horizon="$7::timestamptz", number="($8::text[])[array_position($1::bigint[], l.id)]")


async def recheck(conn, check: Check, ids: list[int], release: list[int], numbers: list[str]) -> list[int]:
    """Dial-time check: of `ids`, those we still hold that may be dialed now (`RECHECK_WHERE`),
    `numbers[i]` being the number held (to be dialed) for `ids[i]`. Releases `release` and the
    ids that fail, in the same transaction."""
    if len(numbers) != len(ids):
        raise ValueError(f"{len(ids)} leads to re-check but {len(numbers)} numbers")
    ok = [r["id"] for r in await conn.fetch(_RECHECK, ids, check.owner, check.now, check.campaign_id,
                                            *check.number_rule_args(), list(numbers))]
    good = set(ok)
    release = list(release) + [i for i in ids if i not in good]
    if release:
        await release_leads(conn, check.owner, release)
    return [i for i in ids if i in good]


async def recheck_and_claim(conn, recheck_args: tuple, claim_args: tuple | None):
    """The take-time re-check and, when the buffers want it, a claim, in one crossing."""
    ok = await recheck(conn, *recheck_args)
    return ok, (await claim(conn, *claim_args) if claim_args else {})


async def renew(conn, owner: str, ids: list[int], now: dt.datetime, until: dt.datetime) -> list[int]:
    """Extend leases we still hold; returns the ids still ours."""
    rows = await conn.fetch(
        "UPDATE lead SET lease_expires_at = $3 WHERE lease_owner = $1 AND id = ANY($2::bigint[]) "
        "AND lease_expires_at > $4 RETURNING id", owner, ids, until, now)
    return [r["id"] for r in rows]


async def release_leads(conn, owner: str, ids: list[int]) -> int:
    result = await conn.execute(
        "UPDATE lead SET lease_owner = NULL, lease_expires_at = NULL "
        "WHERE lease_owner = $1 AND id = ANY($2::bigint[])", owner, ids)
    return int(result.split()[-1])


# Reasons a lead is not callable, in the order they are tested: the first that
# applies is the one reported (permanent reasons before passing ones).
REASONS = ["campaign_inactive", "completed", "invalid", "list_inactive", "list_not_to_dial", "list_weight_zero",
           "status_not_auto_dial", "unknown_call_mode", "max_attempts", "dnc", "abandon_lockout",
           "daily_limit", "waiting_for_retry", "outside_hours", "leased"]


async def reasons(conn, gate: Gate) -> dict[str, int]:
    """Count the campaign's leads by the first reason they cannot be dialed now
    ('callable' when none applies). A full scan: for `hopper show`, not the hot path."""
    p = Params()
    campaign, now = p(gate.campaign_id, "bigint"), p(gate.now, "timestamptz")
    lockout = "false"
    if gate.abandon_lockout is not None:
        lockout = ("EXISTS (SELECT 1 FROM attempt a WHERE a.called_number = l.phone AND a.outcome = 'abandoned' "
                   f"AND a.started_at > {p(gate.now - gate.abandon_lockout, 'timestamptz')})")
    daily = "false"
    if gate.max_daily_per_number is not None:
        daily = ("(SELECT count(*) FROM attempt a WHERE a.called_number = l.phone AND a.started_at >= "
                 f"(date_trunc('day', {now} AT TIME ZONE l.timezone) AT TIME ZONE l.timezone))"
                 f" >= {p(gate.max_daily_per_number, 'int')}")
    rows = await conn.fetch(
        f"""SELECT CASE
                WHEN NOT c.active THEN 'campaign_inactive'
                WHEN l.completed THEN 'completed'
                WHEN NOT l.valid THEN 'invalid'
                WHEN NOT ll.active THEN 'list_inactive'
                WHEN NOT ll.to_dial THEN 'list_not_to_dial'
                WHEN ll.weight = 0 THEN 'list_weight_zero'
                WHEN NOT coalesce(s.auto_dial AND NOT s.completed, false) THEN 'status_not_auto_dial'
                WHEN m.name IS NULL THEN 'unknown_call_mode'
                WHEN l.attempts >= coalesce(m.max_attempts, {MAX_INT}) THEN 'max_attempts'
                WHEN EXISTS (SELECT 1 FROM dnc d WHERE d.phone = l.phone
                             AND (d.campaign_id IS NULL OR d.campaign_id = {campaign})) THEN 'dnc'
                WHEN {lockout} THEN 'abandon_lockout'
                WHEN {daily} THEN 'daily_limit'
                WHEN l.next_attempt_at > {now} THEN 'waiting_for_retry'
                WHEN NOT lead_window_key(l.timezone, l.timezones, l.region, l.country)
                         = ANY({p(list(gate.open_keys), 'text[]')}) THEN 'outside_hours'
                WHEN l.lease_owner IS NOT NULL AND l.lease_expires_at > {now} THEN 'leased'
                ELSE 'callable' END AS reason, count(*) AS n
            FROM lead l JOIN lead_list ll ON ll.id = l.list_id JOIN campaign c ON c.id = l.campaign_id
            LEFT JOIN lead_status s ON s.campaign_id = l.campaign_id AND s.code = l.status
            LEFT JOIN call_mode m ON m.campaign_id = l.campaign_id AND m.name = l.call_mode
            WHERE l.campaign_id = {campaign} GROUP BY 1""", *p.args)
    return {r["reason"]: r["n"] for r in rows}
