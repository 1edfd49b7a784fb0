"""Bridging a live answer to an operator's phone over SIP (third-party call control, RFC 3725).

The dialer stays a back-to-back user agent in the signalling path of both legs, so it sees
either side hang up and ends the other:

    customer leg (answered, customer SDP = C)
    1. INVITE operator phone (registered binding) offering C      ─▶ operator answers with O
    2. re-INVITE the customer offering O                          ─▶ customer answers (C')
       media now flows customer ⇄ operator directly; we keep both dialogs
    3. BYE from either side ─▶ BYE to the other

This is RFC 3725's flow with the offer taken from the already answered leg (the called
party answered our initial INVITE, so its SDP is known before the operator is called).
"Connected" means the operator's phone answered; if that has not happened by `deadline`
(2 s after the customer answered) the operator leg is cancelled and the caller abandons.
"""

from __future__ import annotations

import logging

import trio

log = logging.getLogger("dialer.engine.bridge")

OPERATOR_RING_TIMEOUT = 15.0   # the endpoint's minimum; the 2 s deadline cancels far sooner


class SipPlacer:
    """The runner's CallPlacer over the SIP endpoint and the trunk pool (with failover)."""

    def __init__(self, endpoint, pool):
        self.endpoint, self.pool = endpoint, pool

    @property
    def placed(self) -> dict[str, int]:
        """INVITEs per trunk, for the CPS gauge."""
        return {trunk.name: trunk.placed for trunk in self.pool.trunks}

    async def place(self, number, watch, *, caller_id=None, ring_timeout=25.0, headers=()):
        """The INVITE leaves now if a trunk can take it (`TrunkPool.place`; `watch` is told the
        call's fate, synchronously): no task waits for a call that is never answered."""
        await self.pool.place(self.endpoint, number, watch, caller_id=caller_id,
                              ring_timeout=ring_timeout, headers=list(headers))


class SipBridge:
    def __init__(self, endpoint, registrar):
        self.endpoint, self.registrar = endpoint, registrar
        self.stats = {"bridged": 0, "no_binding": 0, "not_answered": 0, "reinvite_failed": 0}

    async def connect(self, call, operator, deadline: float):
        """The operator's leg once their phone answered and media is joined, or None."""
        binding = self.registrar.contact_for(operator.id)
        if binding is None:
            self.stats["no_binding"] += 1
            return None
        leg = None
        with trio.move_on_at(deadline):
            leg = await self.endpoint.dial(binding.address, operator.sip_user or operator.name,
                                           sdp=call.remote_sdp or None, ring_timeout=OPERATOR_RING_TIMEOUT,
                                           headers=[("X-Dialer-Operator", operator.name)])
            if not await leg.wait_answered():
                self.stats["not_answered"] += 1
                return None
        if leg is None or leg.state != "answered":
            self.stats["not_answered"] += 1
            if leg is not None:
                with trio.CancelScope(shield=True), trio.move_on_after(5):
                    await leg.hangup()
            return None
        try:
            if leg.remote_sdp:
                await call.reinvite(leg.remote_sdp)
        except Exception as exc:  # the customer refused the new media: no person-to-person call
            log.warning("re-INVITE of the called party failed: %r", exc)
            self.stats["reinvite_failed"] += 1
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                await leg.hangup()
            return None
        self.stats["bridged"] += 1
        return leg

    async def talk(self, call, leg) -> None:
        """Until either side hangs up; then hang up the other."""
        try:
            async with trio.open_nursery() as nursery:
                async def watch(side):
                    await side.wait_ended()
                    nursery.cancel_scope.cancel()

                nursery.start_soon(watch, call)
                nursery.start_soon(watch, leg)
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(10):
                for side in (call, leg):
                    if side.state != "ended":
                        await side.hangup()
