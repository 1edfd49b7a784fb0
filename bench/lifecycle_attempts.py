"""How many calls per second can the engine's lifecycle units of work record?

Per batch of B calls: one `start_attempts` (rows written before the INVITEs)
and one `finish_attempts` (outcomes + each lead's next state). Reference in
the same run: the same number of crossings of a trivial unit (`SELECT 1`), so
the ratio says how much of the cost is our SQL rather than the bridge.

    .venv/bin/python bench/lifecycle_attempts.py [--batch 250] [--leads 20000] [--runs 5]
        [--plan-cache-mode auto,force_generic_plan]

Uses $DIALER_DATABASE_URL or the embedded server in .dialer/pg-bench, in a
scratch database that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import statistics
import time
from pathlib import Path

import trio

from dialer.store import Store, migrate
from dialer.store.attempts import AttemptEnd, AttemptStart, finish_attempts, start_attempts
from dialer.store.campaigns import create_campaign
from dialer.store.rules import load_rules

ROOT = Path(__file__).resolve().parent.parent
OUTCOMES = ["no_answer"] * 5 + ["busy"] * 2 + ["answered"] * 2 + ["machine", "failed", "invalid"]
START = dt.datetime(2026, 3, 2, 15, tzinfo=dt.timezone.utc)


def _with_db(url: str, name: str) -> str:
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


async def _seed(conn, leads: int):
    c = await create_campaign(conn, {"name": "bench"})
    lid = await conn.fetchval("INSERT INTO lead_list (campaign_id, name) VALUES ($1, 'l') RETURNING id", c["id"])
    await conn.execute(
        """INSERT INTO lead (campaign_id, list_id, phone, timezone)
           SELECT $1, $2, '+1202' || lpad(g::text, 7, '0'), 'America/New_York' FROM generate_series(1, $3) g""",
        c["id"], lid, leads)
    ids = [r[0] for r in await conn.fetch("SELECT id FROM lead ORDER BY id")]
    return c["id"], lid, ids


async def _noop(conn):
    return await conn.fetchval("SELECT 1")


async def bench(url: str, batch: int, leads: int, runs: int, modes: list[str | None]) -> None:
    async with contextlib.AsyncExitStack() as stack:
        # One pool per plan cache mode (a server setting of its connections), used by turns.
        stores = {}
        for mode in modes:
            stores[mode] = await stack.enter_async_context(
                Store.open(url, server_settings={"plan_cache_mode": mode} if mode else None))
        store = stores[modes[0]]
        await migrate(store)
        cid, lid, ids = await store.run(_seed, leads)
        rules = await store.run(load_rules, [cid])
        rng = random.Random(1)
        calls_per_run = (leads // batch // (runs * len(modes))) * batch
        rates, ref_rates, start_ms, finish_ms = ({m: [] for m in modes} for _ in range(4))
        cursor = 0
        for run in range(runs):
            for mode in (modes if run % 2 == 0 else modes[::-1]):
                store = stores[mode]
                t0 = time.perf_counter()
                for _ in range(calls_per_run // batch):
                    chunk = ids[cursor:cursor + batch]
                    cursor += batch
                    now = START + dt.timedelta(seconds=cursor)
                    t1 = time.perf_counter()
                    attempt_ids = await store.run(start_attempts, [
                        AttemptStart(i, cid, "+12025550000", now, list_id=lid, node="bench") for i in chunk])
                    t2 = time.perf_counter()
                    await store.run(lambda conn, e: finish_attempts(conn, e, rules=rules), [
                        AttemptEnd(a, rng.choice(OUTCOMES), now + dt.timedelta(seconds=30)) for a in attempt_ids])
                    start_ms[mode].append(1000 * (t2 - t1))
                    finish_ms[mode].append(1000 * (time.perf_counter() - t2))
                rates[mode].append(calls_per_run / (time.perf_counter() - t0))
                t0 = time.perf_counter()
                for _ in range(2 * (calls_per_run // batch)):
                    await store.run(_noop)
                ref_rates[mode].append(calls_per_run / (time.perf_counter() - t0))
        for mode in modes:
            med, ref = statistics.median(rates[mode]), statistics.median(ref_rates[mode])
            label = f" [plan_cache_mode {mode}]" if mode else ""
            print(f"batch {batch}{label}: {med:,.0f} calls/s recorded (start+finish), median of {runs} runs "
                  f"({', '.join(f'{r:,.0f}' for r in rates[mode])})")
            print(f"reference (2 trivial crossings per batch): {ref:,.0f} calls/s; ratio {med / ref:.2f}")
            print(f"per batch: {1000 * batch / med:.1f} ms for {batch} calls "
                  f"(median start_attempts {statistics.median(start_ms[mode]):.1f} ms, "
                  f"finish_attempts {statistics.median(finish_ms[mode]):.1f} ms)")


async def _admin(url: str, sql: str) -> None:
    async with Store.open(url, max_size=1) as s:
        await s.execute(sql)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--leads", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--plan-cache-mode", metavar="MODE[,MODE...]",
                    help="plan_cache_mode of the bench's connections; several, comma-separated, by turns "
                         "in each run (default: the server's own setting)")
    a = ap.parse_args()
    server = None
    base = os.environ.get("DIALER_DATABASE_URL")
    if not base:
        from dialer.store.embedded import start_embedded

        server = start_embedded(ROOT / ".dialer" / "pg-bench")
        base = server.url
    name = f"dialer_bench_lifecycle_{os.getpid()}"
    try:
        trio.run(_admin, base, f'CREATE DATABASE "{name}"')
        try:
            modes = [m.strip() for m in a.plan_cache_mode.split(",")] if a.plan_cache_mode else [None]
            trio.run(bench, _with_db(base, name), a.batch, a.leads, a.runs, modes)
        finally:
            trio.run(_admin, base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        if server:
            server.stop()


if __name__ == "__main__":
    main()
