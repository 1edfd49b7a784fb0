"""Requests we build carry their matching fields without reading them back from their headers.

The builders (the endpoint's INVITE/CANCEL, the dialog's BYE/ACK/re-INVITE, the INVITE
transaction's ACK for a non-2xx) set call_id, cseq, method, tags and branch from the
values they wrote (`Message._known_index`). These must be exactly what indexing the
headers gives, and what the peer reads off the wire.
"""

import pytest
import trio
import trio.testing

from dialer.sip.dialog import Dialog
from dialer.sip.endpoint import open_endpoint
from dialer.sip.message import Request, make_response, parse_message
from dialer.sip.transaction import ClientInviteTransaction
from sim.network import MemoryNetwork

FIELDS = ("call_id", "cseq", "cseq_method", "from_tag", "to_tag", "branch")


def _fields(message):
    return {name: getattr(message, name) for name in FIELDS}


def assert_indexed_as_read(request: Request, *, wire: bool = True) -> None:
    reread = Request(request.method, request.uri, request.headers.copy(), request.body)
    assert _fields(request) == _fields(reread)
    if wire:
        assert _fields(parse_message(request.to_bytes())) == _fields(request)


@pytest.fixture
def mock_clock():
    return trio.testing.MockClock(autojump_threshold=0)


async def test_the_endpoints_requests_and_the_dialogs_are_indexed_as_read(mock_clock):
    sent = []

    async def on_invite(call):
        await call.ring()

    async with trio.open_nursery() as nursery:
        net = MemoryNetwork()
        callee = await nursery.start(_serve, net, {"on_invite": on_invite})
        caller = await nursery.start(_serve, net, {})
        original_start = caller._start_client

        async def spy(request, *args, **kwargs):
            sent.append(request)
            return await original_start(request, *args, **kwargs)

        caller._start_client = spy
        call = await caller.dial(callee.local_address, "+15551234567", caller_id="15550001111",
                                 ring_timeout=20, headers=[("X-Campaign", "7")])
        await call.wait_for("ringing")
        await call.hangup()                      # CANCEL
        assert [r.method for r in sent] == ["INVITE", "CANCEL"]
        for request in sent:
            assert_indexed_as_read(request)
        nursery.cancel_scope.cancel()


async def _serve(net, kwargs, task_status):
    async with open_endpoint(net, "127.0.0.1", 0, **kwargs) as endpoint:
        task_status.started(endpoint)
        await trio.sleep_forever()


INVITE = (
    "INVITE sip:100@127.0.0.1:5070 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKabc;rport\r\n"
    'From: "Al" <sip:al@EXAMPLE.com>;tag=f1\r\n'
    "To: <sip:100@127.0.0.1:5070>\r\n"
    "Call-ID: c1@127.0.0.1\r\nCSeq: 4 INVITE\r\n"
    "Contact: <sip:al@127.0.0.1:5060>\r\nContent-Length: 0\r\n\r\n")


@pytest.mark.parametrize("with_tag", [True, False])
def test_dialog_requests_are_indexed_as_read(with_tag):
    invite = parse_message(INVITE.encode())
    uas = Dialog.from_uas(invite, local_tag="t2" if with_tag else "", local_contact="<sip:c@h>",
                          via_host="127.0.0.1:5070")
    ok = make_response(invite, 200, to_tag="t2" if with_tag else None,
                       headers=[("Contact", "<sip:c@127.0.0.1:5070>")])
    uac = Dialog.from_uac(invite, ok, via_host="127.0.0.1:5060")
    for dialog in (uas, uac):
        for request in (dialog.create_request("BYE"), dialog.ack(4),
                        dialog.create_request("INVITE", body=b"v=0\r\n")):
            # (";tag=" with nothing after it reads as "" on the wire: not a tag we send)
            assert_indexed_as_read(request, wire=with_tag)


def test_the_ack_for_a_non_2xx_is_indexed_as_read():
    invite = parse_message(INVITE.encode())
    tx = ClientInviteTransaction(invite)
    busy = make_response(invite, 486, to_tag="t9")
    assert_indexed_as_read(tx.ack_for(busy))


def test_dialog_uris_are_those_parsing_gives():
    # Plain values are taken as they are; others (display name, upper-case host) are parsed
    # and re-written, as before.
    invite = parse_message(INVITE.encode())
    dialog = Dialog.from_uas(invite, local_tag="t2", local_contact="<sip:c@h>", via_host="h:1")
    assert dialog.local_uri == "<sip:100@127.0.0.1:5070>"
    assert dialog.remote_uri == '"Al" <sip:al@example.com>'
    assert dialog.remote_target == "sip:al@127.0.0.1:5060"
    odd = parse_message(INVITE.replace("<sip:al@127.0.0.1:5060>", "<sip:al@Host:05060>").encode())
    assert Dialog.from_uas(odd, local_tag="t", local_contact="<sip:c@h>",
                           via_host="h:1").remote_target == "sip:al@host:5060"
