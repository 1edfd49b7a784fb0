"""`dialer loadtest --profile FILE [--operators N] [--duration 8h] [--virtual] [--pacing MODE] [--seed S]
[--operators-via desk|phones] [--json]`

Engine + simulator against a fresh database (created beside the configured one and dropped
afterwards): in-memory network and virtual time with `--virtual`, real UDP on 127.0.0.1
otherwise. See dialer/engine/loadtest.py.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import urllib.parse

import trio

from .common import CliError, add_json_flag, print_fields, print_json


def register(sub) -> None:
    p = sub.add_parser("loadtest", help="run the engine against the simulator and report")
    p.add_argument("--profile", required=True, help="simulator profile (see config/sim/)")
    p.add_argument("--operators", type=int, default=None, help="operators (default: the profile's count)")
    p.add_argument("--duration", default="1h", help="how long to dial: 90s, 30m, 8h (default 1h)")
    p.add_argument("--virtual", action="store_true", help="in-memory network and virtual time")
    p.add_argument("--pacing", default="progressive",
                   choices=["progressive", "power", "predictive", "adaptive"])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--leads", type=int, default=None, help="leads to generate (default: enough for the run)")
    p.add_argument("--operators-via", choices=["desk", "phones"], default=None,
                   help="phones: simulated SIP phones register and take bridged calls; desk: operators "
                        "drive the operator API with no phone leg (default: phones over real UDP, "
                        "desk with --virtual)")
    add_json_flag(p)
    p.set_defaults(func=_loadtest)


def parse_duration(text: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not m:
        raise CliError(f"--duration: {text!r} is not a duration like 90s, 30m or 8h")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def _loadtest(args) -> int:
    from dialer.config import ConfigError
    from dialer.engine.loadtest import DayOptions
    from sim.profile import load_profile

    try:
        profile = load_profile(args.profile)
    except ConfigError:
        raise
    duration = parse_duration(args.duration)
    operators = args.operators if args.operators is not None else profile.operators.count
    if operators < 1:
        raise CliError("--operators: at least 1")
    leads = args.leads or max(2000, int(operators * duration / 60 * 1.5))
    options = DayOptions(operators=operators, duration=duration, pacing=args.pacing, seed=args.seed,
                         leads=leads, virtual=args.virtual, operators_via=args.operators_via)
    started = time.perf_counter()
    if args.virtual:
        from sim.virtual import run_virtual
        result = run_virtual(_run, args, profile, options, seed=args.seed)
    else:
        result = trio.run(_run, args, profile, options)
    result["wall_seconds"] = time.perf_counter() - started
    if args.json:
        print_json(result)
    else:
        print_fields([(k, v) for k, v in result.items() if k not in ("carrier",)])
    return 0


async def _run(args, profile, options):
    from dialer.engine.loadtest import run_day

    async with _fresh_store(args.database_url, inline=options.virtual) as store:
        return await run_day(store, profile, options)


# The throwaway database's settings. Commits need not wait for the WAL to reach the disk: every
# transaction stays atomic (the engine's invariants are unchanged), only an OS crash could lose
# the last few, and the day's wall time stops being the disk's fsync latency. Generic plans: in
# a small database PostgreSQL re-planned the array statements at every run, which cost more
# than running them (docs/ARCHITECTURE.md).
THROWAWAY_SETTINGS = {"synchronous_commit": "off", "plan_cache_mode": "force_generic_plan"}


@contextlib.asynccontextmanager
async def _fresh_store(url, *, inline: bool = False, send_ahead: bool = True):
    from dialer.store import Store, migrate, open_store

    async with open_store(url, migrated=False, max_size=2) as admin:
        name = f"dialer_loadtest_{os.getpid()}_{time.monotonic_ns() % 10**9}"
        await admin.execute(f'CREATE DATABASE "{name}"')
        for setting, value in THROWAWAY_SETTINGS.items():
            await admin.execute(f'ALTER DATABASE "{name}" SET {setting} = {value}')
        fresh = urllib.parse.urlunsplit(urllib.parse.urlsplit(admin.url)._replace(path="/" + name))
        try:
            # In virtual time the day's store runs its crossings inline (Store.open(inline=...)).
            async with Store.open(fresh, max_size=10, inline=inline, send_ahead=send_ahead) as store:
                await migrate(store)
                yield store
        finally:
            with trio.CancelScope(shield=True):
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
