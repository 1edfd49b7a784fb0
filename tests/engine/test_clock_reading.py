"""`dialer.clock.clock_reading`: a one-call-deep reader of trio's clock. Inside a run it must
read exactly what `trio.current_time()` reads, whatever the clock; outside a run it is
`trio.current_time` itself (so an object built outside a run still reads the run's clock)."""

from __future__ import annotations

import trio
import trio.testing

from dialer.clock import clock_reading
from dialer.sip.timers import TimerQueue
from sim.network import MemoryNetwork
from sim.virtual import run_virtual


def test_outside_a_run_it_is_trio_current_time():
    assert clock_reading() is trio.current_time


def _readings_agree():
    async def main():
        reading = clock_reading()
        assert reading is not trio.current_time
        seen = []
        for delay in (0.0, 0.25, 1e-6, 3600.0):
            await trio.sleep(delay)
            seen.append((reading(), trio.current_time()))
        return seen
    return main


def test_reads_what_trio_reads_on_a_mock_clock():
    for now, trio_now in trio.run(_readings_agree(), clock=trio.testing.MockClock(autojump_threshold=0)):
        assert now == trio_now


def test_reads_what_trio_reads_on_the_virtual_clock():
    for now, trio_now in run_virtual(_readings_agree()):
        assert now == trio_now


def test_reads_what_trio_reads_on_the_system_clock():
    async def main():
        reading = clock_reading()
        before = trio.current_time()
        now = reading()
        return before <= now <= trio.current_time()
    assert trio.run(main)


def test_objects_built_outside_a_run_read_the_runs_clock():
    timers, network = TimerQueue(), MemoryNetwork()

    async def main():
        await trio.sleep(5.0)
        return timers._now(), network._now(), trio.current_time()

    a, b, c = trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    assert a == b == c
