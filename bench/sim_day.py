"""How fast the simulator runs a calling day in virtual time (issue 7's speed target).

A stand-in dialer (the dialer's own SIP endpoint, no engine yet) keeps `--lines`
calls going through `sim.carrier` over the in-memory network, under
MockClock(autojump_threshold=0), with the pacing benchmark's population
(`config/sim/pacing-25.toml`, 25 s ring timeout). 124 lines is what 100 busy
operators need at 25 % live answers (a live answer every ~1.6 s, ~49 s a line
cycle). It reports simulated calls, SIP messages and the wall time, next to a
reference measured in the same invocation: parsing + serialising the same
number of SIP messages with the sans-IO core alone (so the ratio says how much
of the time is the SIP core's unavoidable work and how much the rest).

    python bench/sim_day.py                  # 1 simulated hour, 124 lines, 3 runs
    python bench/sim_day.py --hours 8 --runs 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dialer.sip.endpoint import open_endpoint  # noqa: E402
from dialer.sip.message import parse_message  # noqa: E402
from dialer.sip.trunk import Trunk  # noqa: E402
from sim.carrier import Carrier, serve_carrier  # noqa: E402
from sim.network import MemoryNetwork  # noqa: E402
from sim.profile import load_profile  # noqa: E402
from sim.virtual import run_virtual  # noqa: E402

HOUR = 3600.0


async def day(hours: float, lines: int, seed: int) -> dict:
    profile = load_profile(ROOT / "config" / "sim" / "pacing-25.toml")
    net = MemoryNetwork(latency=0.02, seed=seed)
    carrier = Carrier(profile, seed=seed)
    dialled = 0
    async with trio.open_nursery() as nursery:
        carrier_ep = await nursery.start(serve_carrier, net, "127.0.0.1", 5070, carrier)
        async with open_endpoint(net, "127.0.0.1", 0) as dialer:
            trunk = Trunk("sim", *carrier_ep.local_address)
            end = trio.current_time() + hours * HOUR

            async def line(index: int) -> None:
                nonlocal dialled
                n = 0
                await trio.sleep(index * 0.2)  # ramp up
                while trio.current_time() < end:
                    call = await dialer.dial(trunk, f"+1{index:04d}{n:06d}", ring_timeout=25)
                    dialled += 1
                    n += 1
                    await call.wait_ended()

            async with trio.open_nursery() as lines_nursery:
                for i in range(lines):
                    lines_nursery.start_soon(line, i)
            messages = dialer.transport.stats.sent + carrier_ep.transport.stats.sent
        nursery.cancel_scope.cancel()
    summary = carrier.summary()
    return {"dialled": dialled, "messages": messages, "answered": summary["results"]["answered"],
            "concurrent_peak": summary["concurrent"]["peak"], "report": summary}


SAMPLE = (b"INVITE sip:15551234567@127.0.0.1:5070 SIP/2.0\r\n"
          b"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKabc123;rport\r\nMax-Forwards: 70\r\n"
          b"From: <sip:1000@127.0.0.1>;tag=f1\r\nTo: <sip:15551234567@127.0.0.1:5070>\r\n"
          b"Call-ID: abc@127.0.0.1\r\nCSeq: 1 INVITE\r\nContact: <sip:dialer@127.0.0.1:5060>\r\n"
          b"Content-Length: 0\r\n\r\n")


def reference(messages: int) -> float:
    """Seconds to parse and re-serialise `messages` SIP messages with the sans-IO core."""
    start = time.perf_counter()
    for _ in range(messages):
        parse_message(SAMPLE).to_bytes()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--lines", type=int, default=124)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for run in range(args.runs):
        t0 = time.perf_counter()
        result = run_virtual(day, args.hours, args.lines, run + 1, seed=run + 1)
        wall = time.perf_counter() - t0
        ref = reference(result["messages"])
        rows.append({"wall": wall, "reference": ref, "ratio": wall / ref, **{
            k: v for k, v in result.items() if k != "report"}})
    med = {k: statistics.median(r[k] for r in rows) for k in ("wall", "reference", "ratio", "dialled",
                                                               "messages")}
    out = {"hours": args.hours, "lines": args.lines, "runs": rows, "median": med,
           "calls_per_wall_second": med["dialled"] / med["wall"],
           "wall_for_8h_estimate": med["wall"] * 8 / args.hours}
    if args.json:
        print(json.dumps(out, indent=1))
        return
    print(f"{args.hours:g} h, {args.lines} lines: {med['dialled']:.0f} calls, {med['messages']:.0f} SIP "
          f"messages in {med['wall']:.1f} s wall (median of {args.runs}); "
          f"{out['calls_per_wall_second']:.0f} calls/s; reference (parse+serialise the same messages) "
          f"{med['reference']:.2f} s, ratio {med['ratio']:.1f}; 8 h estimate {out['wall_for_8h_estimate']:.0f} s")


if __name__ == "__main__":
    main()
