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
        # Gauges that follow a count the recorders keep in plain ints are read when collected
        # (`set_function`): a call or an operator's move updates an int, not a locked gauge.
        self._in_flight: dict[str, int] = {}
        self._operator_counts: dict[str, int] = {}
        # campaign -> (the minute bucket, the instant) the rolling rates were last due at. The
        # rates change only with a live answer or a new minute bucket (the windows are whole
        # minutes), so the gauges compute them at that instant when read: the same values an
        # update at each such ending gave, without walking the day's buckets at every one.
        self._rates_at: dict[str, tuple[int, float]] = {}
        # (campaign, outcome) -> the calls counter's child; SIP status -> the responses counter's
        self._ended: dict[tuple[str, str], Any] = {}
        self._responses: dict[int, Any] = {}

    def _child(self, metric, *labels: str):
        key = (metric, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    # Convenience recorders the engine calls at each event.
    def call_started(self, campaign: str) -> None:
        counts = self._in_flight
        if campaign not in counts:
            self._follow_campaign(campaign)
        counts[campaign] += 1

    def call_ended(self, campaign: str, outcome: str, sip_status: int | None = None) -> None:
        if campaign not in self._in_flight:
            self._follow_campaign(campaign)
        self._in_flight[campaign] -= 1
        ended = self._ended.get((campaign, outcome))
        if ended is None:
            ended = self._ended[campaign, outcome] = self._child(self.calls, campaign, outcome)
        ended.inc()
        if sip_status:
            responses = self._responses.get(sip_status)
            if responses is None:
                responses = self._responses[sip_status] = self._child(self.sip_responses, str(sip_status))
            responses.inc()
        now = self._now()
        live = outcome == "answered" or outcome == "abandoned"
        if live:
            self._child(self.live_answers, campaign).inc()
            self._window(campaign).add(now, live=1, abandoned=outcome == "abandoned")
            if outcome == "abandoned":
                self._child(self.abandons, campaign).inc()
        minute = math.floor(now / BUCKET_SECONDS)
        if live or self._rates_at[campaign][0] != minute:
            self._rates_at[campaign] = (minute, now)

    def _follow_campaign(self, campaign: str) -> None:
        """A campaign's first call: its gauges read the counts kept here."""
        self._in_flight[campaign] = 0
        self._rates_at[campaign] = (None, self._now())
        self._child(self.in_flight, campaign).set_function(lambda: self._in_flight[campaign])
        for window, span in (("hour", HOUR), ("day", DAY)):
            self._child(self.abandon_rate, campaign, window).set_function(
                lambda span=span: self._window(campaign).rate(self._rates_at[campaign][1], span))

    def rolling_abandon_rate(self, campaign: str, span: float = HOUR) -> float:
        return self._window(campaign).rate(self._now(), span)

    def operator_moved(self, op, old, new) -> None:
        """An OperatorDesk listener."""
        counts = self._operator_counts
        if old.value not in counts:
            self._follow_state(old.value)
        if new.value not in counts:
            self._follow_state(new.value)
        counts[old.value] -= 1
        counts[new.value] += 1

    def operators_present(self, counts: dict[str, int]) -> None:
        for state, n in counts.items():
            if state not in self._operator_counts:
                self._follow_state(state)
            self._operator_counts[state] = n

    def _follow_state(self, state: str) -> None:
        self._operator_counts[state] = 0
        self._child(self.operators, state).set_function(lambda: self._operator_counts[state])

    def _window(self, campaign: str) -> AbandonWindow:
        w = self._windows.get(campaign)
        if w is None:
            w = self._windows[campaign] = AbandonWindow()
        return w

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
