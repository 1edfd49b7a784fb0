"""Running a simulation in virtual time, reproducibly.

Under `trio.testing.MockClock(autojump_threshold=0)` a day passes in seconds,
and with the in-memory network nothing depends on the machine's speed. One
source of variation remains: when several tasks wake at the same virtual
instant, trio runs them in a randomised order (on purpose, to shake out
ordering bugs), so datagrams may be sent, and loss drawn, in a different
order. The simulator's own draws do not care (each call's fate is keyed by
its number, and the report is computed from sorted records), but the network's
loss and jitter draws do. `run_virtual` therefore also seeds trio's scheduler.
"""

from __future__ import annotations

from math import inf
from typing import Any, Awaitable, Callable

import trio
import trio.testing

try:    # trio's run context, for the autojump below; without it MockClock's own is kept
    from trio._core._run import GLOBAL_RUN_CONTEXT as _RUN_CONTEXT
except ImportError:    # pragma: no cover - a future trio
    _RUN_CONTEXT = None


def seed_trio_scheduler(seed: int) -> bool:
    """Make trio's tie-breaking between simultaneously runnable tasks repeatable.

    This reaches into trio's private scheduler RNG (the same one pytest-trio's
    Hypothesis integration seeds); if a future trio hides it, we only lose
    bit-for-bit reproducibility of lossy runs, nothing else. Returns whether it worked.
    """
    rng = getattr(getattr(getattr(trio, "_core", None), "_run", None), "_r", None)
    if rng is None or not hasattr(rng, "seed"):
        return False
    rng.seed(seed)
    return True


def virtual_clock() -> trio.testing.MockClock:
    """`MockClock(autojump_threshold=0)` whose reading skips the real clock while its rate is 0.

    At rate 0 (a virtual day: time moves only by jumps) MockClock still reads
    `time.perf_counter()` on every `current_time()` and multiplies it by 0, and trio and the
    day read the time ~80 times a call. The value is the same: `_virtual_base + 0.0 * x` is
    `_virtual_base`; at any other rate it is MockClock's own reading. (MockClock is final:
    the reading is replaced on the instance; it is still a MockClock for whoever checks.)"""
    clock = trio.testing.MockClock(autojump_threshold=0)
    mock_reading = clock.current_time

    def current_time() -> float:
        if clock._rate == 0.0:
            return clock._virtual_base
        return mock_reading()

    clock.current_time = current_time      # type: ignore[method-assign]

    # The run loop calls `_autojump` each time every task is blocked (~3 times a call on the
    # day). MockClock's asks `trio.lowlevel.current_statistics()` for the seconds to the next
    # deadline, which builds two statistics objects and walks every registered file
    # descriptor to count waiters; only the deadline is used. This computes that one field
    # the way `current_statistics` does (the runner's next deadline minus the time) and jumps
    # exactly as MockClock does.
    mock_autojump = clock._autojump

    def autojump() -> None:
        try:
            next_deadline = _RUN_CONTEXT.runner.deadlines.next_deadline()  # type: ignore[union-attr]
        except AttributeError:
            return mock_autojump()
        jump = next_deadline - current_time()
        if 0 < jump < inf:
            clock.jump(jump)

    clock._autojump = autojump             # type: ignore[method-assign]
    return clock


def run_virtual(async_fn: Callable[..., Awaitable[Any]], *args: Any, seed: int = 0) -> Any:
    """`trio.run(async_fn, *args)` in virtual time with a seeded scheduler."""
    seed_trio_scheduler(seed)
    return trio.run(async_fn, *args, clock=virtual_clock())
