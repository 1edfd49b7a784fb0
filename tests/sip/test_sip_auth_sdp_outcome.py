import pytest

from dialer.sip import outcome
from dialer.sip.auth import AuthError, DigestClient, DigestServer, digest_response, read_challenge
from dialer.sip.message import Request, make_response, parse_message
from dialer.sip.sdp import (CodecMismatch, answer_bytes, answer_offer, hold_offer, make_offer,
                            offer_bytes, parse_sdp)
from sip_samples import INVITE


def test_rfc2617_md5_vector():
    # RFC 2617 §3.5 example.
    assert digest_response(algorithm="MD5", username="Mufasa", realm="testrealm@host.com",
                           password="Circle Of Life", method="GET", uri="/dir/index.html",
                           nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", qop="auth", nc="00000001",
                           cnonce="0a4f113b") == "6629fae49393a05397450978507c4ef1"


def challenged(server, request):
    name, value = server.challenge_header()
    return make_response(request, server.status, headers=[(name, value)])


@pytest.mark.parametrize("algorithm, proxy", [("MD5", False), ("SHA-256", True)])
def test_client_answers_server_challenge(algorithm, proxy):
    server = DigestServer(realm="trunk", users={"u": "p"}, algorithm=algorithm, proxy=proxy)
    request = parse_message(INVITE)
    assert server.check(request) == "challenge"
    response = challenged(server, request)
    client = DigestClient("u", "p")
    assert client.should_retry(response)
    header, value = client.authorization(response, request)
    assert header == ("Proxy-Authorization" if proxy else "Authorization")
    assert f"algorithm={algorithm}" in value and "nc=00000001" in value
    request.headers.add(header, value)
    assert server.check(request) == "ok"
    assert server.check(request) == "challenge"  # same nonce count again: a replay
    # the same challenge again means our credentials were refused: no loop
    assert not client.should_retry(response)


def test_wrong_password_is_refused_and_stale_nonce_is_reported():
    server = DigestServer(realm="trunk", users={"u": "p"})
    request = parse_message(INVITE)
    response = challenged(server, request)
    header, value = DigestClient("u", "wrong").authorization(response, request)
    request.headers.add(header, value)
    assert server.check(request) == "challenge"
    request.headers.remove(header)
    client = DigestClient("u", "p")
    request.headers.add(*client.authorization(response, request))
    server.retire(read_challenge(response).nonce)
    assert server.check(request) == "stale"
    name, stale_value = server.challenge_header(stale=True)
    stale = make_response(request, 401, headers=[(name, stale_value)])
    assert read_challenge(stale).stale and client.should_retry(stale)


def test_nonce_count_increments_per_nonce():
    server = DigestServer(realm="r", users={"u": "p"})
    request = parse_message(INVITE)
    response = challenged(server, request)
    client = DigestClient("u", "p")
    client.authorization(response, request)
    assert "nc=00000002" in client.authorization(response, request)[1]


def test_unsupported_challenge():
    request = parse_message(INVITE)
    response = make_response(request, 401, headers=[("WWW-Authenticate", 'Basic realm="x"')])
    with pytest.raises(AuthError):
        read_challenge(response)
    assert not DigestClient("u", "p").should_retry(response)


def test_sdp_offer_answer_and_hold():
    offer = make_offer("127.0.0.1", 4000)
    parsed = parse_sdp(offer.to_bytes())
    assert parsed.audio.codecs == [(0, "PCMU"), (8, "PCMA")]
    assert parsed.audio.telephone_event == 101 and parsed.audio.port == 4000
    answer = answer_offer(parsed, "127.0.0.2", 5000, supported=("PCMA",))
    assert parse_sdp(answer.to_bytes()).audio.codecs == [(8, "PCMA")]
    held = parse_sdp(hold_offer(parsed).to_bytes())
    assert held.audio.on_hold and held.version == parsed.version + 1
    assert parse_sdp(answer_offer(held, "h", 1).to_bytes()).audio.direction == "recvonly"
    old_hold = parse_sdp(offer.to_bytes().replace(b"c=IN IP4 127.0.0.1", b"c=IN IP4 0.0.0.0"))
    assert old_hold.audio.on_hold


def test_sdp_codec_mismatch():
    g729 = b"v=0\r\no=x 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 h\r\nt=0 0\r\nm=audio 1 RTP/AVP 18\r\n"
    with pytest.raises(CodecMismatch):
        answer_offer(parse_sdp(g729), "h", 2)


@pytest.mark.parametrize("status, expected, next_trunk", [
    (200, "answered", False), (486, "busy", False), (600, "busy", False),
    (487, "no_answer", False), (480, "no_answer", False), (408, "no_answer", False),
    (404, "invalid", False), (484, "invalid", False), (485, "invalid", False),
    (410, "invalid", False), (604, "invalid", False), (403, "rejected", False),
    (603, "rejected", False), (500, "failed", True), (502, "failed", True),
    (503, "failed", True), (504, "failed", True), (488, "codec_mismatch", False),
])
def test_outcome_mapping(status, expected, next_trunk):
    assert outcome.outcome_for(status) == expected
    assert outcome.try_next_trunk(status) is next_trunk
    assert outcome.counts_as_attempt(status) is not next_trunk


def test_transport_timeout_is_a_trunk_failure():
    assert outcome.outcome_for(408, transport_timeout=True) == "failed"
    assert outcome.try_next_trunk(408, transport_timeout=True)


@pytest.mark.parametrize("address, port", [("127.0.0.1", 10000), ("10.1.2.3", 4000)])
def test_the_cached_offer_text_is_the_offer_made_afresh(address, port):
    offers = [offer_bytes(address, port) for _ in range(3)]
    ids = [parse_sdp(offer).session_id for offer in offers]
    assert len(set(ids)) == 3                      # a fresh session id each time
    for offer, session_id in zip(offers, ids):
        fresh = make_offer(address, port)
        fresh.session_id = session_id
        assert offer == fresh.to_bytes()


OFFERS = [
    make_offer("127.0.0.1", 10000).to_bytes(),
    make_offer("10.0.0.9", 4002, codecs=("PCMA",), telephone_event=False).to_bytes(),
    make_offer("10.0.0.9", 4002, direction="sendonly").to_bytes(),
    b"v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nt=0 0\r\nm=audio 5004 RTP/AVP 8 0\r\n"
    b"c=IN IP4 10.1.1.2\r\n",                                   # c= after m=, no rtpmap
    b"v=0\r\no=- x 1 IN IP4 10.1.1.1\r\ns=-\r\nm=audio 5004 RTP/AVP 0\r\n",  # bad o=: an error
    b"v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nm=audio 5004 RTP/AVP 18\r\n",  # no common codec
    b"v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\n",                # no audio
]


@pytest.mark.parametrize("offer", OFFERS)
def test_the_cached_answer_text_is_the_answer_made_afresh(offer):
    def fresh():
        return answer_offer(parse_sdp(offer), "127.0.0.1", 20000)

    try:
        expected = fresh()
    except Exception as exc:
        with pytest.raises(type(exc)):
            answer_bytes(offer, "127.0.0.1", 20000)
        return
    for _ in range(2):                                  # made, then from the cache
        answer = answer_bytes(offer, "127.0.0.1", 20000)
        expected.session_id = parse_sdp(answer).session_id
        assert answer == expected.to_bytes()
    other_origin = offer.replace(b" 1 IN IP4", b" 77 IN IP4", 1)
    assert parse_sdp(answer_bytes(other_origin, "127.0.0.1", 20000)).audio == expected.audio
