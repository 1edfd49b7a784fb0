"""Operator endpoints over the desk: state, screen pop, wrap-up, live events, visibility."""

import datetime as dt
import json

import trio

from api_helpers import add_attempt, add_lead


async def ready_operator(web, campaign, name="olga"):
    h = await web.login(name, "operator")
    r = await web.client.post("/api/operator/login", headers=h, json={"campaign": "spring"})
    assert r.status_code == 200 and r.json()["state"] == "paused", r.text
    r = await web.client.post("/api/operator/ready", headers=h)
    assert r.status_code == 200 and r.json()["state"] == "ready"
    return h, web.users[name]["operator_id"]


async def bridge_call(web, campaign, operator_id, **lead_fields):
    lead = await add_lead(web.store, campaign, **lead_fields)
    attempt = await add_attempt(web.store, campaign, lead, operator_id)
    web.desk.offer_call(operator_id, lead, attempt)
    return lead, attempt


async def test_login_ready_pause_logout(web, campaign):
    h, op = await ready_operator(web, campaign)
    r = await web.client.post("/api/operator/pause", headers=h, json={"reason": "coffee"})
    assert r.json()["state"] == "paused" and r.json()["reason"] == "coffee"
    r = await web.client.get("/api/operator/status", headers=h)
    assert r.json()["state"] == "paused" and r.json()["campaign_id"] == campaign["id"]
    r = await web.client.post("/api/operator/pause", headers=h, json={})
    assert r.status_code == 400 and r.json()["field"] == "reason"
    r = await web.client.post("/api/operator/logout", headers=h)
    assert r.json()["state"] == "logged_out"
    r = await web.client.post("/api/operator/ready", headers=h)
    assert r.status_code == 409 and "logged out" in r.json()["error"]
    r = await web.client.post("/api/operator/login", headers=h, json={"campaign": "autumn"})
    assert r.status_code == 404


async def test_screen_pop_and_wrap_with_note(web, campaign):
    h, op = await ready_operator(web, campaign)
    r = await web.client.get("/api/operator/call", headers=h)
    assert r.status_code == 404 and "no call now" in r.json()["error"]
    lead, attempt = await bridge_call(web, campaign, op, first_name="Grace", last_name="Hopper")
    r = await web.client.get("/api/operator/call", headers=h)
    assert r.status_code == 200, r.text
    pop = r.json()
    assert pop["attempt_id"] == attempt and pop["lead"]["first_name"] == "Grace"
    assert [c["id"] for c in pop["lead"]["history"]] == [attempt]
    assert "SALE" in {w["code"] for w in pop["wrap_codes"]}
    # The operator cannot go anywhere before wrapping.
    assert (await web.client.post("/api/operator/pause", headers=h, json={"reason": "x"})).status_code == 409

    r = await web.client.post("/api/operator/wrap", headers=h, json={"code": "BOGUS"})
    assert r.status_code == 400 and "BOGUS" in r.json()["error"]
    r = await web.client.post("/api/operator/wrap", headers=h, json={"code": "SALE", "notes": "two boxes"})
    assert r.status_code == 200, r.text
    row = await web.store.fetchrow("SELECT wrap_code, notes FROM attempt WHERE id = $1", attempt)
    assert dict(row) == {"wrap_code": "SALE", "notes": "two boxes"}
    lead_row = await web.store.fetchrow("SELECT status, completed, wrap_code FROM lead WHERE id = $1", lead)
    assert dict(lead_row) == {"status": "SALE", "completed": True, "wrap_code": "SALE"}
    assert (await web.client.get("/api/operator/status", headers=h)).json()["state"] == "ready"
    r = await web.client.get("/api/operator/calls", headers=h)
    assert [(c["id"], c["wrap_code"]) for c in r.json()["calls"]] == [(attempt, "SALE")]


async def test_wrap_with_callback_and_my_callbacks(web, campaign):
    h, op = await ready_operator(web, campaign)
    lead, attempt = await bridge_call(web, campaign, op)
    past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).isoformat()
    r = await web.client.post("/api/operator/wrap", headers=h, json={"code": "CALLBK", "callback_at": past})
    assert r.status_code == 400 and "past" in r.json()["error"], r.text
    r = await web.client.post("/api/operator/wrap", headers=h, json={"code": "CALLBK"})
    assert r.status_code == 400 and "callback" in r.json()["error"], r.text
    r = await web.client.post("/api/operator/wrap", headers=h, json={"code": "CALLBK", "callback_at": "soon"})
    assert r.status_code == 400 and r.json()["field"] == "callback_at"
    r = await web.client.post("/api/operator/wrap", headers=h,
                              json={"code": "CALLBK", "callback_at": "2099-01-02T10:00:00-05:00",
                                    "callback_owned": True, "notes": "after lunch"})
    assert r.status_code == 200, r.text
    r = await web.client.get("/api/operator/callbacks", headers=h)
    (cb,) = r.json()["callbacks"]
    assert cb["lead_id"] == lead and cb["due_at"].startswith("2099-01-02T15:00:00")


async def test_operators_see_only_their_own_leads_and_calls(web, campaign):
    h1, op1 = await ready_operator(web, campaign, "olga")
    h2, op2 = await ready_operator(web, campaign, "omar")
    lead, attempt = await bridge_call(web, campaign, op1)
    stranger = await add_lead(web.store, campaign, first_name="Stranger")
    assert (await web.client.get(f"/api/operator/leads/{lead}", headers=h1)).status_code == 200
    for h, lid in ((h2, lead), (h1, stranger), (h1, 999999)):
        r = await web.client.get(f"/api/operator/leads/{lid}", headers=h)
        assert r.status_code == 404 and "among your calls" in r.json()["error"]
    assert (await web.client.get("/api/operator/calls", headers=h2)).json()["calls"] == []
    assert (await web.client.get("/api/operator/call", headers=h2)).status_code == 404
    # omar cannot wrap olga's call: he has none.
    assert (await web.client.post("/api/operator/wrap", headers=h2, json={"code": "SALE"})).status_code == 409


async def test_preview_needs_the_engine(web, campaign):
    h, op = await ready_operator(web, campaign)
    for action in ("next", "dial", "skip"):
        r = await web.client.post(f"/api/operator/preview/{action}", headers=h)
        assert r.status_code == 503 and "engine" in r.json()["error"]


async def test_live_events_show_the_call(web, campaign):
    h, op = await ready_operator(web, campaign)
    seen = []
    async with web.client.stream("GET", "/api/operator/events", headers=h) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        with trio.fail_after(10):
            async for line in lines:
                if line.startswith("data: "):
                    seen.append(json.loads(line[6:]))
                    if len(seen) == 1:
                        await bridge_call(web, campaign, op)
                    if seen[-1]["state"] == "on_call":
                        break
    assert seen[0]["state"] == "ready"
    assert seen[-1]["call"]["lead_id"]


async def test_event_stream_sends_keepalives(web, campaign):
    h, op = await ready_operator(web, campaign)
    async with web.client.stream("GET", "/api/operator/events", headers=h) as response:
        with trio.fail_after(10):
            async for line in response.aiter_lines():
                if line.startswith(": keep-alive"):
                    break
