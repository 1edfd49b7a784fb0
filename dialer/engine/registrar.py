"""The registrar: operator phones REGISTER here, so the engine knows where each operator rings.

Plugged into the SIP endpoint as its `on_request` hook (REGISTER outside a dialog) and
its `allow` hook (a registered phone may send us requests). Each operator has their own
SIP user and password (the `operator` table); a REGISTER is challenged with digest
(401, MD5 or SHA-256, qop=auth) and accepted only with that operator's credentials.

A binding is the Contact URI the phone gave, with the address the REGISTER came from
(behind NAT the source address is what reaches the phone, so we ring that), until
`expires`. `Expires: 0` or `Contact: *` removes it. The binding is stored on the
operator desk (`desk.set_contact`), so the bridge finds it with the operator.

Time comes from trio (`now`), so expiry works under MockClock.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import trio

from dialer.sip.auth import DigestServer
from dialer.sip.message import Request, Response, SipParseError, make_response, parse_name_addr

DEFAULT_EXPIRES = 3600
MIN_EXPIRES = 60
MAX_EXPIRES = 7200


@dataclasses.dataclass(frozen=True)
class Binding:
    uri: str                    # the Contact URI as the phone sent it
    address: tuple[str, int]    # where its REGISTER came from: where we send INVITEs
    expires_at: float
    sip_user: str


class Registrar:
    def __init__(self, desk, accounts: dict[str, tuple[int, str]], *, realm: str = "dialer",
                 algorithm: str = "MD5", now: Callable[[], float] = trio.current_time):
        """accounts: sip_user -> (operator id, password)."""
        self.desk = desk
        self.accounts = dict(accounts)
        self._auth = DigestServer(realm, {user: pw for user, (_, pw) in self.accounts.items()},
                                  algorithm=algorithm)
        self._now = now
        self.bindings: dict[int, Binding] = {}          # operator id -> binding
        self.stats = {"registered": 0, "challenged": 0, "refused": 0, "removed": 0}

    # The endpoint's hooks ------------------------------------------------------------------
    def allow(self, address: tuple[str, int]) -> bool:
        now = self._now()
        return any(b.address == address and b.expires_at > now for b in self.bindings.values())

    def on_request(self, request: Request, address: tuple[str, int]) -> Response | None:
        if request.method != "REGISTER":
            return None
        return self.handle_register(request, address)

    # ------------------------------------------------------------------------------------------
    def handle_register(self, request: Request, address: tuple[str, int]) -> Response:
        user = request.to_addr.uri.user
        if user not in self.accounts:
            return self._refuse(request, 404, "Unknown operator")
        verdict = self._auth.check(request)
        if verdict != "ok" or self._auth_user(request) != user:
            self.stats["challenged"] += 1
            name, value = self._auth.challenge_header(stale=verdict == "stale")
            return make_response(request, self._auth.status, "Unauthorized", to_tag=_tag(request),
                                 headers=[(name, value)])
        operator_id, _ = self.accounts[user]
        contacts = request.headers.get_all("Contact")
        expires_header = request.headers.get("Expires")
        try:
            default_expires = int(expires_header) if expires_header is not None else DEFAULT_EXPIRES
        except ValueError:
            return self._refuse(request, 400, "Bad Expires header")
        if not contacts:   # a query: answer with the current binding
            return self._ok(request, self.bindings.get(operator_id))
        if contacts == ["*"]:
            if default_expires != 0:
                return self._refuse(request, 400, "Contact * needs Expires: 0")
            self._remove(operator_id)
            return self._ok(request, None)
        try:
            contact = parse_name_addr(contacts[0])
        except SipParseError as exc:
            return self._refuse(request, 400, f"Bad Contact ({exc})")
        expires = contact.params.get("expires")
        try:
            seconds = int(expires) if expires is not None else default_expires
        except ValueError:
            return self._refuse(request, 400, "Bad Contact expires")
        if seconds == 0:
            self._remove(operator_id)
            return self._ok(request, None)
        if seconds < MIN_EXPIRES:
            return make_response(request, 423, "Interval Too Brief", to_tag=_tag(request),
                                 headers=[("Min-Expires", str(MIN_EXPIRES))])
        seconds = min(seconds, MAX_EXPIRES)
        binding = Binding(str(contact.uri), address, self._now() + seconds, user)
        self.bindings[operator_id] = binding
        self.desk.set_contact(operator_id, binding)
        self.stats["registered"] += 1
        return self._ok(request, binding)

    def contact_for(self, operator_id: int) -> Binding | None:
        binding = self.bindings.get(operator_id)
        if binding is None or binding.expires_at <= self._now():
            return None
        return binding

    # ------------------------------------------------------------------------------------------
    def _ok(self, request: Request, binding: Binding | None) -> Response:
        headers = []
        if binding is not None:
            left = max(0, int(binding.expires_at - self._now()))
            headers.append(("Contact", f"<{binding.uri}>;expires={left}"))
        return make_response(request, 200, "OK", to_tag=_tag(request), headers=headers)

    def _refuse(self, request: Request, status: int, reason: str) -> Response:
        self.stats["refused"] += 1
        return make_response(request, status, reason, to_tag=_tag(request))

    def _remove(self, operator_id: int) -> None:
        if self.bindings.pop(operator_id, None) is not None:
            self.stats["removed"] += 1
            self.desk.set_contact(operator_id, None)

    @staticmethod
    def _auth_user(request: Request) -> str | None:
        from dialer.sip.auth import parse_auth_params

        for value in request.headers.get_lines("Authorization"):
            try:
                _, params = parse_auth_params(value)
            except SipParseError:
                continue
            return params.get("username")
        return None


def _tag(request: Request) -> str:
    # A registrar's response needs a To tag (RFC 3261 §8.2.6.2); derive it from the Call-ID.
    import hashlib

    return hashlib.blake2s((request.call_id or "").encode(), digest_size=6).hexdigest()
