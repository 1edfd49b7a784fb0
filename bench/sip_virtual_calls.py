"""The SIP endpoints' cost per call on the in-memory network, in virtual time.

    .venv/bin/python bench/sip_virtual_calls.py [--calls 5000] [--lines 150] [--parse]

A dialer endpoint keeps `--lines` calls going through the simulated carrier
(`config/sim/default.toml`: the engine day's population, no latency) under
MockClock(autojump_threshold=0), as the engine's call tasks would: wait for the
answer, hang up on a machine at once, let a live answer run until the called
party hangs up. No engine, no database: what is left is the two endpoints, the
network, the carrier's script and trio. Prints calls, SIP messages, task steps,
CPU per call and the outcomes (the same seed gives the same outcomes).
`--parse` makes the network deliver bytes only (`carry_messages=False`: the
receiver parses every datagram), to compare with messages carried beside their
bytes. For instruction counts, run it under `valgrind --tool=callgrind` and
subtract a `--calls 0` run (the imports).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dialer.sip.endpoint import open_endpoint  # noqa: E402
from dialer.sip.gctune import tune_gc_for_calls  # noqa: E402
from dialer.sip.trunk import Trunk  # noqa: E402
from sim.carrier import Carrier, serve_carrier  # noqa: E402
from sim.network import MemoryNetwork  # noqa: E402
from sim.profile import load_profile  # noqa: E402
from sim.virtual import run_virtual  # noqa: E402


class StepCounter(trio.abc.Instrument):
    def __init__(self) -> None:
        self.steps = 0

    def before_task_step(self, task) -> None:
        self.steps += 1


async def calls(total: int, lines: int, carry: bool, seed: int) -> dict:
    profile = load_profile(ROOT / "config" / "sim" / "default.toml")
    net = MemoryNetwork(seed=seed, carry_messages=carry)
    carrier = Carrier(profile, seed=seed)
    dialled = 0
    outcomes: dict[str, int] = {}
    async with trio.open_nursery() as nursery:
        carrier_ep = await nursery.start(serve_carrier, net, "127.0.0.1", 5070, carrier)
        async with open_endpoint(net, "127.0.0.1", 0) as dialer:
            trunk = Trunk("sim", *carrier_ep.local_address)

            async def line(index: int) -> None:
                nonlocal dialled
                await trio.sleep(index * 0.05)  # ramp up
                n = 0
                while dialled < total:
                    dialled += 1
                    call = await dialer.dial(trunk, f"+1{index:04d}{n:06d}", ring_timeout=25,
                                             headers=[("X-Dialer-Attempt", str(dialled))])
                    n += 1
                    if await call.wait_answered():
                        if carrier.truth(call.call_id) == "machine":
                            await call.hangup()
                        else:
                            await call.wait_ended()
                    outcomes[call.outcome] = outcomes.get(call.outcome, 0) + 1

            async with trio.open_nursery() as lines_nursery:
                for i in range(lines):
                    lines_nursery.start_soon(line, i)
            messages = dialer.transport.stats.sent + carrier_ep.transport.stats.sent
        nursery.cancel_scope.cancel()
    return {"calls": dialled, "messages": messages, "virtual_seconds": round(trio.current_time(), 3),
            "outcomes": dict(sorted(outcomes.items()))}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=5000)
    p.add_argument("--lines", type=int, default=150)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--parse", action="store_true", help="deliver bytes only: every datagram is parsed")
    args = p.parse_args()
    tune_gc_for_calls()
    counter = StepCounter()
    started = time.process_time()

    async def run() -> dict:
        trio.lowlevel.add_instrument(counter)
        return await calls(args.calls, args.lines, not args.parse, args.seed)

    out = run_virtual(run, seed=args.seed)
    cpu = time.process_time() - started
    out.update(carried=not args.parse, task_steps=counter.steps, cpu_seconds=round(cpu, 3),
               cpu_us_per_call=round(cpu / max(1, out["calls"]) * 1e6, 1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
