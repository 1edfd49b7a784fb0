"""The endpoint's timers: one heap served by one task, woken as seldom as it can be.

Every transaction timer, ring timeout and 2xx retransmission of an endpoint lives
here, so a call costs heap entries, not tasks. Each wake-up of the serving task
costs a trio scheduler pass and a cancel scope (and in a virtual day under
MockClock, often an instant of its own), while most timers never need to fire:
Timer A is moot once the provisional response came, a ring timeout once the call
was answered. So:

- a timer may come with `needed(arg) -> bool`, which must stay False once it is
  False (timers depend on states that only move forward). A head that is no longer
  needed is dropped without waking: before each sleep, and in `settle()`, which the
  receive loop calls after each batch of messages (the usual moment a timer becomes
  moot);
- a *linger* timer (`lazy=True`: one that only ends a transaction kept to absorb
  retransmissions, Timers D, I, J, K, L, M) may fire up to `LINGER_LATENESS` late:
  with any other wake-up, at the latest then. Lingering longer only absorbs more
  retransmissions. So that no message ever sees a transaction that should be gone,
  the receive loop calls `fire_lingers_due()` before handling a message. A linger
  timer's function is a plain one, called synchronously (all it does is forget a
  transaction; a few a call, each a coroutine less).

A sleeping task is woken early by moving its cancel scope's deadline (no Event, no
extra pass). All time comes from trio, so it runs under `trio.testing.MockClock`.
"""

from __future__ import annotations

import heapq
import itertools
import math
from typing import Any, Awaitable, Callable

import trio

from dialer.clock import clock_reading
from dialer.scope_sleep import sleep_in as _sleep_in

LINGER_LATENESS = 4.0  # seconds a linger timer may fire late (at most, and only if idle)

TimerFn = Callable[[Any], Awaitable[None]]
LingerFn = Callable[[Any], None]


class TimerQueue:
    def __init__(self) -> None:
        self._heap: list = []     # (deadline, seq, fn, arg, needed or None)
        self._lingers: list = []  # (deadline, seq, fn, arg): fn(arg) is a plain call
        self._seq = itertools.count()
        self._sleep: trio.CancelScope | None = None  # the serving task's sleep, while it sleeps
        self._now = clock_reading()  # reads trio's clock, one call deep

    def __len__(self) -> int:
        return len(self._heap) + len(self._lingers)

    def schedule(self, delay: float, fn: TimerFn, arg: Any,
                 needed: Callable[[Any], bool] | None = None) -> None:
        """Call `await fn(arg)` in `delay` seconds (unless `needed(arg)` is False by then)."""
        self.schedule_at(self._now() + delay, fn, arg, needed)

    def schedule_at(self, deadline: float, fn: TimerFn, arg: Any,
                    needed: Callable[[Any], bool] | None = None) -> None:
        """`schedule`, at a deadline (trio time) rather than after a delay."""
        heapq.heappush(self._heap, (deadline, next(self._seq), fn, arg, needed))
        sleep = self._sleep
        if sleep is not None and deadline < sleep.deadline:
            sleep.deadline = deadline

    def schedule_linger(self, delay: float, fn: LingerFn, arg: Any) -> None:
        """A linger timer: `fn(arg)` (not awaited) in `delay` seconds or up to LINGER_LATENESS
        later."""
        deadline = self._now() + delay
        heapq.heappush(self._lingers, (deadline, next(self._seq), fn, arg))
        sleep = self._sleep
        if sleep is not None and deadline + LINGER_LATENESS < sleep.deadline:
            sleep.deadline = deadline + LINGER_LATENESS

    def settle(self) -> None:
        """Drop heads that are no longer needed; let the sleeping task sleep on past them."""
        self._drop_unneeded()
        sleep = self._sleep
        if sleep is not None:
            wake = self._wake_at()
            if wake > sleep.deadline:
                sleep.deadline = wake

    def fire_lingers_due(self, on_error: Callable[[], None]) -> None:
        """Fire the linger timers whose deadline has passed (strictly: a message arriving
        at the deadline itself still finds the transaction, as with any timer)."""
        lingers = self._lingers
        if lingers and lingers[0][0] < self._now():
            self._fire_lingers(self._now(), strictly=True, on_error=on_error)

    async def serve(self, before_due: Callable[[], Awaitable[None]],
                    on_error: Callable[[], None]) -> None:
        """Fire timers as they fall due, until cancelled. `before_due()` runs first whenever
        some are due (the endpoint handles the datagrams already waiting: an answer that
        reached the socket before its timer's deadline did arrive in time)."""
        heap, lingers, reading = self._heap, self._lingers, self._now
        while True:
            now = reading()
            if (heap and heap[0][0] <= now) or (lingers and lingers[0][0] <= now):
                # Lingers due strictly before now first, before the queued messages meet them.
                self._fire_lingers(now, strictly=True, on_error=on_error)
                await before_due()
                await self._fire(heap, now, on_error=on_error)
                self._fire_lingers(now, strictly=False, on_error=on_error)
            self._drop_unneeded()
            with trio.CancelScope(deadline=self._wake_at()) as sleep:
                self._sleep = sleep
                try:
                    await _sleep_in(sleep)
                finally:
                    self._sleep = None

    def clear(self) -> None:
        self._heap.clear()
        self._lingers.clear()

    # ---------------------------------------------------------------------------------------

    def _wake_at(self) -> float:
        wake = self._heap[0][0] if self._heap else math.inf
        if self._lingers:
            wake = min(wake, self._lingers[0][0] + LINGER_LATENESS)
        return wake

    def _drop_unneeded(self) -> None:
        heap = self._heap
        while heap:
            needed = heap[0][4]
            if needed is None or needed(heap[0][3]):
                return
            heapq.heappop(heap)

    @staticmethod
    async def _fire(heap: list, now: float, *, on_error: Callable[[], None]) -> None:
        while heap and heap[0][0] <= now:
            entry = heapq.heappop(heap)
            needed = entry[4]
            if needed is not None and not needed(entry[3]):
                continue
            try:
                await entry[2](entry[3])
            except Exception:  # a bug in one call must not stop every call's timers
                on_error()

    def _fire_lingers(self, now: float, *, strictly: bool, on_error: Callable[[], None]) -> None:
        lingers = self._lingers
        while lingers and (lingers[0][0] < now if strictly else lingers[0][0] <= now):
            entry = heapq.heappop(lingers)
            try:
                entry[2](entry[3])
            except Exception:  # a bug in one call must not stop every call's timers
                on_error()
