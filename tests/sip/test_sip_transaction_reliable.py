"""Transactions over a reliable transport (TCP) and transport failures, driven by hand:
no sockets, no clocks (RFC 3261 §17.1.1.2, §17.1.2.2, §17.2, §17.1.4)."""

from dialer.sip.message import Request, make_response, parse_message
from dialer.sip.transaction import (ClientInviteTransaction, ClientNonInviteTransaction,
                                    ServerInviteTransaction, ServerNonInviteTransaction,
                                    StartTimer)
from sip_samples import COMPACT_FOLDED, INVITE


def kinds(events):
    return [type(e).__name__ + (f":{e.name}" if isinstance(e, StartTimer) else "") for e in events]


def delays(events):
    return {e.name: e.delay for e in events if isinstance(e, StartTimer)}


def test_client_invite_over_tcp_never_retransmits_but_timer_b_still_applies():
    tx = ClientInviteTransaction(parse_message(INVITE), reliable=True)
    assert kinds(tx.start()) == ["Send", "StartTimer:B"]  # no Timer A
    assert tx.timer_fired("A") == []                      # even a stray A sends nothing
    assert kinds(tx.timer_fired("B")) == ["TimedOut", "Terminated"]


def test_client_invite_over_tcp_non_2xx_acks_once_and_timer_d_is_zero():
    tx = ClientInviteTransaction(parse_message(INVITE), reliable=True)
    tx.start()
    events = tx.receive_response(make_response(tx.request, 486, to_tag="t"))
    assert kinds(events) == ["Send", "Deliver", "StartTimer:D"]
    assert delays(events) == {"D": 0}
    assert kinds(tx.timer_fired("D")) == ["Terminated"]


def test_client_non_invite_over_tcp_no_timer_e_and_timer_k_is_zero():
    bye = parse_message(COMPACT_FOLDED)
    tx = ClientNonInviteTransaction(bye, reliable=True)
    events = tx.start()
    assert kinds(events) == ["Send", "StartTimer:F"] and delays(events) == {"F": 32.0}
    assert tx.timer_fired("E") == []
    events = tx.receive_response(make_response(bye, 200))
    assert kinds(events) == ["Deliver", "StartTimer:K"] and delays(events) == {"K": 0}


def test_server_transactions_over_tcp_never_retransmit_and_linger_zero():
    req = parse_message(INVITE)
    tx = ServerInviteTransaction(req, reliable=True)
    events = tx.send_response(make_response(req, 486, to_tag="t"))
    assert kinds(events) == ["Send", "StartTimer:H"]      # no Timer G
    ack = Request("ACK", req.uri, req.headers.copy())
    ack.headers.set("CSeq", "1 ACK")
    ack._index()
    events = tx.receive_request(ack)
    assert kinds(events) == ["StartTimer:I"] and delays(events) == {"I": 0}
    bye = parse_message(COMPACT_FOLDED)
    tx = ServerNonInviteTransaction(bye, reliable=True)
    events = tx.send_response(make_response(bye, 200))
    assert kinds(events) == ["Send", "StartTimer:J"] and delays(events) == {"J": 0}


def test_transport_failure_while_waiting_tells_the_tu_and_terminates():
    for tx in (ClientInviteTransaction(parse_message(INVITE), reliable=True),
               ClientNonInviteTransaction(parse_message(COMPACT_FOLDED), reliable=True)):
        tx.start()
        assert kinds(tx.transport_failed()) == ["TransportFailed", "Terminated"]
        assert tx.state == "terminated"
        assert tx.transport_failed() == [] and tx.timer_fired("B") == tx.timer_fired("F") == []


def test_transport_failure_while_ringing_tells_the_tu():
    tx = ClientInviteTransaction(parse_message(INVITE), reliable=True)
    tx.start()
    tx.receive_response(make_response(tx.request, 180, to_tag="t"))
    assert kinds(tx.transport_failed()) == ["TransportFailed", "Terminated"]


def test_transport_failure_after_the_final_response_only_terminates():
    tx = ClientInviteTransaction(parse_message(INVITE), reliable=True)
    tx.start()
    tx.receive_response(make_response(tx.request, 200, to_tag="t"))   # accepted
    assert kinds(tx.transport_failed()) == ["Terminated"]
    bye = parse_message(COMPACT_FOLDED)
    tx = ClientNonInviteTransaction(bye, reliable=True)
    tx.start()
    tx.receive_response(make_response(bye, 200))                       # completed
    assert kinds(tx.transport_failed()) == ["Terminated"]
    assert ClientNonInviteTransaction(bye).transport_failed() == []    # never started


def test_server_transactions_end_when_their_connection_is_lost():
    req = parse_message(INVITE)
    tx = ServerInviteTransaction(req, reliable=True)
    tx.send_response(make_response(req, 180, to_tag="t"))
    assert kinds(tx.transport_failed()) == ["Terminated"]
    assert tx.transport_failed() == [] and tx.receive_request(req) == []
    bye = parse_message(COMPACT_FOLDED)
    tx = ServerNonInviteTransaction(bye, reliable=True)
    assert kinds(tx.transport_failed()) == ["Terminated"]
