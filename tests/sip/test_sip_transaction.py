"""The transaction state machines, driven by hand: no sockets, no clocks."""

import pytest

from dialer.sip.message import Request, make_response, parse_message
from dialer.sip.transaction import (ClientInviteTransaction, ClientNonInviteTransaction, Deliver,
                                    LocalProtocolError, Send, ServerInviteTransaction,
                                    ServerNonInviteTransaction, StartTimer, Terminated, TimedOut,
                                    transaction_key)
from sip_samples import COMPACT_FOLDED, INVITE


def kinds(events):
    return [type(e).__name__ + (f":{e.name}" if isinstance(e, StartTimer) else "") for e in events]


def invite():
    return parse_message(INVITE)


def test_client_invite_retransmits_with_timer_a_doubling_then_times_out_with_b():
    tx = ClientInviteTransaction(invite())
    assert kinds(tx.start()) == ["Send", "StartTimer:A", "StartTimer:B"]
    delays = []
    for _ in range(3):
        events = tx.timer_fired("A")
        assert isinstance(events[0], Send)
        delays.append(events[1].delay)
    assert delays == [1.0, 2.0, 4.0]
    assert kinds(tx.timer_fired("B")) == ["TimedOut", "Terminated"]
    assert tx.timer_fired("A") == []  # stale timer after the end is ignored


def test_client_invite_provisional_stops_retransmission():
    tx = ClientInviteTransaction(invite())
    tx.start()
    assert kinds(tx.receive_response(make_response(tx.request, 180, to_tag="t"))) == ["Deliver"]
    assert tx.state == "proceeding"
    assert tx.timer_fired("A") == [] and tx.timer_fired("B") == []


def test_client_invite_non_2xx_gets_ack_in_transaction_and_absorbs_retransmissions():
    tx = ClientInviteTransaction(invite())
    tx.start()
    busy = make_response(tx.request, 486, to_tag="t")
    events = tx.receive_response(busy)
    assert kinds(events) == ["Send", "Deliver", "StartTimer:D"]
    ack = events[0].message
    assert ack.method == "ACK" and ack.branch == tx.request.branch and ack.to_tag == "t"
    assert ack.cseq == tx.request.cseq and ack.uri == tx.request.uri
    # the 486 again (our ACK was lost): ACK again, the call hears nothing new
    assert kinds(tx.receive_response(busy)) == ["Send"]
    assert kinds(tx.timer_fired("D")) == ["Terminated"]


def test_client_invite_2xx_goes_to_accepted_and_passes_retransmitted_2xx_up():
    tx = ClientInviteTransaction(invite())
    tx.start()
    ok = make_response(tx.request, 200, to_tag="t")
    assert kinds(tx.receive_response(ok)) == ["Deliver", "StartTimer:M"]
    assert kinds(tx.receive_response(ok)) == ["Deliver"]
    assert kinds(tx.timer_fired("M")) == ["Terminated"]


def test_client_non_invite_timer_e_caps_at_t2_and_f_times_out():
    bye = parse_message(COMPACT_FOLDED)
    tx = ClientNonInviteTransaction(bye)
    assert kinds(tx.start()) == ["Send", "StartTimer:E", "StartTimer:F"]
    delays = [tx.timer_fired("E")[1].delay for _ in range(5)]
    assert delays == [1.0, 2.0, 4.0, 4.0, 4.0]
    tx.receive_response(make_response(bye, 100))
    assert tx.timer_fired("E")[1].delay == 4.0
    assert kinds(tx.timer_fired("F")) == ["TimedOut", "Terminated"]


def test_client_non_invite_final_response_then_k():
    bye = parse_message(COMPACT_FOLDED)
    tx = ClientNonInviteTransaction(bye)
    tx.start()
    assert kinds(tx.receive_response(make_response(bye, 200))) == ["Deliver", "StartTimer:K"]
    assert tx.receive_response(make_response(bye, 200)) == []
    assert kinds(tx.timer_fired("K")) == ["Terminated"]


def test_reliable_transport_has_no_retransmission_timers():
    tx = ClientNonInviteTransaction(parse_message(COMPACT_FOLDED), reliable=True)
    assert kinds(tx.start()) == ["Send", "StartTimer:F"]


def test_server_invite_non_2xx_retransmits_until_ack():
    req = invite()
    tx = ServerInviteTransaction(req)
    assert kinds(tx.send_response(make_response(req, 180, to_tag="t"))) == ["Send"]
    assert kinds(tx.receive_request(req)) == ["Send"]  # INVITE retransmission → last response
    events = tx.send_response(make_response(req, 486, to_tag="t"))
    assert kinds(events) == ["Send", "StartTimer:G", "StartTimer:H"]
    assert tx.timer_fired("G")[1].delay == 1.0
    ack = Request("ACK", req.uri, req.headers.copy())
    ack.headers.set("CSeq", "1 ACK")
    ack._index()
    assert kinds(tx.receive_request(ack)) == ["StartTimer:I"]
    assert tx.state == "confirmed" and tx.timer_fired("G") == []
    assert kinds(tx.timer_fired("I")) == ["Terminated"]


def test_server_invite_h_times_out_without_ack():
    req = invite()
    tx = ServerInviteTransaction(req)
    tx.send_response(make_response(req, 503))
    assert kinds(tx.timer_fired("H")) == ["TimedOut", "Terminated"]


def test_server_invite_2xx_is_accepted_and_absorbs_retransmissions_until_l():
    # RFC 6026: after a 2xx the transaction stays for Timer L, so an INVITE retransmitted
    # because our answer was late reaching the caller is not a new call.
    req = invite()
    tx = ServerInviteTransaction(req)
    events = tx.send_response(make_response(req, 200, to_tag="t"))
    assert kinds(events) == ["Send", "StartTimer:L"] and events[1].delay == 64 * 0.5
    assert tx.state == "accepted"
    assert tx.receive_request(req) == []          # absorbed: the dialog repeats the 2xx
    with pytest.raises(LocalProtocolError):
        tx.send_response(make_response(req, 200, to_tag="t"))
    assert tx.timer_fired("G") == [] and tx.timer_fired("H") == []
    assert kinds(tx.timer_fired("L")) == ["Terminated"] and tx.state == "terminated"


def test_server_non_invite_answers_retransmissions_then_j():
    bye = parse_message(COMPACT_FOLDED)
    tx = ServerNonInviteTransaction(bye)
    assert tx.receive_request(bye) == []  # nothing to repeat yet
    assert kinds(tx.send_response(make_response(bye, 200))) == ["Send", "StartTimer:J"]
    assert kinds(tx.receive_request(bye)) == ["Send"]
    assert kinds(tx.timer_fired("J")) == ["Terminated"]


def test_transaction_key_matches_ack_to_invite_but_not_cancel():
    req = invite()
    cancel = Request("CANCEL", req.uri, req.headers.copy())
    cancel.headers.set("CSeq", "1 CANCEL")
    cancel._index()
    ack = Request("ACK", req.uri, req.headers.copy())
    ack.headers.set("CSeq", "1 ACK")
    ack._index()
    assert transaction_key(ack) == transaction_key(req) != transaction_key(cancel)
