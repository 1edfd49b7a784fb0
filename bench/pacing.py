"""Pacing benchmark (issue 9): the engine + simulator in virtual time, per scenario and pacer.

Each run is a whole `dialer loadtest --virtual` day (`dialer.engine.loadtest.run_day`: real
PostgreSQL on a fresh database, the simulator's carrier on the in-memory network, MockClock)
with the issue's population: `config/sim/pacing-25.toml` (talk lognormal 120/90 s, wrap 30 s,
ring lognormal mean 8 s, no answer after 25 s, busy 10 %, invalid 5 %, machine 15 % of the
rest) with the live-answer share set to 15, 25 or 40 %. Reported per scenario and pacer:
occupancy ((talk + wrap) / logged-in), talk minutes per operator-hour, abandon rate (day and
worst hour), operator wait (ready seconds per bridged call), audit violations, wall time.

    python bench/pacing.py --operators 20 --live 25 --hours 1 --seeds 1
    python bench/pacing.py --operators 5 20 100 --live 15 25 40 --hours 8 --seeds 1 2 3 \\
        --pacers progressive power adaptive predictive --json results.jsonl
    python bench/pacing.py --from-json results.jsonl --plot docs/pacing-20-operators.png

Occupancy is over the dialing day (the desk's state clock when dialing stops; the drain after it,
operators waiting for the last calls, is `occupancy_with_drain` in the JSON). Each JSON line also
holds the hour-by-hour occupancy and abandon rate (`Timeline`) that the plot draws. These are
virtual-time outcomes, not speed: the machine's load changes only `wall_seconds`.

`adaptive` is the VICIdial-style baseline (dialer/pacing/baselines.py).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BASE_PROFILE = ROOT / "config" / "sim" / "pacing-25.toml"


def scenario_profile(live_percent: int):
    from sim.profile import parse_profile

    text = BASE_PROFILE.read_text()
    text, n = re.subn(r"(?m)^answered = .*$", f"answered = {live_percent / 100:.2f}", text)
    assert n == 1, "pacing-25.toml's [outcomes] answered line moved"
    return parse_profile(text, source=f"pacing-{live_percent}", base_dir=BASE_PROFILE.parent)


async def _day(database_url, profile, options):
    from dialer.cli.loadtest import _fresh_store
    from dialer.engine.loadtest import run_day

    async with _fresh_store(database_url, inline=options.virtual) as store:
        return await run_day(store, profile, options)


class Timeline:
    """Per-hour occupancy and abandon rate from the day's status ticks (every 5 virtual seconds).

    Occupancy per hour = operators on a call or in wrap-up / operators logged in, averaged over
    the hour's ticks (a sample, unlike the day figure, which is the desk's exact state clock);
    abandon per hour = abandoned / (answered + abandoned) among the calls that ended in that hour
    (the runner's counts; an answered call counts when it hangs up).
    """

    def __init__(self):
        self.busy: dict[int, list[float]] = {}
        self.settled: dict[int, list[int]] = {}     # hour -> cumulative [live, abandoned] at its end

    def sample(self, status: dict) -> None:
        hour = int(status["elapsed"] // 3600)
        ops = status["operators"]
        logged_in = sum(v for k, v in ops.items() if k != "logged_out")
        if logged_in:
            self.busy.setdefault(hour, []).append((ops.get("on_call", 0) + ops.get("wrap_up", 0)) / logged_in)
        out = status["outcomes"]
        self.settled[hour] = [out.get("answered", 0) + out.get("abandoned", 0), out.get("abandoned", 0)]

    def hour_occupancy(self) -> list[float]:
        return [statistics.fmean(self.busy[h]) for h in sorted(self.busy)]

    def hour_abandon(self) -> list[float]:
        rates, before = [], (0, 0)
        for h in sorted(self.settled):
            live, abandoned = self.settled[h]
            n, a = live - before[0], abandoned - before[1]
            rates.append(a / n if n else 0.0)
            before = (live, abandoned)
        return rates


def run_one(operators: int, live: int, pacer: str, hours: float, seed: int, database_url=None) -> dict:
    from dialer.engine.loadtest import DayOptions
    from sim.virtual import run_virtual

    duration = hours * 3600
    options = DayOptions(operators=operators, duration=duration, pacing=pacer, seed=seed,
                         leads=max(2000, int(operators * duration / 60 * 3)), virtual=True)
    timeline = Timeline()
    options.on_tick = timeline.sample
    started = time.perf_counter()
    report = run_virtual(_day, database_url, scenario_profile(live), options, seed=seed)
    return {"operators": operators, "live": live, "pacer": pacer, "hours": hours, "seed": seed,
            "occupancy": report["day_occupancy"], "occupancy_with_drain": report["occupancy"], "talk_min_per_op_hour": report["talk_minutes_per_operator_hour"],
            "abandon_day": report["abandon_rate"], "abandon_worst_hour": report["worst_hour_abandon_rate"],
            "wait_per_call": report["operator_wait_per_call"], "calls": report["calls"],
            "live_answers": report["live_answers"], "audit_violations": report["audit_violations"],
            "hour_occupancy": timeline.hour_occupancy(), "hour_abandon": timeline.hour_abandon(),
            "outcomes": report["outcomes"], "operator_seconds": report["operator_seconds"],
            "wall_seconds": round(time.perf_counter() - started, 1)}


def table(rows: list[dict]) -> str:
    """Markdown table, one row per (operators, live, pacer): medians over seeds."""
    lines = ["| operators | live | pacer | hours | seeds | occupancy | talk min/op-h | abandon day "
             "| worst hour | wait/call s | calls | audit | wall s |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    order = {"progressive": 0, "power": 1, "adaptive": 2, "predictive": 3}
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault((r["operators"], r["live"], r["pacer"], r["hours"]), []).append(r)
    for (operators, live, pacer, hours), rs in sorted(groups.items(),
                                                       key=lambda kv: (kv[0][0], kv[0][1], order.get(kv[0][2], 9))):
        def med(k):
            values = [r[k] for r in rs if r.get(k) is not None]
            return statistics.median(values) if values else float("nan")
        lines.append(
            f"| {operators} | {live} % | {pacer} | {hours:g} | {len(rs)} | {med('occupancy'):.1%} "
            f"| {med('talk_min_per_op_hour'):.1f} | {med('abandon_day'):.2%} | {med('abandon_worst_hour'):.2%} "
            f"| {med('wait_per_call'):.1f} | {med('calls'):,.0f} | {sum(r['audit_violations'] for r in rs)} "
            f"| {med('wall_seconds'):.0f} |")
    return "\n".join(lines)


def plot(rows: list[dict], path: str, operators: int = 20, live: int = 25) -> None:
    """Occupancy and abandon rate per hour of the day, one line per pacer (first seed run)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    for pacer in ("progressive", "power", "adaptive", "predictive"):
        rs = [r for r in rows if r["pacer"] == pacer and r["operators"] == operators and r["live"] == live
              and r.get("hour_occupancy")]
        if not rs:
            continue
        r = min(rs, key=lambda r: r["seed"])
        hours = list(range(1, len(r["hour_occupancy"]) + 1))
        a1.plot(hours, [o * 100 for o in r["hour_occupancy"]], marker="o", label=f"{pacer} (seed {r['seed']})")
        a2.plot(hours[:len(r["hour_abandon"])], [x * 100 for x in r["hour_abandon"]], marker="o", label=pacer)
    a1.set_ylabel("occupancy %")
    a2.set_ylabel("abandon rate %")
    a2.axhline(3.0, color="grey", linestyle="--", linewidth=0.8)
    a2.axhline(5.0, color="red", linestyle=":", linewidth=0.8)
    a2.set_xlabel("hour of the day")
    a1.legend(fontsize=8)
    fig.suptitle(f"{operators} operators, {live} % live answers — engine + simulator, virtual time")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--operators", type=int, nargs="+", default=[20])
    p.add_argument("--live", type=int, nargs="+", default=[25], help="live-answer percent(s)")
    p.add_argument("--pacers", nargs="+", default=["progressive", "power", "adaptive", "predictive"])
    p.add_argument("--hours", type=float, default=8.0)
    p.add_argument("--seeds", type=int, nargs="+", default=[1])
    p.add_argument("--database-url", default=None)
    p.add_argument("--json", default=None, help="append one JSON line per run to this file")
    p.add_argument("--from-json", default=None, help="no runs: table (and --plot) from this file's lines")
    p.add_argument("--plot", default=None, help="PNG of the 20-operator / 25 %% day, hour by hour")
    args = p.parse_args()
    if args.from_json:
        rows = [json.loads(line) for line in open(args.from_json) if line.startswith("{")]
    else:
        rows = []
        for operators in args.operators:
            for live in args.live:
                for pacer in args.pacers:
                    for seed in args.seeds:
                        row = run_one(operators, live, pacer, args.hours, seed, args.database_url)
                        rows.append(row)
                        print(json.dumps(row), flush=True)
                        if args.json:
                            with open(args.json, "a") as f:
                                f.write(json.dumps(row) + "\n")
        print()
    print(table(rows))
    if args.plot:
        plot(rows, args.plot)


if __name__ == "__main__":
    main()
