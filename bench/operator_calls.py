"""The operator page's "my calls" (`dialer.store.web.operator_calls`) on a big attempt table,
with the operator index (migration 061) and, as the reference in the same run, without it.

    .venv/bin/python bench/operator_calls.py [--attempts 2000000] [--operators 100] [--runs 5]
                                             [--database-url URL]

Builds a throwaway database (`dialer_bench_operator_calls` on DIALER_DATABASE_URL's server, or
the embedded server in .dialer/pg-bench) with `--attempts` attempts over 90 days, one in three
put through to one of `--operators` operators (as on the simulator's day), then times the page's
query for 20 operators, `--runs` times each, with the index and after dropping it. Prints the
median and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dialer.store import Store, migrate, web  # noqa: E402

import hopper as bench  # noqa: E402  (bench/hopper.py: server_url, with_database)

DB_NAME = "dialer_bench_operator_calls"


async def _fill(conn, attempts: int, operators: int) -> list[int]:
    cid = await conn.fetchval("INSERT INTO campaign (name) VALUES ('bench') RETURNING id")
    lid = await conn.fetchval("INSERT INTO lead_list (campaign_id, name) VALUES ($1, 'l') RETURNING id", cid)
    await conn.execute("INSERT INTO lead (campaign_id, list_id, phone, timezone) "
                       "SELECT $1, $2, '+1202' || lpad(g::text, 7, '0'), 'America/New_York' "
                       "FROM generate_series(1, 100000) g", cid, lid)
    ops = [r["id"] for r in await conn.fetch(
        "INSERT INTO operator (name) SELECT 'op' || g FROM generate_series(1, $1) g RETURNING id", operators)]
    await conn.execute(
        """INSERT INTO attempt (lead_id, campaign_id, list_id, called_number, started_at, ended_at, outcome, operator_id)
           SELECT l0 + 1 + g % 100000, $1, $2, '+1202' || lpad((1 + g % 100000)::text, 7, '0'),
                  now() - (g * 90 * 86400.0 / $5) * interval '1 second',
                  now() - (g * 90 * 86400.0 / $5) * interval '1 second' + interval '1 minute',
                  CASE WHEN g % 3 = 0 THEN 'answered' ELSE 'no_answer' END,
                  CASE WHEN g % 3 = 0 THEN ($3::bigint[])[1 + (g / 3) % $4] END
           FROM generate_series(1, $5) g, (SELECT min(id) - 1 AS l0 FROM lead) l""",
        cid, lid, ops, operators, attempts)
    await conn.execute("ANALYZE")
    return ops


async def _time(store, ops: list[int], runs: int) -> float:
    """Median milliseconds of one page's query, over 20 operators × `runs`."""
    times = []
    for _ in range(runs):
        for op in ops[:20]:
            started = time.perf_counter()
            calls = await store.run(web.operator_calls, op, 50)
            times.append((time.perf_counter() - started) * 1000)
            assert len(calls) == 50
    return statistics.median(times)


async def main(args) -> None:
    url, server = bench.server_url(args.database_url)
    try:
        async with Store.open(url, max_size=1) as admin:
            await admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{DB_NAME}"')
        async with Store.open(bench.with_database(url, DB_NAME), max_size=1) as store:
            await migrate(store)
            started = time.perf_counter()
            ops = await store.run(_fill, args.attempts, args.operators)
            print(f"{args.attempts:,} attempts, {args.operators} operators, filled in "
                  f"{time.perf_counter() - started:.1f} s", flush=True)
            await _time(store, ops, 1)                       # warm the cache
            with_index = await _time(store, ops, args.runs)
            await store.execute("DROP INDEX attempt_operator_idx")
            await _time(store, ops, 1)
            without = await _time(store, ops, args.runs)
        async with Store.open(url, max_size=1) as admin:
            await admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    finally:
        if server is not None:
            server.stop()
    print(f"operator_calls (50 newest), median of {20 * args.runs} page loads:")
    print(f"  with attempt_operator_idx     {with_index:9.3f} ms")
    print(f"  without it (reference)        {without:9.3f} ms")
    print(f"  ratio                         {with_index / without:9.4f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attempts", type=int, default=2_000_000)
    parser.add_argument("--operators", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", help="server to use (default $DIALER_DATABASE_URL, else embedded)")
    trio.run(main, parser.parse_args())
