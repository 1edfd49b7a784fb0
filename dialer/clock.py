"""Wall-clock time for engine code, derived from trio's clock.

Engine code never reads the system time: it asks a `Clock`, which maps
`trio.current_time()` onto a datetime. In real runs the mapping starts at the
real now; under `trio.testing.MockClock` a test picks the starting datetime and
a simulated day passes in seconds.
"""

from __future__ import annotations

import datetime as dt
from typing import Callable

import trio

UTC = dt.timezone.utc


def clock_reading() -> Callable[[], float]:
    """A function that reads what `trio.current_time()` reads, one call deep.

    `trio.current_time()` goes through two frames (the run context, the runner) to the running
    clock's `current_time`; the SIP endpoints, their timers and the in-memory network read the
    time ~45 times a call on the virtual day. Called inside a run, this returns the running
    clock's own reading (the same value, always: trio's clock is fixed for the run); the object
    that keeps it must not outlive the run. Outside a run it returns `trio.current_time` itself."""
    try:
        return trio.lowlevel.current_clock().current_time
    except RuntimeError:
        return trio.current_time


class Clock:
    def __init__(self, start: dt.datetime | None = None):
        if start is not None and start.tzinfo is None:
            raise ValueError("Clock start must be timezone-aware")
        # Reading the real time here, once, is the only place we do it.
        self._start = start or dt.datetime.now(UTC)
        self._trio_start = trio.current_time()

    def now(self) -> dt.datetime:
        """The current time as an aware UTC datetime."""
        return self._start + dt.timedelta(seconds=trio.current_time() - self._trio_start)

    def monotonic(self) -> float:
        """Seconds on trio's clock, for durations and deadlines."""
        return trio.current_time()

    def trio_time_at(self, when: dt.datetime) -> float:
        """The trio deadline that corresponds to a wall-clock datetime."""
        return self._trio_start + (when - self._start).total_seconds()

    async def sleep_until(self, when: dt.datetime) -> None:
        await trio.sleep_until(self.trio_time_at(when))
