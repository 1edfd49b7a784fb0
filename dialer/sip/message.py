"""SIP messages: parse and serialise requests and responses (RFC 3261 §7, §20, §25).

Sans-IO: `parse_message(datagram)` turns bytes into a `Request` or `Response`,
`message.to_bytes()` turns one back into bytes. A malformed message raises
`SipParseError` with a reason and nothing else escapes (a hypothesis fuzz test
holds us to that), so a driver can answer or drop the peer's bad input without
ever crashing.

Headers are kept as an ordered list of (canonical name, value) pairs, so a
message round-trips with its header order; compact forms (`v`, `i`, `f`, ...)
are expanded on parse. Headers whose grammar is a comma list (Via, Route,
Contact, ...) can be read element by element with `Headers.get_all`, whether
the peer sent them as repeated lines or joined with commas.

The fields every transaction and dialog needs (Call-ID, CSeq, the top Via's
branch, the From/To tags) are checked while parsing, so a message that gets
past `parse_message` can be matched without further parse errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SIP_VERSION = "SIP/2.0"


class SipParseError(ValueError):
    """The peer sent something that is not a SIP message we can use; `reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# --- header names -------------------------------------------------------------------------

COMPACT_FORMS = {
    "i": "Call-ID", "m": "Contact", "e": "Content-Encoding", "l": "Content-Length",
    "c": "Content-Type", "f": "From", "s": "Subject", "k": "Supported", "t": "To",
    "v": "Via", "o": "Event", "r": "Refer-To", "b": "Referred-By", "u": "Allow-Events",
    "x": "Session-Expires", "a": "Accept-Contact", "j": "Reject-Contact", "d": "Request-Disposition",
    "y": "Identity", "n": "Identity-Info",
}

# Canonical spelling for the headers we write or read often; others are title-cased.
_CANONICAL = {name.lower(): name for name in (
    "Call-ID", "CSeq", "WWW-Authenticate", "Proxy-Authenticate", "Authorization",
    "Proxy-Authorization", "P-Asserted-Identity", "Record-Route", "Max-Forwards", "MIME-Version",
    "RAck", "RSeq", "Content-Length", "Content-Type", "User-Agent", "Retry-After",
    *COMPACT_FORMS.values())}

# Headers whose grammar is `#element`: a comma-joined line is the same as repeated lines.
COMMA_LIST_HEADERS = frozenset(name.lower() for name in (
    "Via", "Route", "Record-Route", "Contact", "Allow", "Supported", "Require", "Proxy-Require",
    "Unsupported", "Accept", "Accept-Encoding", "Accept-Language", "Content-Encoding",
    "Allow-Events", "In-Reply-To", "Alert-Info", "Call-Info", "Error-Info", "P-Asserted-Identity",
    "Reason", "Warning",
))

_TOKEN_RE = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")


_CANONICAL_CACHE: dict[str, str] = {}


def canonical_name(name: str) -> str:
    """`i` -> `Call-ID`, `call-id` -> `Call-ID`, `x-foo-bar` -> `X-Foo-Bar`."""
    cached = _CANONICAL_CACHE.get(name)
    if cached is not None:
        return cached
    lower = name.lower()
    if len(name) == 1 and lower in COMPACT_FORMS:
        result = COMPACT_FORMS[lower]
    else:
        result = _CANONICAL.get(lower) or "-".join(
            part[:1].upper() + part[1:] for part in lower.split("-"))
    if len(_CANONICAL_CACHE) < 4096:  # a peer inventing header names must not grow it forever
        _CANONICAL_CACHE[name] = result
    return result


# The names we use in code are looked up on every get/add: answer them from the cache
# without a function call (callers do `_CANONICAL_CACHE.get(name) or canonical_name(name)`).
for _name in (*_CANONICAL.values(), "Expires", "Allow", "Accept", "Route", "Require"):
    canonical_name(_name)


class Headers:
    """Ordered (name, value) pairs with case-insensitive, compact-aware lookup."""

    # `_first` maps each name to its first value; built on the first lookup and dropped
    # on every change, because most messages are read several times and never changed.
    __slots__ = ("_items", "_first")

    def __init__(self, items=()):
        self._items: list[tuple[str, str]] = [(canonical_name(n), v) for n, v in items]
        self._first: dict[str, str] | None = None

    def __iter__(self):
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    # Names are stored canonical, so lookups compare canonical spellings.

    def _first_values(self) -> dict[str, str]:
        first = self._first
        if first is None:
            # dict() keeps the last value of a repeated key: feed it the lines backwards.
            first = self._first = dict(reversed(self._items))
        return first

    def __contains__(self, name: str) -> bool:
        return (_CANONICAL_CACHE.get(name) or canonical_name(name)) in self._first_values()

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of the header (the whole line, commas and all)."""
        return self._first_values().get(
            _CANONICAL_CACHE.get(name) or canonical_name(name), default)

    def get_lines(self, name: str) -> list[str]:
        key = _CANONICAL_CACHE.get(name) or canonical_name(name)
        return [v for n, v in self._items if n == key]

    def get_all(self, name: str) -> list[str]:
        """Every element: repeated lines, and comma-joined elements for list headers."""
        key = _CANONICAL_CACHE.get(name) or canonical_name(name)
        lines = [v for n, v in self._items if n == key]
        if key.lower() not in COMMA_LIST_HEADERS:
            return lines
        out: list[str] = []
        for line in lines:
            if "," in line:
                out.extend(part for part in split_commas(line) if part)
            else:
                line = line.strip()
                if line:
                    out.append(line)
        return out

    def add(self, name: str, value: str) -> None:
        self._items.append((_CANONICAL_CACHE.get(name) or canonical_name(name), value))
        self._first = None

    def set(self, name: str, value: str) -> None:
        """Replace every line of `name` by one line (in the first one's place)."""
        canonical = canonical_name(name)
        out, placed = [], False
        for n, v in self._items:
            if n == canonical:
                if not placed:
                    out.append((canonical, value))
                    placed = True
            else:
                out.append((n, v))
        if not placed:
            out.append((canonical, value))
        self._items = out
        self._first = None

    def remove(self, name: str) -> None:
        key = canonical_name(name)
        self._items = [(n, v) for n, v in self._items if n != key]
        self._first = None

    def copy(self) -> "Headers":
        new = Headers()
        new._items = list(self._items)
        return new

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


def split_commas(text: str) -> list[str]:
    """Split a header value on commas outside quotes and <...>."""
    if "," not in text:
        return [text.strip()]
    parts, start, depth, quoted, i = [], 0, 0, False, 0
    n = len(text)
    while i < n:
        ch = text[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            depth += 1
        elif ch == ">":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
        i += 1
    parts.append(text[start:].strip())
    return parts


# --- URIs and addresses ------------------------------------------------------------------

@dataclass
class SipUri:
    """`sip:user:password@host:port;params?headers`. `port` is None when absent."""

    host: str
    user: str | None = None
    port: int | None = None
    scheme: str = "sip"
    password: str | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: str | None = None

    def __str__(self) -> str:
        out = [self.scheme, ":"]
        if self.user is not None:
            out.append(self.user)
            if self.password is not None:
                out += [":", self.password]
            out.append("@")
        out.append(f"[{self.host}]" if ":" in self.host else self.host)
        if self.port is not None:
            out.append(f":{self.port}")
        for k, v in self.params.items():
            out.append(f";{k}" if v is None else f";{k}={v}")
        if self.headers:
            out += ["?", self.headers]
        return "".join(out)

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port or (5061 if self.scheme == "sips" else 5060)


def _params(text: str, where: str) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    if not text:
        return out
    for item in text.split(";"):
        item = item.strip()
        if not item:
            continue
        name, eq, value = item.partition("=")
        name = name.strip()
        if not name or not _TOKEN_RE.match(name):
            raise SipParseError(f"{where}: bad parameter {item[:40]!r}")
        out[name.lower()] = value.strip() if eq else None
    return out


_NOT_IN_HOST = frozenset(' \t<>"')


# A plain `sip:user@host[:port]` with a lower-case host and a port without leading zeros:
# what `parse_uri` below makes of it is certain (no parameters, no password, the host as it
# is), so it is built from this one match. Anything else takes the general path.
_PLAIN_URI = re.compile(
    r"sip:(?P<user>[A-Za-z0-9+\-_.]+)@(?P<host>[a-z0-9\-.]+)(?::(?P<port>[1-9][0-9]{0,4}))?")


def parse_uri(text: str) -> SipUri:
    plain = _PLAIN_URI.fullmatch(text)
    if plain is not None:
        user, host, port = plain.groups()
        if port is None:
            return SipUri(host=host, user=user)
        if int(port) < 65536:
            return SipUri(host=host, user=user, port=int(port))
    text = text.strip()
    scheme, colon, rest = text.partition(":")
    scheme = scheme.lower()
    if not colon or scheme not in ("sip", "sips", "tel"):
        raise SipParseError(f"not a SIP URI: {text[:60]!r}")
    if scheme == "tel":
        number, _, params = rest.partition(";")
        if not number:
            raise SipParseError("tel URI without a number")
        return SipUri(host="", user=number, scheme="tel", params=_params(params, "tel URI"))
    rest, _, headers = rest.partition("?")
    user = password = None
    if "@" in rest:
        userinfo, _, rest = rest.rpartition("@")
        user, pc, pw = userinfo.partition(":")
        password = pw if pc else None
        if not user:
            raise SipParseError(f"URI with an empty user: {text[:60]!r}")
    hostport, _, params = rest.partition(";")
    if hostport.startswith("["):
        host, bracket, after = hostport[1:].partition("]")
        if not bracket:
            raise SipParseError(f"URI with an unclosed IPv6 host: {text[:60]!r}")
        port_text = after[1:] if after.startswith(":") else ("" if not after else None)
        if port_text is None:
            raise SipParseError(f"URI with junk after the host: {text[:60]!r}")
    else:
        host, _, port_text = hostport.partition(":")
    if not host or not _NOT_IN_HOST.isdisjoint(host):
        raise SipParseError(f"URI without a valid host: {text[:60]!r}")
    port = None
    if port_text:
        port = _int(port_text, "URI port")
        if not 0 < port < 65536:
            raise SipParseError(f"URI port out of range: {port}")
    return SipUri(host=host.lower(), user=user, port=port, scheme=scheme, password=password,
                  params=_params(params, "URI"), headers=headers or None)


@dataclass
class NameAddr:
    """A From/To/Contact/Route value: optional display name, URI, header parameters."""

    uri: SipUri
    display: str | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def __str__(self) -> str:
        out = f'"{self.display}" <{self.uri}>' if self.display else f"<{self.uri}>"
        for k, v in self.params.items():
            out += f";{k}" if v is None else f";{k}={v}"
        return out


def parse_name_addr(text: str) -> NameAddr:
    text = text.strip()
    display = None
    if text.startswith('"'):
        i, n = 1, len(text)
        while i < n and text[i] != '"':
            i += 2 if text[i] == "\\" else 1
        if i >= n:
            raise SipParseError("unclosed quoted display name")
        display = text[1:i].replace('\\"', '"').replace("\\\\", "\\")
        text = text[i + 1:].lstrip()
        if not text.startswith("<"):
            raise SipParseError("display name without <URI>")
    if "<" in text:
        before, _, rest = text.partition("<")
        if display is None and before.strip():
            display = before.strip()
        uri_text, close, params = rest.partition(">")
        if not close:
            raise SipParseError("unclosed <URI>")
        uri = parse_uri(uri_text)
    else:
        # addr-spec form: parameters after the URI belong to the header, not the URI.
        uri_text, _, params = text.partition(";")
        uri = parse_uri(uri_text)
    return NameAddr(uri=uri, display=display, params=_params(params, "address"))


@dataclass
class Via:
    transport: str
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    def __str__(self) -> str:
        out = f"SIP/2.0/{self.transport} {self.host}"
        if self.port is not None:
            out += f":{self.port}"
        for k, v in self.params.items():
            out += f";{k}" if v is None else f";{k}={v}"
        return out


def parse_via(text: str) -> Via:
    proto, _, rest = text.strip().partition(" ")
    parts = proto.split("/")
    if len(parts) != 3 or parts[0].strip().upper() != "SIP" or parts[1].strip() != "2.0":
        raise SipParseError(f"bad Via protocol: {proto[:40]!r}")
    sent_by, _, params = rest.strip().partition(";")
    sent_by = sent_by.strip()
    if sent_by.startswith("["):
        host, _, after = sent_by[1:].partition("]")
        port_text = after[1:] if after.startswith(":") else ""
    else:
        host, _, port_text = sent_by.partition(":")
    if not host:
        raise SipParseError("Via without a host")
    port = _int(port_text, "Via port") if port_text else None
    return Via(transport=parts[2].strip().upper(), host=host, port=port,
               params=_params(params, "Via"))


def _int(text: str, what: str) -> int:
    # isascii: int() would accept Arabic-Indic digits, which no SIP grammar allows.
    if text.isdigit() and text.isascii() and len(text) <= 10:
        return int(text)  # the common case: nothing to strip
    text = text.strip()
    # isascii: int() would accept Arabic-Indic digits, which no SIP grammar allows.
    if not text or len(text) > 10 or not (text.isascii() and text.isdigit()):
        raise SipParseError(f"{what} is not a number: {text[:20]!r}")
    return int(text)


# --- messages ---------------------------------------------------------------------------

_TAG_RE = re.compile(r";[ \t]*tag[ \t]*=[ \t]*([^;,\s]+)", re.IGNORECASE)
_BRANCH_RE = re.compile(r";[ \t]*branch[ \t]*=[ \t]*([^;,\s]+)", re.IGNORECASE)


# The plain shapes of From/To and Via that user agents like ours send: a string matching one
# of these is certainly parsed without error by `parse_name_addr` / `parse_via` (a strict
# subset of what they accept), and its tag or branch is the group below. A request whose
# From, To and top Via all have these shapes is indexed from the matches, and the three are
# parsed only if something asks for them; any other request is parsed in full at once, so a
# malformed one is still refused when it arrives.
_PLAIN_TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
_PLAIN_NAME_ADDR = re.compile(
    r"<sip:[A-Za-z0-9+\-_.]+@[A-Za-z0-9\-.]+(?::(?P<port>[0-9]{1,5}))?>"
    rf"(?:;tag=(?P<tag>{_PLAIN_TOKEN}))?")
_PLAIN_VIA = re.compile(
    rf"SIP/2\.0/(?:UDP|TCP) [A-Za-z0-9\-.]+(?::[0-9]{{1,5}})?;branch=(?P<branch>{_PLAIN_TOKEN})"
    r"(?:;rport)?")


# A plain `<sip:user@host[:port]>[;tag=t]` whose URI `parse_uri` keeps as it is (lower-case
# host, port without leading zeros): the URI text and the value without its tag are slices of
# the value itself, exactly what parsing and re-serialising would give (see `plain_uri_text`).
_CANONICAL_NAME_ADDR = re.compile(
    r"<(?P<uri>sip:[A-Za-z0-9+\-_.]+@[a-z0-9\-.]+(?::(?P<port>[1-9][0-9]{0,4}))?)>"
    rf"(?:;tag=(?P<tag>{_PLAIN_TOKEN}))?")


def plain_uri_text(value: str) -> str | None:
    """`str(parse_name_addr(value).uri)` for a value of the plain, canonical shape
    (`<sip:user@host[:port]>[;tag=t]`, lower-case host), without parsing; None otherwise."""
    match = _CANONICAL_NAME_ADDR.fullmatch(value)
    if match is None:
        return None
    port = match.group("port")
    if port is not None and int(port) > 65535:
        return None
    return match.group("uri")


def _plain_name_addr(value: str):
    """The match if `value` is a plain `<sip:user@host[:port]>[;tag=t]`, else None."""
    match = _PLAIN_NAME_ADDR.fullmatch(value)
    if match is not None:
        port = match.group("port")
        if port is not None and not 0 < int(port) < 65536:
            return None
    return match


# Methods we see every call: valid CSeq methods without a token match.
_KNOWN_METHODS = frozenset({"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "INFO",
                            "UPDATE", "NOTIFY", "PRACK", "SUBSCRIBE", "REFER", "MESSAGE"})


def _tag_of(value: str) -> str | None:
    """The tag parameter of a From/To value without a full parse (header params follow '>')."""
    gt = value.rfind(">")
    match = _TAG_RE.search(value, gt + 1 if gt != -1 else 0)
    return match.group(1) if match else None


class Message:
    """Common parts of requests and responses."""

    headers: Headers
    body: bytes

    # Filled by `_index()`: the fields matching needs.
    call_id: str
    cseq: int
    cseq_method: str
    from_tag: str | None
    to_tag: str | None
    branch: str | None
    _from: NameAddr | None = None
    _to: NameAddr | None = None
    _top_via: Via | None = None

    def _index(self, full: bool = True) -> None:
        """Read the matching fields. `full` (every message from the network) also parses
        From, To and the top Via completely, so a malformed one is rejected here; messages
        we build ourselves skip that and parse those lazily."""
        h = self.headers._first_values()  # canonical name -> first value
        call_id = h.get("Call-ID")
        if not call_id or not call_id.strip():
            raise SipParseError("missing Call-ID")
        self.call_id = call_id.strip()
        cseq = h.get("CSeq")
        if cseq is None:
            raise SipParseError("missing CSeq")
        number, _, method = cseq.strip().partition(" ")
        self.cseq = _int(number, "CSeq number")
        self.cseq_method = method = method.strip().upper()
        if method not in _KNOWN_METHODS and (not method or not _TOKEN_RE.match(method)):
            raise SipParseError(f"CSeq without a method: {cseq[:40]!r}")
        from_value, to_value = h.get("From"), h.get("To")
        if from_value is None:
            raise SipParseError("missing From")
        if to_value is None:
            raise SipParseError("missing To")
        via_line = h.get("Via")
        if not via_line or not via_line.strip():
            raise SipParseError("missing Via")
        # Only the top Via matters here: split just its line, not every Via.
        top_via = split_commas(via_line)[0] if "," in via_line else via_line
        if full:
            plain_from = _plain_name_addr(from_value)
            plain_to = plain_from and _plain_name_addr(to_value)
            plain_via = plain_to and _PLAIN_VIA.fullmatch(top_via)
            if plain_via:
                self.from_tag, self.to_tag = plain_from.group("tag"), plain_to.group("tag")
                self.branch = plain_via.group("branch")
                return
            self._from = parse_name_addr(from_value)
            self._to = parse_name_addr(to_value)
            self._top_via = parse_via(top_via)
            self.from_tag, self.to_tag = self._from.tag, self._to.tag
            self.branch = self._top_via.branch
        else:
            self.from_tag, self.to_tag = _tag_of(from_value), _tag_of(to_value)
            match = _BRANCH_RE.search(top_via)
            self.branch = match.group(1) if match else None

    def _known_index(self, call_id: str, cseq: int, from_tag: str | None, to_tag: str | None,
                     branch: str | None) -> None:
        """The matching fields of a request we built ourselves, from the values we put in
        its headers (what `_index(full=False)` would read back from them, without reading;
        tests/sip/test_sip_built_index.py holds the builders to that)."""
        self.call_id, self.cseq, self.cseq_method = call_id, cseq, self.method
        self.from_tag, self.to_tag, self.branch = from_tag, to_tag, branch

    @property
    def from_addr(self) -> NameAddr:
        if self._from is None:
            self._from = parse_name_addr(self.headers.get("From"))
        return self._from

    @property
    def to_addr(self) -> NameAddr:
        if self._to is None:
            self._to = parse_name_addr(self.headers.get("To"))
        return self._to

    @property
    def via_transport(self) -> str:
        """`top_via.transport`, without parsing a top Via of the plain shape ours have."""
        if self._top_via is None:
            line = self.headers.get("Via") or ""
            top = split_commas(line)[0] if "," in line else line
            if _PLAIN_VIA.fullmatch(top):
                return top[8:11]
        return self.top_via.transport

    @property
    def top_via(self) -> Via:
        if self._top_via is None:
            self._top_via = parse_via(self.headers.get_all("Via")[0])  # SipParseError if bad
        return self._top_via

    def _head_and_body(self, start_line: str) -> bytes:
        lines = [f"{name}: {value}\r\n" for name, value in self.headers._items
                 if name != "Content-Length"]
        return (f"{start_line}\r\n{''.join(lines)}Content-Length: {len(self.body)}\r\n\r\n"
                .encode("utf-8") + self.body)


class Request(Message):
    def __init__(self, method: str, uri: str, headers: Headers | None = None, body: bytes = b"",
                 *, index: bool = True):
        self.method = method.upper()
        self.uri = uri
        self.headers = headers if headers is not None else Headers()
        self.body = body
        if index:
            self._index(full=False)

    _parsed_uri: SipUri | None = None

    @property
    def parsed_uri(self) -> SipUri:
        """The Request-URI parsed (a received request's was parsed on arrival; do not change it)."""
        if self._parsed_uri is None:
            self._parsed_uri = parse_uri(self.uri)
        return self._parsed_uri

    def to_bytes(self) -> bytes:
        return self._head_and_body(f"{self.method} {self.uri} {SIP_VERSION}")

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.uri}>"


class Response(Message):
    def __init__(self, status: int, reason: str = "", headers: Headers | None = None,
                 body: bytes = b"", *, index: bool = True):
        self.status = status
        self.reason = reason or REASONS.get(status, "Unknown")
        self.headers = headers if headers is not None else Headers()
        self.body = body
        if index:
            self._index(full=False)

    def to_bytes(self) -> bytes:
        return self._head_and_body(f"{SIP_VERSION} {self.status} {self.reason}")

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.reason}>"


REASONS = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued",
    183: "Session Progress", 200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 407: "Proxy Authentication Required",
    408: "Request Timeout", 410: "Gone", 415: "Unsupported Media Type", 420: "Bad Extension",
    480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist", 482: "Loop Detected",
    483: "Too Many Hops", 484: "Address Incomplete", 485: "Ambiguous", 486: "Busy Here",
    487: "Request Terminated", 488: "Not Acceptable Here", 491: "Request Pending",
    500: "Server Internal Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Server Time-out", 505: "Version Not Supported",
    600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere", 606: "Not Acceptable",
}


# The request's header lines a response copies (§8.2.6.2), and those its matching fields
# come from (an extra header naming one of these means the response is read back).
_COPIED_TO_RESPONSE = frozenset({"Via", "From", "Call-ID", "CSeq"})
MATCHING_HEADERS = frozenset({"Via", "From", "Call-ID", "CSeq", "To"})


def make_response(request: Request, status: int, reason: str = "", *, to_tag: str | None = None,
                  headers: list[tuple[str, str]] | None = None, body: bytes = b"") -> Response:
    """A response to `request` (RFC 3261 §8.2.6): Via, From, Call-ID, CSeq copied; To gets
    `to_tag` if it has none yet. Record-Route is copied for dialog-creating responses."""
    h = Headers()
    items = h._items
    new_tag = None
    has_call_id = False
    dialog_creating = 100 < status < 300
    for item in request.headers._items:
        name = item[0]
        if name in _COPIED_TO_RESPONSE:
            items.append(item)
            if name == "Call-ID":
                has_call_id = True
        elif name == "To":
            if to_tag and request.to_tag is None:
                item = (name, f"{item[1]};tag={to_tag}")
                new_tag = to_tag
            items.append(item)
        elif name == "Record-Route" and dialog_creating:
            items.append(item)
    names_matching_field = False
    for name, value in headers or ():
        name = _CANONICAL_CACHE.get(name) or canonical_name(name)
        items.append((name, value))
        if name in MATCHING_HEADERS:
            names_matching_field = True
    response = Response(status, reason, h, body, index=False)
    if has_call_id and not names_matching_field:
        # The matching fields are the request's (same Via, From, Call-ID, CSeq lines; To
        # with the new tag): copy them instead of reading them again.
        response.call_id, response.cseq, response.cseq_method = (
            request.call_id, request.cseq, request.cseq_method)
        response.from_tag, response.branch = request.from_tag, request.branch
        response.to_tag = new_tag if new_tag is not None else request.to_tag
    else:
        response._index(full=False)
    return response


# --- parsing ----------------------------------------------------------------------------

MAX_MESSAGE_BYTES = 65535

# Header names (as written by peers) already validated, with their canonical form.
_PARSED_NAMES: dict[str, str] = {}


def _parsed_name(name: str) -> str:
    canonical = canonical_name(name)
    if len(_PARSED_NAMES) < 4096:
        _PARSED_NAMES[name] = canonical
    return canonical


def _parse_header_lines(lines: list[str], items: list[tuple[str, str]]) -> None:
    """The general header loop: folding, blank lines, and a parse error for bad lines."""
    for raw in lines:
        line = raw.rstrip("\r")
        if not line:
            continue
        if line[0] in " \t":
            # Folding (RFC 3261 §7.3.1): a continuation line joins the previous value.
            if not items:
                raise SipParseError("continuation line before any header")
            name, value = items[-1]
            items[-1] = (name, value + " " + line.strip())
            continue
        name, colon, value = line.partition(":")
        # The common case: a name seen before (so valid), followed by a colon.
        canonical = _PARSED_NAMES.get(name) if colon else None
        if canonical is None:
            name = name.rstrip(" \t")
            if not colon or not name or not _TOKEN_RE.match(name):
                raise SipParseError(f"bad header line {line[:60]!r}")
            canonical = _parsed_name(name)
        items.append((canonical, value.strip()))


def parse_message(data: bytes) -> Request | Response:
    """One datagram (or one framed stream message) into a Request or Response.

    Accepts CRLF or bare LF line ends and folded header lines. With a
    Content-Length, the body is cut to that length (UDP may pad); a
    Content-Length larger than the body is a truncated message and an error.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise SipParseError("not bytes")
    data = bytes(data)
    if len(data) > MAX_MESSAGE_BYTES:
        raise SipParseError("message too large")
    # Leading CRLFs are keep-alives or stream padding (RFC 3261 §7.5).
    data = data.lstrip(b"\r\n")
    if not data:
        raise SipParseError("empty message")
    end = data.find(b"\r\n\r\n")
    sep_len = 4
    lf_end = data.find(b"\n\n")
    if lf_end != -1 and (end == -1 or lf_end < end):
        end, sep_len = lf_end, 2
    if end == -1:
        # A message without a blank line: only acceptable when it ends right after the headers.
        head, body = data, b""
    else:
        head, body = data[:end], data[end + sep_len:]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SipParseError(f"header bytes are not UTF-8 (byte {exc.start})") from None
    start, _, rest = text.partition("\n")
    start = start.rstrip("\r")
    headers = Headers()
    if rest:
        items = headers._items
        lines = rest.split("\r\n")
        if len(lines) != rest.count("\n") + 1:  # some bare LF line ends
            _parse_header_lines(rest.replace("\r\n", "\n").split("\n"), items)
        else:
            # The common case inline: a name seen before (so valid, no blanks around it)
            # right before the colon. Any other line (folding, blank, new or bad name) takes
            # the general loop, one line at a time, with the same result.
            known = _PARSED_NAMES
            for line in lines:
                name, colon, value = line.partition(":")
                canonical = known.get(name)
                if canonical is not None and colon:
                    items.append((canonical, value.strip()))
                else:
                    _parse_header_lines((line,), items)

    length_text = headers._first_values().get("Content-Length")
    if length_text is not None:
        length = _int(length_text, "Content-Length")
        if length > len(body):
            raise SipParseError(f"Content-Length {length} but only {len(body)} body bytes")
        body = body[:length]

    if start.startswith(SIP_VERSION + " ") or start.upper().startswith("SIP/"):
        version, _, rest = start.partition(" ")
        if version.upper() != SIP_VERSION:
            raise SipParseError(f"unsupported version {version[:20]!r}")
        code, _, reason = rest.partition(" ")
        status = _int(code, "status code")
        if not 100 <= status <= 699:
            raise SipParseError(f"status code out of range: {status}")
        msg: Request | Response = Response(status, reason.strip() or REASONS.get(status, "Unknown"),
                                           headers, body, index=False)
    else:
        parts = start.split(" ")
        if len(parts) != 3:
            raise SipParseError(f"bad request line {start[:60]!r}")
        method, uri, version = parts
        if version.upper() != SIP_VERSION:
            raise SipParseError(f"unsupported version {version[:20]!r}")
        if not _TOKEN_RE.match(method):
            raise SipParseError(f"bad method {method[:20]!r}")
        parsed_uri = parse_uri(uri)  # validate; kept as text so it round-trips exactly
        msg = Request(method, uri, headers, body, index=False)
        msg._parsed_uri = parsed_uri
    # Requests are validated in full (we may answer them, build dialogs from them).
    # Responses only need their branch and tags to be matched; their From/To are
    # parsed on first use, which raises SipParseError there if they are bad.
    msg._index(full=isinstance(msg, Request))
    if isinstance(msg, Request) and msg.cseq_method != msg.method:
        raise SipParseError(f"CSeq method {msg.cseq_method} does not match {msg.method}")
    return msg


# --- a message handed over without its text -----------------------------------------------
#
# An in-process peer (the simulator's in-memory network) may hand the receiver the message
# the sender built, beside its bytes. The receiver must not share the sender's object (each
# side caches, parses lazily and keeps messages as its own), and must get exactly what
# parsing the bytes would give: `received_copy` builds that without the text round trip,
# and `parsed_differences` is the check (the network's checking mode runs it on every
# datagram in the tests).


def received_copy(message: Request | Response) -> Request | Response:
    """What `parse_message(message.to_bytes())` gives for a message we built, without
    serialising and parsing: the same start line, header lines (Content-Length last, as
    `to_bytes` writes it), body and matching fields. From, To, the top Via and the
    Request-URI are parsed when first asked for, as for a plain received message."""
    body = message.body
    items = [item for item in message.headers._items if item[0] != "Content-Length"]
    items.append(("Content-Length", str(len(body))))
    headers = Headers.__new__(Headers)
    headers._items, headers._first = items, None
    if isinstance(message, Request):
        copy = Request.__new__(Request)
        copy.method, copy.uri = message.method, message.uri
    else:
        copy = Response.__new__(Response)
        copy.status, copy.reason = message.status, message.reason
    copy.headers, copy.body = headers, body
    copy.call_id, copy.cseq, copy.cseq_method = message.call_id, message.cseq, message.cseq_method
    copy.from_tag, copy.to_tag, copy.branch = message.from_tag, message.to_tag, message.branch
    return copy


_COMPARED_FIELDS = ("call_id", "cseq", "cseq_method", "from_tag", "to_tag", "branch", "body")


def parsed_differences(copy: Request | Response, data: bytes) -> list[str]:
    """How `copy` (from `received_copy`) differs from `parse_message(data)`: [] if in
    nothing a receiver can observe (start line, header lines, body, matching fields, and
    the parsed Request-URI, From, To and top Via)."""
    try:
        parsed = parse_message(data)
    except SipParseError as exc:
        return [f"the bytes do not parse: {exc.reason}"]
    if type(parsed) is not type(copy):
        return [f"a {type(parsed).__name__} on the wire, a {type(copy).__name__} handed over"]
    fields = ("method", "uri") if isinstance(copy, Request) else ("status", "reason")
    out = [f"{name}: {getattr(copy, name)!r} handed over, {getattr(parsed, name)!r} parsed"
           for name in (*fields, *_COMPARED_FIELDS) if getattr(copy, name) != getattr(parsed, name)]
    if copy.headers._items != parsed.headers._items:
        out.append(f"headers: {copy.headers._items!r} handed over, {parsed.headers._items!r} parsed")
    if not out:
        # Lazily parsed on both sides: the same values, or the same error.
        names = ("parsed_uri", "from_addr", "to_addr", "top_via") if isinstance(copy, Request) \
            else ("from_addr", "to_addr", "top_via")
        for name in names:
            try:
                mine = getattr(copy, name)
            except SipParseError as exc:
                mine = exc.reason
            try:
                theirs = getattr(parsed, name)
            except SipParseError as exc:
                theirs = exc.reason
            if mine != theirs:
                out.append(f"{name}: {mine!r} handed over, {theirs!r} parsed")
    return out


_STREAM_HEAD_END = re.compile(rb"\r?\n\r?\n")
_STREAM_LENGTH = re.compile(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*([0-9]+)[ \t]*\r?$")


class StreamFramer:
    """Cuts a byte stream (TCP) into messages using Content-Length (mandatory on streams,
    §18.3). Segments may split or merge messages anyhow; line ends between messages
    (RFC 5626 keep-alive CRLFs) are skipped; LF-only line ends are accepted."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        # The framing error that makes the rest of the stream unreadable, once seen.
        self.broken: SipParseError | None = None

    def frames(self, data: bytes) -> list[bytes]:
        """Add received bytes; return every complete message's bytes, unparsed. A stream
        that cannot be framed any more (no Content-Length, too long) sets `broken`;
        the messages complete before that point are still returned."""
        if self.broken is not None:
            return []
        buffer = self._buffer
        buffer += data
        out: list[bytes] = []
        while True:
            skip = 0
            while skip < len(buffer) and buffer[skip] in b"\r\n":
                skip += 1
            if skip:
                del buffer[:skip]
            head_end = _STREAM_HEAD_END.search(buffer)
            if head_end is None:
                if len(buffer) > MAX_MESSAGE_BYTES:
                    self.broken = SipParseError("stream header section too long")
                return out
            length = _STREAM_LENGTH.search(buffer, 0, head_end.start())
            if length is None:
                self.broken = SipParseError("stream message without Content-Length")
                return out
            total = head_end.end() + int(length.group(1))
            if total > MAX_MESSAGE_BYTES:
                self.broken = SipParseError("message too large")
                return out
            if len(buffer) < total:
                return out
            out.append(bytes(buffer[:total]))
            del buffer[:total]

    def feed(self, data: bytes) -> list[Request | Response]:
        """`frames()` parsed: every complete message. Raises SipParseError on garbage."""
        out = [parse_message(chunk) for chunk in self.frames(data)]
        if self.broken is not None:
            raise self.broken
        return out
