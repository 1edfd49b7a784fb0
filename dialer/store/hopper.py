"""Units of work for the hopper: what to claim, the claim itself, dial-time checks.

All of them take `now` from the caller (the engine's Clock), never from the
server, so virtual-time runs and `hopper show --at` agree with real runs.

A claim scans, per list and call mode, two partial indexes (migration 030):
"due" leads (scheduled, `next_attempt_at <= now`, longest waiting first) and
"fresh" leads (never scheduled, in the list strategy's id order). Each scan is
a LATERAL sub-select with `LIMIT k FOR UPDATE SKIP LOCKED`, one statement per
kind for all lists, so one refill is a handful of statements in one
transaction whatever the number of lists. Python then orders the candidates
(callbacks, ageing, call-mode rank, strategy) and leases the first k per list;
the locks on the rest end with the transaction.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from typing import Any, Sequence

MAX_INT = 2**31 - 1
MAX_ID = 2**63 - 1

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


def _gate_sql(gate: Gate, p: Params, statuses: bool = True) -> str:
    """SQL conditions on lead `l` that every claim applies."""
    campaign = p(gate.campaign_id, "bigint")
    parts = [f"l.campaign_id = {campaign}",
             f"lead_window_key(l.timezone, l.timezones, l.region, l.country) = ANY({p(list(gate.open_keys), 'text[]')})",
             "NOT EXISTS (SELECT 1 FROM dnc d WHERE d.phone = l.phone "
             f"AND (d.campaign_id IS NULL OR d.campaign_id = {campaign}))"]
    if statuses:
        parts.append(f"l.status = ANY({p(list(gate.auto_statuses), 'text[]')})")
    if gate.abandon_lockout is not None:
        since = p(gate.now - gate.abandon_lockout, "timestamptz")
        parts.append("NOT EXISTS (SELECT 1 FROM attempt a WHERE a.called_number = l.phone "
                     f"AND a.outcome = 'abandoned' AND a.started_at > {since})")
    if gate.max_daily_per_number is not None:
        # The day is the lead's local day; attempts count across all campaigns (the
        # person is the same whoever calls).
        now = p(gate.now, "timestamptz")
        parts.append("(SELECT count(*) FROM attempt a WHERE a.called_number = l.phone AND a.started_at >= "
                     f"(date_trunc('day', {now} AT TIME ZONE l.timezone) AT TIME ZONE l.timezone))"
                     f" < {p(gate.max_daily_per_number, 'int')}")
    return " AND ".join(parts)


@dataclasses.dataclass
class ListRequest:
    list_id: int
    strategy: str
    want: int
    # Fresh-lead scan start per call mode: just past this node's last claim
    # (oldest/fewest: an id; newest: scans below it), or a random id for random.
    pivots: dict[str, int] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Mode:
    name: str
    rank: int
    max_attempts: int | None
    time_on_standard: dt.timedelta | None


async def load_setup(conn, campaign_id: int) -> dict:
    """Everything the hopper needs to know about a campaign, in one crossing."""
    campaign = await conn.fetchrow("SELECT * FROM campaign WHERE id = $1", campaign_id)
    if campaign is None:
        raise LookupError(f"campaign {campaign_id} does not exist")
    lists = await conn.fetch(
        "SELECT id, name, to_dial, weight, strategy, active FROM lead_list WHERE campaign_id = $1 ORDER BY id",
        campaign_id)
    modes = await conn.fetch(
        "SELECT name, new_lead_priority, time_on_standard, max_attempts, position FROM call_mode "
        "WHERE campaign_id = $1 ORDER BY NOT new_lead_priority, position, name", campaign_id)
    statuses = await conn.fetch("SELECT code, auto_dial, completed FROM lead_status WHERE campaign_id = $1",
                                campaign_id)
    keys = await conn.fetch("SELECT key FROM lead_window_key WHERE campaign_id = $1", campaign_id)
    id_ranges = {}
    for row in lists:
        if row["strategy"] == "random":
            id_ranges[row["id"]] = tuple(await conn.fetchrow(
                "SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM lead WHERE list_id = $1", row["id"]))
    return {
        "campaign": dict(campaign),
        "lists": [dict(r) for r in lists],
        "modes": [Mode(r["name"], i, r["max_attempts"], r["time_on_standard"]) for i, r in enumerate(modes)],
        "auto_statuses": [r["code"] for r in statuses if r["auto_dial"] and not r["completed"]],
        "keys": [r["key"] for r in keys],
        "id_ranges": id_ranges,
    }


async def candidates(conn, gate: Gate, requests: list[ListRequest], modes: list[Mode],
                     callbacks: int, lock: bool = True) -> dict[int, list[dict]]:
    """Candidate leads per list, in dial order, up to `want` each (more when locking:
    the caller leases the first `want`). Each row dict gets `_why` ordering info."""
    lock_sql = "FOR UPDATE OF l SKIP LOCKED" if lock else ""
    by_list: dict[int, list[dict]] = {r.list_id: [] for r in requests}
    if not requests:
        return by_list
    mode_by_name = {m.name: m for m in modes}

    # Callbacks first: due, for any operator or an owner (the hopper sorts out who).
    if callbacks:
        p = Params()
        sql = f"""SELECT {LEAD_COLUMNS}, c.id AS callback_id, c.operator_id AS callback_operator,
                       c.due_at AS callback_due FROM callback c JOIN lead l ON l.id = c.lead_id
                WHERE c.campaign_id = {p(gate.campaign_id, 'bigint')} AND c.done_at IS NULL
                  AND c.due_at <= {p(gate.now, 'timestamptz')}
                  AND l.list_id = ANY({p([r.list_id for r in requests], 'bigint[]')}) AND NOT l.completed
                  AND l.valid AND {_unleased(p(gate.now, 'timestamptz'))} AND {_gate_sql(gate, p, statuses=False)}
                ORDER BY c.due_at, c.id LIMIT {p(callbacks, 'int')} {lock_sql}"""
        rows = await conn.fetch(sql, *p.args)
        for row in rows:
            by_list[row["list_id"]].append({**row, "_order": (0, row["callback_due"])})

    triples = [(r, m) for r in requests for m in modes]
    p = Params()
    sql = f"""SELECT c.* FROM unnest({p([r.list_id for r, _ in triples], 'bigint[]')},
                                     {p([m.name for _, m in triples], 'text[]')},
                                     {p([_max(m) for _, m in triples], 'int[]')},
                                     {p([r.want for r, _ in triples], 'int[]')}) AS p(list_id, mode, max_att, k)
            CROSS JOIN LATERAL (
                SELECT {LEAD_COLUMNS} FROM lead l
                WHERE l.list_id = p.list_id AND l.call_mode = p.mode
                  AND NOT l.completed AND l.valid AND {_unleased(p(gate.now, 'timestamptz'))}
                  AND l.next_attempt_at IS NOT NULL AND l.next_attempt_at <= {p(gate.now, 'timestamptz')}
                  AND l.attempts < p.max_att AND {_gate_sql(gate, p)}
                ORDER BY l.next_attempt_at, l.id LIMIT p.k {lock_sql}) c"""
    due = await conn.fetch(sql, *p.args)
    for row in due:
        mode = mode_by_name[row["call_mode"]]
        aged = mode.time_on_standard is not None and row["next_attempt_at"] <= gate.now - mode.time_on_standard
        by_list[row["list_id"]].append({**row, "_order": (1, 0 if aged else 1, mode.rank, 0, row["next_attempt_at"])})

    # Fresh leads, scanned from each (list, mode)'s pivot: a cursor just past the
    # last lead this node took (so leased leads are not walked over again) or, for
    # the random strategy, a random id. Only lists still short get the second pass
    # over the part before the pivot.
    strategies = {r.list_id: r.strategy for r in requests}
    passes = [(r, m, False) for r in requests for m in modes]
    for wrap in (False, True):
        if wrap:
            counts = collections.Counter(row["list_id"] for rows in by_list.values() for row in rows)
            passes = [(r, m, True) for r in requests for m in modes
                      if r.pivots.get(m.name) and counts[r.list_id] < r.want]
        rows_in = {"ASC": [], "DESC": []}
        for r, m, _ in passes:
            pivot = r.pivots.get(m.name, 0)
            if r.strategy == "newest":
                span = (0, MAX_ID) if not pivot else ((pivot, MAX_ID) if wrap else (0, pivot))
                rows_in["DESC"].append((r.list_id, m.name, _max(m), *span, r.want))
            else:
                span = (0, pivot) if wrap else (pivot, MAX_ID)
                rows_in["ASC"].append((r.list_id, m.name, _max(m), *span, r.want))
        for direction, rows in rows_in.items():
            if not rows:
                continue
            for row in await _fresh(conn, gate, rows, direction, lock_sql):
                mode = mode_by_name[row["call_mode"]]
                position = row["id"] if direction == "ASC" else -row["id"]
                attempts = row["attempts"] if strategies[row["list_id"]] == "fewest_attempts" else 0
                by_list[row["list_id"]].append(
                    {**row, "_order": (1, 1, mode.rank, 1, (int(wrap), attempts, position)), "_fresh": True})

    for list_id, rows in by_list.items():
        seen, unique = set(), []
        for row in sorted(rows, key=lambda r: r["_order"]):
            if row["id"] not in seen:
                seen.add(row["id"])
                unique.append(row)
        by_list[list_id] = unique
    return by_list


async def _fresh(conn, gate: Gate, rows_in: list[tuple], direction: str, lock_sql: str):
    p = Params()
    columns = [list(col) for col in zip(*rows_in)]
    casts = ["bigint[]", "text[]", "int[]", "bigint[]", "bigint[]", "int[]"]
    unnest = ", ".join(p(col, cast) for col, cast in zip(columns, casts))
    sql = f"""SELECT c.* FROM unnest({unnest}) AS p(list_id, mode, max_att, lo, hi, k)
            CROSS JOIN LATERAL (
                SELECT {LEAD_COLUMNS} FROM lead l
                WHERE l.list_id = p.list_id AND l.call_mode = p.mode
                  AND NOT l.completed AND l.valid AND l.next_attempt_at IS NULL
                  AND l.id >= p.lo AND l.id < p.hi AND l.attempts < p.max_att
                  AND {_unleased(p(gate.now, 'timestamptz'))} AND {_gate_sql(gate, p)}
                ORDER BY l.id {direction} LIMIT p.k {lock_sql}) c"""
    return await conn.fetch(sql, *p.args)


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


async def claim(conn, gate: Gate, owner: str, lease_until: dt.datetime, requests: list[ListRequest],
                modes: list[Mode], callbacks: int) -> dict[int, list[dict]]:
    """Lease up to `want` leads per list; returns them per list in dial order."""
    found = await candidates(conn, gate, requests, modes, callbacks, lock=True)
    wants = {r.list_id: r.want for r in requests}
    chosen = {list_id: rows[:wants[list_id]] for list_id, rows in found.items()}
    ids = [row["id"] for rows in chosen.values() for row in rows]
    if ids:
        await conn.execute("UPDATE lead SET lease_owner = $2, lease_expires_at = $3 WHERE id = ANY($1::bigint[])",
                           ids, owner, lease_until)
    return chosen


async def recheck(conn, campaign_id: int, owner: str, now: dt.datetime, ids: list[int],
                  release: list[int]) -> list[int]:
    """Dial-time check: of `ids`, those we still hold and whose number is not on a DNC
    list now. Releases `release` and the ids that fail, in the same transaction."""
    ok = [r["id"] for r in await conn.fetch(
        """SELECT l.id FROM lead l WHERE l.id = ANY($1::bigint[]) AND l.lease_owner = $2
             AND l.lease_expires_at > $3 AND NOT l.completed
             AND NOT EXISTS (SELECT 1 FROM dnc d WHERE d.phone = l.phone
                             AND (d.campaign_id IS NULL OR d.campaign_id = $4))""",
        ids, owner, now, campaign_id)]
    good = set(ok)
    release = list(release) + [i for i in ids if i not in good]
    if release:
        await release_leads(conn, owner, release)
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
