"""SDP offer/answer for one audio stream (RFC 4566, RFC 3264), sans-IO.

We speak PCMU (0), PCMA (8) and telephone-event (RFC 4733). `make_offer`
builds an offer, `answer_offer` picks the common codecs (in the offerer's
order) or raises `CodecMismatch` (→ 488), `hold_offer` re-offers with
`a=sendonly` (RFC 3264 §8.4); `parse_sdp` reads a peer's description, and
recognises the old `c=0.0.0.0` hold too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .tokens import token_bytes

STATIC_CODECS = {0: ("PCMU", 8000), 8: ("PCMA", 8000)}
SUPPORTED = ("PCMU", "PCMA")
TELEPHONE_EVENT_PT = 101
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")


class SdpError(ValueError):
    """A description we cannot read."""


class CodecMismatch(SdpError):
    """No audio codec in common: answer 488."""


@dataclass
class MediaDescription:
    address: str
    port: int
    codecs: list[tuple[int, str]]             # (payload type, name) in preference order
    telephone_event: int | None = None        # payload type, if offered
    direction: str = "sendrecv"

    @property
    def on_hold(self) -> bool:
        return self.direction in ("sendonly", "inactive") or self.address == "0.0.0.0"


@dataclass
class SessionDescription:
    origin_address: str
    session_id: int
    version: int
    audio: MediaDescription | None
    extra: list[str] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        a = self.audio
        lines = ["v=0", f"o=dialer {self.session_id} {self.version} IN IP4 {self.origin_address}",
                 "s=dialer", f"c=IN IP4 {a.address if a else self.origin_address}", "t=0 0"]
        if a is not None:
            pts = [pt for pt, _ in a.codecs]
            if a.telephone_event is not None:
                pts.append(a.telephone_event)
            lines.append(f"m=audio {a.port} RTP/AVP {' '.join(map(str, pts))}")
            for pt, name in a.codecs:
                lines.append(f"a=rtpmap:{pt} {name}/8000")
            if a.telephone_event is not None:
                lines.append(f"a=rtpmap:{a.telephone_event} telephone-event/8000")
                lines.append(f"a=fmtp:{a.telephone_event} 0-16")
            lines.append("a=ptime:20")
            lines.append(f"a={a.direction}")
        return ("\r\n".join(lines) + "\r\n").encode("ascii")


def _session_id() -> int:
    """A random o= session id below 2**31, from the endpoint's block of OS random bytes
    (`tokens`): `secrets.randbelow` made a system call per offer and per answer."""
    return int.from_bytes(token_bytes(4), "big") >> 1


def make_offer(address: str, port: int, *, codecs=SUPPORTED, telephone_event: bool = True,
               direction: str = "sendrecv") -> SessionDescription:
    ids = {"PCMU": 0, "PCMA": 8}
    return SessionDescription(
        origin_address=address, session_id=_session_id(), version=1,
        audio=MediaDescription(address=address, port=port,
                               codecs=[(ids[c], c) for c in codecs],
                               telephone_event=TELEPHONE_EVENT_PT if telephone_event else None,
                               direction=direction))


# The default offer's text around its session id, by (address, port): every outbound call
# offers it, and only the session id differs from one call to the next.
_OFFER_TEXT: dict[tuple[str, int], tuple[bytes, bytes]] = {}


def offer_bytes(address: str, port: int) -> bytes:
    """`make_offer(address, port).to_bytes()`, from the text cached around the session id."""
    key = (address, port)
    text = _OFFER_TEXT.get(key) or _cache_around_session_id(_OFFER_TEXT, key, make_offer(address, port))
    return _with_new_session_id(text)


def _cache_around_session_id(cache: dict, key, description: SessionDescription) -> tuple[bytes, bytes]:
    """`description`'s text before and after its session id, kept in `cache` (up to 1,024)."""
    description.session_id = 0
    head, _, rest = description.to_bytes().partition(b"o=dialer 0 ")
    text = (head + b"o=dialer ", b" " + rest)
    if len(cache) < 1024:
        cache[key] = text
    return text


def _with_new_session_id(text: tuple[bytes, bytes]) -> bytes:
    return b"%s%d%s" % (text[0], _session_id(), text[1])


def parse_sdp(data: bytes) -> SessionDescription:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SdpError("SDP is not UTF-8") from None
    origin_address, session_id, version = "", 0, 0
    session_c, audio, media_seen = None, None, False
    session_direction = "sendrecv"
    rtpmap: dict[int, str] = {}
    pts: list[int] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        kind, value = line[0], line[2:]
        if kind == "o":
            parts = value.split()
            if len(parts) == 6:
                origin_address = parts[5]
                try:
                    session_id, version = int(parts[1]), int(parts[2])
                except ValueError:
                    raise SdpError(f"bad o= line {line[:60]!r}") from None
        elif kind == "c":
            parts = value.split()
            if len(parts) != 3:
                raise SdpError(f"bad c= line {line[:60]!r}")
            if audio is not None:
                audio.address = parts[2]
            elif not media_seen:
                session_c = parts[2]
        elif kind == "m":
            media_seen = True
            parts = value.split()
            if len(parts) < 3:
                raise SdpError(f"bad m= line {line[:60]!r}")
            if parts[0] == "audio" and audio is None:
                try:
                    port = int(parts[1].split("/")[0])
                    pts = [int(p) for p in parts[3:]]
                except ValueError:
                    raise SdpError(f"bad m= line {line[:60]!r}") from None
                audio = MediaDescription(address=session_c or origin_address, port=port, codecs=[],
                                         direction=session_direction)
            elif audio is not None:
                break  # a later stream: only the first audio stream matters to us
        elif kind == "a":
            name, _, rest = value.partition(":")
            if name in DIRECTIONS:
                if audio is not None:
                    audio.direction = name
                elif not media_seen:
                    session_direction = name
            elif name == "rtpmap" and audio is not None:
                pt_text, _, encoding = rest.partition(" ")
                try:
                    rtpmap[int(pt_text)] = encoding.split("/")[0]
                except ValueError:
                    raise SdpError(f"bad rtpmap {line[:60]!r}") from None
    if audio is not None:
        for pt in pts:
            name = rtpmap.get(pt) or STATIC_CODECS.get(pt, ("", 0))[0]
            if name.lower() == "telephone-event":
                audio.telephone_event = pt
            elif name:
                audio.codecs.append((pt, name.upper()))
    return SessionDescription(origin_address=origin_address, session_id=session_id,
                              version=version, audio=audio)


def answer_offer(offer: SessionDescription, address: str, port: int, *,
                 supported=SUPPORTED) -> SessionDescription:
    """Our answer: the offered codecs we support, in the offer's order; direction mirrored."""
    if offer.audio is None:
        raise CodecMismatch("offer has no audio stream")
    common = [(pt, name) for pt, name in offer.audio.codecs if name in supported]
    if not common:
        raise CodecMismatch("no common audio codec")
    mirror = {"sendonly": "recvonly", "recvonly": "sendonly"}
    direction = mirror.get(offer.audio.direction, offer.audio.direction)
    return SessionDescription(
        origin_address=address, session_id=_session_id(), version=1,
        audio=MediaDescription(address=address, port=port, codecs=common,
                               telephone_event=offer.audio.telephone_event, direction=direction))


# An o= line `parse_sdp` reads without error (six fields, numeric id and version): the answer
# does not depend on it (it gets our own origin and a fresh session id), so the answer's text
# is cached by the offer without it.
_PLAIN_ORIGIN = re.compile(rb"o=\S+ [0-9]{1,18} [0-9]{1,18} \S+ \S+ \S+\r\n")
_ANSWER_TEXT: dict[tuple[bytes, str, int], tuple[bytes, bytes]] = {}


def answer_bytes(offer: bytes, address: str, port: int) -> bytes:
    """`answer_offer(parse_sdp(offer), address, port).to_bytes()` (raising the same SdpError),
    from text cached by the offer's other lines: a simulated carrier answers the same offer,
    but for its o= line, on every call."""
    origin = _PLAIN_ORIGIN.search(offer)
    if origin is None:
        return answer_offer(parse_sdp(offer), address, port).to_bytes()
    key = (offer[:origin.start()] + offer[origin.end():], address, port)
    text = _ANSWER_TEXT.get(key) or _cache_around_session_id(
        _ANSWER_TEXT, key, answer_offer(parse_sdp(offer), address, port))
    return _with_new_session_id(text)


def hold_offer(previous: SessionDescription) -> SessionDescription:
    """A re-offer putting the peer on hold: same session, version + 1, `a=sendonly`."""
    return _reoffer(previous, "sendonly")


def resume_offer(previous: SessionDescription) -> SessionDescription:
    return _reoffer(previous, "sendrecv")


def _reoffer(previous: SessionDescription, direction: str) -> SessionDescription:
    a = previous.audio
    audio = None if a is None else MediaDescription(a.address, a.port, list(a.codecs),
                                                    a.telephone_event, direction)
    return SessionDescription(previous.origin_address, previous.session_id,
                              previous.version + 1, audio)
