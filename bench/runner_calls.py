"""The runner's own cost per call, without SIP or a database: `python bench/runner_calls.py`.

Calls are started as the launch rounds start them (`CampaignRunner._started`, two calls every
0.25 s of virtual time) by one task that also plays their fates from a heap at their times (as
the SIP endpoint's receive loop does): 60 % end unanswered, 10 % are answered by a machine (hung
up, the hang-up's answer 50 ms later) and 30 % by a person, put through to an operator on the desk
(`DeskBridge`) who talks 60 s. The placer has `place` (the fate through the call's hook) unless
`--dial-only` (a task per call waits for its fate, as every call did before `place`); it runs on
a runner that has no `place` path too, so the same script measures the code before and after.
Prints the CPU of the whole virtual run, and trio's task steps and spawns.
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import inspect
import itertools
import json
import time

import trio
import trio.testing

from dialer.clock import Clock
from dialer.engine.operators import OperatorDesk
from dialer.engine.runner import CampaignRunner, RunnerSettings


class Lead:
    def __init__(self, id):
        self.id, self.phone, self.list_id = id, f"+1555{id:07d}", 1
        self.timezone, self.region, self.call_mode, self.callback_operator = "America/New_York", "NY", None, None


class Hopper:
    def done(self, lead_id):
        pass

    async def release_all(self):
        return 0


class Journal:
    def __init__(self):
        self.ends = 0

    def finish(self, end, touches=None):
        self.ends += 1


class Pacer:
    tick = 3600.0

    def decide(self, snapshot):
        return type("Decision", (), {"launch": 0, "dial_level": None})()

    def observe(self, event):
        pass


class Carrier:
    """The calls' fates at their times, played by the task that starts the calls (one task, as
    the SIP endpoint's receive loop is): it sleeps until the next fate or launch."""

    def __init__(self):
        self.heap, self.seq = [], itertools.count()

    def at(self, delay, fn, *args):
        heapq.heappush(self.heap, (trio.current_time() + delay, next(self.seq), fn, args))

    def play_until(self, when):
        heap = self.heap
        while heap and heap[0][0] <= when:
            _, _, fn, args = heapq.heappop(heap)
            fn(*args)


class Call:
    def __init__(self, carrier, kind):
        self.carrier, self.kind = carrier, kind
        self.state, self.outcome, self.sip_status, self.on_fate = "ringing", None, None, None
        self._answered, self._ended = trio.Event(), trio.Event()

    def answer(self):
        self.state, self.outcome, self.sip_status = "answered", "answered", 200
        self._answered.set()
        self._fate()

    def end(self, outcome, status):
        if self.state == "ended":
            return
        if self.state != "answered":
            self.outcome, self.sip_status = outcome, status
        self.state = "ended"
        self._answered.set()
        self._ended.set()
        self._fate()

    def _fate(self):
        hook, self.on_fate = self.on_fate, None
        if hook is not None:
            hook(self)

    async def wait_answered(self):
        await self._answered.wait()
        return self.state == "answered"

    async def wait_ended(self):
        await self._ended.wait()
        return self.outcome

    async def hangup(self):
        await trio.sleep(0.05)            # the BYE and its answer
        self.end("answered", 200)


class Placer:
    def __init__(self, carrier, seq):
        self.carrier, self.seq = carrier, seq

    async def dial(self, number, **kwargs):
        n = next(self.seq) % 10
        call = Call(self.carrier, "machine" if n == 9 else "live" if n >= 6 else "none")
        if n < 4:
            self.carrier.at(3 + n, call.end, "busy", 486)
        elif n < 6:
            self.carrier.at(25, call.end, "no_answer", 487)
        else:
            self.carrier.at(6, call.answer)
            if n < 9:
                self.carrier.at(66, call.end, "answered", 200)
        return call


class HookPlacer(Placer):
    async def place(self, number, watch, **kwargs):
        call = watch.call = await self.dial(number, **kwargs)
        call.on_fate = watch.fated


async def day(calls: int, dial_only: bool) -> dict:
    carrier = Carrier()
    desk = OperatorDesk()
    for i in range(1, 2001):
        desk.add(i, f"op{i}")
        desk.login(i, ready=True)
    placer = (Placer if dial_only else HookPlacer)(carrier, itertools.count())
    journal = Journal()
    runner = CampaignRunner({"id": 1, "name": "bench"}, clock=Clock(dt.datetime(2026, 3, 3, 17, tzinfo=dt.timezone.utc)),
                            journal=journal, hopper=Hopper(), pacer=Pacer(), placer=placer, desk=desk,
                            settings=RunnerSettings(node="n"), classify=lambda call: call.kind)
    async with trio.open_nursery() as nursery:
        await nursery.start(runner.run)
        ids = itertools.count(1)
        launch_at = trio.current_time()
        for _ in range(calls // 2):
            await trio.sleep_until(launch_at)
            carrier.play_until(launch_at)
            leads = [Lead(next(ids)), Lead(next(ids))]
            started = runner._started(runner._calls, leads, [lead.id for lead in leads])
            if inspect.isawaitable(started):
                await started
            launch_at += 0.25
            while carrier.heap and carrier.heap[0][0] < launch_at:
                await trio.sleep_until(carrier.heap[0][0])
                carrier.play_until(trio.current_time())
        while runner.in_flight():          # (a dial-only placer's calls dial in their tasks)
            await trio.sleep_until(carrier.heap[0][0] if carrier.heap else trio.current_time() + 1)
            carrier.play_until(trio.current_time())
        nursery.cancel_scope.cancel()
    return {"recorded": journal.ends, "stats": runner.stats}


class Steps(trio.abc.Instrument):
    def __init__(self):
        self.steps = self.spawns = 0

    def before_task_step(self, task):
        self.steps += 1

    def task_spawned(self, task):
        self.spawns += 1


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=6000)
    p.add_argument("--dial-only", action="store_true")
    args = p.parse_args()
    steps = Steps()
    cpu = time.process_time()
    out = trio.run(day, args.calls, args.dial_only, clock=trio.testing.MockClock(autojump_threshold=0),
                   instruments=[steps])
    cpu = time.process_time() - cpu
    out.update(cpu_seconds=round(cpu, 3), cpu_per_call_us=round(cpu / args.calls * 1e6, 1),
               task_steps=steps.steps, spawns=steps.spawns, dial_only=args.dial_only)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
