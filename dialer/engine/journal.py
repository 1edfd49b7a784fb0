"""The engine's database writes for calls, batched.

Each launch batch (the k calls the pacer asked for) writes its attempt rows in
ONE unit of work before any INVITE leaves. Call endings are queued and flushed
by one task: whatever has ended since the last flush goes in one unit of work
(closing the attempts and moving the leads on in one transaction), so at
hundreds of calls per second the database sees a few crossings per second,
not one per call.

A crash loses at most the queued endings: those attempts stay open and are
closed as `unknown` on the next start (`dialer/store/recovery.py`), never
silently forgotten.

The units are injected: `start_unit(conn, starts) -> ids` and
`finish_unit(conn, ends) -> results` (the lifecycle's `start_attempts` and
`finish_attempts` in production).
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any, Awaitable, Callable, Sequence

import trio

from dialer.store.bridge import kept_savepoint
from dialer.store.footprint import Footprint

log = logging.getLogger("dialer.engine")

MAX_BATCH = 500          # endings per crossing
FLUSH_INTERVAL = 0.02    # seconds to let endings gather once one is queued


class CallJournal:
    def __init__(self, store, start_unit: Callable[..., Awaitable[list[int]]],
                 finish_unit: Callable[..., Awaitable[Any]], *, metrics=None,
                 on_finished: Callable[[Any, Any], None] | None = None,
                 max_batch: int = MAX_BATCH, flush_interval: float = FLUSH_INTERVAL):
        self.store = store
        self._start_unit, self._finish_unit = start_unit, finish_unit
        self._metrics = metrics
        self._on_finished = on_finished
        self._pending: list[Any] = []
        self._later: list[tuple[Any, tuple]] = []    # units to run after the endings queued before them
        self.later_failed = 0
        self._wake = trio.Event()
        self._idle = trio.Event()
        self._idle.set()
        self._max_batch, self._interval = max_batch, flush_interval
        self._hurry = trio.Event()        # someone waits for the queue: flush without the interval
        self._flushing = trio.Lock()      # endings are stored in the order they were queued
        self.crossings = 0
        self.rides = 0                    # flushes that rode a launch round's crossing
        self._due = False                 # the queue has waited its interval: a round may carry it
        self.finished = 0
        # Virtual time's inline store can send a flush ahead (`Store.send_ahead`): PostgreSQL
        # stores it while the simulation goes on, instead of inside a launch round's crossing
        # (a ride puts its ~12 round trips between the re-check and the INVITEs). Then nothing
        # rides, and the flush sent ahead is finished before the next one, `after_endings`,
        # `drained` or any other crossing. (kind, batch, Ahead), or None.
        self._sends_ahead = getattr(store, "sends_ahead", False)
        self._ahead: tuple[str, list, Any] | None = None
        # What the queued endings and units may touch (`dialer.store.footprint`): the lead and
        # number of each, or None once one came without them (then it may touch anything). A
        # flush sent ahead carries it, so a launch round that touches none of it need not wait
        # for the flush. Kept for everything queued since the queue was last empty: a flush that
        # sends part of the queue carries a footprint too big, never too small. Only kept where
        # flushes are sent ahead (None, "anything", elsewhere: nothing would ever empty it).
        self._touching: Footprint | None = Footprint() if self._sends_ahead else None

    async def start(self, starts: Sequence[Any]) -> list[int]:
        """Write the attempt rows for a launch batch; their ids, in order. One crossing."""
        if not starts:
            return []
        return await self._timed(self._start_unit, list(starts))

    def finish(self, end: Any, touches: tuple[int, str] | None = None) -> None:
        """Queue one call's ending; the flusher stores it shortly. `touches`: the (lead id,
        number) of the call, all its storing may touch (`finish_attempts`: the attempt, its lead
        and the lead's callbacks); None for unknown."""
        self._pending.append(end)
        self._touch(touches)
        self._idle = trio.Event() if self._idle.is_set() else self._idle
        self._wake.set()

    def later(self, unit, *args, batch=None, touches: tuple[int, str] | None = None) -> None:
        """Queue `unit(conn, *args)` to run after every ending queued so far, in the crossing of
        the flush that stores them (each in its own savepoint). For writes nobody waits on: the
        simulated operators' wraps in `dialer loadtest`. A failure is logged and counted.

        `batch(conn, [args, ...])`, when given, does what the units queued with it do, for many at
        once (fewer round trips): consecutive units with the same `batch` run as one call, in one
        savepoint; if it fails they run one by one, each in its own, as without it.

        `touches`: the (lead id, number) whose rows are all the unit (and its `batch`) may read
        or write (a wrap: the lead, its attempts, callbacks and notes, a DNC entry for the
        number); None (the default) for anything."""
        self._later.append((unit, args, batch))
        self._touch(touches)
        self._idle = trio.Event() if self._idle.is_set() else self._idle
        self._wake.set()

    def _touch(self, touches: tuple[int, str] | None) -> None:
        if self._touching is None:
            return
        if touches is None or touches[1] is None:
            self._touching = None           # unknown: the flush may touch anything
        else:
            self._touching.add(*touches)

    def _footprint_of_flush(self) -> Footprint | None:
        """What the batch being cut from the queue may touch (the whole queue's, a superset),
        starting afresh once the queue is empty."""
        touching = self._touching
        if not self._pending and not self._later:
            self._touching = Footprint()
        return touching

    def pending(self) -> int:
        return len(self._pending)

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Flush endings until cancelled; a last flush is shielded so nothing queued is lost."""
        task_status.started()
        try:
            while True:
                await self._wake.wait()
                self._wake = trio.Event()
                if len(self._pending) < self._max_batch:
                    with trio.move_on_after(self._interval):
                        await self._hurry.wait()
                    if not self._hurry.is_set():
                        # Due. The next launch round may carry them (journal.riding: one crossing
                        # fewer); it gets one more interval to come, then we cross ourselves.
                        # (A store that sends ahead takes no rides: the wait keeps the batches
                        # as big as the rides' were, fewer round trips for the same endings.)
                        rides = self.rides
                        self._due = True
                        with trio.move_on_after(self._interval):
                            await self._hurry.wait()
                        if self.rides != rides and not self._hurry.is_set():
                            if self._pending or self._later:
                                self._wake.set()       # queued since the ride: their own interval
                            continue
                hurried = self._hurry.is_set()
                self._hurry = trio.Event()
                await self.flush(settle=hurried)
        finally:
            with trio.CancelScope(shield=True):
                await self.flush()

    async def flush(self, *, settle: bool = True) -> None:
        """Store what is queued. With a store that sends ahead and `settle=False` (the
        flusher's own rounds) the last batch may still be on its way when this returns."""
        async with self._flushing:
            self._settle_ahead()
            while self._pending or self._later:
                batch, self._pending = self._pending[:self._max_batch], self._pending[self._max_batch:]
                if self._later and not self._pending:     # after every ending queued before them
                    later, self._later = self._later, []
                    kind, unit, args = "later", self._endings_and_later, (batch, later)
                else:
                    kind, unit, args = "plain", self._finish_unit, (batch,)
                if self._sends_ahead:
                    self._settle_ahead()
                    touches = self._footprint_of_flush()
                    self._ahead = (kind, batch, await self.store.send_ahead(unit, *args, touches=touches))
                    self.crossings += 1
                else:
                    self._account(kind, batch, await self._timed(unit, *args))
            if settle or self._hurry.is_set():
                self._settle_ahead()
            self._due = False
            if self._ahead is None:
                self._idle.set()

    def _account(self, kind: str, batch: list, outcome) -> None:
        """What a flush stored: a "plain" one the finish unit's results, a "later" one
        `_endings_and_later`'s (results, failures of the units behind them)."""
        if kind == "later":
            outcome, failures = outcome
            self.later_failed += len(failures)
            for unit, exc in failures:
                log.warning("journal: %s failed: %r", getattr(unit, "__name__", unit), exc)
        self._finished(batch, outcome)

    def _settle_ahead(self) -> None:
        """Finish the flush sent ahead, if any, and account for it (in queue order)."""
        if self._ahead is None:
            return
        kind, batch, ahead = self._ahead
        self._ahead = None
        # A failed flush raises here, as it would have in flush().
        self._account(kind, batch, ahead.result())

    async def _endings_and_later(self, conn, batch: list, later: list):
        results = await self._finish_unit(conn, batch) if batch else []
        failures = []
        i = 0
        while i < len(later):
            unit, args, together = later[i]
            j = i + 1
            while together is not None and j < len(later) and later[j][2] is together:
                j += 1
            if j - i > 1:
                try:
                    async with kept_savepoint(conn):   # one savepoint for the group, kept to the commit
                        await together(conn, [a for _, a, _ in later[i:j]])
                    i = j
                    continue
                except Exception:
                    pass                             # one by one below: the bad one fails alone
            for unit, args, _ in later[i:j]:
                try:
                    async with conn.transaction():   # a savepoint: one failure spoils nothing else
                        await unit(conn, *args)
                except Exception as exc:
                    failures.append((unit, exc))
            i = j
        return results, failures

    def riding(self):
        """See `_riding`. A store that sends ahead takes no rides: then every launch round gets
        the same do-nothing ride, without the journal's lock (nothing to keep in order)."""
        if self._sends_ahead:
            return _NO_RIDE
        return self._riding()

    @contextlib.asynccontextmanager
    async def _riding(self):
        """Let the queued endings (and the units behind them) ride a crossing someone else makes.

        The launch round crosses anyway (its one statement: re-check + attempt rows): it
        calls `await ride(conn)` in the same crossing, after that statement, and
        `ride.committed()` once it returned, and the journal's own flush then has nothing left
        to cross for. The endings run in a transaction of their own (a savepoint, were the caller
        inside one), so if they fail the round still goes on and they stay queued for the flusher;
        if the round itself fails they stay queued too. Endings stay in order: the flusher waits
        while a ride holds the journal."""
        async with self._flushing:
            ride = _Ride(self)
            # Only endings that have waited their interval: a ride costs statements (the endings'
            # own, a savepoint), so they ride in batches as big as the flusher's.
            if self._due and (self._pending or self._later) and len(self._pending) <= self._max_batch:
                ride.batch, self._pending = self._pending, []
                ride.later, self._later = self._later, []
            try:
                yield ride
            finally:
                if ride.stored:
                    self._account("later", ride.batch, (ride.results, ride.failures))
                    self.rides += 1
                else:                                # not stored: back to the front of the queue
                    self._pending[:0] = ride.batch
                    self._later[:0] = ride.later
                if not self._pending and not self._later:
                    self._due = False
                    self._idle.set()

    def _finished(self, batch: list, results) -> None:
        self.finished += len(batch)
        if self._on_finished is not None:
            for end, result in zip(batch, results or [None] * len(batch)):
                self._on_finished(end, result)

    async def drained(self) -> None:
        """Wait until every queued ending is stored (asking the flusher not to wait)."""
        if self._ahead is not None and not self._pending and not self._later:
            async with self._flushing:          # only a flush sent ahead is left: finish it
                self._settle_ahead()
                if not self._pending and not self._later:
                    self._idle.set()
        if not self._idle.is_set():
            self._hurry.set()
        await self._idle.wait()

    async def after_endings(self, unit, *args) -> Any:
        """Run `unit(conn, *args)` once every ending queued so far is stored, in the SAME
        crossing as their flush (an operator's wrap follows its call's outcome: one crossing
        instead of two, and no wait for the flush interval). The endings commit even if the
        unit fails: it runs in a savepoint, and its exception is raised here afterwards."""
        async with self._flushing:
            self._settle_ahead()
            while len(self._pending) > self._max_batch:
                batch, self._pending = self._pending[:self._max_batch], self._pending[self._max_batch:]
                self._finished(batch, await self._timed(self._finish_unit, batch))
            batch, self._pending = self._pending, []

            async def endings_then_unit(conn):
                results = await self._finish_unit(conn, batch) if batch else []
                try:
                    async with conn.transaction():       # a savepoint: the endings stay
                        return results, None, await unit(conn, *args)
                except Exception as exc:
                    return results, exc, None

            results, error, value = await self._timed(endings_then_unit)
            self._finished(batch, results)
            if not self._pending:
                self._idle.set()
        if error is not None:
            raise error
        return value

    async def _timed(self, unit, *args) -> Any:
        started = time.perf_counter()
        try:
            return await self.store.run(unit, *args)
        finally:
            self.crossings += 1
            if self._metrics is not None:
                self._metrics.db_latency.observe(time.perf_counter() - started)


class _Ride:
    """Endings (and units behind them) riding another unit of work's transaction: see
    `CallJournal.riding`."""

    def __init__(self, journal: CallJournal):
        self._journal = journal
        self.batch: list = []
        self.later: list = []
        self.results = None
        self.failures: list = []
        self._ran = False
        self.stored = False

    async def __call__(self, conn) -> None:
        """Inside the host's transaction (asyncio side): store them, in a savepoint. Once."""
        if self._ran or not (self.batch or self.later):
            return
        self._ran = True
        try:
            async with conn.transaction():
                self.results, self.failures = await self._journal._endings_and_later(conn, self.batch, self.later)
        except Exception as exc:
            log.warning("journal: endings riding a launch round failed, left to the flusher: %r", exc)
            self._ran = False

    def committed(self) -> None:
        """The host's transaction committed: what ran inside it is stored."""
        self.stored = self._ran


class _NoRide:
    """The ride of a journal whose store sends its flushes ahead: nothing rides."""

    async def __aenter__(self) -> "_NoRide":
        return self

    async def __aexit__(self, *exc) -> None:
        return None

    async def __call__(self, conn) -> None:
        return None

    def committed(self) -> None:
        pass


_NO_RIDE = _NoRide()
