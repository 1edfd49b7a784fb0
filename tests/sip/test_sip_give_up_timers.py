"""Give-up timers (B, F, H) fire when they always did, though the endpoint puts them in its
timer heap only when the retransmissions (A, E, G) reach their deadline.

Each test faces a peer that never answers (or never ACKs) and counts the retransmissions
the peer saw and when the transaction gave up: RFC 3261 §17's schedule at T1 = 0.5 s.
"""

import pytest
import trio
import trio.testing

from dialer.sip.endpoint import open_endpoint
from dialer.sip.message import parse_message
from sim.network import MemoryNetwork

INVITE = (
    "INVITE sip:100@127.0.0.1:5070 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:6000;branch=z9hG4bKgiveup;rport\r\n"
    "From: <sip:al@127.0.0.1>;tag=f1\r\nTo: <sip:100@127.0.0.1:5070>\r\n"
    "Call-ID: giveup@127.0.0.1\r\nCSeq: 1 INVITE\r\n"
    "Contact: <sip:al@127.0.0.1:6000>\r\nContent-Length: 0\r\n\r\n")


@pytest.fixture
def mock_clock():
    return trio.testing.MockClock(autojump_threshold=0)


async def _serve(net, kwargs, task_status):
    async with open_endpoint(net, "127.0.0.1", 0, **kwargs) as endpoint:
        task_status.started(endpoint)
        await trio.sleep_forever()


async def _arrivals(sock, until: float) -> list[tuple[float, bytes]]:
    """Every datagram `sock` gets until `until` (trio time), with its arrival time."""
    got = []
    with trio.move_on_at(until):
        while True:
            data, _ = await sock.receive()
            got.append((trio.current_time(), data))
    return got


# Retransmissions of an unanswered request at T1 = 0.5 s: INVITE doubles every time (Timer A),
# a non-INVITE request and a non-2xx final response double up to T2 = 4 s (Timers E, G).
A_TIMES = [0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
E_TIMES = [0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]


async def test_timer_b_ends_an_unanswered_invite_after_its_retransmissions(mock_clock):
    net = MemoryNetwork()
    async with trio.open_nursery() as nursery:
        uac = await nursery.start(_serve, net, {})
        silent = await net.bind("127.0.0.1", 5070)
        start = trio.current_time()
        call = await uac.dial(silent.local_address, "100", ring_timeout=60)
        seen = await _arrivals(silent, start + 40)
        assert [round(t - start, 6) for t, _ in seen] == A_TIMES
        assert call.outcome == "failed" and call.transport_timeout
        assert call.ended_at - start == pytest.approx(32, abs=1e-9)        # Timer B = 64*T1
        assert not uac._clients
        nursery.cancel_scope.cancel()


async def test_timer_f_ends_an_unanswered_options_after_its_retransmissions(mock_clock):
    net = MemoryNetwork()
    async with trio.open_nursery() as nursery:
        uac = await nursery.start(_serve, net, {})
        silent = await net.bind("127.0.0.1", 5070)
        start = trio.current_time()
        result = []

        async def ask():
            result.append(await uac.options(silent.local_address))
            result.append(trio.current_time() - start)

        nursery.start_soon(ask)
        seen = await _arrivals(silent, start + 40)
        assert [round(t - start, 6) for t, _ in seen] == E_TIMES
        assert result[0] is None and result[1] == pytest.approx(32, abs=1e-9)   # Timer F
        assert not uac._clients
        nursery.cancel_scope.cancel()


async def test_timer_h_ends_a_refusal_never_acknowledged(mock_clock):
    net = MemoryNetwork()

    async def busy(call):
        await call.reject(486)

    async with trio.open_nursery() as nursery:
        uas = await nursery.start(_serve, net, {"on_invite": busy})
        caller = await net.bind("127.0.0.1", 6000)
        start = trio.current_time()
        await caller.send(INVITE.encode(), uas.local_address)
        seen = await _arrivals(caller, start + 31.9)
        assert [parse_message(data).status for _, data in seen] == [486] * len(E_TIMES)
        assert [round(t - start, 6) for t, _ in seen] == E_TIMES          # Timer G
        assert uas._servers                   # still absorbing, until Timer H at 32 s
        await trio.sleep_until(start + 32)
        await trio.sleep(0.001)
        assert not uas._servers               # Timer H = 64*T1 ended it
        assert await _arrivals(caller, start + 40) == []
        nursery.cancel_scope.cancel()
