"""SIP call set-up rate and held-call memory, against sipp on loopback.

    .venv/bin/python bench/sip_cps.py [--seconds 10] [--workers 200] [--hold 10000]

Three measurements in one run, all against the same `sipp -sn uas` (4 MB socket buffers):
1. our UAC: closed loop of `--workers` concurrent callers, each doing
   INVITE → 180 → 200 → ACK → BYE → 200 in a loop for `--seconds`;
2. sipp's own UAC (`-sn uac`, same concurrency limit) against the same UAS, as the
   reference on this machine at this moment; the ratio ours/sipp is reported;
3. `--hold` calls set up and held at once, with the process RSS measured.
Our UAC is measured with CPython's default GC thresholds and with `tune_gc_for_calls()`
(`--gc both`, the default), so the effect of that process-wide setting stays visible.
Prints one JSON object. Needs sipp (Debian package sip-tester).
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import re
import resource
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "sip"))

from dialer.net import UdpNetwork  # noqa: E402
from dialer.sip.endpoint import open_endpoint  # noqa: E402
from dialer.sip.gctune import tune_gc_for_calls  # noqa: E402
from dialer.sip.sdp import make_offer  # noqa: E402
from dialer.sip.trunk import Trunk  # noqa: E402
from sipp_runner import free_port  # noqa: E402

BUFF = "4194304"


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def sipp_base(sipp: str, port: int) -> list[str]:
    return [sipp, "-i", "127.0.0.1", "-p", str(port), "-ci", "127.0.0.1", "-cp", str(free_port()),
            "-mi", "127.0.0.1", "-mp", str(free_port()), "-nostdin", "-buff_size", BUFF]


class CallTracer:
    """`--trace-failures`: every SIP message of every call, by Call-ID, kept until the
    call succeeds; what is left at the end is the exchange of each failed call."""

    def __init__(self, transport):
        self.traces: dict[str, list] = {}
        send, parse = transport.send, transport._parse

        async def traced_send(message, address):
            self._add(message, "sent")
            await send(message, address)

        def traced_parse(data, address):
            result = parse(data, address)
            self._add(result[0], "received")
            return result

        transport.send, transport._parse = traced_send, traced_parse

    def _add(self, message, direction: str) -> None:
        call_id = getattr(message, "call_id", None)
        if call_id is None:
            return
        line = (f"{message.method} " if hasattr(message, "method")
                else f"{message.status} ") + f"CSeq {message.cseq} {message.cseq_method}" \
            + f" branch {message.branch}"
        self.traces.setdefault(call_id, []).append(
            (round(trio.current_time(), 4), direction, line))

    def report(self, call) -> dict:
        return {"call_id": call.call_id, "state": call.state, "outcome": call.outcome,
                "sip_status": call.sip_status, "reason": call.reason, "ended_by": call.ended_by,
                "progress": [(round(t, 4), s) for t, s in call.progress],
                "messages": self.traces.get(call.call_id, []),
                "endpoint_stats": dict(call.endpoint.stats)}


class GcPauses:
    """How long the garbage collector stopped the process, per generation (a pause of
    more than T1 = 0.5 s makes every call in flight retransmit)."""

    LONG = 0.05  # pauses at least this long are listed with when they happened

    def __init__(self):
        self.count = [0, 0, 0]
        self.total = [0.0, 0.0, 0.0]
        self.longest = [0.0, 0.0, 0.0]
        self.long_pauses: list[tuple[float, int, int]] = []  # (s into the run, gen, ms)
        self._began = 0.0
        self._start = time.perf_counter()

    def __enter__(self):
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc):
        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._began = time.perf_counter()
            return
        generation, took = info["generation"], time.perf_counter() - self._began
        self.count[generation] += 1
        self.total[generation] += took
        self.longest[generation] = max(self.longest[generation], took)
        if took >= self.LONG:
            self.long_pauses.append((round(self._began - self._start, 1), generation,
                                     round(took * 1e3)))

    def report(self) -> dict:
        return {f"gen{g}": {"collections": self.count[g], "total_ms": round(self.total[g] * 1e3),
                            "longest_ms": round(self.longest[g] * 1e3)} for g in range(3)} | {
            "long_pauses_s_gen_ms": self.long_pauses}


async def our_uac(target, seconds: float, workers: int, trace: bool = False) -> dict:
    sdp = make_offer("127.0.0.1", 10000).to_bytes()
    done = failed = slow = 0
    unfinished = 0
    failed_calls, open_calls, slow_starts, slow_calls = [], set(), [], []
    async with open_endpoint(UdpNetwork(), "127.0.0.1", 0) as endpoint:
        tracer = CallTracer(endpoint.transport) if trace else None
        trunk = Trunk("sipp", *target)
        start = trio.current_time()
        end = start + seconds

        async def worker():
            nonlocal done, failed, slow, unfinished
            while trio.current_time() < end:
                began = trio.current_time()
                call = await endpoint.dial(trunk, "100", ring_timeout=30, sdp=sdp)
                unfinished += 1
                open_calls.add(call)
                if await call.wait_answered():
                    await call.hangup()
                    done += 1
                else:
                    failed += 1
                    failed_calls.append(call)
                open_calls.discard(call)
                unfinished -= 1
                if trio.current_time() - began > 0.4:
                    slow += 1  # needed a retransmission (T1 = 0.5 s)
                    slow_starts.append(round(began - start, 1))
                    if tracer and len(slow_calls) < 5 and call.outcome == "answered":
                        slow_calls.append(tracer.report(call))
                if tracer and call.outcome == "answered":
                    tracer.traces.pop(call.call_id, None)

        cpu0 = time.process_time()
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        with GcPauses() as pauses:
            async with trio.open_nursery() as nursery:
                for _ in range(workers):
                    nursery.start_soon(worker)
                # Calls still open 5 s after the window are failures (e.g. a BYE nobody answers).
                await trio.sleep(seconds + 5)
                nursery.cancel_scope.cancel()
        cpu = time.process_time() - cpu0
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        user, system = ru1.ru_utime - ru0.ru_utime, ru1.ru_stime - ru0.ru_stime
        stats = endpoint.transport.stats
    result = {"calls": done, "failures": failed + unfinished, "slow_calls": slow,
            "seconds": seconds, "calls_per_second": round(done / seconds),
            "cpu_seconds": round(cpu, 2), "cpu_us_per_call": round(cpu / max(done, 1) * 1e6),
            "user_us_per_call": round(user / max(done, 1) * 1e6),
            "system_us_per_call": round(system / max(done, 1) * 1e6),
            "datagrams_sent": stats.sent, "datagrams_received": stats.received,
            "internal_errors": endpoint.stats["internal_errors"], "gc_pauses": pauses.report(),
            # When the slow calls began (seconds into the run, per 0.1 s): spread out means
            # lost datagrams; all the workers at once means the whole process stalled.
            "slow_call_starts": sorted(collections.Counter(slow_starts).items())}
    if tracer:
        result["failed_calls"] = [tracer.report(c) for c in failed_calls[:10]]
        result["unfinished_calls"] = [tracer.report(c) for c in list(open_calls)[:10]]
        result["slow_call_traces"] = slow_calls
    return result


def sipp_uac(sipp: str, target_port: int, seconds: float, limit: int) -> dict:
    # Offered rate far above capacity; -l caps concurrent calls like our workers do.
    calls = 200_000
    cmd = sipp_base(sipp, free_port()) + ["-sn", "uac", f"127.0.0.1:{target_port}", "-r", "40000",
                                          "-l", str(limit), "-m", str(calls),
                                          "-timeout", f"{int(seconds)}s", "-timeout_error"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, timeout=seconds + 60)
    elapsed = time.perf_counter() - start
    text = proc.stdout.decode(errors="replace")
    def last(name):
        found = re.findall(rf"{name}\s*\|\s*(\d+)\s*\|\s*(\d+)", text)
        return int(found[-1][1]) if found else None
    ok, bad = last("Successful call"), last("Failed call")
    return {"calls": ok, "failures": bad, "seconds": round(elapsed, 2),
            "calls_per_second": round((ok or 0) / min(elapsed, seconds)) if ok else None,
            "exit": proc.returncode}


async def hold_calls(target, count: int, rate: float) -> dict:
    sdp = make_offer("127.0.0.1", 10000).to_bytes()
    base = rss_mib()
    answered = []
    async with open_endpoint(UdpNetwork(), "127.0.0.1", 0) as endpoint:
        trunk = Trunk("sipp", *target, max_cps=rate)
        calls = []
        start = trio.current_time()
        for _ in range(count):
            calls.append(await endpoint.dial(trunk, "100", ring_timeout=120, sdp=sdp))
        for call in calls:
            if await call.wait_answered():
                answered.append(call)
        setup = trio.current_time() - start
        await trio.sleep(2)
        held = sum(1 for c in calls if c.state == "answered")
        rss = rss_mib()
        async with trio.open_nursery() as nursery:
            for call in answered:
                nursery.start_soon(call.hangup)
        ended = sum(1 for c in calls if c.state == "ended")
    return {"calls": count, "held_at_once": held, "setup_seconds": round(setup, 1),
            "rss_mib_before": round(base), "rss_mib_held": round(rss),
            "rss_kib_per_call": round((rss - base) * 1024 / max(held, 1), 1), "ended": ended}


def median_run(runs: list[dict]) -> dict:
    """The median run by calls/s, with every run's rate and failures (a failure in any
    run counts, not only in the median one) and, when traced, every failed call's trace."""
    by_rate = sorted(runs, key=lambda r: r["calls_per_second"])
    median = {k: v for k, v in by_rate[len(runs) // 2].items()
              if k not in ("failed_calls", "unfinished_calls", "slow_call_starts",
                           "slow_call_traces")}
    median |= {"all_runs_cps": [r["calls_per_second"] for r in runs],
               "all_runs_failures": [r["failures"] for r in runs],
               "all_runs_slow_calls": [r["slow_calls"] for r in runs]}
    traced = [c for r in runs for c in r.get("failed_calls", []) + r.get("unfinished_calls", [])]
    median["all_runs_slow_call_starts"] = [r["slow_call_starts"] for r in runs]
    median["all_runs_long_gc_pauses"] = [r["gc_pauses"]["long_pauses_s_gen_ms"] for r in runs]
    if any("failed_calls" in r for r in runs):
        median["failed_call_traces"] = traced
        median["slow_call_traces"] = [c for r in runs for c in r["slow_call_traces"]]
    return median


async def main_async(args) -> dict:
    sipp = shutil.which("sipp")
    if not sipp:
        raise SystemExit("sipp not found (Debian package sip-tester)")
    port = free_port()
    uas_log = []
    if args.uas_error_log:
        # sipp logs every message it did not expect, with the call's Call-ID.
        uas_log = ["-trace_err", "-error_file", str(Path(args.uas_error_log).resolve())]
    uas = subprocess.Popen(sipp_base(sipp, port) + ["-sn", "uas", "-l", "100000"] + uas_log,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await trio.sleep(0.5)
        target = ("127.0.0.1", port)
        result = {"machine": "2 cores, shared with other work", "sipp_uas_port": port}
        if args.hold_only:
            result["held"] = await hold_calls(target, args.hold, args.hold_rate)
            return result
        default_gc = gc.get_threshold()
        if args.gc in ("both", "default"):
            runs = [await our_uac(target, args.seconds, args.workers, args.trace_failures)
                    for _ in range(args.runs)]
            result["ours_default_gc"] = median_run(runs) | {"gc_threshold": default_gc}
        if args.gc in ("both", "tuned"):
            tune_gc_for_calls()  # what the engine's process does (dialer/sip/gctune.py)
            runs = [await our_uac(target, args.seconds, args.workers, args.trace_failures)
                    for _ in range(args.runs)]
            result["ours"] = median_run(runs) | {"gc_threshold": gc.get_threshold()}
            gc.set_threshold(*default_gc)
        else:
            result["ours"] = result.pop("ours_default_gc")
        if args.no_reference:
            return result
        refs = [await trio.to_thread.run_sync(sipp_uac, sipp, port, args.seconds, args.workers)
                for _ in range(args.runs)]
        refs.sort(key=lambda r: r["calls_per_second"] or 0)
        result["sipp_uac"] = refs[len(refs) // 2] | {"all_runs_cps": [r["calls_per_second"] for r in refs]}
        if result["sipp_uac"]["calls_per_second"]:
            result["ratio_ours_to_sipp"] = round(
                result["ours"]["calls_per_second"] / result["sipp_uac"]["calls_per_second"], 3)
            if "ours_default_gc" in result:
                result["ratio_default_gc_to_sipp"] = round(
                    result["ours_default_gc"]["calls_per_second"]
                    / result["sipp_uac"]["calls_per_second"], 3)
        if args.hold:
            result["held"] = await hold_calls(target, args.hold, args.hold_rate)
        return result
    finally:
        uas.terminate()
        uas.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--hold", type=int, default=10000)
    parser.add_argument("--hold-rate", type=float, default=300,
                        help="calls/s while setting up the held calls")
    parser.add_argument("--hold-only", action="store_true")
    parser.add_argument("--gc", choices=("both", "default", "tuned"), default="both",
                        help="measure our UAC with CPython's default GC thresholds, with "
                             "tune_gc_for_calls(), or both (default)")
    parser.add_argument("--trace-failures", action="store_true",
                        help="record every SIP message per call and print the exchange of each "
                             "failed or unfinished call (costs some CPU)")
    parser.add_argument("--no-reference", action="store_true",
                        help="skip sipp's own UAC and the held calls (diagnosis runs only)")
    parser.add_argument("--uas-error-log", metavar="FILE",
                        help="let the sipp UAS write the messages it did not expect to FILE")
    args = parser.parse_args()
    print(json.dumps(trio.run(main_async, args), indent=2))


if __name__ == "__main__":
    main()
