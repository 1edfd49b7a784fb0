"""Import benchmark: generate a lead file and import it through the real pipeline.

    .venv/bin/python bench/import.py [--rows 1000000] [--runs 1] [--workers N] [--keep FILE]

The file mixes phone formats ("(212) 555-0123", "212.555.0123", "+1 212 555
0123", "2125550123", "1-212-555-0123"), has ~5 % invalid numbers, ~3 %
duplicates of earlier rows and ~1 % numbers on the DNC list. Each run imports
into a fresh list of a fresh database. As a reference on this shared machine,
the same run times a plain `csv.reader` pass over the same file: report the
ratio as well as the seconds. Peak memory is the largest RSS of the main
process and of any worker process (ru_maxrss).

Uses DIALER_DATABASE_URL when set, else an embedded PostgreSQL in .dialer/bench.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STATES = ["NY", "CA", "TX", "FL", "IL", "PA", "OH", "GA", "NC", "MI", "AZ", "WA", "ma", "Colorado", "nj"]
# Area codes phonenumbers considers valid US numbers.
AREAS = ["212", "646", "718", "917", "213", "310", "415", "512", "214", "305", "312", "215", "216", "404",
         "704", "313", "602", "206", "617", "303", "201", "973", "702", "503", "612"]
FORMATS = [
    lambda a, b, c: f"({a}) {b}-{c}", lambda a, b, c: f"{a}.{b}.{c}", lambda a, b, c: f"+1 {a} {b} {c}",
    lambda a, b, c: f"{a}{b}{c}", lambda a, b, c: f"1-{a}-{b}-{c}", lambda a, b, c: f"{a}-{b}-{c}",
]
INVALID = ["555-12", "n/a", "123", "0000000000", "1234567890", "+1 999 555 0100", "call me"]


def generate(path: str, rows: int, seed: int = 7) -> list[str]:
    """Write the file; returns the E.164 numbers to put on the DNC list (~1 %)."""
    rng = random.Random(seed)
    seen: list[tuple[str, str, str]] = []
    dnc: list[str] = []
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Customer ID", "First Name", "Last Name", "Phone", "State", "Zip", "Email"])
        for i in range(rows):
            roll = rng.random()
            if roll < 0.05:
                phone = rng.choice(INVALID)
            else:
                if roll < 0.08 and seen:
                    a, b, c = rng.choice(seen)
                else:
                    a, b, c = rng.choice(AREAS), str(rng.randint(200, 999)), f"{rng.randint(0, 9999):04d}"
                    if len(seen) < 100_000:
                        seen.append((a, b, c))
                    if roll > 0.99:
                        dnc.append(f"+1{a}{b}{c}")
                phone = rng.choice(FORMATS)(a, b, c)
            zip_code = str(rng.randint(100, 99999))
            w.writerow([f"K{i}", f"First{i % 997}", f"Last, {i % 991}", phone, rng.choice(STATES), zip_code,
                        f"user{i}@example.com"])
    return dnc


def cpu_seconds(backend_pids: list[int]) -> dict[str, float]:
    """CPU (user+sys) so far of this process, its worker processes and our
    PostgreSQL backends: a measure the other helpers' load does not inflate."""
    import psutil

    me = psutil.Process()
    out = {"main": sum(me.cpu_times()[:2]), "workers": 0.0, "postgres": 0.0}
    for child in me.children(recursive=True):
        try:
            if "postgres" not in child.name():
                out["workers"] += sum(child.cpu_times()[:2])
        except psutil.Error:
            pass
    for pid in backend_pids:
        try:
            out["postgres"] += sum(psutil.Process(pid).cpu_times()[:2])
        except psutil.Error:
            pass
    return out


def csv_reference(path: str) -> float:
    started = time.perf_counter()
    n = 0
    with open(path, newline="", encoding="utf-8-sig") as f:
        for _ in csv.reader(f):
            n += 1
    return time.perf_counter() - started


async def import_once(url: str, path: str, dnc: list[str], workers: int | None, run_no: int) -> dict:
    from dialer.leads.pipeline import ImportRequest, run_import
    from dialer.store import Store, migrate
    from dialer.store.campaigns import create_campaign
    from dialer.store.dnc import add_dnc

    async with Store.open(url, max_size=2) as store:
        await migrate(store)
        name = f"Bench{run_no}-{os.getpid()}"
        c = await store.run(create_campaign, {"name": name})
        await store.run(add_dnc, dnc, None, "bench")
        req = ImportRequest(path=path, campaign=name, new_list=f"bench-{run_no}",
                            map={"Customer ID": "customer_key", "First Name": "first_name",
                                 "Last Name": "last_name", "Phone": "phone", "State": "region",
                                 "Zip": "postal_code", "Email": "email"},
                            workers=workers, dnc_scope="account", dup_scope="campaign")
        backends = [r["pid"] for r in await store.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")]
        before = cpu_seconds(backends)
        started = time.perf_counter()
        summary = await run_import(store, req)
        summary["wall"] = time.perf_counter() - started
        after = cpu_seconds(backends)
        summary["cpu"] = {k: round(after[k] - before.get(k, 0.0), 1) for k in after}
        count = await store.fetchval("SELECT count(*) FROM lead WHERE campaign_id = $1", c["id"])
        assert count == summary["imported"], (count, summary["imported"])
        await store.execute("DELETE FROM campaign WHERE id = $1", c["id"])
        await store.execute("DELETE FROM dnc WHERE source = 'bench'")
        return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--keep", help="write the generated file here and keep it")
    args = ap.parse_args()

    from dialer.store.location import database

    tmp = tempfile.mkdtemp(prefix="dialer-bench-")
    path = args.keep or os.path.join(tmp, "leads.csv")
    t = time.perf_counter()
    dnc = generate(path, args.rows)
    size = os.path.getsize(path)
    print(f"generated {args.rows} rows ({size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f} s; "
          f"{len(dnc)} DNC numbers; cpus={os.cpu_count()}")
    url = os.environ.get("DIALER_DATABASE_URL")
    results = []
    with database(url or None) as db:
        for run_no in range(args.runs):
            ref = csv_reference(path)
            s = trio.run(import_once, db.url, path, dnc, args.workers, run_no)
            results.append((s["wall"], ref))
            print(f"run {run_no + 1}: import {s['wall']:.1f} s, csv.reader pass {ref:.2f} s "
                  f"(ratio {s['wall'] / ref:.1f}x); rows {s['rows']}, imported {s['imported']}, invalid "
                  f"{s['invalid']}, duplicates {s['duplicates']}, dnc {s['dnc']}, {s['rows'] / s['wall']:.0f} rows/s; "
                  f"phases {s['phases']}; CPU seconds {s['cpu']}")
    main_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    walls = [w for w, _ in results]
    ratios = [w / r for w, r in results]
    print(f"median import {statistics.median(walls):.1f} s, median ratio to csv.reader "
          f"{statistics.median(ratios):.1f}x; peak RSS main {main_peak:.0f} MB, largest worker {child_peak:.0f} MB")
    if not args.keep:
        os.unlink(path)


if __name__ == "__main__":
    main()
