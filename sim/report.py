"""What the carrier saw, summarised for cross-checking the dialer's own figures.

The summary is computed from the finished call records, not from counters
bumped as events happen, so it does not depend on the order in which trio ran
tasks that woke at the same instant: the same seed gives the same report.
Floats are rounded (microseconds) so the JSON compares equal byte for byte.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from .profile import OUTCOMES

RESULTS = OUTCOMES + ("cancelled",)  # cancelled: the caller gave up before the planned answer


@dataclass
class CallRecord:
    key: str  # called number (or Call-ID when there is none)
    planned: str  # the outcome the population drew
    started: float  # trio time the first INVITE arrived
    answered: float | None = None  # 200 sent
    ended: float | None = None  # final non-2xx sent, or BYE sent/received
    result: str | None = None  # what actually happened (RESULTS)
    hangup: str | None = None  # "callee" or "caller" for answered calls


def _r(x: float) -> float:
    return round(x, 6)


def _stats(values: list[float]) -> dict:
    if not values:
        return {"count": 0}
    xs = sorted(values)
    n = len(xs)
    mean = math.fsum(xs) / n
    var = math.fsum((x - mean) ** 2 for x in xs) / (n - 1) if n > 1 else 0.0

    def q(p: float) -> float:
        return xs[min(n - 1, int(p * n))]

    return {"count": n, "mean": _r(mean), "sd": _r(math.sqrt(var)), "min": _r(xs[0]),
            "p50": _r(q(0.5)), "p90": _r(q(0.9)), "max": _r(xs[-1])}


class CarrierReport:
    def __init__(self) -> None:
        self.records: list[CallRecord] = []
        self.limited: Counter[str] = Counter()  # refused with 503: "channels" / "cps"
        self.challenged = 0  # INVITEs answered with a digest challenge
        self.auth_failures = 0  # INVITEs with wrong credentials (403)
        self.first_seen: float | None = None

    def start(self, record: CallRecord) -> CallRecord:
        self.records.append(record)
        self._seen(record.started)
        return record

    def refuse(self, reason: str, now: float) -> None:
        self.limited[reason] += 1
        self._seen(now)

    def _seen(self, now: float) -> None:
        if self.first_seen is None or now < self.first_seen:
            self.first_seen = now

    def summary(self, now: float) -> dict:
        start = self.first_seen if self.first_seen is not None else now
        duration = max(0.0, now - start)
        planned = Counter(r.planned for r in self.records)
        results = Counter(r.result or "in_progress" for r in self.records)
        hangups = Counter(r.hangup for r in self.records if r.hangup)
        talk = [r.ended - r.answered for r in self.records
                if r.result == "answered" and r.answered is not None and r.ended is not None]
        machine = [r.ended - r.answered for r in self.records
                   if r.result == "machine" and r.answered is not None and r.ended is not None]
        ring = [(r.answered if r.answered is not None else r.ended) - r.started for r in self.records
                if r.ended is not None]
        # Calls per second: over the whole run, and the busiest one-second window.
        per_second = Counter(int(r.started - start) for r in self.records)
        # Concurrent calls: sweep the intervals; at a tie an end comes before a start.
        events = sorted([(r.started, 1) for r in self.records]
                        + [(r.ended if r.ended is not None else now, -1) for r in self.records],
                        key=lambda e: (e[0], e[1]))
        level = peak = 0
        area = 0.0
        last = start
        for t, delta in events:
            area += level * (t - last)
            last = t
            level += delta
            peak = max(peak, level)
        return {
            "calls": len(self.records),
            "duration": _r(duration),
            "planned": {o: planned.get(o, 0) for o in OUTCOMES},
            "results": {o: results.get(o, 0) for o in RESULTS + ("in_progress",)},
            "limited": {k: self.limited.get(k, 0) for k in ("channels", "cps")},
            "challenged": self.challenged,
            "auth_failures": self.auth_failures,
            "hangups": {k: hangups.get(k, 0) for k in ("callee", "caller")},
            "cps": {"mean": _r(len(self.records) / duration) if duration else 0.0,
                    "peak": max(per_second.values(), default=0)},
            "concurrent": {"peak": peak, "mean": _r(area / duration) if duration else 0.0},
            "ring": _stats(ring),
            "talk": _stats(talk),
            "machine": _stats(machine),
        }
