import pytest

from dialer.sip.message import (Headers, Request, SipParseError, StreamFramer, make_response,
                                parse_message, parse_name_addr, parse_uri, parse_via)
from sip_samples import COMPACT_FOLDED, INVITE, RESPONSE_200


def test_parse_request_fields():
    msg = parse_message(INVITE)
    assert isinstance(msg, Request)
    assert msg.method == "INVITE"
    assert msg.uri == "sip:15551234567@127.0.0.1:5060"
    assert msg.call_id == "call-1@127.0.0.1"
    assert (msg.cseq, msg.cseq_method) == (1, "INVITE")
    assert msg.branch == "z9hG4bKabc123"
    assert msg.from_tag == "from1" and msg.to_tag is None
    assert msg.from_addr.display == "Dialer"
    assert msg.body == b"v=0\n"


def test_round_trip_keeps_header_order_and_body():
    msg = parse_message(INVITE)
    again = parse_message(msg.to_bytes())
    assert list(again.headers) == list(msg.headers)
    assert again.body == msg.body


def test_response_and_comma_joined_record_route():
    msg = parse_message(RESPONSE_200)
    assert msg.status == 200 and msg.reason == "OK"
    assert msg.to_tag == "to1"
    assert msg.headers.get_all("Record-Route") == ["<sip:p1.example;lr>", "<sip:p2.example;lr>"]


def test_compact_headers_folding_lf_only_and_repeated_vias():
    msg = parse_message(COMPACT_FOLDED)
    assert msg.method == "BYE"
    assert msg.from_tag == "from1"          # the tag came on a folded line
    assert msg.to_tag == "to1"              # addr-spec form: ;tag belongs to the header
    assert msg.call_id == "call-1@127.0.0.1"
    vias = msg.headers.get_all("via")
    assert len(vias) == 3 and parse_via(vias[2]).host == "10.0.0.2"
    assert msg.headers.get("Content-Length") == "0"


def test_content_length_cuts_padding_and_rejects_truncation():
    assert parse_message(INVITE + b"garbage").body == b"v=0\n"
    with pytest.raises(SipParseError, match="Content-Length"):
        parse_message(INVITE[:-2])


@pytest.mark.parametrize("data, reason", [
    (b"", "empty"),
    (b"HELLO\r\n\r\n", "request line"),
    (b"INVITE sip:a@b SIP/3.0\r\n\r\n", "version"),
    (b"SIP/2.0 99 Odd\r\n\r\n", "out of range"),
    (INVITE.replace(b"Call-ID: call-1@127.0.0.1\r\n", b""), "Call-ID"),
    (INVITE.replace(b"CSeq: 1 INVITE", b"CSeq: x INVITE"), "CSeq"),
    (INVITE.replace(b"CSeq: 1 INVITE", b"CSeq: 1 BYE"), "does not match"),
    (INVITE.replace(b"Max-Forwards: 70", b"Max Forwards 70"), "header line"),
    (INVITE.replace(b"From: ", b"From: \"unterminated <"), "display"),
    (INVITE.replace(b"Content-Length: 4", b"Content-Length: \xd9\xa1"), "Content-Length"),
])
def test_malformed_messages_raise_one_error_with_reason(data, reason):
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    assert reason.lower() in info.value.reason.lower()


def test_uri_and_name_addr():
    uri = parse_uri("sip:alice:secret@Example.COM:5070;transport=udp;lr?subject=x")
    assert (uri.user, uri.password, uri.host, uri.port) == ("alice", "secret", "example.com", 5070)
    assert uri.params == {"transport": "udp", "lr": None}
    assert uri.headers == "subject=x"
    assert str(parse_uri(str(uri))) == str(uri)
    na = parse_name_addr('"A \\"B\\"" <sip:a@h;user=phone>;tag=1;x')
    assert na.display == 'A "B"' and na.uri.params == {"user": "phone"}
    assert na.params == {"tag": "1", "x": None}
    assert parse_name_addr("Bob <sips:b@[::1]:5061>").uri.address == ("::1", 5061)
    with pytest.raises(SipParseError):
        parse_uri("http://example.com")


def test_headers_lookup_is_case_insensitive_and_compact_aware():
    h = Headers([("call-id", "x"), ("v", "SIP/2.0/UDP a;branch=1")])
    assert h.get("i") == "x" and h.get("CALL-ID") == "x" and "Via" in h
    h.set("Call-ID", "y")
    assert h.get_lines("Call-ID") == ["y"]


def test_make_response_copies_headers_and_adds_to_tag():
    req = parse_message(INVITE)
    resp = make_response(req, 180, to_tag="abc")
    assert resp.to_tag == "abc" and resp.branch == req.branch and resp.reason == "Ringing"
    assert parse_message(resp.to_bytes()).status == 180


def test_stream_framer_cuts_messages_by_content_length():
    framer = StreamFramer()
    data = INVITE + RESPONSE_200
    assert framer.feed(data[:50]) == []
    out = framer.feed(data[50:])
    assert [type(m).__name__ for m in out] == ["Request", "Response"]


def test_known_header_name_without_colon_is_still_an_error():
    parse_message(INVITE)  # "Max-Forwards" is now a name the parser has seen
    with pytest.raises(SipParseError, match="header line"):
        parse_message(INVITE.replace(b"Max-Forwards: 70", b"Max-Forwards"))
