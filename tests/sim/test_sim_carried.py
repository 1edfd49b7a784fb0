"""Messages carried beside their bytes on the in-memory network (docs/SIMULATOR.md).

The receiving SIP transport takes a copy of the sender's message instead of parsing the
datagram. The bytes still travel; a day must be the same with and without carrying, and
the checking mode must stop a message that is not what its bytes say.
"""

from __future__ import annotations

import json

import pytest
import trio

from dialer.sip.message import Headers, Request, parse_message
from dialer.sip.transport import CarriedMessageMismatch, DatagramTransport
from sim.network import CHECK_CARRIED_ENV, MemoryNetwork
from sim.profile import AuthConfig, parse_profile
from sim.virtual import run_virtual

from test_sim_carrier import MIXED, _campaign  # noqa: E402 (tests/sim is on the path)

INVITE = (
    "INVITE sip:100@127.0.0.1:5070 SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKabc;rport\r\n"
    "From: <sip:al@127.0.0.1>;tag=f1\r\nTo: <sip:100@127.0.0.1:5070>\r\n"
    "Call-ID: c1@127.0.0.1\r\nCSeq: 1 INVITE\r\n"
    "Contact: <sip:al@127.0.0.1:5060>\r\nContent-Length: 0\r\n\r\n")


def _day(carry: bool, auth: bool) -> str:
    """A small lossy, jittery day (with a digest challenge per call if `auth`): the carrier's
    report, every call's outcome and progress, and the network's and transports' counts."""
    async def main():
        profile = parse_profile(MIXED)
        if auth:
            profile.carrier.auth = AuthConfig(username="u", password="p")
        carrier, results, net = await _campaign(
            profile, calls=120, seed=4, loss=0.1, latency=0.02, jitter=0.02, net_seed=2,
            credentials=("u", "p") if auth else None, carry=carry)
        calls = [(number, call.outcome, call.sip_status, call.progress) for number, call in results]
        return json.dumps([carrier.summary(), calls, net.stats.as_dict()], sort_keys=True)

    return run_virtual(main, seed=4)


@pytest.mark.parametrize("auth", [False, True])
def test_a_day_is_the_same_with_messages_carried_or_parsed(auth):
    carried = _day(carry=True, auth=auth)
    assert carried == _day(carry=False, auth=auth)
    assert '"answered"' in carried
    assert ('"challenged": 0' in carried) is not auth   # the challenged INVITEs were there


def test_the_suite_runs_with_the_check_on():
    # Every MemoryNetwork of the test suite checks what it carries (tests/conftest.py).
    assert MemoryNetwork().check_carried
    assert not MemoryNetwork(check_carried=False).check_carried


async def _deliver(net: MemoryNetwork, message: Request):
    sender = DatagramTransport(await net.bind())
    receiver = DatagramTransport(await net.bind())
    await sender.send(message, receiver.local_address)
    return await receiver.receive()


async def test_the_receiver_gets_a_copy_equal_to_the_parse():
    invite = parse_message(INVITE.encode())
    got, source = await _deliver(MemoryNetwork(check_carried=True), invite)
    assert got is not invite and got.headers is not invite.headers
    assert got.headers._items == parse_message(invite.to_bytes()).headers._items
    assert (got.call_id, got.branch, got.from_tag) == ("c1@127.0.0.1", "z9hG4bKabc", "f1")


async def test_the_check_stops_a_message_that_is_not_what_its_bytes_say():
    invite = parse_message(INVITE.encode())
    h = Headers()
    for name, value in invite.headers:
        h.add(name, value + " " if name == "Contact" else value)  # parsing strips it
    odd = Request("INVITE", invite.uri, h)
    with pytest.raises(CarriedMessageMismatch, match="Contact"):
        await _deliver(MemoryNetwork(check_carried=True), odd)
    # Without the check the copy goes through as built: the check is what catches it.
    got, _ = await _deliver(MemoryNetwork(check_carried=False), odd)
    assert got.headers.get("Contact").endswith(" ")


async def test_a_network_that_does_not_carry_delivers_bytes_only():
    invite = parse_message(INVITE.encode())
    net = MemoryNetwork(carry_messages=False)
    sock = await net.bind()
    sender = DatagramTransport(await net.bind())
    await sender.send(invite, sock.local_address)
    assert sock._heap[0][4] is None
    data, _ = await sock.receive()
    assert data == invite.to_bytes()


def test_the_environment_turns_the_check_on(monkeypatch):
    monkeypatch.setenv(CHECK_CARRIED_ENV, "0")
    assert not MemoryNetwork().check_carried
    monkeypatch.setenv(CHECK_CARRIED_ENV, "1")
    assert MemoryNetwork().check_carried
