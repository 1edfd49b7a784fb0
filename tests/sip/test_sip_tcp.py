"""SIP over TCP between our own endpoints on 127.0.0.1 (real sockets): one connection per
peer shared by many calls, requests from the callee over the connection we opened, and
transport errors (connection refused, no TCP on the network) ending calls as `failed`
with failover to the next trunk."""

import socket

import pytest
import trio
import trio.testing

from dialer.net import UdpNetwork
from dialer.sip.endpoint import open_endpoint
from dialer.sip.trunk import Trunk, TrunkPool
from sim.network import MemoryNetwork
from sipp_runner import free_port


def answering(talk=None):
    async def handler(call):
        await call.ring()
        await call.answer(call.remote_sdp)
        if talk is not None:
            await trio.sleep(talk)
            await call.hangup()
    return handler


async def test_many_calls_share_one_connection_and_the_callee_hangs_up_over_it():
    async with open_endpoint(UdpNetwork(), "127.0.0.1", 0, handler=answering(talk=0.2)) as uas:
        async with open_endpoint(UdpNetwork(), "127.0.0.1", 0) as uac:
            trunk = Trunk.from_uri(f"sip:127.0.0.1:{uas.local_address[1]};transport=tcp")
            with trio.fail_after(10):
                calls = [await uac.dial(trunk, "+15551234567") for _ in range(5)]
                assert [await c.wait_ended() for c in calls] == ["answered"] * 5
            assert all(c.ended_by == "remote" and c.transport is uac.tcp for c in calls)
            invite = calls[0].invite
            assert invite.headers.get("Via").startswith("SIP/2.0/TCP ")
            assert invite.uri.endswith(";transport=tcp")
            assert invite.headers.get("Contact").endswith(";transport=tcp>")
            # one connection, opened by us, accepted by the callee; nothing over UDP
            assert uac.tcp.stats.connections_opened == 1 and uac.tcp.connections == 1
            assert uas.tcp.stats.connections_accepted == 1
            assert uac.transport.stats.sent == uas.transport.stats.sent == 0
            assert uac.stats["internal_errors"] == uas.stats["internal_errors"] == 0
            assert uac.active_calls == uas.active_calls == 0


async def test_options_keepalive_over_tcp():
    async with open_endpoint(UdpNetwork(), "127.0.0.1", 0) as callee:
        async with open_endpoint(UdpNetwork(), "127.0.0.1", 0) as caller:
            with trio.fail_after(5):
                assert await caller.options(callee.local_address, transport="tcp") == 200
            assert caller.tcp.stats.sent == 1 and caller.transport.stats.sent == 0


async def test_connection_refused_fails_the_call_and_the_pool_tries_the_next_trunk():
    nobody = free_port(socket.SOCK_STREAM)
    async with open_endpoint(UdpNetwork(), "127.0.0.1", 0, handler=answering()) as uas:
        async with open_endpoint(UdpNetwork(), "127.0.0.1", 0) as uac:
            dead = Trunk("dead-tcp", "127.0.0.1", nobody, transport="tcp", order=0)
            alive = Trunk("alive-udp", *uas.local_address, order=1)
            with trio.fail_after(10):
                first = await uac.dial(dead, "100")
                assert await first.wait_ended() == "failed"
                assert first.sip_status == 503 and first.transport_error
                assert first.try_next_trunk and first.reason == "transport error (TCP)"
                call = await TrunkPool([dead, alive]).dial(uac, "100")
                assert call.state == "answered" and call.trunk is alive
                await call.hangup()
            assert dead.breaker.consecutive == 2 and dead.in_use == 0
            assert uac.tcp.stats.connect_failures == 2
            assert uac.stats["internal_errors"] == 0


@pytest.fixture
def mock_clock():
    return trio.testing.MockClock(autojump_threshold=0)


async def test_a_tcp_trunk_on_a_network_without_tcp_fails_over_at_once(mock_clock):
    net = MemoryNetwork()
    async with open_endpoint(net, "127.0.0.1", 0, handler=answering()) as uas:
        async with open_endpoint(net, "127.0.0.1", 0) as uac:
            tcp = Trunk("tcp", *uas.local_address, transport="tcp", order=0)
            udp = Trunk("udp", *uas.local_address, order=1)
            call = await TrunkPool([tcp, udp]).dial(uac, "100")
            assert call.state == "answered" and call.trunk is udp
            assert trio.current_time() < 1  # no timer was waited for: the failure is immediate
            await call.hangup()
            assert tcp.breaker.consecutive == 1


async def test_tcp_required_on_a_network_without_it_is_an_error():
    with pytest.raises(ValueError, match="no TCP"):
        async with open_endpoint(MemoryNetwork(), "127.0.0.1", 0, tcp=True):
            pass
