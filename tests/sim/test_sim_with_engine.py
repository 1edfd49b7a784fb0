"""The simulated operators against the engine's own registrar, operator desk and SIP bridge,
with a customer call through the simulated carrier: the whole bridged-call path in virtual time."""

from __future__ import annotations

import pytest
import trio

pytest.importorskip("dialer.engine.bridge", reason="the engine is not merged yet")

from dialer.engine.bridge import SipBridge  # noqa: E402
from dialer.engine.operators import CallInfo, OperatorDesk, OperatorState  # noqa: E402
from dialer.engine.registrar import Registrar  # noqa: E402
from dialer.sip.endpoint import open_endpoint  # noqa: E402
from sim.carrier import Carrier, serve_carrier  # noqa: E402
from sim.network import MemoryNetwork  # noqa: E402
from sim.operators import OperatorTeam  # noqa: E402
from sim.profile import parse_profile  # noqa: E402

PROFILE = """
seed = 2
[outcomes]
answered = 1.0
rest = "answered"
[ring]
default = { kind = "fixed", value = 3 }
[talk]
kind = "fixed"
value = 40
[operators]
count = 2
answer_delay = { kind = "fixed", value = 0.3 }
wrap = { kind = "fixed", value = 12 }
wrap_codes = { SALE = 1 }
"""


async def test_bridged_call_reaches_a_sim_operator_who_wraps_through_the_engine_desk(autojump_clock):
    profile = parse_profile(PROFILE)
    net = MemoryNetwork(latency=0.01, seed=3)
    wraps = []

    async def on_wrap(op, call, code, notes, callback_at):
        wraps.append((trio.current_time(), op.name, code, call.lead_id))

    desk = OperatorDesk(on_wrap=on_wrap)
    for i in (1, 2):
        desk.add(i, f"op{i}", sip_user=f"op{i}")
    registrar = Registrar(desk, {f"op{i}": (i, "secret") for i in (1, 2)})
    carrier = Carrier(profile)
    team = OperatorTeam(profile, desk, password="secret")
    async with trio.open_nursery() as nursery:
        carrier_ep = await nursery.start(serve_carrier, net, "127.0.0.1", 0, carrier)
        async with open_endpoint(net, "127.0.0.1", 0, on_request=registrar.on_request) as engine:
            await nursery.start(team.run, net, "127.0.0.1", engine.local_address)
            await team.all_logged_in.wait()
            assert desk.ready_count() == 2
            assert registrar.contact_for(1) is not None and registrar.contact_for(2) is not None

            customer = await engine.dial(carrier_ep.local_address, "+15551230001", ring_timeout=25)
            assert await customer.wait_answered()
            op = desk.try_reserve()
            bridge = SipBridge(engine, registrar)
            leg = await bridge.connect(customer, op, deadline=trio.current_time() + 2)
            assert leg is not None and bridge.stats["bridged"] == 1
            desk.connect(op, CallInfo(lead_id=77))
            assert op.state is OperatorState.ON_CALL
            # media joined: the customer now has the operator's SDP
            assert customer.local_sdp == leg.remote_sdp

            await customer.wait_ended()  # the called party hangs up after 40 s
            assert customer.ended_by == "remote"
            hung_up = trio.current_time()
            desk.hangup(op)
            await leg.hangup()
            assert op.state is OperatorState.WRAP_UP
            await trio.sleep(15)
            assert op.state is OperatorState.READY
            assert len(wraps) == 1
            t, name, code, lead = wraps[0]
            assert (name, code, lead) == (op.name, "SALE", 77)
            assert t == pytest.approx(hung_up + 12, abs=0.1)
            summary = team.summary()
            assert summary["calls"] == 1 and summary["codes"] == {"SALE": 1}
            nursery.cancel_scope.cancel()
