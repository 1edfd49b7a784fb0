"""Sample SIP messages shared by the SIP unit and fuzz tests."""

INVITE = (
    b"INVITE sip:15551234567@127.0.0.1:5060 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc123;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b'From: "Dialer" <sip:1000@127.0.0.1:5070>;tag=from1\r\n'
    b"To: <sip:15551234567@127.0.0.1>\r\n"
    b"Call-ID: call-1@127.0.0.1\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Contact: <sip:1000@127.0.0.1:5070>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 4\r\n"
    b"\r\n"
    b"v=0\n"
)

RESPONSE_200 = (
    b"SIP/2.0 200 OK\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc123;rport=5070\r\n"
    b'From: "Dialer" <sip:1000@127.0.0.1:5070>;tag=from1\r\n'
    b"To: <sip:15551234567@127.0.0.1>;tag=to1\r\n"
    b"Call-ID: call-1@127.0.0.1\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Record-Route: <sip:p1.example;lr>, <sip:p2.example;lr>\r\n"
    b"Contact: <sip:callee@127.0.0.1:5080>\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)

COMPACT_FOLDED = (
    b"BYE sip:callee@127.0.0.1:5080 SIP/2.0\n"
    b"v: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKbye1\n"
    b"v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKother, SIP/2.0/UDP 10.0.0.2;branch=z9hG4bKthird\n"
    b"f: <sip:1000@127.0.0.1:5070>\n"
    b" ;tag=from1\n"
    b"t: sip:callee@127.0.0.1;tag=to1\n"
    b"i: call-1@127.0.0.1\n"
    b"CSeq: 2 BYE\n"
    b"l: 0\n"
    b"\n"
)
