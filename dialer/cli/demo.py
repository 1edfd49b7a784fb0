"""`dialer demo` (`make demo`): the whole path for about a minute, on this machine.

Embedded PostgreSQL (a fresh database beside the configured one, dropped afterwards), the demo
campaign with three weighted lists of generated leads across US timezones, the simulated
carrier and 10 simulated operators (SIP phones that REGISTER with the engine's registrar and
answer the calls it bridges to them), the engine dialing over real UDP on 127.0.0.1, a live
status line every few seconds, then the final report and the audit.

The engine's clock starts at 12:00 New York (09:00 Los Angeles) so every lead's calling window
is open whatever the hour you run it; everything else is real time.
"""

from __future__ import annotations

import time
from pathlib import Path

import trio

from .common import print_fields, run


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the demo campaign against the simulator (see README)")
    p.add_argument("--seconds", type=float, default=60.0, help="how long to dial (default 60)")
    p.add_argument("--operators", type=int, default=10)
    p.add_argument("--operators-via", choices=["desk", "phones"], default="phones",
                   help="phones (default): simulated SIP phones register with the engine and take "
                        "bridged calls; desk: operators drive the operator API, no phone leg")
    p.set_defaults(func=lambda a: run(_demo, a))


def demo_config_path() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "demo.toml"


def demo_profile_path() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "demo-sim.toml"


async def _demo(args) -> int:
    from dialer.engine.loadtest import DayOptions, run_day
    from sim.profile import load_profile

    from .loadtest import _fresh_store

    profile = load_profile(demo_profile_path())
    started = time.perf_counter()

    def show(s: dict) -> None:
        ops = s["operators"]
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(s["outcomes"].items())) or "-"
        print(f"[{s['elapsed']:5.0f} s] operators: {ops['ready']} ready, {ops['reserved']} reserved, "
              f"{ops['on_call']} talking, {ops['wrap_up']} wrap-up, {ops['paused']} paused | "
              f"in flight {s['in_flight']:3d} | abandon (hour) {s['abandon_rate_hour']:.1%} | {outcomes}",
              flush=True)

    team = "SIP phones" if args.operators_via == "phones" else "desk-driven"
    print(f"dialer demo: {args.operators} simulated operators ({team}), simulated carrier, over UDP on "
          f"127.0.0.1, dialing for {args.seconds:g} s", flush=True)
    async with _fresh_store(args.database_url) as store:
        db = store.url.rsplit("@", 1)[-1]
        print(f"database: fresh database {db}", flush=True)
        result = await run_day(store, profile, DayOptions(
            operators=args.operators, duration=args.seconds, pacing="progressive", seed=1, leads=3000,
            virtual=False, campaign="demo", on_tick=show, tick=5.0, operators_via=args.operators_via))
    print("\nfinal report")
    print_fields([(k, v) for k, v in result.items() if k not in ("carrier", "audit_by_rule", "phones", "network")])
    if "phones" in result:
        p = result["phones"]
        print(f"phones: {p['registered']} registered, {p['calls_answered_by_phones']} bridged calls answered, "
              f"bridge {p['bridge']}")
    print(f"\naudit: {'0 violations' if not result['audit_violations'] else result['audit_by_rule']}")
    print(f"(wall time {time.perf_counter() - started:.0f} s)")
    return 0 if not result["audit_violations"] else 1
