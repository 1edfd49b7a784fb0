"""The virtual day's clock (`sim.virtual.virtual_clock`): a MockClock whose reading at rate 0
skips the real clock. It must read exactly what a MockClock reads, at every rate."""

from __future__ import annotations

import trio
import trio.testing

from sim.virtual import run_virtual, virtual_clock


def test_reads_what_a_mock_clock_reads():
    fast, mock = virtual_clock(), trio.testing.MockClock(autojump_threshold=0)
    assert isinstance(fast, trio.testing.MockClock)
    assert fast.autojump_threshold == mock.autojump_threshold == 0
    for step in (0.0, 0.1, 2.5, 1e-9, 3600.0, 0.3):
        fast.jump(step)
        mock.jump(step)
        assert fast.current_time() == mock.current_time()
        assert fast.deadline_to_sleep_time(fast.current_time() + 1) == 999999999


def test_reads_the_real_clock_at_another_rate():
    clock = virtual_clock()
    clock.jump(10.0)
    ticks = iter([100.0, 100.0, 101.5])
    clock._real_clock = lambda: next(ticks)    # MockClock's own hook for its tests
    clock.rate = 2.0                           # at real 100.0: virtual 10.0 from here
    assert clock.current_time() == 10.0        # real 100.0
    assert clock.current_time() == 13.0        # real 101.5: 1.5 s at twice the rate


def test_run_virtual_runs_on_it():
    async def main():
        clock = trio.lowlevel.current_clock()
        start = trio.current_time()
        await trio.sleep(42.0)
        return isinstance(clock, trio.testing.MockClock), trio.current_time() - start

    assert run_virtual(main) == (True, 42.0)


def test_autojump_lands_on_each_deadline_without_run_statistics(monkeypatch):
    """The run loop's autojump jumps to the next deadline, as MockClock's does, without building
    `current_statistics()` (which counted every registered file descriptor's waiters)."""
    def no_statistics():
        raise AssertionError("autojump built run statistics")

    monkeypatch.setattr(trio._core, "current_statistics", no_statistics)

    async def main():
        start, seen = trio.current_time(), []

        async def sleeper(delay):
            await trio.sleep(delay)
            seen.append((delay, trio.current_time() - start))

        async with trio.open_nursery() as nursery:
            for delay in (3.25, 0.5, 7200.0, 0.5, 1e-6):
                nursery.start_soon(sleeper, delay)
        return sorted(seen)

    assert run_virtual(main) == [(1e-6, 1e-6), (0.5, 0.5), (0.5, 0.5), (3.25, 3.25),
                                 (7200.0, 7200.0)]
