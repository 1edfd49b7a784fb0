import pytest

from dialer.sip.dialog import Dialog, DialogError
from dialer.sip.message import Request, make_response, parse_message
from sip_samples import INVITE, RESPONSE_200


def uac_dialog():
    invite = parse_message(INVITE)
    ok = parse_message(RESPONSE_200)
    return invite, Dialog.from_uac(invite, ok, via_host="127.0.0.1:5070")


def test_uac_dialog_takes_tags_target_and_reversed_route_set():
    invite, d = uac_dialog()
    assert d.id == ("call-1@127.0.0.1", "from1", "to1")
    assert d.remote_target == "sip:callee@127.0.0.1:5080"
    assert d.route_set == ["<sip:p2.example;lr>", "<sip:p1.example;lr>"]
    assert d.state == "confirmed"


def test_bye_goes_to_remote_target_through_route_set_with_next_cseq():
    _, d = uac_dialog()
    bye = d.create_request("BYE")
    assert bye.uri == "sip:callee@127.0.0.1:5080"
    assert bye.headers.get_all("Route") == ["<sip:p2.example;lr>", "<sip:p1.example;lr>"]
    assert bye.cseq == 2 and bye.from_tag == "from1" and bye.to_tag == "to1"
    assert parse_message(bye.to_bytes()).method == "BYE"
    reinvite = d.create_request("INVITE", body=b"v=0\r\n")
    assert reinvite.cseq == 3 and reinvite.headers.get("Content-Type") == "application/sdp"


def test_ack_for_2xx_reuses_invite_cseq_with_new_branch():
    invite, d = uac_dialog()
    ack = d.ack(invite.cseq)
    assert ack.method == "ACK" and ack.cseq == 1 and ack.branch != invite.branch
    assert d.local_seq == 1


def test_strict_router_becomes_request_uri():
    invite = parse_message(INVITE)
    ok = parse_message(RESPONSE_200.replace(b"<sip:p1.example;lr>, <sip:p2.example;lr>",
                                            b"<sip:strict.example>"))
    d = Dialog.from_uac(invite, ok, via_host="h:1")
    bye = d.create_request("BYE")
    assert bye.uri == "sip:strict.example"
    assert bye.headers.get_all("Route") == ["<sip:callee@127.0.0.1:5080>"]


def test_uas_dialog_checks_cseq_and_updates_target_on_reinvite():
    invite = parse_message(INVITE)
    d = Dialog.from_uas(invite, local_tag="me", local_contact="<sip:me@127.0.0.1:5080>",
                        via_host="127.0.0.1:5080")
    assert d.id == ("call-1@127.0.0.1", "me", "from1")
    assert d.remote_target == "sip:1000@127.0.0.1:5070"
    reinvite = Request("INVITE", invite.uri, invite.headers.copy())
    reinvite.headers.set("CSeq", "5 INVITE")
    reinvite.headers.set("Contact", "<sip:1000@10.0.0.9:5070>")
    reinvite._index()
    d.check_request(reinvite)
    assert d.remote_target == "sip:1000@10.0.0.9:5070" and d.remote_seq == 5
    old = Request("INVITE", invite.uri, invite.headers.copy())
    with pytest.raises(DialogError) as info:
        d.check_request(old)
    assert info.value.status == 500
    bye = d.create_request("BYE")
    assert bye.from_tag == "me" and bye.to_tag == "from1"


def test_uas_dialog_needs_contact():
    invite = parse_message(INVITE.replace(b"Contact: <sip:1000@127.0.0.1:5070>\r\n", b""))
    with pytest.raises(DialogError):
        Dialog.from_uas(invite, local_tag="me", local_contact="", via_host="h:1")
