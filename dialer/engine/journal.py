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

import time
from typing import Any, Awaitable, Callable, Sequence

import trio

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
        self._wake = trio.Event()
        self._idle = trio.Event()
        self._idle.set()
        self._max_batch, self._interval = max_batch, flush_interval
        self.crossings = 0
        self.finished = 0

    async def start(self, starts: Sequence[Any]) -> list[int]:
        """Write the attempt rows for a launch batch; their ids, in order. One crossing."""
        if not starts:
            return []
        return await self._timed(self._start_unit, list(starts))

    def finish(self, end: Any) -> None:
        """Queue one call's ending; the flusher stores it shortly."""
        self._pending.append(end)
        self._idle = trio.Event() if self._idle.is_set() else self._idle
        self._wake.set()

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
                    await trio.sleep(self._interval)
                await self.flush()
        finally:
            with trio.CancelScope(shield=True):
                await self.flush()

    async def flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:self._max_batch], self._pending[self._max_batch:]
            results = await self._timed(self._finish_unit, batch)
            self.finished += len(batch)
            if self._on_finished is not None:
                for end, result in zip(batch, results or [None] * len(batch)):
                    self._on_finished(end, result)
        self._idle.set()

    async def drained(self) -> None:
        """Wait until every queued ending is stored."""
        await self._idle.wait()

    async def _timed(self, unit, arg) -> Any:
        started = time.perf_counter()
        try:
            return await self.store.run(unit, arg)
        finally:
            self.crossings += 1
            if self._metrics is not None:
                self._metrics.db_latency.observe(time.perf_counter() - started)
