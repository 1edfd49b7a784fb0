"""Interop: pyVoIP (not our code) as an operator phone registered with the dialer's registrar
(digest) receives a bridged call: the dialer INVITEs it with the called party's media and
re-INVITEs the called party with pyVoIP's. Real UDP on 127.0.0.1.

Skips when pyVoIP is not installed, unless DIALER_REQUIRE_PEERS=1."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from dialer.engine.bridge import SipBridge
from dialer.engine.operators import OperatorDesk
from dialer.engine.registrar import Registrar
from dialer.net import UdpNetwork

from sip_peers import carrier_handler, run_endpoint


def _require_pyvoip():
    import importlib.util

    if importlib.util.find_spec("pyVoIP") is None:
        reason = "pyVoIP not installed (pip install pyVoIP)"
        if os.environ.get("DIALER_REQUIRE_PEERS") == "1":
            pytest.fail(f"{reason}, and DIALER_REQUIRE_PEERS=1 says it must be here")
        pytest.skip(reason)


def _free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_pyvoip_phone_registers_and_receives_a_bridged_call():
    _require_pyvoip()
    desk = OperatorDesk()
    operator = desk.add(1, "pv", sip_user="pv")
    registrar = Registrar(desk, {"pv": (1, "pv-secret")})
    carrier_log = []
    net = UdpNetwork()
    lines = []
    async with trio.open_nursery() as nursery:
        engine = await nursery.start(run_endpoint, net, {"on_request": registrar.on_request})
        carrier = await nursery.start(run_endpoint, net, {"handler": carrier_handler(carrier_log, ring=0.1,
                                                                                     talk=30)})
        phone = await trio.lowlevel.open_process(
            [sys.executable, str(Path(__file__).with_name("pyvoip_phone.py")), str(engine.local_address[1]),
             "pv", "pv-secret", str(_free_udp_port())], stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        async def read_lines():
            buffer = b""
            async for chunk in phone.stdout:
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    lines.append(line.decode())

        nursery.start_soon(read_lines)
        try:
            with trio.fail_after(20):
                while registrar.contact_for(1) is None:
                    await trio.sleep(0.05)
            assert registrar.stats["challenged"] >= 1, "pyVoIP had to answer a digest challenge"
            with trio.fail_after(20):
                customer = await engine.dial(carrier.local_address, "+12125550199", ring_timeout=20)
                assert await customer.wait_answered()
                # pyVoIP answers from a thread: give it 5 s rather than the engine's 2 s limit.
                leg = await SipBridge(engine, registrar).connect(customer, operator, trio.current_time() + 5)
            assert leg is not None, (lines, registrar.stats)
            assert leg.state == "answered"
            with trio.fail_after(5):
                while not any(line.startswith("answered") for line in lines):
                    await trio.sleep(0.05)
            # The called party was re-INVITEd with the phone's media description.
            assert carrier_log[0]["reinvites"], "no re-INVITE reached the called party"
            assert carrier_log[0]["reinvites"][0] == leg.remote_sdp and b"m=audio" in leg.remote_sdp
            with trio.fail_after(10):
                await leg.hangup()
                await customer.hangup()
        finally:
            phone.terminate()
            with trio.move_on_after(5):
                await phone.wait()
            nursery.cancel_scope.cancel()
