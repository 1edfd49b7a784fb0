"""The endpoint as caller and callee: our UAC against our UAS.

Virtual-time tests use the in-memory network (exact timers); one test runs the
same flow over real UDP on 127.0.0.1.
"""

import pytest
import trio
import trio.testing

from dialer.net import UdpNetwork
from dialer.sip.auth import DigestServer
from dialer.sip.endpoint import CallError, open_endpoint
from dialer.sip.message import make_response, parse_message
from dialer.sip.sdp import answer_offer, hold_offer, make_offer, parse_sdp
from dialer.sip.transaction import TimerValues
from dialer.sip.trunk import Trunk
from sim.network import MemoryNetwork
from sip_memnet import MemoryNetwork as DroppingNetwork

FAST = TimerValues(t1=0.05, t2=0.4, t4=0.5)


@pytest.fixture
def mock_clock():
    return trio.testing.MockClock(autojump_threshold=0)


def answering(delay=1.0, talk=None):
    async def handler(call):
        await call.ring()
        await trio.sleep(delay)
        offer = parse_sdp(call.remote_sdp)
        await call.answer(answer_offer(offer, "127.0.0.1", 20000).to_bytes())
        if talk is not None:
            await trio.sleep(talk)
            await call.hangup()
    return handler


async def pair(nursery, net, handler, **uas_kwargs):
    uas = await nursery.start(_run, net, dict(handler=handler, **uas_kwargs))
    uac = await nursery.start(_run, net, {})
    return uac, uas


async def _run(net, kwargs, task_status):
    async with open_endpoint(net, "127.0.0.1", 0, **kwargs) as endpoint:
        task_status.started(endpoint)
        await trio.sleep_forever()


async def test_answered_call_then_we_hang_up(mock_clock):
    net = MemoryNetwork()
    inbound = []

    async def handler(call):
        inbound.append(call)
        await answering(delay=3)(call)

    async with trio.open_nursery() as nursery:
        uac, uas = await pair(nursery, net, handler)
        call = await uac.dial(uas.local_address, "+15551234567", caller_id="15550001111",
                              ring_timeout=20)
        assert await call.wait_answered()
        states = [s for _, s in call.progress]
        # No 100 Trying: the handler rang at once (RFC 3261 §17.2.1, tests/sip/test_sip_trying.py)
        assert states == ["calling", "ringing", "answered"]
        assert call.ring_seconds == pytest.approx(3, abs=0.01)
        assert parse_sdp(call.remote_sdp).audio.port == 20000
        invite = inbound[0].invite
        assert invite.uri.startswith("sip:15551234567@")
        assert "15550001111" in invite.headers.get("P-Asserted-Identity")
        assert invite.from_addr.uri.user == "15550001111"
        await trio.sleep(7)
        await call.hangup()
        assert call.state == "ended" and call.outcome == "answered" and call.sip_status == 200
        assert call.talk_seconds == pytest.approx(7, abs=0.01) and call.ended_by == "local"
        await inbound[0].wait_ended()
        assert inbound[0].ended_by == "remote"
        assert uac.active_calls == 0 and uas.active_calls == 0
        assert uac.stats["internal_errors"] == uas.stats["internal_errors"] == 0
        nursery.cancel_scope.cancel()


async def test_early_media_then_answer(mock_clock):
    async def handler(call):
        early = answer_offer(parse_sdp(call.remote_sdp), "127.0.0.1", 21000).to_bytes()
        await call.ring(sdp=early)
        await trio.sleep(2)
        await call.answer(early)

    async with trio.open_nursery() as nursery:
        uac, uas = await pair(nursery, MemoryNetwork(), handler)
        call = await uac.dial(uas.local_address, "100", ring_timeout=20)
        assert await call.wait_for("early_media") == "early_media"
        assert parse_sdp(call.remote_sdp).audio.port == 21000
        assert await call.wait_answered()
        assert [s for _, s in call.progress] == ["calling", "early_media", "answered"]
        await call.hangup()
        nursery.cancel_scope.cancel()


async def test_callee_hangs_up(mock_clock):
    async with trio.open_nursery() as nursery:
        uac, uas = await pair(nursery, MemoryNetwork(), answering(delay=1, talk=5))
        call = await uac.dial(uas.local_address, "100", ring_timeout=20)
        assert await call.wait_ended() == "answered"
        assert call.ended_by == "remote" and call.talk_seconds == pytest.approx(5, abs=0.01)
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("status, outcome, next_trunk", [
    (486, "busy", False), (404, "invalid", False), (503, "failed", True), (603, "rejected", False),
    (488, "codec_mismatch", False), (480, "no_answer", False),
])
async def test_rejections_map_to_outcomes(mock_clock, status, outcome, next_trunk):
    async def handler(call):
        await call.ring()
        await trio.sleep(2)
        await call.reject(status)

    async with trio.open_nursery() as nursery:
        uac, uas = await pair(nursery, MemoryNetwork(), handler)
        call = await uac.dial(uas.local_address, "100", ring_timeout=20)
        assert await call.wait_ended() == outcome
        assert call.sip_status == status and call.try_next_trunk is next_trunk
        assert call.ring_seconds == pytest.approx(2, abs=0.01)
        nursery.cancel_scope.cancel()


async def test_ring_timeout_sends_cancel_and_ends_no_answer(mock_clock):
    inbound = []

    async def handler(call):
        inbound.append(call)
        await call.ring()
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        uac, uas = await pair(nursery, MemoryNetwork(), handler)
        call = await uac.dial(uas.local_address, "100", ring_timeout=15)
        assert await call.wait_ended() == "no_answer"
        assert call.sip_status == 487 and call.ended_by == "local"
        assert call.ring_seconds == pytest.approx(15, abs=0.01)
        assert inbound[0].state == "ended" and inbound[0].cancelled
        nursery.cancel_scope.cancel()


async def test_no_response_at_all_is_a_transport_failure(mock_clock):
    net = MemoryNetwork()
    async with trio.open_nursery() as nursery:
        uac = await nursery.start(_run, net, {})
        start = trio.current_time()
        call = await uac.dial(("127.0.0.1", 9), "100", ring_timeout=15)
        assert await call.wait_ended() == "failed"
        assert call.transport_timeout and call.sip_status == 408 and call.try_next_trunk
        assert trio.current_time() - start == pytest.approx(32, abs=0.01)  # Timer B = 64*T1
        nursery.cancel_scope.cancel()


async def test_lost_invite_is_retransmitted(mock_clock):
    dropped = []

    def drop(data, source, destination):
        if data.startswith(b"INVITE") and not dropped:
            dropped.append(data)
            return True
        return False

    async with trio.open_nursery() as nursery:
        uac, uas = await pair(nursery, DroppingNetwork(drop=drop), answering(delay=0))
        call = await uac.dial(uas.local_address, "100", ring_timeout=20)
        assert await call.wait_answered()
        assert call.ring_seconds == pytest.approx(0.5, abs=0.01)  # Timer A = T1
        await call.hangup()
        nursery.cancel_scope.cancel()


async def test_digest_challenge_is_answered(mock_clock):
    server = DigestServer(realm="carrier", users={"trunkuser": "trunkpass"}, algorithm="SHA-256")

    async def handler(call):
        verdict = server.check(call.invite)
        if verdict != "ok":
            await call.reject(401, headers=[server.challenge_header(stale=verdict == "stale")])
            return
        await answering(delay=0)(call)

    async with trio.open_nursery() as nursery:
        uac, uas = await pair(nursery, MemoryNetwork(), handler)
        trunk = Trunk("t", *uas.local_address, username="trunkuser", password="trunkpass")
        call = await uac.dial(trunk, "100", ring_timeout=20)
        assert await call.wait_answered()
        assert "Authorization" in call.invite.headers and call.invite.cseq == 2
        await call.hangup()
        bad = Trunk("t", *uas.local_address, username="trunkuser", password="nope")
        call = await uac.dial(bad, "100", ring_timeout=20)
        assert await call.wait_ended() == "failed" and call.sip_status == 401
        nursery.cancel_scope.cancel()


async def test_reinvite_both_ways_and_hold(mock_clock):
    inbound = []

    async def handler(call):
        inbound.append(call)
        call.on_reinvite = lambda c, offer: answer_offer(parse_sdp(offer), "127.0.0.1",
                                                         30000).to_bytes()
        await answering(delay=0)(call)

    async with trio.open_nursery() as nursery:
        uac, uas = await pair(nursery, MemoryNetwork(), handler)
        call = await uac.dial(uas.local_address, "100", ring_timeout=20)
        assert await call.wait_answered()
        held = hold_offer(parse_sdp(call.local_sdp)).to_bytes()
        answer = parse_sdp(await call.reinvite(held))
        assert answer.audio.port == 30000 and answer.audio.direction == "recvonly"
        assert parse_sdp(inbound[0].remote_sdp).audio.on_hold
        # and the callee re-INVITEs us (bridging from the other side)
        new_offer = make_offer("127.0.0.1", 40000).to_bytes()
        await inbound[0].reinvite(new_offer)
        assert parse_sdp(call.remote_sdp).audio.port == 40000
        await inbound[0].hangup()
        await call.wait_ended()
        with pytest.raises(CallError):
            await call.reinvite(new_offer)
        nursery.cancel_scope.cancel()


async def test_unknown_dialog_gets_481_and_unknown_source_403(mock_clock):
    net = MemoryNetwork()
    async with trio.open_nursery() as nursery:
        allowed = []
        uas = await nursery.start(_run, net, dict(handler=answering(), allow=lambda a: a in allowed))
        probe = await net.bind("127.0.0.1", 0)
        bye = (b"BYE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKq\r\n"
               b"From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>;tag=2\r\nCall-ID: nope\r\nCSeq: 5 BYE\r\n"
               b"Content-Length: 0\r\n\r\n")
        await probe.send(bye, uas.local_address)
        data, _ = await probe.receive()
        assert parse_message(data).status == 403
        allowed.append(probe.local_address)
        await probe.send(bye.replace(b"bKq", b"bKr"), uas.local_address)
        data, _ = await probe.receive()
        assert parse_message(data).status == 481
        await probe.send(b"garbage\r\n\r\n", uas.local_address)
        await probe.send(b"OPTIONS sip:x@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKo\r\n"
                         b"From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: o\r\nCSeq: 1 OPTIONS"
                         b"\r\n\r\n", uas.local_address)
        data, _ = await probe.receive()
        assert parse_message(data).status == 200
        assert uas.stats["internal_errors"] == 0 and uas.stats["dropped"] == 1
        nursery.cancel_scope.cancel()


async def test_cancel_before_any_provisional_waits_then_fails_on_timer_b(mock_clock):
    net = DroppingNetwork(drop=lambda data, s, d: data.startswith(b"SIP/2.0 1"))

    async def handler(call):
        await trio.sleep_forever()  # the 100 Trying is dropped: we never hear anything

    async with trio.open_nursery() as nursery:
        uac, uas = await pair(nursery, net, handler)
        call = await uac.dial(uas.local_address, "100", ring_timeout=15)
        await call.wait_ended()
        assert call.outcome == "failed" and call.transport_timeout
        nursery.cancel_scope.cancel()


async def test_many_calls_over_a_lossy_network_all_end_with_an_outcome(mock_clock):
    net = MemoryNetwork(loss=0.2, latency=0.02, jitter=0.01, seed=7)
    outcomes = []

    async def one(uac, address):
        call = await uac.dial(address, "100", ring_timeout=20)
        if await call.wait_answered():
            await trio.sleep(5)
            await call.hangup()
        outcomes.append(await call.wait_ended())

    async with trio.open_nursery() as nursery:
        uac, uas = await pair(nursery, net, answering(delay=1, talk=None))
        async with trio.open_nursery() as calls:
            for _ in range(50):
                calls.start_soon(one, uac, uas.local_address)
        assert len(outcomes) == 50 and outcomes.count("answered") >= 45
        assert uac.active_calls == 0
        await trio.sleep(60)  # every peer-side call ends too (BYE retransmitted or timed out)
        assert uas.active_calls == 0
        assert uac.stats["internal_errors"] == uas.stats["internal_errors"] == 0
        nursery.cancel_scope.cancel()


async def test_real_udp_call_on_loopback():
    net = UdpNetwork()
    async with trio.open_nursery() as nursery:
        uac, uas = await pair(nursery, net, answering(delay=0.05), timers=FAST)
        with trio.fail_after(5):
            call = await uac.dial(f"sip:127.0.0.1:{uas.local_address[1]}", "100", ring_timeout=20)
            assert await call.wait_answered()
            await call.hangup()
        assert call.outcome == "answered" and uac.active_calls == 0
        nursery.cancel_scope.cancel()


async def test_cancel_racing_the_handler_is_not_an_error(mock_clock):
    async def slow_answer(call):
        await trio.sleep(10)          # the caller gives up before we answer
        await call.answer(b"")        # raises CallError: the call already ended

    async with trio.open_nursery() as nursery:
        uac, uas = await pair(nursery, MemoryNetwork(), slow_answer)
        call = await uac.dial(uas.local_address, "100", ring_timeout=5)
        assert await call.wait_ended() == "no_answer"
        await trio.sleep(10)
        assert uas.stats["internal_errors"] == 0 and uas.active_calls == 0
        nursery.cancel_scope.cancel()


async def test_invite_retransmitted_after_our_answer_is_not_a_second_call(mock_clock):
    # Our 100 and 200 take 0.6 s to reach the caller, so its Timer A (T1 = 0.5 s) resends the
    # INVITE after we answered: the accepted transaction (RFC 6026) absorbs it.
    uas_port = []
    net = DroppingNetwork(delay=lambda data, s, d: 0.6 if s[1] in uas_port else 0)
    handled = []

    async def answer(call):
        handled.append(call)
        await call.answer()

    async with trio.open_nursery() as nursery:
        uac, uas = await pair(nursery, net, answer)
        uas_port.append(uas.local_address[1])
        call = await uac.dial(uas.local_address, "100", ring_timeout=20)
        assert await call.wait_answered()
        await trio.sleep(2)
        await call.hangup()
        await trio.sleep(2)
        assert len(handled) == 1 and uas.stats["calls_in"] == 1
        assert [c.state for c in handled] == ["ended"] and uas.active_calls == 0
        nursery.cancel_scope.cancel()


async def test_late_2xx_for_an_ended_call_does_not_stall_the_endpoint(mock_clock):
    # A peer (a forking proxy, or a UAS that took a retransmitted INVITE for a new call)
    # answers again with another tag after our call ended: we ACK and BYE that leg. The BYE's
    # answer can only be read by the receive loop, so the loop must not wait for it: here it
    # never comes, and a second call through another peer must still go through at once.
    net = DroppingNetwork()
    peer = await net.bind()
    async with trio.open_nursery() as nursery:
        uac, uas = await pair(nursery, net, answering(delay=0.1))

        async def scripted_peer():
            invite, source = await peer.receive()
            invite = parse_message(invite)
            contact = [("Contact", f"<sip:peer@127.0.0.1:{peer.local_address[1]}>")]
            await peer.send(make_response(invite, 200, to_tag="first", headers=contact).to_bytes(), source)
            for expected in ("ACK", "BYE"):
                request = parse_message((await peer.receive())[0])
                assert request.method == expected
            await peer.send(make_response(request, 200).to_bytes(), source)
            await peer.send(make_response(invite, 200, to_tag="second", headers=contact).to_bytes(), source)
            late = [parse_message((await peer.receive())[0]).method for _ in range(2)]
            assert late == ["ACK", "BYE"]                 # the second leg is taken down
            await trio.sleep_forever()                    # ... and its BYE never answered

        nursery.start_soon(scripted_peer)
        call = await uac.dial(peer.local_address, "100", ring_timeout=20)
        assert await call.wait_answered()
        await call.hangup()
        await trio.sleep(1)
        with trio.fail_after(5):                          # Timer F (the old stall) is 32 s
            other = await uac.dial(uas.local_address, "200", ring_timeout=20)
            assert await other.wait_answered()
            await other.hangup()
        nursery.cancel_scope.cancel()


async def test_ack_reusing_the_invite_branch_still_confirms_our_2xx(mock_clock):
    # Some peers send the ACK for a 2xx with the INVITE's branch (RFC 2543 style); the
    # accepted INVITE transaction must not swallow it, or we would BYE the call for "no ACK".
    net = DroppingNetwork()
    peer = await net.bind()
    answered = []

    async def answer(call):
        answered.append(call)
        await call.answer()

    async with trio.open_nursery() as nursery:
        uas = await nursery.start(_run, net, dict(handler=answer))
        host, port = uas.local_address
        me = peer.local_address[1]
        head = (f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bKsamebranch\r\nMax-Forwards: 70\r\n"
                f"From: <sip:peer@127.0.0.1>;tag=p1\r\n")
        invite = (f"INVITE sip:100@{host}:{port} SIP/2.0\r\n{head}To: <sip:100@{host}>\r\n"
                  f"Call-ID: same-branch-ack\r\nCSeq: 1 INVITE\r\nContact: <sip:peer@127.0.0.1:{me}>\r\n"
                  "Content-Length: 0\r\n\r\n")
        await peer.send(invite.encode(), uas.local_address)
        statuses = []
        while 200 not in statuses:
            response = parse_message((await peer.receive())[0])
            statuses.append(response.status)
        ack = (f"ACK sip:100@{host}:{port} SIP/2.0\r\n{head}To: <sip:100@{host}>;tag={response.to_tag}\r\n"
               "Call-ID: same-branch-ack\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n")
        await peer.send(ack.encode(), uas.local_address)
        later = []
        with trio.move_on_after(40):                  # past 64*T1: a missing ACK would end it
            while True:
                later.append(parse_message((await peer.receive())[0]))
        assert later == []                            # no 2xx retransmission, no BYE
        assert [c.state for c in answered] == ["answered"]
        nursery.cancel_scope.cancel()


async def test_on_fate_is_called_once_at_the_answer_and_again_at_the_end_if_set_again(mock_clock):
    """`Call.on_fate`: the dialer learns a call's fate without a task waiting for it. Called
    synchronously, once, when the call is answered or ends; set again, it tells the end."""
    async with trio.open_nursery() as nursery:
        uac, uas = await pair(nursery, MemoryNetwork(), answering(delay=2, talk=5))
        call = await uac.dial(uas.local_address, "100", ring_timeout=20)
        told = []

        def fated(c):
            told.append((c.state, trio.current_time()))
            if c.state == "answered":
                c.on_fate = fated    # and now the end

        started = trio.current_time()
        call.on_fate = fated
        await call.wait_ended()
        assert [state for state, _ in told] == ["answered", "ended"]
        assert told[0][1] - started == pytest.approx(2, abs=0.01)
        assert told[1][1] - started == pytest.approx(7, abs=0.01)
        assert call.on_fate is None
        nursery.cancel_scope.cancel()


async def test_on_fate_of_an_unanswered_call_comes_after_its_trunk_is_told(mock_clock):
    async def handler(call):
        await call.ring()
        await trio.sleep(1)
        await call.reject(503)

    async with trio.open_nursery() as nursery:
        uac, uas = await pair(nursery, MemoryNetwork(), handler)
        trunk = Trunk("t", *uas.local_address, breaker_failures=1)
        call = await uac.dial(trunk, "100", ring_timeout=20)
        told = []
        # The hook sees the call ended, its channel given back and the breaker fed.
        call.on_fate = lambda c: told.append((c.state, c.outcome, trunk.in_use, trunk.breaker.state))
        await call.wait_ended()
        assert told == [("ended", "failed", 0, "open")]
        nursery.cancel_scope.cancel()


async def test_hangup_takes_down_a_200_that_crossed_its_cancel(mock_clock):
    # The called party answers just as we hang up a ringing call: our CANCEL and their 200
    # cross on the wire. The 200 must not leave a call up that nobody is on (a silent call):
    # hangup() ACKs and BYEs it, and returns once the call is over.
    inbound = []

    async def handler(call):
        inbound.append(call)
        await call.ring()
        await trio.sleep(1.0)
        await call.answer()
        await trio.sleep_forever()

    async with trio.open_nursery() as nursery:
        uac, uas = await pair(nursery, MemoryNetwork(latency=0.1), handler)
        call = await uac.dial(uas.local_address, "100", ring_timeout=30)
        await trio.sleep(1.05)                  # their 200 is on its way, 0.05 s from us
        assert call.state == "ringing"
        started = trio.current_time()
        with trio.fail_after(5):
            await call.hangup()
        assert call.state == "ended" and trio.current_time() - started < 1
        await trio.sleep(1)
        assert inbound[0].state == "ended" and inbound[0].ended_by == "remote"   # our BYE took it down
        nursery.cancel_scope.cancel()
