"""A whole campaign day in virtual time: engine + simulator + real PostgreSQL (issue 7/8 target).

Runs `dialer loadtest --virtual`'s day (`dialer.engine.loadtest.run_day`) against a fresh
database and reports wall time, calls, store crossings (per unit of work), CPU time and the
audit result. The target: an 8-hour day with 100 operators in <= 30 s wall.

    python bench/engine_day.py --operators 20 --hours 1
    python bench/engine_day.py --operators 100 --hours 8 --profile config/sim/pacing-25.toml
    python bench/engine_day.py ... --cprofile out.prof     # where the CPU goes
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import trio  # noqa: E402

from dialer.store.bridge import Store  # noqa: E402

CROSSINGS: collections.Counter = collections.Counter()
CROSS_WALL: collections.Counter = collections.Counter()
CROSS_TRIPS: collections.Counter = collections.Counter()


def count_crossings() -> None:
    """Wrap Store._cross to count crossings and their wall time per unit of work."""
    original = Store._cross

    async def counted(self, runner, unit, args, reads=None):
        name = getattr(unit, "__qualname__", None) or getattr(getattr(unit, "func", None), "__qualname__", "?")
        started = time.perf_counter()
        trips = ROUND_TRIPS[0]
        try:
            return await original(self, runner, unit, args, reads)
        finally:
            CROSSINGS[name] += 1
            CROSS_WALL[name] += time.perf_counter() - started
            CROSS_TRIPS[name] += ROUND_TRIPS[0] - trips     # approximate if crossings overlap

    Store._cross = counted


ROUND_TRIPS = [0]


def pg_cpu_seconds() -> float | None:
    """CPU seconds used so far by the embedded PostgreSQL (postmaster, its live children, and the
    children it has reaped), from /proc; None for another server (not ours to read)."""
    from dialer.store.embedded import default_data_dir

    data = default_data_dir()       # where the store started it: DIALER_PG_DATA, or under the cwd
    try:
        postmaster = int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        if pid == postmaster:
            total += sum(int(x) for x in fields[11:15])      # utime stime cutime cstime
        elif ppid == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def count_round_trips() -> None:
    """Count writes to PostgreSQL's sockets (asyncpg sends a query's messages in one write, and
    waits for the answer: one write is about one round trip)."""
    import asyncio.selector_events as se

    original = se._SelectorSocketTransport.write

    def counted(self, data):
        ROUND_TRIPS[0] += 1
        return original(self, data)

    se._SelectorSocketTransport.write = counted


class SideClock(trio.abc.Instrument):
    """Our process's CPU by side (`--sides`): each trio task step is the simulator's (a task
    started, at any depth, by a coroutine of the `sim` package: the carrier and its called
    parties, the operator phones and their SIP endpoints) or the dialer's (everything else:
    the engine, its SIP endpoint, its store crossings); the time between steps is trio's
    scheduler and, separately, the inline store's polls for units sent ahead (dialer work).
    Thread CPU time, read twice a step: the instrument itself adds ~15 % to the day."""

    def __init__(self):
        self.seconds: collections.Counter = collections.Counter()
        self.steps: collections.Counter = collections.Counter()
        self._sides: dict = {}
        self._mark = time.thread_time()

    def side(self, task) -> str:
        side = self._sides.get(task)
        if side is None:
            side, ancestor = "dialer", task
            while ancestor is not None:
                frame = getattr(ancestor.coro, "cr_frame", None)
                if frame is not None and frame.f_globals.get("__name__", "").startswith("sim."):
                    side = "simulator"
                    break
                nursery = ancestor.parent_nursery
                ancestor = nursery.parent_task if nursery is not None else None
            self._sides[task] = side
        return side

    def _lap(self, what: str) -> None:
        now = time.thread_time()
        self.seconds[what] += now - self._mark
        self._mark = now

    def before_task_step(self, task) -> None:
        self._lap("scheduler")

    def after_task_step(self, task) -> None:
        side = self.side(task)
        self._lap(side)
        self.steps[side] += 1

    def task_exited(self, task) -> None:
        self._sides.pop(task, None)

    def poll_started(self) -> None:
        self._lap("scheduler")

    def poll_ended(self) -> None:
        self._lap("dialer: store polls between steps")


def clock_sides() -> SideClock:
    """Install a SideClock in the running trio loop, with the inline store's ahead-poller timed."""
    from dialer.store import bridge

    sides = SideClock()
    original = bridge._InlineLoop.poll

    def timed_poll(self):
        sides.poll_started()
        try:
            return original(self)
        finally:
            sides.poll_ended()

    bridge._InlineLoop.poll = timed_poll
    trio.lowlevel.add_instrument(sides)
    return sides


async def _run(args, profile, options):
    from dialer.cli.loadtest import _fresh_store
    from dialer.engine.loadtest import run_day

    async with _fresh_store(args.database_url, inline=not args.trio_asyncio,
                            send_ahead=not args.no_send_ahead) as store:
        CROSSINGS.clear()
        CROSS_WALL.clear()
        CROSS_TRIPS.clear()
        ROUND_TRIPS[0] = 0
        started = time.perf_counter()
        sides = clock_sides() if args.sides else None
        cpu = time.process_time()
        pg_cpu = pg_cpu_seconds() if args.database_url is None else None
        report = await run_day(store, profile, options)
        report["day_wall_seconds"] = time.perf_counter() - started
        report["day_cpu_seconds"] = time.process_time() - cpu
        pg_end = pg_cpu_seconds() if pg_cpu is not None else None
        report["day_pg_cpu_seconds"] = None if pg_end is None else round(pg_end - pg_cpu, 2)
        report["ahead"] = store.ahead_stats
        if sides is not None:
            trio.lowlevel.remove_instrument(sides)
            calls = max(1, report["calls"])
            report["sides"] = {k: {"cpu_seconds": round(v, 2), "us_per_call": round(v / calls * 1e6, 1),
                                   "steps_per_call": round(sides.steps[k] / calls, 2)}
                               for k, v in sides.seconds.most_common()}
        return report


def main() -> None:
    from dialer.engine.loadtest import DayOptions
    from sim.profile import load_profile
    from sim.virtual import run_virtual

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--operators", type=int, default=20)
    p.add_argument("--hours", type=float, default=1.0)
    p.add_argument("--profile", default=str(ROOT / "config" / "sim" / "default.toml"))
    p.add_argument("--pacing", default="progressive")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--database-url", default=None)
    p.add_argument("--round-gap", type=float, default=0.25, help="seconds between launch rounds at least")
    p.add_argument("--journal-interval", type=float, default=5.0)
    p.add_argument("--trio-asyncio", action="store_true",
                   help="cross to the database through trio-asyncio (the default in virtual time is inline: "
                        "Store.open(inline=True))")
    p.add_argument("--cprofile", default=None, help="write a cProfile dump here")
    p.add_argument("--default-gc", action="store_true",
                   help="keep CPython's GC thresholds (`dialer loadtest` raises them: dialer/sip/gctune.py)")
    p.add_argument("--one-core", type=int, default=None, metavar="CPU",
                   help="pin this process to one CPU before the embedded PostgreSQL starts (its server "
                        "and backends inherit the affinity): the day hands work to PostgreSQL and waits, "
                        "and on one core each hand-off is a context switch instead of a cross-core wake-up")
    p.add_argument("--no-send-ahead", action="store_true",
                   help="run the journal's flushes and the hopper's top-ups in the day's crossings "
                        "(Store.open(send_ahead=False)) instead of sending them ahead")
    p.add_argument("--sides", action="store_true",
                   help="split our process's CPU between the simulator, the dialer and trio's scheduler "
                        "(a trio Instrument; it adds ~15 %% to the day)")
    args = p.parse_args()
    if args.one_core is not None:
        os.sched_setaffinity(0, {args.one_core})
    if not args.default_gc:
        from dialer.sip.gctune import tune_gc_for_calls
        tune_gc_for_calls()         # as `dialer loadtest` does (a call-carrying command)
    count_crossings()
    count_round_trips()
    profile = load_profile(args.profile)
    duration = args.hours * 3600
    options = DayOptions(operators=args.operators, duration=duration, pacing=args.pacing, seed=args.seed,
                         leads=max(2000, int(args.operators * duration / 60 * 1.5)), virtual=True,
                         round_gap=args.round_gap, journal_interval=args.journal_interval)
    started = time.perf_counter()
    if args.cprofile:
        import cProfile
        prof = cProfile.Profile()
        report = prof.runcall(run_virtual, _run, args, profile, options, seed=args.seed)
        prof.dump_stats(args.cprofile)
    else:
        report = run_virtual(_run, args, profile, options, seed=args.seed)
    wall = time.perf_counter() - started
    out = {k: report[k] for k in ("calls", "outcomes", "live_answers", "abandon_rate", "worst_hour_abandon_rate",
                                  "occupancy", "talk_minutes_per_operator_hour", "audit_violations",
                                  "audit_by_rule", "dials_per_list", "journal")}
    out.update(store="trio-asyncio" if args.trio_asyncio else "inline", one_core=args.one_core, send_ahead=not args.no_send_ahead, gc="default" if args.default_gc else "tuned", round_gap=args.round_gap, journal_interval=args.journal_interval, operators=args.operators, hours=args.hours, pacing=args.pacing, seed=args.seed,
               profile=Path(args.profile).name,
               wall_seconds=round(wall, 2), day_wall_seconds=round(report["day_wall_seconds"], 2),
               day_cpu_seconds=round(report["day_cpu_seconds"], 2),
               day_pg_cpu_seconds=report["day_pg_cpu_seconds"],
               # crossings that found a unit sent ahead in flight: ran beside it / finished it first
               ahead=report["ahead"],
               crossings=sum(CROSSINGS.values()),
               crossings_per_call=round(sum(CROSSINGS.values()) / max(1, report["calls"]), 2),
               crossing_wall_seconds=round(sum(CROSS_WALL.values()), 2),
               db_round_trips=ROUND_TRIPS[0],
               db_round_trips_per_call=round(ROUND_TRIPS[0] / max(1, report["calls"]), 2),
               # unit of work: [crossings, wall seconds in them, database round trips in them]
               by_unit={k: [v, round(CROSS_WALL[k], 2), CROSS_TRIPS[k]] for k, v in CROSSINGS.most_common(12)},
               **({"sides": report["sides"]} if args.sides else {}),
               maxrss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
    print(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
