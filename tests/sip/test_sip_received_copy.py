"""A message handed over beside its bytes (`received_copy`) is what parsing the bytes gives.

The in-memory network carries the sender's message beside the datagram, and the receiving
transport takes `received_copy(message)` instead of parsing the bytes. That is honest only
if the copy equals the parse in everything a receiver can observe; `parsed_differences` is
that comparison (the network's checking mode runs it on every datagram of the test suite).
"""

import pytest

from dialer.sip.dialog import Dialog
from dialer.sip.message import (Headers, Request, Response, make_response, parse_message,
                                parsed_differences, received_copy)
from dialer.sip.transaction import ClientInviteTransaction

INVITE = (
    "INVITE sip:100@127.0.0.1:5070 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKabc;rport\r\n"
    'From: "Al" <sip:al@EXAMPLE.com>;tag=f1\r\n'
    "To: <sip:100@127.0.0.1:5070>\r\n"
    "Call-ID: c1@127.0.0.1\r\nCSeq: 4 INVITE\r\n"
    "Record-Route: <sip:proxy.example.com;lr>\r\n"
    "Contact: <sip:al@127.0.0.1:5060>\r\nContent-Type: application/sdp\r\n"
    "Content-Length: 5\r\n\r\nv=0\r\n")


def _built_messages():
    invite = parse_message(INVITE.encode())
    ringing = make_response(invite, 180, to_tag="t2", headers=[("Contact", "<sip:c@127.0.0.1:5070>")])
    ok = make_response(invite, 200, to_tag="t2", body=b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n",
                       headers=[("Contact", "<sip:c@127.0.0.1:5070>"),
                                ("Content-Type", "application/sdp")])
    busy = make_response(invite, 486, "Busy Here", to_tag="t2")
    challenge = make_response(invite, 401, to_tag="t2", headers=[
        ("WWW-Authenticate", 'Digest realm="sim", nonce="abc", algorithm=MD5, qop="auth"')])
    uas = Dialog.from_uas(invite, local_tag="t2", local_contact="<sip:c@127.0.0.1:5070>",
                          via_host="127.0.0.1:5070")
    uac = Dialog.from_uac(invite, ok, via_host="127.0.0.1:5060")
    return [ringing, ok, busy, challenge, make_response(invite, 100),
            ClientInviteTransaction(invite).ack_for(busy),
            uas.create_request("BYE"), uac.create_request("BYE"), uac.ack(4),
            uac.create_request("INVITE", body=b"v=0\r\n"),
            make_response(uac.create_request("BYE"), 200)]


@pytest.mark.parametrize("index", range(11))
def test_a_copy_is_what_parsing_the_bytes_gives(index):
    message = _built_messages()[index]
    copy = received_copy(message)
    assert parsed_differences(copy, message.to_bytes()) == []
    parsed = parse_message(message.to_bytes())
    assert copy.headers._items == parsed.headers._items    # Content-Length last, as written
    assert copy.headers.get("Content-Length") == str(len(message.body))


def test_the_copy_shares_nothing_the_receiver_may_change():
    ok = _built_messages()[1]
    copy = received_copy(ok)
    assert copy is not ok and copy.headers is not ok.headers
    copy.headers.add("X-Mine", "1")
    assert "X-Mine" not in ok.headers
    assert getattr(copy, "_wire", None) is None          # the receiver's own, never sent


def test_the_check_sees_what_a_receiver_would_see_differently():
    invite = parse_message(INVITE.encode())
    # A value with blanks around it reads back stripped: the copy would keep them.
    h = Headers()
    for name, value in invite.headers:
        h.add(name, value + "  " if name == "Call-ID" else value)
    padded = Request("INVITE", invite.uri, h, invite.body)
    assert any(d.startswith("headers") for d in parsed_differences(received_copy(padded),
                                                                   padded.to_bytes()))
    # Matching fields that are not the headers' (a builder's bug) are seen too.
    wrong = make_response(invite, 486, to_tag="t2")
    wrong.branch = "z9hG4bKother"
    assert any(d.startswith("branch") for d in parsed_differences(received_copy(wrong),
                                                                  wrong.to_bytes()))
    # And bytes that do not parse at all.
    assert parsed_differences(received_copy(wrong), b"garbage")[0].startswith("the bytes do not parse")
    response = Response(200, "OK", invite.headers.copy())
    assert parsed_differences(response, INVITE.encode())[0].startswith("a Request on the wire")
