"""The registrar: per-operator digest auth, bindings, expiry, removal (sans-IO, virtual time)."""

import itertools

import trio

from dialer.engine.operators import OperatorDesk
from dialer.engine.registrar import Registrar
from dialer.sip.auth import DigestClient
from dialer.sip.message import Headers, Request, parse_message

PHONE = ("127.0.0.1", 40001)
_cseq = itertools.count(1)


def _register(user, *, contact=None, expires=None, call_id="reg-1", auth=None):
    h = Headers()
    h.add("Via", f"SIP/2.0/UDP 127.0.0.1:40001;branch=z9hG4bK{next(_cseq)}")
    h.add("From", f"<sip:{user}@dialer>;tag=abc")
    h.add("To", f"<sip:{user}@dialer>")
    h.add("Call-ID", call_id)
    h.add("CSeq", f"{next(_cseq)} REGISTER")
    if contact is not None:
        h.add("Contact", contact)
    if expires is not None:
        h.add("Expires", str(expires))
    if auth is not None:
        h.add(*auth)
    h.add("Content-Length", "0")
    # Round-trip through bytes: the registrar sees what the wire gives it.
    return parse_message(Request("REGISTER", "sip:dialer", h).to_bytes())


def _setup():
    desk = OperatorDesk()
    desk.add(1, "alice", sip_user="alice")
    desk.add(2, "bob", sip_user="bob")
    reg = Registrar(desk, {"alice": (1, "secret-a"), "bob": (2, "secret-b")})
    return desk, reg


def _authed(reg, user, password, **kw):
    first = reg.handle_register(_register(user, **kw), PHONE)
    assert first.status == 401
    client = DigestClient(user, password)
    request = _register(user, **kw)
    return reg.handle_register(_register(user, auth=client.authorization(first, request), **kw), PHONE)


async def test_register_needs_the_operators_own_password(autojump_clock):
    desk, reg = _setup()
    ok = _authed(reg, "alice", "secret-a", contact="<sip:alice@127.0.0.1:40001>", expires=300)
    assert ok.status == 200 and "expires=300" in ok.headers.get("Contact")
    binding = desk.get("alice").contact
    assert binding.address == PHONE and binding.uri == "sip:alice@127.0.0.1:40001"
    assert reg.allow(PHONE) and not reg.allow(("127.0.0.1", 9))
    # bob's password does not register alice, and alice's does not register bob
    assert _authed(reg, "alice", "secret-b", contact="<sip:alice@127.0.0.1:40001>").status == 401
    assert _authed(reg, "bob", "secret-a", contact="<sip:bob@127.0.0.1:40002>").status == 401
    assert desk.get("bob").contact is None


async def test_unknown_user_and_bad_requests(autojump_clock):
    desk, reg = _setup()
    assert reg.handle_register(_register("mallory", contact="<sip:m@1.2.3.4>"), PHONE).status == 404
    assert _authed(reg, "alice", "secret-a", contact="<sip:alice@127.0.0.1:40001>", expires=5).status == 423
    assert _authed(reg, "alice", "secret-a", contact="*", expires=3600).status == 400


async def test_binding_expires_and_can_be_removed(autojump_clock):
    desk, reg = _setup()
    _authed(reg, "alice", "secret-a", contact="<sip:alice@127.0.0.1:40001>;expires=120")
    assert reg.contact_for(1) is not None
    await trio.sleep(121)
    assert reg.contact_for(1) is None and not reg.allow(PHONE)
    _authed(reg, "alice", "secret-a", contact="<sip:alice@127.0.0.1:40001>", expires=600)
    assert reg.contact_for(1) is not None
    assert _authed(reg, "alice", "secret-a", contact="*", expires=0).status == 200
    assert reg.contact_for(1) is None and desk.get("alice").contact is None


async def test_on_request_only_takes_register(autojump_clock):
    desk, reg = _setup()
    req = _register("alice")
    req.method = "MESSAGE"
    assert reg.on_request(req, PHONE) is None
