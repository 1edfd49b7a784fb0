"""Hopper benchmark: claim throughput and claim-batch latency on a big lead table.

    flock /work/bench.lock .venv/bin/python bench/hopper.py [--leads 10000000] [--runs 3] [--fresh]
        [--plan-cache-mode auto,force_generic_plan]

Loads N leads over 50 lists and 40 timezones with SQL generate_series into a
database of its own (`dialer_bench_hopper` on DIALER_DATABASE_URL's server, or
the embedded server in .dialer/pg-bench), unless it already holds exactly N
leads (then it is reused: loading 10 M rows takes minutes). So that every rule
costs what it costs in production, the campaign has an abandon lock-out (72 h)
and a daily limit per number (3), 1 % of the leads' numbers are on the DNC list
(plus 100,000 other numbers), and 2 % have attempts in the last days (half of
them an abandoned call inside the lock-out, half 3 attempts today). Then,
several runs of:

* hopper claim:  the hopper's unit of work (`dialer.store.hopper.claim`:
  callbacks, due and fresh candidates per list and mode with the window-key,
  status, attempts, DNC, lock-out and daily-limit checks, lease UPDATE) for all
  50 lists, `--per-list` leads each, repeated for `--seconds`;
* Hopper.take:   the in-memory hopper end to end (refills + take-time re-check);
* reference:     the plainest claim (one UPDATE ... WHERE id IN (SELECT ... FOR
  UPDATE SKIP LOCKED) from one list at a time, no rules) in batches of the same
  size, as the yardstick of this machine at this moment (it is shared: compare
  ratios, not only absolutes).

Each kind claims from its own third of every list and keeps its scan cursors
from run to run (as a node does), so every run claims leads nobody claimed before
(Hopper.take: a new node each run, from the top of the list), and gives its leases back at the end of the
run in the batches it took them (a node's leases end one call at a time: one
UPDATE over a whole run's leads would rewrite the table's head in a way no node
does, and slow every later run down). Prints leads/s and p50/p99 batch latency
per kind (median over runs), the ratio to the reference, and whether the issue's
target (>= 20,000 leads/s and p99 <= 20 ms at 10 M leads) is met.

`--plan-cache-mode` sets PostgreSQL's plan_cache_mode as a server setting of the
bench's pool (as `Store.open(server_settings=...)` does for the daemon); with
several modes, each gets a pool of its own and every kind of every run is measured
once per mode, by turns, and the summary is given per mode.
"""

from __future__ import annotations

import argparse
import contextlib
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
            # Leases left by an interrupted run (a finished run gives its own back).
            leftover = await store.execute("UPDATE lead SET lease_owner = NULL, lease_expires_at = NULL "
                                           "WHERE lease_owner IS NOT NULL")
            if leftover != "UPDATE 0":
                await store.execute("VACUUM lead")
            await add_rule_data(store, cid)
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
        await add_rule_data(store, cid)
        return cid


async def add_rule_data(store, cid) -> None:
    """DNC entries, recent attempts and the campaign's lock-out and daily limit, so the
    claim's per-lead checks find something (once per database)."""
    await store.execute("UPDATE campaign SET abandon_lockout = interval '72 hours', "
                        "max_daily_attempts_per_number = 3 WHERE id = $1", cid)
    if await store.fetchval("SELECT count(*) FROM dnc") > 0:
        return
    t = time.perf_counter()
    # 1 % of the leads' numbers (account-wide list) and 100,000 numbers of no lead.
    await store.execute("INSERT INTO dnc (phone, source) SELECT phone, 'bench' FROM lead WHERE id % 100 = 7")
    await store.execute("INSERT INTO dnc (phone, source) SELECT '+1' || (8000000000 + g)::text, 'bench' "
                        "FROM generate_series(1, 100000) g")
    # 1 % with an abandoned call 1 to 40 hours ago (locked out for 72 h); 1 % with 3
    # attempts since midnight UTC (every US zone's day started before 18:00 UTC).
    await store.execute(
        """INSERT INTO attempt (lead_id, campaign_id, list_id, called_number, started_at, ended_at, outcome)
           SELECT id, campaign_id, list_id, phone, $2::timestamptz - (1 + id % 40) * interval '1 hour',
                  $2::timestamptz - (1 + id % 40) * interval '1 hour' + interval '30 seconds', 'abandoned'
           FROM lead WHERE campaign_id = $1 AND id % 100 = 41""", cid, AT)
    await store.execute(
        """INSERT INTO attempt (lead_id, campaign_id, list_id, called_number, started_at, ended_at, outcome)
           SELECT id, campaign_id, list_id, phone, $2::timestamptz - n * interval '90 minutes',
                  $2::timestamptz - n * interval '90 minutes' + interval '20 seconds', 'no_answer'
           FROM lead, generate_series(1, 3) n WHERE campaign_id = $1 AND id % 100 = 73""", cid, AT)
    await store.execute("VACUUM ANALYZE dnc")
    await store.execute("VACUUM ANALYZE attempt")
    print(f"  DNC and attempt rows added in {time.perf_counter() - t:.0f} s", flush=True)


class CpuMeter:
    """CPU time spent by the database server's backends for this bench (from /proc: a
    local server, readable by us) and by this process, between start() and stop(). On a
    shared machine these say what a batch costs; wall times also say how busy it was."""

    def __init__(self, store):
        self.store = store

    async def start(self):
        self.pids = [r["pid"] for r in await self.store.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'")]
        return self._server(), time.process_time()

    async def stop(self, started):
        server, client = self._server(), time.process_time()
        return (None if server is None or started[0] is None else server - started[0]), client - started[1]

    def _server(self):
        try:
            ticks = 0
            for pid in self.pids:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])  # utime + stime
            return ticks / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None  # a remote server, or not ours to read


def summary(name: str, batches: list[float], claimed: int, elapsed: float, cpu=(None, 0.0)) -> dict:
    batches = sorted(batches)
    p99 = batches[min(len(batches) - 1, int(len(batches) * 0.99))] if batches else float("nan")
    n = max(1, len(batches))
    return {"name": name, "rate": claimed / elapsed if elapsed else 0.0, "batches": len(batches),
            "p50_ms": statistics.median(batches) * 1000 if batches else float("nan"), "p99_ms": p99 * 1000,
            "per_batch": claimed / n, "server_cpu_ms": None if cpu[0] is None else cpu[0] / n * 1000,
            "client_cpu_ms": cpu[1] / n * 1000}


def full_gate(cid, setup, at) -> sql.Gate:
    """The gate the Hopper builds: windows, statuses, lock-out and daily limit."""
    campaign = setup["campaign"]
    return sql.Gate(cid, at, setup["auto_statuses"], KeyWindows(campaign, setup["keys"]).open_at(at),
                    campaign["abandon_lockout"], campaign["max_daily_attempts_per_number"])


async def run_claims(store, cid, setup, lists, seconds, node, at, meter):
    """`lists` (ListRequests) carry the cursors from run to run, as the Hopper keeps them."""
    gate = full_gate(cid, setup, at)
    lease_until = at + dt.timedelta(hours=1)
    per_list = lists[0].want
    taken: list[list[int]] = []

    async def claim_once():
        got = await store.run(sql.claim, gate, node, lease_until, lists, setup["modes"], per_list)
        for request in lists:
            for row in got.get(request.list_id, []):
                if row.get("_fresh"):
                    request.pivots[row["call_mode"]] = max(request.pivots.get(row["call_mode"], 0), row["id"] + 1)
        taken.append([row["id"] for rows in got.values() for row in rows])
        return sum(len(v) for v in got.values())

    await claim_once()  # warm-up
    batches, claimed = [], 0
    started = await meter.start()
    begin = time.perf_counter()
    while time.perf_counter() - begin < seconds:
        t = time.perf_counter()
        claimed += await claim_once()
        batches.append(time.perf_counter() - t)
    result = summary("hopper claim", batches, claimed, time.perf_counter() - begin, await meter.stop(started))
    await release(store, node, taken)
    return result


async def release(store, node, batches: list[list[int]]):
    """Give the run's leases back in the batches they were taken (see the module doc)."""
    for ids in batches:
        if ids:
            await store.run(sql.release_leads, node, ids)


async def _plain_claim(conn, list_id, node, until, now, after, n):
    rows = await conn.fetch(
        """UPDATE lead SET lease_owner = $2, lease_expires_at = $3 WHERE id IN (
               SELECT id FROM lead WHERE list_id = $1 AND call_mode = 'new' AND NOT completed AND valid
                 AND next_attempt_at IS NULL
                 AND (lease_owner IS NULL OR lease_expires_at <= $4) AND id > $5
               ORDER BY id LIMIT $6 FOR UPDATE SKIP LOCKED)
           RETURNING id""", list_id, node, until, now, after, n)
    return [r["id"] for r in rows]


async def run_reference(store, setup, cursors, batch, seconds, node, at, meter):
    """The yardstick: the plainest SKIP LOCKED claim of `batch` leads from one list (by
    turns), with a cursor (kept in `cursors` from run to run), no rules at all."""
    lists = [l["id"] for l in setup["lists"]]
    batches, claimed, i = [], 0, 0
    taken: list[list[int]] = []
    until = at + dt.timedelta(hours=1)
    taken.append(await store.run(_plain_claim, lists[-1], node, until, at, cursors.get(lists[-1], 0), batch))
    cursors[lists[-1]] = max(taken[-1], default=cursors.get(lists[-1], 0))  # warm-up
    started = await meter.start()
    begin = time.perf_counter()
    while time.perf_counter() - begin < seconds:
        lid = lists[i % len(lists)]
        i += 1
        t = time.perf_counter()
        ids = await store.run(_plain_claim, lid, node, until, at, cursors.get(lid, 0), batch)
        batches.append(time.perf_counter() - t)
        claimed += len(ids)
        taken.append(ids)
        cursors[lid] = max(ids, default=cursors.get(lid, 0))
    result = summary("reference plain claim", batches, claimed, time.perf_counter() - begin,
                     await meter.stop(started))
    await release(store, node, taken)
    return result


async def run_hopper(store, cid, take, seconds, node, at, meter):
    # A new node each run (its cursors start at the top): it walks over nothing but
    # the leads other kinds hold for the length of their own run, which are released.
    hopper = Hopper(store, Clock(at), cid, node, lease=dt.timedelta(hours=1), min_batch=take * 2)
    hopper_batches = [await hopper.take(take)]  # warm-up: loads the campaign, first refill
    for lead in hopper_batches[0]:
        hopper.done(lead.id)
    batches, claimed = [], 0
    started = await meter.start()
    begin = time.perf_counter()
    while time.perf_counter() - begin < seconds:
        t = time.perf_counter()
        got = await hopper.take(take)
        batches.append(time.perf_counter() - t)
        claimed += len(got)
        hopper_batches.append(got)
        for lead in got:  # as if each call ended at once: the hopper stops renewing its lease
            hopper.done(lead.id)
    result = summary("Hopper.take", batches, claimed, time.perf_counter() - begin, await meter.stop(started))
    await hopper.release_all()
    await release(store, node, [[lead.id for lead in got] for got in hopper_batches])
    return result


def _ms(value) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def plan_modes(text: str | None) -> list[str | None]:
    """`--plan-cache-mode`: None (the server's own setting) or the modes to take turns with."""
    if not text:
        return [None]
    modes = [m.strip() for m in text.split(",") if m.strip()]
    for mode in modes:
        if mode not in PLAN_CACHE_MODES:
            raise SystemExit(f"--plan-cache-mode: {mode!r} is not one of {', '.join(PLAN_CACHE_MODES)}")
    return modes


PLAN_CACHE_MODES = ("auto", "force_generic_plan", "force_custom_plan")


def _label(mode: str | None) -> str:
    return mode or "server default"


async def main(args) -> None:
    url, server = server_url(args.database_url)
    modes = plan_modes(args.plan_cache_mode)
    try:
        cid = await prepare(url, args.leads, args.fresh)
        async with contextlib.AsyncExitStack() as stack:
            # One pool per plan cache mode, set as a server setting of its connections (as
            # `dialer run` would), used by turns: same database, same moment of the machine.
            stores = {}
            for mode in modes:
                settings = {"plan_cache_mode": mode} if mode else None
                stores[mode] = await stack.enter_async_context(
                    Store.open(with_database(url, DB_NAME), max_size=2, server_settings=settings))
            store = stores[modes[0]]
            for mode, s in stores.items():
                seen = await s.fetchval("SHOW plan_cache_mode")
                print(f"pool {_label(mode)}: plan_cache_mode = {seen}", flush=True)
            setup = await store.run(sql.load_setup, cid)
            print(f"{len(setup['keys'])} window keys, {len(KeyWindows(setup['campaign'], setup['keys']).open_at(AT))}"
                  f" open at {AT.isoformat()}", flush=True)
            results: dict[tuple[str | None, str], list[dict]] = {}
            meters = {mode: CpuMeter(s) for mode, s in stores.items()}
            # Each kind claims from its own third of every list (Hopper.take the first, as
            # a new node starts at the top; the hopper claim the second; the reference the
            # last), so no kind reads pages another kind's leases and releases just rewrote.
            # The modes share a kind's cursors (one node taking turns), so each run of
            # either mode claims leads nobody claimed before.
            spans = {r["list_id"]: (r["lo"], r["hi"]) for r in await store.fetch(
                "SELECT list_id, min(id) AS lo, max(id) AS hi FROM lead WHERE campaign_id = $1 GROUP BY list_id", cid)}
            third = {lid: lo + (hi - lo) // 3 for lid, (lo, hi) in spans.items()}
            claim_lists = [sql.ListRequest(l["id"], l["strategy"], args.per_list, {"new": third[l["id"]]})
                           for l in setup["lists"]]
            reference_cursors = {lid: lo + 2 * (hi - lo) // 3 for lid, (lo, hi) in spans.items()}
            for run in range(args.runs):
                for kind in ("reference", "claim", "take"):
                    # The modes by turns, in the other order every run (neither always goes first).
                    for mode in (modes if run % 2 == 0 else modes[::-1]):
                        s, meter = stores[mode], meters[mode]
                        node = f"bench-{run}-{kind}-{mode or 'default'}"
                        if kind == "reference":
                            r = await run_reference(s, setup, reference_cursors, args.per_list * LISTS,
                                                    args.seconds, node, AT, meter)
                        elif kind == "claim":
                            r = await run_claims(s, cid, setup, claim_lists, args.seconds, node, AT, meter)
                        else:
                            r = await run_hopper(s, cid, args.take, args.seconds, node, AT, meter)
                        results.setdefault((mode, r["name"]), []).append(r)
                        tag = f" [{_label(mode)}]" if len(modes) > 1 else ""
                        print(f"run {run + 1}: {r['name']:<22} {r['rate']:>9,.0f} leads/s  p50 {r['p50_ms']:6.1f} ms"
                              f"  p99 {r['p99_ms']:6.1f} ms  ({r['batches']} batches of ~{r['per_batch']:.0f};"
                              f" CPU per batch: server {_ms(r['server_cpu_ms'])}, bench {_ms(r['client_cpu_ms'])})"
                              f"{tag}", flush=True)
            print(f"\nmedian of {args.runs} runs of {args.seconds:g} s, {args.leads:,} leads, {LISTS} lists, "
                  f"{len(ZONES)} zones, load average {os.getloadavg()[0]:.1f}:")
            for mode in modes:
                if len(modes) > 1:
                    print(f" plan_cache_mode {_label(mode)}:")
                ref = statistics.median(r["rate"] for r in results[(mode, "reference plain claim")])
                medians = {}
                for (m, name), runs in results.items():
                    if m != mode:
                        continue
                    rate = statistics.median(r["rate"] for r in runs)
                    p99 = statistics.median(r["p99_ms"] for r in runs)
                    medians[name] = (rate, p99)
                    server_ms = [r["server_cpu_ms"] for r in runs if r["server_cpu_ms"] is not None]
                    client = statistics.median(r["client_cpu_ms"] for r in runs)
                    per_batch = statistics.median(r["per_batch"] for r in runs)
                    # One batch after another with no wait for a CPU: server + bench CPU per batch.
                    bound = (f", CPU-bound {per_batch / (statistics.median(server_ms) + client) * 1000:,.0f} leads/s"
                             if server_ms else "")
                    print(f"  {name:<22} {rate:>9,.0f} leads/s ({rate / ref:.2f}x reference)"
                          f"  p50 {statistics.median(r['p50_ms'] for r in runs):6.1f} ms  p99 {p99:6.1f} ms"
                          f"  CPU per batch: server {_ms(statistics.median(server_ms) if server_ms else None)},"
                          f" bench {_ms(client)}{bound}")
                rate, p99 = medians["hopper claim"]
                met = rate >= 20_000 and p99 <= 20.0
                print(f"issue 5 target (hopper claim >= 20,000 leads/s, p99 batch <= 20 ms, at 10 M leads): "
                      f"{'met' if met and args.leads >= 10_000_000 else 'NOT met'}"
                      f"{'' if args.leads >= 10_000_000 else ' (fewer than 10 M leads)'}"
                      f"{f' [{_label(mode)}]' if len(modes) > 1 else ''}")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each measurement")
    parser.add_argument("--per-list", type=int, default=4, help="leads claimed per list per batch (50 lists)")
    parser.add_argument("--take", type=int, default=50, help="Hopper.take batch size")
    parser.add_argument("--fresh", action="store_true", help="drop and reload the bench database")
    parser.add_argument("--plan-cache-mode", metavar="MODE[,MODE...]",
                        help="PostgreSQL plan_cache_mode for the bench's connections (auto, force_generic_plan, "
                             "force_custom_plan); several, comma-separated, are measured by turns in each run "
                             "(default: the server's own setting)")
    parser.add_argument("--database-url", help="server to use (default $DIALER_DATABASE_URL, else embedded)")
    trio.run(main, parser.parse_args())
