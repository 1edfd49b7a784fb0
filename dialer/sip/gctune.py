"""The garbage-collector setting for a process that carries many SIP calls.

A call keeps about a hundred container objects alive (messages, dialog, transactions,
its Call) for 32 s after its 200, because the INVITE client transaction stays in the
"accepted" state for 64*T1 to absorb retransmitted 2xx (RFC 6026). At 2,000 calls/s
that is millions of live objects. CPython's default young-generation threshold (700
allocations) then runs a collection every few calls, and every collection walks the
objects not yet promoted; measured in `bench/sip_cps.py`, that was a third of our CPU
per call. The calls' objects are freed by reference counting, not by the collector, so
collecting less often costs little memory.

This is process-wide, so the endpoint does not do it by itself: the program that owns
the process (the `dialer run` engine, a benchmark) calls `tune_gc_for_calls()` once.
"""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 10_000


def tune_gc_for_calls(gen0: int = GEN0_THRESHOLD) -> tuple[int, int, int]:
    """Raise the young-generation threshold to `gen0` (never lower it; a disabled
    collector, threshold 0, stays disabled). Returns the previous thresholds."""
    previous = gc.get_threshold()
    if previous[0] and previous[0] < gen0:
        gc.set_threshold(gen0, *previous[1:])
    return previous
