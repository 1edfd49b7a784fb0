"""Engine metrics (prometheus-client) and a tiny trio HTTP server for `/metrics`.

Each engine owns its own `CollectorRegistry`, so several engines (tests, a load
test beside a daemon) never share counters. The rolling abandon rate is kept
here per campaign in one-minute buckets, over the last hour and the day so
far (the US rule counts a 30-day window; the day and the hour are what a
supervisor watches). Abandons count against *live answers* only.

The HTTP server is deliberately minimal (GET /metrics, HTTP/1.1, one response
per connection): no threads, no extra dependency, trio sockets only. The full
API server (hypercorn) can mount the same registry later.
"""

from __future__ import annotations

import collections
import math
from typing import Any, Callable

import trio
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

BUCKET_SECONDS = 60.0
HOUR = 3600.0
DAY = 86400.0


class AbandonWindow:
    """Live answers and abandons in one-minute buckets, for rolling rates."""

    def __init__(self, keep: float = DAY):
        self._buckets: collections.OrderedDict[int, list[int]] = collections.OrderedDict()
        self._keep = keep

    def add(self, at: float, *, live: int = 0, abandoned: int = 0) -> None:
        key = math.floor(at / BUCKET_SECONDS)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = [0, 0]
            oldest = key - math.ceil(self._keep / BUCKET_SECONDS)
            while self._buckets and next(iter(self._buckets)) < oldest:
                self._buckets.popitem(last=False)
        bucket[0] += live
        bucket[1] += abandoned

    def totals(self, now: float, span: float) -> tuple[int, int]:
        first = math.floor((now - span) / BUCKET_SECONDS) + 1
        live = abandoned = 0
        for key, (l, a) in reversed(self._buckets.items()):
            if key < first:
                break
            live += l
            abandoned += a
        return live, abandoned

    def rate(self, now: float, span: float) -> float:
        live, abandoned = self.totals(now, span)
        return abandoned / live if live else 0.0


class EngineMetrics:
    def __init__(self, registry: CollectorRegistry | None = None, *,
                 now: Callable[[], float] = trio.current_time):
        self.registry = registry or CollectorRegistry()
        self._now = now
        r = self.registry
        self.calls = Counter("dialer_calls", "Calls ended, by campaign and outcome",
                             ["campaign", "outcome"], registry=r)
        self.in_flight = Gauge("dialer_calls_in_flight", "Calls placed and not yet ended", ["campaign"],
                               registry=r)
        self.live_answers = Counter("dialer_live_answers", "Calls answered by a person", ["campaign"],
                                    registry=r)
        self.abandons = Counter("dialer_abandons", "Live answers not bridged within the limit", ["campaign"],
                                registry=r)
        self.abandon_rate = Gauge("dialer_abandon_rate", "Abandons / live answers over a rolling window",
                                  ["campaign", "window"], registry=r)
        self.dial_level = Gauge("dialer_dial_level", "Lines dialed per ready operator", ["campaign"],
                                registry=r)
        self.operators = Gauge("dialer_operators", "Operators by state", ["state"], registry=r)
        self.hopper_depth = Gauge("dialer_hopper_depth", "Leads leased and waiting to be dialed", ["campaign"],
                                  registry=r)
        self.trunk_channels = Gauge("dialer_trunk_channels_in_use", "Channels in use per trunk", ["trunk"],
                                    registry=r)
        self.trunk_cps = Gauge("dialer_trunk_cps", "Call attempts per second per trunk (last second)",
                               ["trunk"], registry=r)
        self.sip_responses = Counter("dialer_sip_responses", "Final SIP responses to our INVITEs, by code",
                                     ["code"], registry=r)
        self.db_latency = Histogram("dialer_db_latency_seconds", "Time for one unit of work in the store",
                                    registry=r, buckets=(.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1, 5))
        self._windows: dict[str, AbandonWindow] = {}
        # The labelled children the recorders below touch, by (metric, label values):
        # `labels()` validates and locks on every lookup, ~10 times a call otherwise.
        self._children: dict[tuple, Any] = {}
        # campaign -> the minute bucket the rate gauges were last computed in
        self._rates_minute: dict[str, int] = {}

    def _child(self, metric, *labels: str):
        key = (metric, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    # Convenience recorders the engine calls at each event.
    def call_started(self, campaign: str) -> None:
        self._child(self.in_flight, campaign).inc()

    def call_ended(self, campaign: str, outcome: str, sip_status: int | None = None) -> None:
        self._child(self.in_flight, campaign).dec()
        self._child(self.calls, campaign, outcome).inc()
        if sip_status:
            self._child(self.sip_responses, str(sip_status)).inc()
        live = outcome in ("answered", "abandoned")
        if live:
            self._child(self.live_answers, campaign).inc()
            self._window(campaign).add(self._now(), live=1, abandoned=outcome == "abandoned")
        if outcome == "abandoned":
            self._child(self.abandons, campaign).inc()
        # The rolling rates change only with a live answer or when the minute bucket
        # changes (the windows are whole minutes), so other endings leave them as they are.
        minute = math.floor(self._now() / BUCKET_SECONDS)
        if live or self._rates_minute.get(campaign) != minute:
            self._rates_minute[campaign] = minute
            self._refresh_rates(campaign)

    def rolling_abandon_rate(self, campaign: str, span: float = HOUR) -> float:
        return self._window(campaign).rate(self._now(), span)

    def operator_moved(self, op, old, new) -> None:
        """An OperatorDesk listener."""
        self._child(self.operators, old.value).dec()
        self._child(self.operators, new.value).inc()

    def operators_present(self, counts: dict[str, int]) -> None:
        for state, n in counts.items():
            self._child(self.operators, state).set(n)

    def _window(self, campaign: str) -> AbandonWindow:
        w = self._windows.get(campaign)
        if w is None:
            w = self._windows[campaign] = AbandonWindow()
        return w

    def _refresh_rates(self, campaign: str) -> None:
        now = self._now()
        w = self._window(campaign)
        self._child(self.abandon_rate, campaign, "hour").set(w.rate(now, HOUR))
        self._child(self.abandon_rate, campaign, "day").set(w.rate(now, DAY))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


# ---- /metrics over HTTP --------------------------------------------------------------

MAX_REQUEST_HEAD = 16 * 1024
REQUEST_TIMEOUT = 10.0


async def serve_metrics(metrics: EngineMetrics, host: str = "127.0.0.1", port: int = 0, *,
                        task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Serve GET /metrics until cancelled; `nursery.start` returns the bound (host, port)."""
    listeners = await trio.open_tcp_listeners(port, host=host)
    task_status.started(listeners[0].socket.getsockname()[:2])
    await trio.serve_listeners(lambda stream: _handle(stream, metrics), listeners)


async def _handle(stream: trio.abc.Stream, metrics: EngineMetrics) -> None:
    try:
        with trio.move_on_after(REQUEST_TIMEOUT):
            head = await _read_head(stream)
            if head is None:
                return
            status, body, ctype = _respond(head, metrics)
            response = (f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                        "Connection: close\r\n\r\n").encode("ascii") + body
            await stream.send_all(response)
    except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        pass  # the client went away; nothing to do
    finally:
        await trio.aclose_forcefully(stream)


async def _read_head(stream: trio.abc.Stream) -> bytes | None:
    data = b""
    while b"\r\n\r\n" not in data and b"\n\n" not in data:
        chunk = await stream.receive_some(4096)
        if not chunk:
            return None
        data += chunk
        if len(data) > MAX_REQUEST_HEAD:
            return b"TOO-LARGE"
    return data


def _respond(head: bytes, metrics: EngineMetrics) -> tuple[str, bytes, str]:
    text = "text/plain; charset=utf-8"
    if head == b"TOO-LARGE":
        return "431 Request Header Fields Too Large", b"request head too large\n", text
    parts = head.split(b"\r\n", 1)[0].split(b"\n", 1)[0].split()
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        return "400 Bad Request", b"bad request line\n", text
    method, target = parts[0], parts[1].split(b"?", 1)[0]
    if target != b"/metrics":
        return "404 Not Found", b"only /metrics lives here\n", text
    if method not in (b"GET", b"HEAD"):
        return "405 Method Not Allowed", b"GET /metrics\n", text
    body = metrics.exposition()
    return "200 OK", body if method == b"GET" else b"", CONTENT_TYPE_LATEST
