"""Hopper benchmark: claim throughput and claim-batch latency on a big lead table.

    .venv/bin/python bench/hopper.py --leads 10000000 [--runs 5] [--database-url URL]

Loads N leads over 50 lists and 40 timezones with SQL generate_series into a
database of its own (`dialer_bench_hopper` on DIALER_DATABASE_URL's server, or
the embedded server in .dialer/pg-bench), unless it already holds exactly N
leads (then it is reused: loading 10 M rows takes minutes). Then, several runs of:

* hopper claim:  the hopper's unit of work (`dialer.store.hopper.claim`: expired
  lease sweep, callbacks, due and fresh candidates per list and mode with the
  window-key, DNC, lock-out and daily-limit checks, lease UPDATE) for all 50
  lists, `--per-list` leads each, repeated for `--seconds`;
* Hopper.take:   the in-memory hopper end to end (refills + take-time re-check);
* reference:     the plainest claim (one UPDATE ... WHERE id IN (SELECT ... FOR
  UPDATE SKIP LOCKED) from one list at a time, no rules) in batches of the same
  size, as the yardstick of this machine at this moment (it is shared: compare
  ratios, not only absolutes).

Prints leads/s and p50/p99 batch latency per kind (median over runs).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dialer.clock import Clock  # noqa: E402
from dialer.compliance.keys import KeyWindows  # noqa: E402
from dialer.queue.hopper import Hopper  # noqa: E402
from dialer.store import Store, migrate  # noqa: E402
from dialer.store import hopper as sql  # noqa: E402
from dialer.store.campaigns import create_campaign  # noqa: E402

DB_NAME = "dialer_bench_hopper"
LISTS = 50
ZONES = [
    "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
    "America/Anchorage", "Pacific/Honolulu", "America/Detroit", "America/Indiana/Indianapolis",
    "America/Kentucky/Louisville", "America/Boise", "America/Puerto_Rico", "America/Halifax", "America/Toronto",
    "America/Vancouver", "America/Winnipeg", "America/Edmonton", "America/Regina", "America/St_Johns",
    "America/Mexico_City", "America/Bogota", "America/Lima", "America/Santiago", "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires", "America/Caracas", "America/Guatemala", "America/Panama", "America/Havana",
    "America/Jamaica", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin",
    "Europe/Madrid", "Europe/Rome", "Europe/Athens", "Europe/Helsinki", "Europe/Moscow"]
REGIONS = [None, None, None, "FL", "TX", "CA", "NY", "PA", "WA", "KY"]
# Monday 18:00 UTC: 13:00 in New York, 08:00 in Honolulu, 21:00 in Moscow (closed).
AT = dt.datetime(2026, 3, 2, 18, 0, tzinfo=dt.timezone.utc)


def server_url(url: str | None):
    url = url or os.environ.get("DIALER_DATABASE_URL")
    if url:
        return url, None
    from dialer.store.embedded import start_embedded
    server = start_embedded(ROOT / ".dialer" / "pg-bench")
    return server.url, server


def with_database(url: str, name: str) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path="/" + name))


async def prepare(url: str, leads: int, fresh: bool) -> int:
    async with Store.open(url, max_size=1) as admin:
        if fresh:
            await admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DB_NAME)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{DB_NAME}"')
    db = with_database(url, DB_NAME)
    async with Store.open(db, max_size=2) as store:
        await migrate(store)
        cid = await store.fetchval("SELECT id FROM campaign WHERE name = 'bench'")
        have = await store.fetchval("SELECT count(*) FROM lead") if cid else 0
        if cid and have == leads:
            print(f"reusing {have:,} leads in {DB_NAME}", flush=True)
            await store.execute("UPDATE lead SET lease_owner = NULL, lease_expires_at = NULL "
                                "WHERE lease_owner IS NOT NULL")
            await store.execute("VACUUM lead")
            return cid
        await store.execute("TRUNCATE lead, lead_list, campaign, lead_window_key CASCADE")
        cid = (await store.run(create_campaign, {"name": "bench", "calling_start": dt.time(8),
                                                 "calling_end": dt.time(21)}))["id"]
        for i in range(LISTS):
            await store.execute("INSERT INTO lead_list (campaign_id, name, weight, to_dial) VALUES ($1, $2, $3, true)",
                                cid, f"list-{i:02d}", 50 + (i * 37) % 150)
        started = time.perf_counter()
        # Bulk load the way a restore would: indexes and the window-key trigger off,
        # then indexes rebuilt and keys collected in one pass each.
        indexes = await store.fetch("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'lead' "
                                    "AND indexname <> 'lead_pkey'")
        for row in indexes:
            await store.execute(f'DROP INDEX "{row["indexname"]}"')
        await store.execute("ALTER TABLE lead DISABLE TRIGGER lead_window_key_insert")
        chunk = 1_000_000
        per_list = -(-leads // LISTS)
        for lo in range(1, leads + 1, chunk):
            hi = min(lo + chunk - 1, leads)
            # A list is a contiguous id range (each list is one import); zones and
            # regions are interleaved inside it.
            await store.execute(
                """INSERT INTO lead (campaign_id, list_id, phone, timezone, region)
                   SELECT $1, (SELECT min(id) FROM lead_list WHERE campaign_id = $1) + (g - 1) / $4,
                          '+1' || (2000000000 + g)::text, ($5::text[])[1 + g % $6],
                          ($7::text[])[1 + (g / 7) % $8]
                   FROM generate_series($2::bigint, $3::bigint) g""",
                cid, lo, hi, per_list, ZONES, len(ZONES), REGIONS, len(REGIONS))
            rate = hi / (time.perf_counter() - started)
            print(f"  loaded {hi:,} leads ({rate:,.0f}/s)", flush=True)
        await store.execute("ALTER TABLE lead ENABLE TRIGGER lead_window_key_insert")
        await store.execute("INSERT INTO lead_window_key (campaign_id, key) SELECT DISTINCT campaign_id, "
                            "lead_window_key(timezone, timezones, region, country) FROM lead ON CONFLICT DO NOTHING")
        for row in indexes:
            t = time.perf_counter()
            await store.execute(row["indexdef"])
            print(f"  index {row['indexname']} built in {time.perf_counter() - t:.0f} s", flush=True)
        await store.execute("VACUUM ANALYZE lead")
        print(f"loaded {leads:,} leads in {time.perf_counter() - started:.0f} s", flush=True)
        return cid


def summary(name: str, batches: list[float], claimed: int, elapsed: float) -> dict:
    batches = sorted(batches)
    p99 = batches[min(len(batches) - 1, int(len(batches) * 0.99))] if batches else float("nan")
    return {"name": name, "rate": claimed / elapsed if elapsed else 0.0, "batches": len(batches),
            "p50_ms": statistics.median(batches) * 1000 if batches else float("nan"), "p99_ms": p99 * 1000,
            "per_batch": claimed / max(1, len(batches))}


async def run_claims(store, cid, setup, per_list, seconds, node, at):
    windows = KeyWindows(setup["campaign"], setup["keys"])
    gate = sql.Gate(cid, at, setup["auto_statuses"], windows.open_at(at))
    lists = [sql.ListRequest(l["id"], l["strategy"], per_list) for l in setup["lists"]]
    lease_until = at + dt.timedelta(hours=1)
    await store.run(sql.claim, gate, node, lease_until, lists, setup["modes"], per_list)  # warm-up
    batches, claimed = [], 0
    begin = time.perf_counter()
    while time.perf_counter() - begin < seconds:
        t = time.perf_counter()
        got = await store.run(sql.claim, gate, node, lease_until, lists, setup["modes"], per_list)
        batches.append(time.perf_counter() - t)
        claimed += sum(len(v) for v in got.values())
        for request in lists:  # the cursors, as the Hopper keeps them
            for row in got.get(request.list_id, []):
                if row.get("_fresh"):
                    request.pivots[row["call_mode"]] = max(request.pivots.get(row["call_mode"], 0), row["id"] + 1)
    result = summary("hopper claim", batches, claimed, time.perf_counter() - begin)
    await release(store, node)
    return result


async def release(store, node):
    """Give the run's leases back, as a node does at shutdown, so the next run does
    not start by walking over hundreds of thousands of leads held by a gone node."""
    await store.execute("UPDATE lead SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = $1",
                        node)


async def _plain_claim(conn, list_id, node, until, now, after, n):
    rows = await conn.fetch(
        """UPDATE lead SET lease_owner = $2, lease_expires_at = $3 WHERE id IN (
               SELECT id FROM lead WHERE list_id = $1 AND call_mode = 'new' AND NOT completed AND valid
                 AND next_attempt_at IS NULL
                 AND (lease_owner IS NULL OR lease_expires_at <= $4) AND id > $5
               ORDER BY id LIMIT $6 FOR UPDATE SKIP LOCKED)
           RETURNING id""", list_id, node, until, now, after, n)
    return [r["id"] for r in rows]


async def run_reference(store, setup, batch, seconds, node, at):
    """The yardstick: the plainest SKIP LOCKED claim of `batch` leads from one list (by
    turns), with a cursor, no rules at all."""
    lists = [l["id"] for l in setup["lists"]]
    cursors = dict.fromkeys(lists, 0)
    batches, claimed, i = [], 0, 0
    await store.run(_plain_claim, lists[-1], node, at + dt.timedelta(hours=1), at, 0, batch)  # warm-up
    begin = time.perf_counter()
    while time.perf_counter() - begin < seconds:
        lid = lists[i % len(lists)]
        i += 1
        t = time.perf_counter()
        ids = await store.run(_plain_claim, lid, node, at + dt.timedelta(hours=1), at, cursors[lid], batch)
        batches.append(time.perf_counter() - t)
        claimed += len(ids)
        cursors[lid] = max(ids, default=cursors[lid])
    result = summary("reference plain claim", batches, claimed, time.perf_counter() - begin)
    await release(store, node)
    return result


async def run_hopper(store, cid, take, seconds, node, at):
    hopper = Hopper(store, Clock(at), cid, node, lease=dt.timedelta(hours=1), min_batch=take * 2)
    for lead in await hopper.take(take):  # warm-up: loads the campaign, first refill
        hopper.done(lead.id)
    batches, claimed = [], 0
    begin = time.perf_counter()
    while time.perf_counter() - begin < seconds:
        t = time.perf_counter()
        got = await hopper.take(take)
        batches.append(time.perf_counter() - t)
        claimed += len(got)
        for lead in got:  # as if each call ended at once: the hopper stops renewing its lease
            hopper.done(lead.id)
    result = summary("Hopper.take", batches, claimed, time.perf_counter() - begin)
    await hopper.release_all()
    await release(store, node)
    return result


async def main(args) -> None:
    url, server = server_url(args.database_url)
    try:
        cid = await prepare(url, args.leads, args.fresh)
        async with Store.open(with_database(url, DB_NAME), max_size=2) as store:
            setup = await store.run(sql.load_setup, cid)
            print(f"{len(setup['keys'])} window keys, {len(KeyWindows(setup['campaign'], setup['keys']).open_at(AT))}"
                  f" open at {AT.isoformat()}", flush=True)
            results: dict[str, list[dict]] = {}
            for run in range(args.runs):
                for kind in ("reference", "claim", "take"):
                    node = f"bench-{run}-{kind}"
                    if kind == "reference":
                        r = await run_reference(store, setup, args.per_list * LISTS, args.seconds, node, AT)
                    elif kind == "claim":
                        r = await run_claims(store, cid, setup, args.per_list, args.seconds, node, AT)
                    else:
                        r = await run_hopper(store, cid, args.take, args.seconds, node, AT)
                    results.setdefault(r["name"], []).append(r)
                    print(f"run {run + 1}: {r['name']:<22} {r['rate']:>9,.0f} leads/s  p50 {r['p50_ms']:6.1f} ms"
                          f"  p99 {r['p99_ms']:6.1f} ms  ({r['batches']} batches of ~{r['per_batch']:.0f})",
                          flush=True)
            print(f"\nmedian of {args.runs} runs, {args.leads:,} leads, {LISTS} lists, {len(ZONES)} zones:")
            ref = statistics.median(r["rate"] for r in results["reference plain claim"])
            for name, runs in results.items():
                rate = statistics.median(r["rate"] for r in runs)
                print(f"  {name:<22} {rate:>9,.0f} leads/s ({rate / ref:.2f}x reference)"
                      f"  p50 {statistics.median(r['p50_ms'] for r in runs):6.1f} ms"
                      f"  p99 {statistics.median(r['p99_ms'] for r in runs):6.1f} ms")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each measurement")
    parser.add_argument("--per-list", type=int, default=4, help="leads claimed per list per batch (50 lists)")
    parser.add_argument("--take", type=int, default=50, help="Hopper.take batch size")
    parser.add_argument("--fresh", action="store_true", help="drop and reload the bench database")
    parser.add_argument("--database-url", help="server to use (default $DIALER_DATABASE_URL, else embedded)")
    trio.run(main, parser.parse_args())
