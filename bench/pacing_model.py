"""A fast stand-alone discrete-event model of a call centre, driving `dialer.pacing` pacers.

This is NOT the engine: no SIP, no database, no trio. It exists to tune and compare pacers now,
through the same pure interface the engine's campaign runner uses (`Snapshot` in, `Decision`
out, events to `observe`). `bench/pacing.py` (engine + simulator) replaces it as the reference
once the engine exists; the report format is the same so the two tables can be compared.

Scenario (issue 9): talk lognormal mean 120 s sd 90 s; wrap-up 30 s; ring to answer lognormal
mean 8 s (sd 4 s, our choice), no answer after 25 s; busy 10 %, invalid 5 %, machine 15 % of the
rest; live answers 15/25/40 % of dials; 5/20/100 operators logged in for an 8-hour day.
A live answer that finds no operator within 2 s is abandoned. Machines are hung up 3 s after
answering (detection) and need no operator.

    python bench/pacing_model.py                         # full table, 3 seeds, 2 processes
    python bench/pacing_model.py --operators 20 --live 0.25 --pacers predictive --seeds 1
    python bench/pacing_model.py --plot docs/pacing-20ops.png
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import math
import random
import statistics
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dialer.config.model import PacingConfig  # noqa: E402
from dialer.pacing import (CallResolved, LiveAnswerSettled, Snapshot, TalkEnded,  # noqa: E402
                           WrapEnded, make_pacer)

HOUR = 3600.0
BRIDGE_LIMIT = 2.0
TICK = 0.5


@dataclass
class Scenario:
    operators: int = 20
    live_rate: float = 0.25
    hours: float = 8.0
    talk_mean: float = 120.0
    talk_sd: float = 90.0
    wrap: float = 30.0
    answer_mean: float = 8.0
    answer_sd: float = 4.0
    ring_timeout: float = 25.0
    busy: float = 0.10
    invalid: float = 0.05
    machine_of_rest: float = 0.15
    machine_detect: float = 3.0


def _lognormal(rng: random.Random, mean: float, sd: float) -> float:
    s2 = math.log(1 + (sd / mean) ** 2)
    return rng.lognormvariate(math.log(mean) - s2 / 2, math.sqrt(s2))


@dataclass
class Result:
    pacer: str
    operators: int
    live_rate: float
    seed: int
    calls: int = 0
    live: int = 0
    abandoned: int = 0
    busy_time: float = 0.0
    talk_time: float = 0.0
    waits: list[float] = field(default_factory=list)
    hour_live: list[int] = field(default_factory=list)
    hour_abandoned: list[int] = field(default_factory=list)
    hour_busy: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0

    def summary(self, hours: float) -> dict:
        logged_in = self.operators * hours * HOUR
        worst = max((a / n for a, n in zip(self.hour_abandoned, self.hour_live) if n), default=0.0)
        return {
            "pacer": self.pacer, "operators": self.operators, "live_rate": self.live_rate,
            "seed": self.seed, "calls": self.calls, "live_answers": self.live,
            "occupancy": self.busy_time / logged_in,
            "talk_minutes_per_operator_hour": self.talk_time / 60.0 / (self.operators * hours),
            "abandon_rate": self.abandoned / self.live if self.live else 0.0,
            "worst_hour_abandon_rate": worst,
            "mean_wait_seconds": statistics.fmean(self.waits) if self.waits else 0.0,
            "wall_seconds": self.wall_seconds,
        }


def run(pacer_name: str, sc: Scenario, seed: int, config: PacingConfig | None = None) -> Result:
    """One seeded day. The pacer only sees what the engine would give it."""
    wall = time.perf_counter()
    rng = random.Random(seed * 1000 + sc.operators * 7 + int(sc.live_rate * 100))
    config = config or PacingConfig(ring_timeout_seconds=sc.ring_timeout)
    pacer = make_pacer(pacer_name, config)
    end = sc.hours * HOUR
    n_hours = math.ceil(sc.hours)
    res = Result(pacer_name, sc.operators, sc.live_rate, seed,
                 hour_live=[0] * n_hours, hour_abandoned=[0] * n_hours, hour_busy=[0.0] * n_hours)

    events: list = []
    seq = itertools.count()

    def at(t: float, kind: str, data=None) -> None:
        heapq.heappush(events, (t, next(seq), kind, data))

    ready: deque[tuple[int, float]] = deque((op, 0.0) for op in range(sc.operators))
    talking: dict[int, float] = {}
    wrapping: dict[int, float] = {}
    ringing: dict[int, float] = {}
    waiting: deque[tuple[int, float]] = deque()    # (call, answered at)
    waiting_ids: set[int] = set()
    machines = 0
    call_ids = itertools.count()
    p_machine = (1 - sc.busy - sc.invalid) * sc.machine_of_rest

    def add_busy(start: float, stop: float) -> None:
        stop = min(stop, end)
        h = int(start // HOUR)
        while start < stop and h < n_hours:
            seg = min(stop, (h + 1) * HOUR) - start
            res.hour_busy[h] += seg
            res.busy_time += seg
            start += seg
            h += 1

    def launch(now: float) -> None:
        cid = next(call_ids)
        ringing[cid] = now
        res.calls += 1
        u = rng.random()
        if u < sc.busy:
            at(now + rng.uniform(1.0, 4.0), "resolve", (cid, "busy"))
        elif u < sc.busy + sc.invalid:
            at(now + rng.uniform(0.5, 2.0), "resolve", (cid, "invalid"))
        elif u < sc.busy + sc.invalid + sc.live_rate + p_machine:
            kind = "live" if u < sc.busy + sc.invalid + sc.live_rate else "machine"
            t = _lognormal(rng, sc.answer_mean, sc.answer_sd)
            while t >= sc.ring_timeout:
                t = _lognormal(rng, sc.answer_mean, sc.answer_sd)
            at(now + t, "resolve", (cid, kind))
        else:
            at(now + sc.ring_timeout, "resolve", (cid, "no_answer"))

    def bridge(now: float, answered_at: float) -> None:
        op, since = ready.popleft()
        res.waits.append(now - since)
        talking[op] = now
        if answered_at < end:
            h = int(answered_at // HOUR)
            res.hour_live[h] += 1
            res.live += 1
        pacer.observe(LiveAnswerSettled(now, False))
        talk = _lognormal(rng, sc.talk_mean, sc.talk_sd)
        at(now + talk, "talk_end", op)

    def snapshot(now: float) -> Snapshot:
        return Snapshot(now=now, ready_operators=len(ready),
                        talking_since=tuple(talking.values()),
                        wrapping_since=tuple(wrapping.values()),
                        ringing_since=tuple(ringing.values()),
                        waiting_calls=len(waiting_ids), machine_calls=machines)

    def decide(now: float) -> None:
        if now >= end:
            return
        for _ in range(pacer.decide(snapshot(now)).launch):
            launch(now)

    at(0.0, "tick")
    while events:
        now, _, kind, data = heapq.heappop(events)
        if kind == "tick":
            decide(now)
            if now + TICK < end:
                at(now + TICK, "tick")
        elif kind == "resolve":
            cid, outcome = data
            launched = ringing.pop(cid)
            pacer.observe(CallResolved(launched, now, outcome))
            if outcome == "live":
                if ready:
                    bridge(now, now)
                else:
                    waiting.append((cid, now))
                    waiting_ids.add(cid)
                    at(now + BRIDGE_LIMIT, "abandon", cid)
            elif outcome == "machine":
                machines += 1
                at(now + sc.machine_detect, "machine_end")
            decide(now)
        elif kind == "machine_end":
            machines -= 1
        elif kind == "abandon":
            if data in waiting_ids:
                waiting_ids.discard(data)
                answered = now - BRIDGE_LIMIT
                waiting = deque(w for w in waiting if w[0] != data)
                if answered < end:
                    h = int(answered // HOUR)
                    res.hour_live[h] += 1
                    res.hour_abandoned[h] += 1
                    res.live += 1
                    res.abandoned += 1
                pacer.observe(LiveAnswerSettled(now, True))
        elif kind == "talk_end":
            op = data
            start = talking.pop(op)
            res.talk_time += max(0.0, min(now, end) - min(start, end))
            wrapping[op] = now
            pacer.observe(TalkEnded(start, now))
            at(now + sc.wrap, "wrap_end", (op, start))
        elif kind == "wrap_end":
            op, talk_start = data
            wrap_start = wrapping.pop(op)
            add_busy(talk_start, now)
            pacer.observe(WrapEnded(wrap_start, now))
            ready.append((op, now))
            while waiting and ready:
                cid, answered = waiting.popleft()
                waiting_ids.discard(cid)
                bridge(now, answered)
            decide(now)
    res.wall_seconds = time.perf_counter() - wall
    return res


# ---- the table -------------------------------------------------------------------------------

PACERS = ("progressive", "power", "adaptive", "predictive")
SCENARIOS = [(ops, live) for ops in (5, 20, 100) for live in (0.15, 0.25, 0.40)]


def _job(args: tuple) -> dict:
    pacer, ops, live, seed, hours, power_ratio = args
    sc = Scenario(operators=ops, live_rate=live, hours=hours)
    cfg = PacingConfig(ring_timeout_seconds=sc.ring_timeout)
    if power_ratio:
        cfg.power_ratio = power_ratio
    r = run(pacer, sc, seed, cfg)
    out = r.summary(hours)
    out["hour_occupancy"] = [b / (ops * HOUR) for b in r.hour_busy]
    out["hour_abandon"] = [a / n if n else 0.0 for a, n in zip(r.hour_abandoned, r.hour_live)]
    return out


def median_rows(rows: list[dict]) -> list[dict]:
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["operators"], r["live_rate"], r["pacer"]), []).append(r)
    keys = ("occupancy", "talk_minutes_per_operator_hour", "abandon_rate",
            "worst_hour_abandon_rate", "mean_wait_seconds", "wall_seconds")
    out = []
    for (ops, live, pacer), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], PACERS.index(kv[0][2]) if kv[0][2] in PACERS else 9)):
        row = {"operators": ops, "live_rate": live, "pacer": pacer, "seeds": len(rs)}
        row.update({k: statistics.median(r[k] for r in rs) for k in keys})
        out.append(row)
    return out


def markdown(rows: list[dict]) -> str:
    lines = ["| operators | live | pacer | occupancy | talk min/op-h | abandon day | worst hour | wait s | seeds |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['operators']} | {r['live_rate']:.0%} | {r['pacer']} | {r['occupancy']:.1%} | "
                     f"{r['talk_minutes_per_operator_hour']:.1f} | {r['abandon_rate']:.2%} | "
                     f"{r['worst_hour_abandon_rate']:.2%} | {r['mean_wait_seconds']:.1f} | {r['seeds']} |")
    return "\n".join(lines)


def plot(rows: list[dict], path: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    for pacer in PACERS:
        rs = [r for r in rows if r["pacer"] == pacer and r["operators"] == 20 and r["live_rate"] == 0.25]
        if not rs:
            continue
        hours = range(1, len(rs[0]["hour_occupancy"]) + 1)
        occ = [statistics.median(r["hour_occupancy"][h - 1] for r in rs) for h in hours]
        ab = [statistics.median(r["hour_abandon"][h - 1] for r in rs) for h in hours]
        a1.plot(list(hours), [o * 100 for o in occ], marker="o", label=pacer)
        a2.plot(list(hours), [x * 100 for x in ab], marker="o", label=pacer)
    a1.set_ylabel("occupancy %")
    a2.set_ylabel("abandon rate %")
    a2.axhline(3.0, color="grey", linestyle="--", linewidth=0.8)
    a2.set_xlabel("hour of the day")
    a1.legend(fontsize=8)
    fig.suptitle("20 operators, 25 % live answers — stand-alone model (median of seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--operators", type=int, nargs="*", default=None)
    ap.add_argument("--live", type=float, nargs="*", default=None)
    ap.add_argument("--pacers", nargs="*", default=list(PACERS))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--power-ratio", type=float, default=None)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", action="store_true", help="print every run as JSON lines")
    ap.add_argument("--plot", default=None, help="write the 20-operator / 25 %% PNG here")
    ap.add_argument("--from-json", default=None,
                    help="build the table (and plot) from a file of --json lines instead of running")
    args = ap.parse_args(argv)
    if args.from_json:
        rows = [json.loads(line) for line in open(args.from_json) if line.startswith("{")]
        print(markdown(median_rows(rows)))
        if args.plot:
            plot(rows, args.plot)
        return 0
    scen = [(o, l) for o, l in SCENARIOS
            if (args.operators is None or o in args.operators) and (args.live is None or l in args.live)]
    if args.operators and args.live:
        scen = [(o, l) for o in args.operators for l in args.live]
    jobs = [(p, o, l, s, args.hours, args.power_ratio)
            for o, l in scen for p in args.pacers
            for s in range(args.first_seed, args.first_seed + args.seeds)]
    wall = time.perf_counter()
    rows = []
    if args.jobs > 1:
        import multiprocessing
        with multiprocessing.Pool(args.jobs) as pool:
            for r in pool.imap_unordered(_job, jobs, chunksize=1):
                rows.append(r)
                if args.json:   # as they finish, so a long run's partial results are usable
                    print(json.dumps(r), flush=True)
    else:
        for j in jobs:
            rows.append(_job(j))
            if args.json:
                print(json.dumps(rows[-1]), flush=True)
    print(markdown(median_rows(rows)))
    print(f"\n{len(jobs)} runs, {time.perf_counter() - wall:.0f} s wall, {args.jobs} processes")
    if args.plot:
        plot(rows, args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
