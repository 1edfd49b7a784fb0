"""StreamFramer: a TCP byte stream cut into SIP messages by Content-Length, whatever the
segments (no sockets)."""

from dialer.sip.message import Request, Response, StreamFramer, parse_message
from sip_samples import INVITE, RESPONSE_200

# A body that itself contains an empty line: only Content-Length can tell where it ends.
BODY = b"v=0\r\n\r\nm=audio 1 RTP/AVP 0\r\n"
WITH_BODY = (b"SIP/2.0 183 Session Progress\r\n"
             b"Content-Length: %d\r\n"   # not the last header
             b"Via: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bKb1\r\n"
             b"From: <sip:a@127.0.0.1>;tag=f\r\nTo: <sip:b@127.0.0.1>;tag=t\r\n"
             b"Call-ID: c1\r\nCSeq: 1 INVITE\r\n\r\n" % len(BODY)) + BODY
STREAM = INVITE + RESPONSE_200 + WITH_BODY


def first_lines(frames):
    return [f.split(b"\n", 1)[0].strip() for f in frames]


def expected():
    return first_lines([INVITE, RESPONSE_200, WITH_BODY])


def test_messages_split_at_every_byte_are_reassembled():
    for cut in range(1, len(STREAM)):
        framer = StreamFramer()
        frames = framer.frames(STREAM[:cut]) + framer.frames(STREAM[cut:])
        assert frames == [INVITE, RESPONSE_200, WITH_BODY], cut
        assert framer.broken is None


def test_one_byte_segments_and_merged_segments():
    framer = StreamFramer()
    frames = []
    for i in range(len(STREAM)):
        frames += framer.frames(STREAM[i:i + 1])
    assert first_lines(frames) == expected()
    assert StreamFramer().frames(STREAM + STREAM) == [INVITE, RESPONSE_200, WITH_BODY] * 2


def test_body_with_an_empty_line_and_content_length_not_last():
    (frame,) = StreamFramer().frames(WITH_BODY)
    message = parse_message(frame)
    assert isinstance(message, Response) and message.body == BODY


def test_keepalive_crlfs_between_messages_are_skipped():
    framer = StreamFramer()
    assert framer.frames(b"\r\n\r\n") == []
    assert framer.frames(b"\r\n" + INVITE[:10]) == []
    assert framer.frames(INVITE[10:] + b"\r\n") == [INVITE]
    assert framer.frames(b"\r") == [] and framer.frames(b"\n" + RESPONSE_200) == [RESPONSE_200]


def test_lf_only_line_ends():
    lf = INVITE.replace(b"\r\n", b"\n")
    (frame,) = StreamFramer().frames(lf + b"\n")
    assert isinstance(parse_message(frame), Request)


def test_a_stream_that_cannot_be_framed_keeps_what_came_before():
    framer = StreamFramer()
    garbage = b"SIP/2.0 200 OK\r\nCall-ID: x\r\n\r\n"   # no Content-Length on a stream
    assert framer.frames(INVITE + garbage + RESPONSE_200) == [INVITE]
    assert framer.broken is not None and "Content-Length" in str(framer.broken)
    assert framer.frames(RESPONSE_200) == []   # nothing after the break can be trusted
    huge = StreamFramer()
    assert huge.frames(b"INVITE sip:a SIP/2.0\r\n" + b"X: y\r\n" * 20000) == []
    assert huge.broken is not None
