"""SIP peers built on our own endpoint for engine tests: a carrier that answers, an operator
phone that registers with the dialer and auto-answers. (The simulator's carrier and operator
team replace these in the whole-day tests once merged; pyVoIP is the foreign phone.)"""

from __future__ import annotations

import trio

from dialer.sip.endpoint import open_endpoint
from dialer.sip.sdp import answer_offer, parse_sdp
from dialer.sip.trunk import Trunk


async def run_endpoint(net, kwargs, *, task_status=trio.TASK_STATUS_IGNORED):
    async with open_endpoint(net, "127.0.0.1", 0, **kwargs) as endpoint:
        task_status.started(endpoint)
        await trio.sleep_forever()


def carrier_handler(log: list, *, ring=2.0, talk=40.0, media_port=30000):
    """Every call: ring, answer, talk, hang up. Records re-INVITE offers it receives."""
    async def handler(call):
        entry = {"call": call, "reinvites": []}
        log.append(entry)

        def on_reinvite(c, offer):
            entry["reinvites"].append(offer)
            return answer_offer(parse_sdp(offer), "127.0.0.1", media_port).to_bytes()

        call.on_reinvite = on_reinvite
        await call.ring()
        await trio.sleep(ring)
        await call.answer(answer_offer(parse_sdp(call.remote_sdp), "127.0.0.1", media_port).to_bytes())
        await trio.sleep(talk)
        if call.state == "answered":
            await call.hangup()
    return handler


def phone_handler(log: list, *, media_port=31000, answer_after=0.2):
    async def handler(call):
        log.append(call)
        await call.ring()
        await trio.sleep(answer_after)
        await call.answer(answer_offer(parse_sdp(call.remote_sdp), "127.0.0.1", media_port).to_bytes())
    return handler


async def register_phone(phone, registrar_endpoint, user, password, expires=600):
    host, port = registrar_endpoint.local_address
    return await phone.register(Trunk("registrar", host, port, username=user, password=password),
                                expires=expires)
