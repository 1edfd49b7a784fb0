"""Engine full-path throughput: claim → attempt row → INVITE over UDP → outcome → lead update.

The carrier runs in a child process (our SIP endpoint answering every INVITE at once) so the
dialer process has a core to itself; answered calls are hung up at once (no operators). The
real database is used (DIALER_DATABASE_URL, else the embedded one). The same invocation first
measures a reference: the bare SIP endpoint placing the same calls with no database and no
engine, so the engine's figure is also reported as a ratio of what SIP alone sustains here.

    .venv/bin/python bench/engine.py [--seconds 10] [--leads 60000] [--in-flight 400] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time

import trio


async def carrier(port_file: str) -> None:
    from dialer.net import UdpNetwork
    from dialer.sip.endpoint import open_endpoint

    async def answer(call):
        await call.answer()

    async with open_endpoint(UdpNetwork(), "127.0.0.1", 0, handler=answer) as endpoint:
        with open(port_file, "w") as f:
            f.write(str(endpoint.local_address[1]))
        await trio.sleep_forever()


async def reference(port: int, seconds: float, in_flight: int) -> float:
    """Bare SIP: dial, answered, BYE; `in_flight` at a time; no database."""
    from dialer.net import UdpNetwork
    from dialer.sip.endpoint import open_endpoint

    done = 0
    async with open_endpoint(UdpNetwork(), "127.0.0.1", 0) as endpoint:
        async def worker():
            nonlocal done
            while True:
                call = await endpoint.dial(("127.0.0.1", port), "+447700900000", ring_timeout=20)
                if await call.wait_answered():
                    await call.hangup()
                done += 1

        async with trio.open_nursery() as nursery:
            for _ in range(in_flight):
                nursery.start_soon(worker)
            await trio.sleep(1)                      # warm-up
            start, before = time.perf_counter(), done
            await trio.sleep(seconds)
            rate = (done - before) / (time.perf_counter() - start)
            nursery.cancel_scope.cancel()
    return rate


async def engine_run(port: int, seconds: float, leads: int, in_flight: int) -> dict:
    from dialer.clock import Clock
    from dialer.engine.bridge import SipPlacer
    from dialer.engine.compat import Hopper, finish_attempts, make_pacer, start_attempts
    from dialer.engine.journal import CallJournal
    from dialer.engine.operators import OperatorDesk
    from dialer.engine.runner import CampaignRunner, RunnerSettings
    from dialer.net import UdpNetwork
    from dialer.sip.endpoint import open_endpoint
    from dialer.sip.trunk import Trunk, TrunkPool
    from dialer.store import open_store
    from dialer.store.campaigns import create_campaign

    name = f"bench-engine-{os.getpid()}-{time.monotonic_ns()}"
    async with open_store(max_size=4) as store:
        async def seed(conn):
            c = await create_campaign(conn, {"name": name, "country": "GB", "timezone": "Europe/London",
                                             "calling_start": dt.time(0), "calling_end": dt.time(23, 59, 59)})
            lid = await conn.fetchval("INSERT INTO lead_list (campaign_id, name, to_dial) VALUES ($1, 'l', true) "
                                      "RETURNING id", c["id"])
            await conn.execute(
                "INSERT INTO lead (campaign_id, list_id, phone, timezone, country) "
                "SELECT $1, $2, '+447700' || lpad(g::text, 6, '0'), 'Europe/London', 'GB' "
                "FROM generate_series(1, $3) g", c["id"], lid, leads)
            return c

        campaign = await store.run(seed)
        try:
            clock = Clock()
            journal = CallJournal(store, start_attempts, finish_attempts)
            hopper = Hopper(store, clock, campaign["id"], "bench", seconds=2.0, min_batch=200)
            async with open_endpoint(UdpNetwork(), "127.0.0.1", 0) as endpoint:
                runner = CampaignRunner(
                    campaign, clock=clock, journal=journal, hopper=hopper, pacer=make_pacer("progressive"),
                    placer=SipPlacer(endpoint, TrunkPool([Trunk("carrier", "127.0.0.1", port)])),
                    desk=OperatorDesk(),
                    settings=RunnerSettings(node="bench", hangup_answered=True, max_launch=in_flight,
                                            max_in_flight=in_flight, ring_timeout=20))
                async with trio.open_nursery() as nursery:
                    await nursery.start(journal.run)
                    await nursery.start(runner.run)
                    await trio.sleep(1)              # warm-up
                    start, before = time.perf_counter(), journal.finished
                    crossings0 = journal.crossings
                    await trio.sleep(seconds)
                    elapsed = time.perf_counter() - start
                    stored = journal.finished - before
                    crossings = journal.crossings - crossings0
                    runner.stop()
                    with trio.move_on_after(30):
                        while runner.in_flight():
                            await trio.sleep(0.1)
                    await journal.drained()
                    nursery.cancel_scope.cancel()
            closed = await store.fetchval(
                "SELECT count(*) FROM attempt WHERE campaign_id = $1 AND ended_at IS NOT NULL", campaign["id"])
            answered = await store.fetchval(
                "SELECT count(*) FROM attempt WHERE campaign_id = $1 AND outcome = 'answered'", campaign["id"])
            return {"calls_per_s": stored / elapsed, "stored": stored, "crossings_per_s": crossings / elapsed,
                    "attempts_closed": closed, "answered": answered, "stats": dict(runner.stats)}
        finally:
            await store.execute("DELETE FROM campaign WHERE id = $1", campaign["id"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--leads", type=int, default=60000)
    parser.add_argument("--in-flight", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--carrier", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.carrier:
        trio.run(carrier, args.carrier)
        return
    port_file = f"/tmp/bench-engine-carrier-{os.getpid()}"
    child = subprocess.Popen([sys.executable, __file__, "--carrier", port_file])
    try:
        while not os.path.exists(port_file) or not open(port_file).read():
            time.sleep(0.05)
        port = int(open(port_file).read())
        refs, runs = [], []
        for i in range(args.runs):
            refs.append(trio.run(reference, port, args.seconds, args.in_flight))
            runs.append(trio.run(engine_run, port, args.seconds, args.leads, args.in_flight))
            print(f"run {i + 1}: SIP only {refs[-1]:.0f} calls/s; engine full path {runs[-1]['calls_per_s']:.0f} "
                  f"calls/s ({runs[-1]['crossings_per_s']:.0f} DB crossings/s)", flush=True)
        ref, eng = statistics.median(refs), statistics.median(r["calls_per_s"] for r in runs)
        print(json.dumps({"sip_only_calls_per_s": round(ref), "engine_calls_per_s": round(eng),
                          "ratio": round(eng / ref, 3), "runs": args.runs, "seconds": args.seconds,
                          "in_flight": args.in_flight, "last_run": runs[-1]}, default=str))
    finally:
        child.terminate()
        child.wait()
        if os.path.exists(port_file):
            os.remove(port_file)


if __name__ == "__main__":
    main()
