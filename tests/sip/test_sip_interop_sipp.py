"""Our endpoint against sipp (a third-party SIP stack) over real UDP and TCP on 127.0.0.1.

Each test starts a sipp UAS scenario from tests/sipp/ for one call and checks
both sides: our call's outcome and sipp's exit status (0 = its scenario ran to
the end, so our messages were what it expected). The TCP tests run sipp with
`-t t1` (one TCP socket) and the same scenarios.
"""

import socket

import pytest
import trio

from dialer.net import UdpNetwork
from dialer.sip.endpoint import open_endpoint
from dialer.sip.trunk import Trunk
from peers import require_program
from sipp_runner import SCENARIOS, free_port, run_sipp, sipp_command

pytestmark = pytest.mark.peers


@pytest.fixture
def sipp():
    return require_program("sipp", "sip-tester")


async def call_sipp(sipp, scenario, *, keys=(), ring_timeout=20.0, hold=0.0, trunk_kwargs=None,
                    transport="udp"):
    port = free_port(socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM)
    args = ["-sf", str(SCENARIOS / scenario), "-m", "1"]
    if transport == "tcp":
        args += ["-t", "t1"]
    for key, value in keys:
        args += ["-key", key, value]
    result = {}
    async with trio.open_nursery() as nursery:
        async def sipp_task(task_status):
            result["sipp"] = await run_sipp(sipp_command(sipp, port, *args), 30, task_status)
        await nursery.start(sipp_task)
        async with open_endpoint(UdpNetwork(), "127.0.0.1", 0) as endpoint:
            trunk = Trunk("sipp", "127.0.0.1", port, transport=transport, **(trunk_kwargs or {}))
            with trio.fail_after(40):
                call = await endpoint.dial(trunk, "+15551234567", caller_id="15550001111",
                                           ring_timeout=ring_timeout)
                if await call.wait_answered() and hold >= 0:
                    await trio.sleep(hold)
                    if call.state == "answered" and hold < 5:
                        await call.hangup()
                await call.wait_ended()
            # Stay up until sipp is done: over TCP, closing our connection while sipp is
            # still in its scenario's last pause would count as a failed call there.
            with trio.fail_after(35):
                while "sipp" not in result:
                    await trio.sleep(0.05)
            assert endpoint.stats["internal_errors"] == 0
            if transport == "tcp":
                # every message went over the one TCP connection, none over UDP
                assert endpoint.transport.stats.sent == 0
                assert endpoint.tcp.stats.connections_opened == 1
    return call, result["sipp"]


def sipp_ok(proc):
    return proc.returncode == 0, (proc.stdout[-2000:] + proc.stderr[-2000:]).decode(errors="replace")


async def test_answer_and_we_hang_up(sipp):
    call, proc = await call_sipp(sipp, "uas_answer.xml", hold=0.3)
    assert call.outcome == "answered" and call.sip_status == 200 and call.ended_by == "local"
    assert [s for _, s in call.progress] == ["calling", "trying", "ringing", "answered", "ended"]
    assert call.remote_sdp and b"m=audio" in call.remote_sdp
    assert sipp_ok(proc)[0], sipp_ok(proc)[1]


@pytest.mark.parametrize("status, outcome", [("486", "busy"), ("503", "failed"),
                                             ("404", "invalid")])
async def test_rejected(sipp, status, outcome):
    call, proc = await call_sipp(sipp, f"uas_{status}.xml")
    assert call.outcome == outcome and call.sip_status == int(status)
    assert call.try_next_trunk is (status == "503")
    assert sipp_ok(proc)[0], sipp_ok(proc)[1]


async def test_no_answer_until_our_cancel(sipp):
    # ring time below 15 s only because a test says so
    call, proc = await call_sipp(sipp, "uas_ring_forever.xml", ring_timeout=2.0)
    assert call.outcome == "no_answer" and call.sip_status == 487 and call.cancelled
    assert call.ring_seconds == pytest.approx(2.0, abs=0.5)
    assert sipp_ok(proc)[0], sipp_ok(proc)[1]


async def test_callee_hangs_up(sipp):
    call, proc = await call_sipp(sipp, "uas_callee_hangup.xml", hold=10)
    assert call.outcome == "answered" and call.ended_by == "remote"
    assert call.talk_seconds == pytest.approx(1.0, abs=0.5)
    assert sipp_ok(proc)[0], sipp_ok(proc)[1]


async def test_digest_challenge(sipp):
    call, proc = await call_sipp(sipp, "uas_auth.xml", hold=0.1,
                                 trunk_kwargs=dict(username="trunkuser", password="trunkpass"))
    assert call.outcome == "answered", (call.sip_status, sipp_ok(proc)[1])
    assert call.invite.headers.get("Authorization")
    assert sipp_ok(proc)[0], sipp_ok(proc)[1]


async def test_digest_challenge_wrong_password(sipp):
    call, proc = await call_sipp(sipp, "uas_auth.xml",
                                 trunk_kwargs=dict(username="trunkuser", password="wrong"))
    assert call.outcome == "rejected" and call.sip_status == 403
    assert sipp_ok(proc)[0], sipp_ok(proc)[1]


# --- over TCP ------------------------------------------------------------------------------

async def test_tcp_answer_and_we_hang_up(sipp):
    call, proc = await call_sipp(sipp, "uas_answer.xml", hold=0.3, transport="tcp")
    assert call.outcome == "answered" and call.sip_status == 200 and call.ended_by == "local"
    assert [s for _, s in call.progress] == ["calling", "trying", "ringing", "answered", "ended"]
    assert call.invite.headers.get("Via").startswith("SIP/2.0/TCP ")
    assert ";transport=tcp" in call.invite.headers.get("Contact")
    assert sipp_ok(proc)[0], sipp_ok(proc)[1]


async def test_tcp_busy(sipp):
    call, proc = await call_sipp(sipp, "uas_486.xml", transport="tcp")
    assert call.outcome == "busy" and call.sip_status == 486 and not call.try_next_trunk
    assert sipp_ok(proc)[0], sipp_ok(proc)[1]


async def test_tcp_callee_hangs_up(sipp):
    call, proc = await call_sipp(sipp, "uas_callee_hangup.xml", hold=10, transport="tcp")
    assert call.outcome == "answered" and call.ended_by == "remote"
    assert call.talk_seconds == pytest.approx(1.0, abs=0.5)
    assert sipp_ok(proc)[0], sipp_ok(proc)[1]


async def test_tcp_connection_closed_before_the_answer_fails_over(sipp):
    call, proc = await call_sipp(sipp, "uas_trying_then_close.xml", transport="tcp")
    assert call.outcome == "failed" and call.transport_error and call.sip_status == 503
    assert call.try_next_trunk and call.ring_seconds < 10   # not Timer B: the close ends it
    assert [s for _, s in call.progress] == ["calling", "trying", "ended"]
    assert sipp_ok(proc)[0], sipp_ok(proc)[1]
