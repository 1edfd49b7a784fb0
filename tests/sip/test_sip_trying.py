"""100 Trying only when the TU will not answer at once (RFC 3261 §17.2.1).

The server transaction must send 100 Trying if the TU will not answer within 200 ms; a
180 or a final response sent at once stops the caller's Timer A just as well, so a 100
before it is a message for nothing. These tests watch what the called endpoint puts on
the wire.
"""

import pytest
import trio
import trio.testing

from dialer.sip.endpoint import open_endpoint, trying_delay
from dialer.sip.transaction import DEFAULT_TIMERS, TimerValues
from sip_memnet import MemoryNetwork

FAST = TimerValues(t1=0.05, t2=0.4, t4=0.5)


@pytest.fixture
def mock_clock():
    return trio.testing.MockClock(autojump_threshold=0)


class Wire:
    """A network that records the status line of every response the callee sends."""

    def __init__(self):
        self.callee_port = None
        self.sent: list[tuple[float, str]] = []
        self.net = MemoryNetwork(drop=self._watch)

    def _watch(self, data, source, destination):
        if source[1] == self.callee_port and data.startswith(b"SIP/2.0 "):
            self.sent.append((trio.current_time(), data.split(b"\r\n", 1)[0].decode()[8:]))
        return False

    def statuses(self):
        return [status for _, status in self.sent]


async def _serve(net, kwargs, task_status):
    async with open_endpoint(net, "127.0.0.1", 0, **kwargs) as endpoint:
        task_status.started(endpoint)
        await trio.sleep_forever()


async def _call(wire, callee_kwargs, *, until="answered"):
    async with trio.open_nursery() as nursery:
        callee = await nursery.start(_serve, wire.net, callee_kwargs)
        wire.callee_port = callee.local_address[1]
        caller = await nursery.start(_serve, wire.net, {"timers": callee_kwargs.get("timers", DEFAULT_TIMERS)})
        call = await caller.dial(callee.local_address, "100", ring_timeout=20)
        await call.wait_for(until)
        await call.hangup()
        nursery.cancel_scope.cancel()
    return call


async def test_no_100_when_on_invite_rings_at_once(mock_clock):
    async def on_invite(call):
        await call.ring()
        call.endpoint.call_later(1.0, lambda c: c.answer(), call)

    wire = Wire()
    call = await _call(wire, {"on_invite": on_invite})
    assert wire.statuses() == ["180 Ringing", "200 OK", "200 OK"]  # the last answers our BYE
    assert [s for _, s in call.progress] == ["calling", "ringing", "answered", "ended"]


async def test_no_100_when_on_invite_refuses_at_once(mock_clock):
    async def on_invite(call):
        await call.reject(486)

    wire = Wire()
    call = await _call(wire, {"on_invite": on_invite}, until="ended")
    assert wire.statuses() == ["486 Busy Here"]
    assert call.sip_status == 486


async def test_100_at_once_when_on_invite_answers_later(mock_clock):
    # The carrier's busy and invalid numbers answer after a post-dial delay, from a timer.
    async def on_invite(call):
        call.endpoint.call_later(1.0, lambda c: c.reject(486), call)

    wire = Wire()
    call = await _call(wire, {"on_invite": on_invite}, until="ended")
    assert wire.statuses() == ["100 Trying", "486 Busy Here"]
    assert wire.sent[0][0] == pytest.approx(0, abs=1e-9)
    assert [s for _, s in call.progress] == ["calling", "trying", "ended"]


@pytest.mark.parametrize("timers", [DEFAULT_TIMERS, FAST])
async def test_no_100_when_the_handler_rings_at_once(mock_clock, timers):
    async def handler(call):
        await call.ring()
        await trio.sleep(1.0)
        await call.answer()

    wire = Wire()
    call = await _call(wire, {"handler": handler, "timers": timers})
    assert wire.statuses()[:2] == ["180 Ringing", "200 OK"]
    assert "trying" not in [s for _, s in call.progress]


@pytest.mark.parametrize("timers", [DEFAULT_TIMERS, FAST])
async def test_100_when_the_handler_is_slow(mock_clock, timers):
    async def handler(call):
        await trio.sleep(1.0)
        await call.ring()
        await trio.sleep(1.0)
        await call.answer()

    wire = Wire()
    start = trio.current_time()
    call = await _call(wire, {"handler": handler, "timers": timers})
    assert wire.statuses()[:3] == ["100 Trying", "180 Ringing", "200 OK"]
    # Before the caller's first retransmission (Timer A, T1): 200 ms at the default T1.
    assert wire.sent[0][0] - start == pytest.approx(trying_delay(timers))
    assert trying_delay(DEFAULT_TIMERS) == 0.2 and trying_delay(timers) < timers.t1
    assert [s for _, s in call.progress][:3] == ["calling", "trying", "ringing"]
