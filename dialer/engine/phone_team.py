"""Simulated operators as SIP phones, for `dialer loadtest` and `make demo` (`--operators-via phones`).

    sim.operators.OperatorTeam: one SIP endpoint (own UDP socket) per operator
      ── REGISTER (digest, per-operator password) ──▶ the engine's Registrar
      ◀── INVITE (SipBridge, RFC 3725) ── auto-answer after the profile's answer_delay;
          the re-INVITE that joins the called party's media is answered by the endpoint
      ── login / ready / pause / wrap / logout ──▶ the engine's OperatorDesk (Python API)

This is the whole operator path of a production node (`dialer run`: registrar + SipBridge)
with the simulator's people behind the phones. The desk-driven team in `loadtest.py`
(`--operators-via desk`) skips the phones: the desk "connects" an operator on reservation.

The simulator's phones wrap with (code, notes) only; `PhoneDesk` adds what a person adds for
a callback code (its time and owner, `sim_wraps.SimWraps`) and maps codes the campaign does
not know to the plain one, so a wrap is never refused and nobody is stuck in wrap-up.
"""

from __future__ import annotations

import trio

from sim.operators import OperatorTeam

from .bridge import SipBridge
from .registrar import Registrar

PASSWORD = "sim-operator"


class PhoneDesk:
    """The simulator's `OperatorDesk` protocol over the engine's desk, by operator name."""

    def __init__(self, desk, wraps):
        self.desk, self.wraps = desk, wraps

    def login(self, operator: str):
        return self.desk.login(operator)

    def ready(self, operator: str):
        return self.desk.ready(operator)

    def pause(self, operator: str, reason: str = "break"):
        return self.desk.pause(operator, reason)

    def logout(self, operator: str):
        return self.desk.logout(operator)

    async def wrap(self, operator: str, code: str, notes: str | None = None):
        code, callback_at = self.wraps.choose(self.desk.get(operator), code)
        return await self.desk.wrap(operator, code, notes, callback_at)


class PhoneTeam:
    """Registrar + SIP bridge on the engine's side, the simulator's phones on the other."""

    def __init__(self, desk, operators: list[dict], profile, wraps, *, seed: int,
                 password: str = PASSWORD):
        """operators: rows with `id` and `name` (the name is the phone's SIP user)."""
        self.desk = desk
        for row in operators:
            desk.get(row["id"]).sip_user = row["name"]
        self.registrar = Registrar(desk, {row["name"]: (row["id"], password) for row in operators})
        self.team = OperatorTeam(profile, PhoneDesk(desk, wraps), names=[row["name"] for row in operators],
                                 seed=seed, password=password)
        self.bridge: SipBridge | None = None

    @property
    def on_request(self):
        """The engine endpoint's hook: REGISTER goes to the registrar."""
        return self.registrar.on_request

    def make_bridge(self, endpoint) -> SipBridge:
        self.bridge = SipBridge(endpoint, self.registrar)
        return self.bridge

    async def run(self, network, host: str, engine_address, *, task_status=trio.TASK_STATUS_IGNORED):
        """Every operator's day (log-in offsets from the profile); returns when cancelled."""
        await self.team.run(network, host, engine_address, task_status=task_status)

    def summary(self) -> dict:
        team = self.team.summary()
        return {"registered": team["registered"], "register_failures": team["register_failures"],
                "calls_answered_by_phones": team["calls"], "refused_by_phones": sum(
                    op["refused"] for op in team["operators"].values()),
                "wrap_errors": sum(op["wrap_errors"] for op in team["operators"].values()),
                "bridge": dict(self.bridge.stats) if self.bridge is not None else {},
                "registrar": dict(self.registrar.stats)}
