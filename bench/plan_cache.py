"""Custom or generic plans? Each of the engine's hot statements, and the web searches `dialer run`
also serves from its pool, planned and run under each PostgreSQL plan_cache_mode at 10 M leads.

    flock /work/bench.lock .venv/bin/python bench/plan_cache.py [--batch 50] [--runs 8] [--web]

Uses bench/hopper.py's database (`dialer_bench_hopper`: run that bench once to load it). In one
transaction, rolled back at the end, the engine's units run for real in the order a node runs them
(hopper claim of 4 leads from each of the 50 lists, lease renewal, take-time re-check, launch round,
journal close, release); just before each of their statements runs, it is replayed as a SQL-level
prepared statement (`PREPARE`, then `EXPLAIN (ANALYZE) EXECUTE` with the same values) `--runs`
times under each mode, each run in a savepoint rolled back, so every mode sees the same rows.
Prints, per statement and mode, the median planning and execution time of the runs after the
fifth (under `auto` PostgreSQL makes custom plans for the first five, then picks) and how many
generic and custom plans were made. `--web` adds the lead search, validation listing, DNC list
and operator history statements (2 runs each, custom and generic only: several scan the table).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import statistics
import sys
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import hopper as bench  # noqa: E402  (bench/hopper.py: its database, gate and instant)
from dialer.store import Store  # noqa: E402
from dialer.store import dnc, lead_ops, web  # noqa: E402
from dialer.store import hopper as sql  # noqa: E402
from dialer.store.attempts import AttemptEnd, AttemptStart, finish_attempts  # noqa: E402
from dialer.store.launch import recheck_and_start  # noqa: E402
from dialer.store.rules import load_rules  # noqa: E402
from dialer.store.validation import validation_listing  # noqa: E402

ALL_MODES = ("auto", "force_custom_plan", "force_generic_plan")


def literal(value) -> str:
    """A parameter value as SQL text for EXECUTE (PostgreSQL casts it to the parameter's type)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        items = ["NULL" if v is None else str(v) if isinstance(v, int) and not isinstance(v, bool)
                 else '"' + (v.isoformat() if isinstance(v, dt.datetime) else str(v))
                 .replace("\\", "\\\\").replace('"', '\\"') + '"' for v in value]
        return literal("{" + ",".join(items) + "}")
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        value = value.isoformat()
    if isinstance(value, dt.timedelta):
        value = f"{value.total_seconds()} seconds"
    return "'" + str(value).replace("'", "''") + "'"


class Replaying:
    """An asyncpg connection that, before running a statement with parameters, replays it under
    each mode and records what the plans cost (`rows`)."""

    def __init__(self, conn, label: str, modes, runs: int, rows: list):
        self.conn, self.label, self.modes, self.runs, self.rows = conn, label, modes, runs, rows

    def __getattr__(self, name):
        return getattr(self.conn, name)

    async def _replay(self, query: str, args) -> None:
        if not args:
            return  # no parameters: one plan whatever the mode
        values = ", ".join(literal(a) for a in args)
        for mode in self.modes:
            timings = []
            await self.conn.execute(f"SET LOCAL plan_cache_mode = {mode}")
            await self.conn.execute(f"PREPARE replayed AS {query}")
            try:
                for _ in range(self.runs):
                    await self.conn.execute("SAVEPOINT replay")
                    out = "\n".join(r[0] for r in await self.conn.fetch(
                        f"EXPLAIN (ANALYZE) EXECUTE replayed({values})"))
                    await self.conn.execute("ROLLBACK TO SAVEPOINT replay")
                    planning = re.search(r"Planning Time: ([\d.]+)", out)
                    timings.append((float(planning.group(1)) if planning else 0.0,
                                    float(re.search(r"Execution Time: ([\d.]+)", out).group(1)),
                                    [line.strip() for line in out.splitlines() if "Seq Scan on" in line]))
                generic, custom = await self.conn.fetchrow(
                    "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'replayed'")
            finally:
                await self.conn.execute("DEALLOCATE replayed")
            steady = timings[5:] or timings[-1:]
            seq = sorted({re.search(r"Seq Scan on (\w+)", s).group(1) for s in steady[-1][2]})
            self.rows.append((self.label, mode, statistics.median(t[0] for t in steady),
                              statistics.median(t[1] for t in steady), generic, custom, seq,
                              " ".join(query.split())[:60]))
        await self.conn.execute("RESET plan_cache_mode")

    async def fetch(self, query, *args, **kw):
        await self._replay(query, args)
        return await self.conn.fetch(query, *args, **kw)

    async def fetchrow(self, query, *args, **kw):
        await self._replay(query, args)
        return await self.conn.fetchrow(query, *args, **kw)

    async def fetchval(self, query, *args, **kw):
        await self._replay(query, args)
        return await self.conn.fetchval(query, *args, **kw)

    async def execute(self, query, *args, **kw):
        await self._replay(query, args)
        return await self.conn.execute(query, *args, **kw)


async def engine_units(conn, cid, setup, batch, modes, runs, rows):
    """A node's round: claim, renew, re-check, launch, close, release (as bench/hopper.py's gate)."""
    def replaying(label):
        return Replaying(conn, label, modes, runs, rows)

    now, owner = bench.AT, "plan-cache-bench"
    spans = {r["list_id"]: (r["lo"], r["hi"]) for r in await conn.fetch(
        "SELECT list_id, min(id) AS lo, max(id) AS hi FROM lead WHERE campaign_id = $1 GROUP BY list_id", cid)}
    # From the last quarter of each list: bench/hopper.py's kinds claim from the first three.
    requests = [sql.ListRequest(l["id"], l["strategy"], 4, {"new": lo + (hi - lo) * 3 // 4})
                for l in setup["lists"] for lo, hi in [spans[l["id"]]]]
    got = await sql.claim(replaying("hopper claim"), bench.full_gate(cid, setup, now), owner,
                          now + dt.timedelta(minutes=1), requests, setup["modes"], 10)
    leads = [row for rows in got.values() for row in rows]
    random.Random(1).shuffle(leads)
    ids = [lead["id"] for lead in leads]
    await sql.renew(replaying(f"renew {len(ids)}"), owner, ids, now, now + dt.timedelta(minutes=2))
    campaign = setup["campaign"]
    check = sql.Check(cid, owner, now, campaign["abandon_lockout"], campaign["max_daily_attempts_per_number"])
    await sql.recheck(replaying(f"recheck {batch}"), check, ids[:batch], [], [lead["phone"] for lead in leads[:batch]])
    starts = [AttemptStart(lead["id"], cid, lead["phone"], now, list_id=lead["list_id"], node=owner, trunk="t1",
                           call_id=f"c{lead['id']}", caller_number="+12025550100", lead_timezone=lead["timezone"],
                           lead_region=lead["region"], call_mode=lead["call_mode"])
              for lead in leads[batch:2 * batch]]
    passed = await recheck_and_start(replaying(f"launch {len(starts)}"), check, [s.lead_id for s in starts], [],
                                     starts)
    ends = [AttemptEnd(a, "no_answer", now + dt.timedelta(seconds=30)) for a in passed.values() if a]
    await finish_attempts(replaying(f"journal close {len(ends)}"), ends, rules=await load_rules(conn, [cid]))
    await sql.release_leads(replaying(f"release {len(ids) - 2 * batch}"), owner, ids[2 * batch:])


async def web_units(conn, cid, rows):
    """What the pages ask of the same pool (`dialer run` serves them from the engine's store)."""
    def replaying(label):
        return Replaying(conn, label, ("force_custom_plan", "force_generic_plan"), 2, rows)

    for q in ({"status": "NEW"}, {"campaign": "bench"}, {"list": "list-07"}, {"phone": "+12000000123"},
              {"id": "1234"}, {"completed": True}, {"campaign": "bench", "status": "CALLBK"},
              {"contacted_from": bench.AT - dt.timedelta(days=1)}):
        await lead_ops.search_leads(replaying("search " + "+".join(q)), {**q, "limit": 100})
    await validation_listing(replaying("validation listing"), cid, "unconfirmed", 50)
    await dnc.list_dnc(replaying("dnc list (campaign)"), cid, False, 100)
    await dnc.list_dnc(replaying("dnc list (all)"), None, True, 100)
    await web.operator_calls(replaying("operator calls"), 1, 50)


async def main(args) -> None:
    url, server = bench.server_url(args.database_url)
    rows: list = []
    try:
        async with Store.open(bench.with_database(url, bench.DB_NAME), max_size=1) as store:
            cid = await store.fetchval("SELECT id FROM campaign WHERE name = 'bench'")
            if cid is None:
                raise SystemExit(f"no bench campaign in {bench.DB_NAME}: run bench/hopper.py once first")
            setup = await store.run(sql.load_setup, cid)
            leads = await store.fetchval("SELECT reltuples::bigint FROM pg_class WHERE relname = 'lead'")

            async def everything(conn):
                await engine_units(conn, cid, setup, args.batch, ALL_MODES, args.runs, rows)
                if args.web:
                    await web_units(conn, cid, rows)
                raise _RollBack  # leave the bench database as it was

            try:
                await store.run(everything)
            except _RollBack:
                pass
    finally:
        if server is not None:
            server.stop()
    print(f"~{leads:,} leads; per statement and mode: median planning / execution time of runs "
          f"6-{args.runs} (engine) or the 2nd run (web), plans made (generic/custom), sequential scans")
    for label, mode, planning, execution, generic, custom, seq, text in rows:
        print(f"  {label:<24} {mode:<19} plan {planning:6.3f} ms  exec {execution:9.3f} ms  "
              f"plans {generic}/{custom}  seq scan: {', '.join(seq) or '-':<10} {text}")


class _RollBack(Exception):
    pass


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=50, help="leads re-checked and launched (of the 200 claimed)")
    parser.add_argument("--runs", type=int, default=8, help="EXECUTEs per statement and mode (engine units)")
    parser.add_argument("--web", action="store_true", help="also the web searches (slow: table scans)")
    parser.add_argument("--database-url", help="server to use (default $DIALER_DATABASE_URL, else embedded)")
    trio.run(main, parser.parse_args())
