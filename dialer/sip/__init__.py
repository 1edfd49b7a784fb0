"""SIP for the dialer.

Sans-IO core (stdlib only, no sockets or clocks): `message`, `transaction`,
`dialog`, `auth`, `sdp`, `outcome`. trio driver on top: `transport`,
`endpoint` (the `Endpoint` and `Call` the engine and the simulator use),
`trunk` (trunk pool). See docs/SIP.md.
"""

from .message import Request, Response, SipParseError, parse_message

__all__ = ["Request", "Response", "SipParseError", "parse_message"]
