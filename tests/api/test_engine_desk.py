"""The API over the engine's own operator desk (runs once dialer.engine is on the branch)."""

import json
from types import SimpleNamespace

import pytest
import trio

from api_helpers import Web, add_attempt, add_lead
from dialer.api import Settings, create_app, serve
from dialer.api.engine_desk import EngineDesk

operators = pytest.importorskip("dialer.engine.operators", reason="the engine's operator desk is not merged yet")


@pytest.fixture
async def engine_web(store, nursery, campaign):
    desk = operators.OperatorDesk()
    app = create_app(store, SimpleNamespace(desk=desk), settings=Settings(sse_keepalive_seconds=0.5))
    assert isinstance(app.state.api.desk, EngineDesk)
    (url,) = await nursery.start(serve, app, "127.0.0.1", 0)
    web = Web(app, url, store, app.state.api.desk)
    yield web, desk
    await web.client.aclose()


async def test_operator_journey_over_the_engine_desk(engine_web, campaign):
    web, desk = engine_web
    h = await web.login("olga", "operator")
    me = web.users["olga"]["operator_id"]
    r = await web.client.post("/api/operator/login", headers=h, json={"campaign": campaign["id"]})
    assert r.status_code == 200 and r.json()["state"] == "paused", r.text
    assert (await web.client.post("/api/operator/ready", headers=h)).json()["state"] == "ready"
    assert desk.ready_count(campaign["id"]) == 1

    lead = await add_lead(web.store, campaign, first_name="Grace")
    attempt = await add_attempt(web.store, campaign, lead, me)
    async with web.client.stream("GET", "/api/operator/events", headers=h) as events:
        lines = events.aiter_lines()
        op = desk.try_reserve(campaign["id"])
        assert op.id == me
        desk.connect(op, operators.CallInfo(attempt_id=attempt, lead_id=lead, campaign_id=campaign["id"]))
        with trio.fail_after(10):
            async for line in lines:
                if line.startswith("data: ") and json.loads(line[6:])["state"] == "on_call":
                    break
    pop = (await web.client.get("/api/operator/call", headers=h)).json()
    assert pop["lead"]["first_name"] == "Grace" and pop["attempt_id"] == attempt
    r = await web.client.post("/api/operator/wrap", headers=h, json={"code": "SALE"})
    assert r.status_code == 409 and "still connected" in r.json()["error"]
    desk.hangup(op)
    r = await web.client.post("/api/operator/wrap", headers=h, json={"code": "SALE", "notes": "ok"})
    assert r.status_code == 200 and r.json()["state"] == "ready", r.text
    board = (await web.client.get("/api/wallboard", headers=await web.login("sue", "supervisor"))).json()
    assert board["operators_by_state"] == {"ready": 1}
    r = await web.client.post("/api/operator/preview/next", headers=h)
    assert r.status_code == 503 and "no campaign of yours is running" in r.json()["error"]
    # The engine's state machine speaks through the API: a pause while ready is fine, a second login is not.
    assert (await web.client.post("/api/operator/login", headers=h, json={"campaign": "spring"})).status_code == 409
