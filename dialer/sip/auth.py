"""HTTP digest authentication for SIP (RFC 3261 §22, RFC 2617, RFC 7616, RFC 8760), sans-IO.

Client side: `DigestClient(username, password)` answers a 401
(WWW-Authenticate → Authorization) or 407 (Proxy-Authenticate →
Proxy-Authorization) with MD5 or SHA-256, `qop=auth` with a nonce count, and
re-answers when the server says the nonce is `stale`.

Server side: `DigestServer(realm, users)` issues challenges and checks
answers; the simulator's carriers and the interop tests use it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

from .message import Request, Response, SipParseError, split_commas

ALGORITHMS = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


class AuthError(ValueError):
    """A challenge we cannot answer (unknown scheme or algorithm, or no credentials)."""


def parse_auth_params(value: str) -> tuple[str, dict[str, str]]:
    """`Digest realm="a", nonce="b"` → ("digest", {"realm": "a", "nonce": "b"})."""
    scheme, _, rest = value.strip().partition(" ")
    params: dict[str, str] = {}
    for item in split_commas(rest):
        if not item:
            continue
        name, eq, val = item.partition("=")
        if not eq:
            raise SipParseError(f"bad auth parameter {item[:40]!r}")
        val = val.strip()
        if len(val) >= 2 and val[0] == '"' and val[-1] == '"':
            val = val[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        params[name.strip().lower()] = val
    return scheme.lower(), params


def _h(algorithm: str, text: str) -> str:
    return ALGORITHMS[algorithm](text.encode("utf-8")).hexdigest()


def digest_response(*, algorithm: str, username: str, realm: str, password: str, method: str,
                    uri: str, nonce: str, qop: str | None = None, nc: str | None = None,
                    cnonce: str | None = None) -> str:
    """The `response` value (RFC 2617 §3.2.2.1), for MD5 or SHA-256 (no -sess variants)."""
    ha1 = _h(algorithm, f"{username}:{realm}:{password}")
    ha2 = _h(algorithm, f"{method}:{uri}")
    if qop:
        return _h(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _h(algorithm, f"{ha1}:{nonce}:{ha2}")


@dataclass
class Challenge:
    header: str              # "Authorization" or "Proxy-Authorization": where our answer goes
    realm: str
    nonce: str
    algorithm: str
    qop: str | None
    opaque: str | None
    stale: bool


def read_challenge(response: Response) -> Challenge:
    """The best digest challenge in a 401/407 (SHA-256 preferred over MD5)."""
    if response.status == 401:
        values, answer = response.headers.get_lines("WWW-Authenticate"), "Authorization"
    elif response.status == 407:
        values, answer = response.headers.get_lines("Proxy-Authenticate"), "Proxy-Authorization"
    else:
        raise AuthError(f"{response.status} is not a challenge")
    best: Challenge | None = None
    for value in values:
        scheme, params = parse_auth_params(value)
        if scheme != "digest" or "nonce" not in params:
            continue
        algorithm = params.get("algorithm", "MD5").upper()
        if algorithm not in ALGORITHMS:
            continue
        qops = [q.strip().lower() for q in params.get("qop", "").split(",") if q.strip()]
        if qops and "auth" not in qops:
            continue  # auth-int only: we do not sign bodies
        challenge = Challenge(header=answer, realm=params.get("realm", ""), nonce=params["nonce"],
                              algorithm=algorithm, qop="auth" if qops else None,
                              opaque=params.get("opaque"),
                              stale=params.get("stale", "").lower() == "true")
        if best is None or (challenge.algorithm == "SHA-256" and best.algorithm != "SHA-256"):
            best = challenge
    if best is None:
        raise AuthError("no digest challenge with an algorithm we support (MD5, SHA-256)")
    return best


class DigestClient:
    """Answers challenges for one set of credentials, keeping a nonce count per nonce."""

    def __init__(self, username: str, password: str):
        self.username = username
        self.password = password
        self._nc: dict[str, int] = {}
        self._realms: set[str] = set()   # realms we already sent an answer for
        self.answers = 0

    MAX_ANSWERS = 4  # a server that keeps saying "stale" must not keep us looping

    def should_retry(self, response: Response) -> bool:
        """True when a 401/407 is worth answering: a realm we have not answered yet, or
        `stale=true` (our answer was right, the nonce old). A fresh challenge for a realm
        we already answered means wrong credentials: stop instead of looping."""
        try:
            challenge = read_challenge(response)
        except (AuthError, SipParseError):
            return False
        if self.answers >= self.MAX_ANSWERS:
            return False
        return challenge.stale or challenge.realm not in self._realms

    def authorization(self, response: Response, request: Request) -> tuple[str, str]:
        """(header name, value) answering `response`'s challenge for `request`."""
        c = read_challenge(response)
        self._realms.add(c.realm)
        self.answers += 1
        nc = cnonce = None
        if c.qop:
            count = self._nc.get(c.nonce, 0) + 1
            self._nc[c.nonce] = count
            nc = f"{count:08x}"
            cnonce = secrets.token_hex(8)
        uri = request.uri
        value = digest_response(algorithm=c.algorithm, username=self.username, realm=c.realm,
                                password=self.password, method=request.method, uri=uri,
                                nonce=c.nonce, qop=c.qop, nc=nc, cnonce=cnonce)
        parts = [f'username="{self.username}"', f'realm="{c.realm}"', f'nonce="{c.nonce}"',
                 f'uri="{uri}"', f'response="{value}"', f"algorithm={c.algorithm}"]
        if c.opaque is not None:
            parts.append(f'opaque="{c.opaque}"')
        if c.qop:
            parts += [f"qop={c.qop}", f"nc={nc}", f'cnonce="{cnonce}"']
        return c.header, "Digest " + ", ".join(parts)


@dataclass
class DigestServer:
    """Challenges requests and checks answers. Nonces are tracked so a replayed nonce
    count is refused and a retired nonce is answered with `stale=true`."""

    realm: str
    users: dict[str, str]
    algorithm: str = "MD5"
    proxy: bool = False              # 407/Proxy-* instead of 401/WWW-*
    _nonces: dict[str, int] = field(default_factory=dict)   # live nonce -> highest nc seen
    _retired: set[str] = field(default_factory=set)

    def challenge_header(self, *, stale: bool = False) -> tuple[str, str]:
        nonce = secrets.token_hex(16)
        self._nonces[nonce] = 0
        name = "Proxy-Authenticate" if self.proxy else "WWW-Authenticate"
        value = (f'Digest realm="{self.realm}", nonce="{nonce}", algorithm={self.algorithm}, '
                 f'qop="auth"' + (", stale=true" if stale else ""))
        return name, value

    @property
    def status(self) -> int:
        return 407 if self.proxy else 401

    def retire(self, nonce: str) -> None:
        if self._nonces.pop(nonce, None) is not None:
            self._retired.add(nonce)

    def check(self, request: Request) -> str:
        """"ok", "stale" (answer with a fresh challenge, stale=true) or "challenge"."""
        header = "Proxy-Authorization" if self.proxy else "Authorization"
        for value in request.headers.get_lines(header):
            try:
                scheme, p = parse_auth_params(value)
            except SipParseError:
                continue
            if scheme != "digest" or p.get("realm") != self.realm:
                continue
            nonce = p.get("nonce", "")
            if nonce in self._retired:
                return "stale"
            if nonce not in self._nonces:
                continue
            password = self.users.get(p.get("username", ""))
            algorithm = p.get("algorithm", "MD5").upper()
            if password is None or algorithm not in ALGORITHMS:
                continue
            qop = p.get("qop")
            nc_text = p.get("nc")
            if qop:
                try:
                    nc = int(nc_text or "", 16)
                except ValueError:
                    continue
                if nc <= self._nonces[nonce]:
                    continue  # replay
            expected = digest_response(algorithm=algorithm, username=p["username"],
                                       realm=self.realm, password=password, method=request.method,
                                       uri=p.get("uri", ""), nonce=nonce, qop=qop, nc=nc_text,
                                       cnonce=p.get("cnonce"))
            if secrets.compare_digest(expected, p.get("response", "")):
                if qop:
                    self._nonces[nonce] = nc
                return "ok"
        return "challenge"
