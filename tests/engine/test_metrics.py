"""Engine metrics: counters, the rolling abandon rate, and /metrics over real TCP."""

import pytest
import trio
from prometheus_client.parser import text_string_to_metric_families

from dialer.engine.metrics import AbandonWindow, EngineMetrics, serve_metrics
from dialer.engine.operators import OperatorDesk


def _sample(metrics, name, **labels):
    return metrics.registry.get_sample_value(name, labels)


async def test_calls_outcomes_and_abandon_rate(autojump_clock):
    m = EngineMetrics()
    for _ in range(4):
        m.call_started("c1")
    assert _sample(m, "dialer_calls_in_flight", campaign="c1") == 4
    m.call_ended("c1", "answered", 200)
    m.call_ended("c1", "answered", 200)
    m.call_ended("c1", "abandoned", 200)
    m.call_ended("c1", "busy", 486)
    assert _sample(m, "dialer_calls_in_flight", campaign="c1") == 0
    assert _sample(m, "dialer_calls_total", campaign="c1", outcome="busy") == 1
    assert _sample(m, "dialer_live_answers_total", campaign="c1") == 3
    assert _sample(m, "dialer_abandons_total", campaign="c1") == 1
    assert _sample(m, "dialer_sip_responses_total", code="486") == 1
    # Busy calls are not live answers: 1 abandon of 3 live answers.
    assert _sample(m, "dialer_abandon_rate", campaign="c1", window="hour") == pytest.approx(1 / 3)


async def test_rolling_window_forgets_old_answers(autojump_clock):
    m = EngineMetrics()
    m.call_started("c")
    m.call_ended("c", "abandoned")
    await trio.sleep(3700)      # more than an hour later
    for _ in range(9):
        m.call_started("c")
        m.call_ended("c", "answered")
    assert m.rolling_abandon_rate("c") == 0.0
    assert m.rolling_abandon_rate("c", 86400) == pytest.approx(0.1)


def test_abandon_window_drops_buckets_older_than_kept():
    w = AbandonWindow(keep=3600)
    w.add(0, live=1, abandoned=1)
    w.add(10_000, live=1)
    assert w.totals(10_000, 100_000) == (1, 0)


async def test_operator_gauge_follows_the_desk(autojump_clock):
    m = EngineMetrics()
    desk = OperatorDesk(listeners=[m.operator_moved])
    for i in range(3):
        desk.add(i, f"op{i}")
    m.operators_present(desk.counts())
    desk.login("op0", ready=True)
    desk.login("op1")
    assert _sample(m, "dialer_operators", state="ready") == 1
    assert _sample(m, "dialer_operators", state="paused") == 1
    assert _sample(m, "dialer_operators", state="logged_out") == 1


async def _http(address, request: bytes) -> bytes:
    stream = await trio.open_tcp_stream(*address)
    async with stream:
        await stream.send_all(request)
        data = b""
        while chunk := await stream.receive_some(65536):
            data += chunk
    return data


async def test_metrics_endpoint_over_tcp():
    m = EngineMetrics()
    m.call_started("demo")
    m.call_ended("demo", "no_answer", 487)
    m.db_latency.observe(0.0004)
    async with trio.open_nursery() as nursery:
        address = await nursery.start(serve_metrics, m, "127.0.0.1", 0)
        reply = await _http(address, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        head, body = reply.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 200")
        families = {f.name: f for f in text_string_to_metric_families(body.decode())}
        assert "dialer_calls" in families and "dialer_db_latency_seconds" in families
        calls = [s for s in families["dialer_calls"].samples if s.name == "dialer_calls_total"]
        assert calls[0].labels == {"campaign": "demo", "outcome": "no_answer"} and calls[0].value == 1

        assert (await _http(address, b"GET /nope HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 404")
        assert (await _http(address, b"POST /metrics HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 405")
        assert (await _http(address, b"garbage\r\n\r\n")).startswith(b"HTTP/1.1 400")
        nursery.cancel_scope.cancel()
