"""Web API benchmark: requests/s and latency of the pages' hot endpoints over real HTTP.

    .venv/bin/python bench/web.py [--seconds 5] [--runs 5] [--clients 8] [--database-url URL]

Serves the API (hypercorn, trio worker, 127.0.0.1:0) over a database of its own
(`dialer_bench_web` on DIALER_DATABASE_URL's server, or the embedded server in
.dialer/pg-bench) holding one campaign, 3 lists, 2,000 leads, 5,000 attempts
today and 20 logged-in operators; `--clients` concurrent keep-alive clients (httpx,
in the same process and trio loop: the figures include the client's own cost)
hit each endpoint for `--seconds`:

* reference: GET /healthz (no session, no database: the server + client floor);
* GET /api/me (session check: one database crossing);
* GET /api/operator/status (session check + the desk, what the operator page polls on connect);
* GET /api/wallboard (session check + the wallboard unit, what the wallboard polls every 2 s).

Prints requests/s and p50/p99 latency per endpoint (median over runs) and the
ratio to the reference.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import argon2  # noqa: E402
import httpx  # noqa: E402

from dialer.api import LocalDesk, create_app, passwords, serve  # noqa: E402
from dialer.store import Store, migrate  # noqa: E402
from dialer.store import users as user_store  # noqa: E402
from dialer.store.campaigns import create_campaign  # noqa: E402

DB_NAME = "dialer_bench_web"
PASSWORD = "bench password"


def server_url(args) -> tuple[str, object]:
    url = args.database_url or os.environ.get("DIALER_DATABASE_URL")
    if url:
        return url, None
    from dialer.store.embedded import start_embedded

    server = start_embedded(ROOT / ".dialer" / "pg-bench")
    return server.url, server


def with_db(url: str, name: str) -> str:
    return urllib.parse.urlunsplit(urllib.parse.urlsplit(url)._replace(path="/" + name))


async def fresh_database(url: str) -> str:
    async with Store.open(url, max_size=1) as admin:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DB_NAME}"')
    return with_db(url, DB_NAME)


async def load(store, desk) -> dict:
    await migrate(store)
    camp = await store.run(create_campaign, {"name": "bench"})
    for name, weight in (("a", 50), ("b", 30), ("c", 20)):
        await store.execute("INSERT INTO lead_list (campaign_id, name, to_dial, weight) VALUES ($1, $2, true, $3)",
                            camp["id"], name, weight)
    await store.execute(
        """INSERT INTO lead (campaign_id, list_id, phone, timezone)
           SELECT $1, (SELECT id FROM lead_list WHERE campaign_id = $1 ORDER BY id OFFSET g % 3 LIMIT 1),
                  '+1212555' || lpad(g::text, 4, '0'), 'America/New_York' FROM generate_series(1, 2000) g""",
        camp["id"])
    await store.execute(
        """INSERT INTO attempt (lead_id, campaign_id, list_id, called_number, started_at, ended_at, outcome)
           SELECT l.id, l.campaign_id, l.list_id, l.phone, now() - (g || ' s')::interval,
                  now() - (g || ' s')::interval + interval '20 s',
                  (ARRAY['answered', 'no_answer', 'busy', 'abandoned', 'machine'])[1 + g % 5]
           FROM generate_series(1, 5000) g JOIN lead l ON l.id = 1 + g % 2000""")
    hashed = passwords.HASHER.hash(PASSWORD)
    await store.run(user_store.create_user, "sue", "supervisor", hashed)
    for i in range(20):
        op = await store.run(user_store.create_user, f"op{i}", "operator", hashed)
        await desk.login(op["operator_id"], camp["id"])
        if i % 2:
            await desk.ready(op["operator_id"])
    return camp


async def hammer(client, path, headers, seconds, clients) -> tuple[int, list[float]]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def one():
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            r = await client.get(path, headers=headers)
            latencies.append(time.perf_counter() - started)
            assert r.status_code == 200, (path, r.status_code, r.text)

    async with trio.open_nursery() as nursery:
        for _ in range(clients):
            nursery.start_soon(one)
    return len(latencies), latencies


async def main(args) -> None:
    passwords.HASHER = argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    url, embedded = server_url(args)
    try:
        db_url = await fresh_database(url)
        async with Store.open(db_url) as store:
            desk = LocalDesk(store)
            await load(store, desk)
            async with trio.open_nursery() as nursery:
                (base,) = await nursery.start(serve, create_app(store, desk=desk), "127.0.0.1", 0)
                limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
                async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
                    tokens = {}
                    for name in ("sue", "op1"):
                        r = await client.post("/api/login", json={"name": name, "password": PASSWORD})
                        tokens[name] = {"Authorization": f"Bearer {r.json()['token']}"}
                    client.cookies.clear()
                    cases = [("reference /healthz", "/healthz", {}), ("/api/me", "/api/me", tokens["sue"]),
                             ("/api/operator/status", "/api/operator/status", tokens["op1"]),
                             ("/api/wallboard", "/api/wallboard", tokens["sue"])]
                    results = {name: [] for name, _, _ in cases}
                    for run in range(args.runs):
                        for name, path, headers in cases:
                            count, lat = await hammer(client, path, headers, args.seconds, args.clients)
                            lat.sort()
                            results[name].append((count / args.seconds, lat[len(lat) // 2],
                                                  lat[min(len(lat) - 1, int(len(lat) * 0.99))]))
                nursery.cancel_scope.cancel()
        ref = statistics.median(r[0] for r in results["reference /healthz"])
        print(f"{'endpoint':24} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6}")
        for name, rows in results.items():
            rps = statistics.median(r[0] for r in rows)
            p50 = statistics.median(r[1] for r in rows) * 1000
            p99 = statistics.median(r[2] for r in rows) * 1000
            print(f"{name:24} {rps:8.0f} {p50:8.1f} {p99:8.1f} {rps / ref:6.2f}")
    finally:
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--database-url")
    trio.run(main, parser.parse_args())
