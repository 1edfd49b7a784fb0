"""Supervisor endpoints: campaigns, lists (with shares), leads, wallboard, users."""

from api_helpers import add_attempt, add_lead


async def test_campaign_list_show_and_change(web, campaign):
    h = await web.login("sue", "supervisor")
    r = await web.client.get("/api/campaigns", headers=h)
    assert [c["name"] for c in r.json()["campaigns"]] == ["spring"]
    r = await web.client.get("/api/campaigns/spring", headers=h)
    assert r.status_code == 200 and len(r.json()["lists"]) == 3
    assert {"SALE", "LEAD"} <= {w["code"] for w in r.json()["wrap_codes"]}

    r = await web.client.patch(f"/api/campaigns/{campaign['id']}", headers=h,
                               json={"active": False, "dial_mode": "power", "pacing": {"power_ratio": 2.5}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["active"] is False and body["dial_mode"] == "power"
    assert body["settings"]["pacing"]["power_ratio"] == 2.5
    row = await web.store.fetchrow("SELECT active, dial_mode FROM campaign WHERE id = $1", campaign["id"])
    assert (row["active"], row["dial_mode"]) == (False, "power")


async def test_campaign_changes_are_checked_and_atomic(web, campaign):
    h = await web.login("sue", "supervisor")
    cases = [({"dial_mode": "telepathic"}, "dial_mode"), ({"active": "yes"}, "active"),
             ({"pacing": {"target_abandon_rate": 3}}, "pacing.target_abandon_rate"),
             ({"pacing": {"warp": 1}}, "pacing.warp"), ({"name": "x"}, "name")]
    for body, field in cases:
        r = await web.client.patch("/api/campaigns/spring", headers=h, json={"active": False, **body})
        assert r.status_code == 400 and r.json()["field"] == field, (body, r.text)
    # Nothing half-applied: `active` in the same request was rolled back.
    assert await web.store.fetchval("SELECT active FROM campaign WHERE id = $1", campaign["id"]) is True
    r = await web.client.patch("/api/campaigns/nope", headers=h, json={"active": False})
    assert r.status_code == 404 and "no campaign 'nope'" in r.json()["error"]


async def test_list_weight_changes_the_share(web, campaign):
    h = await web.login("sue", "supervisor")
    r = await web.client.get(f"/api/campaigns/{campaign['id']}/lists", headers=h)
    assert [l["weight_percent"] for l in r.json()["lists"]] == [60.0, 30.0, 10.0]
    fresh, old, vip = campaign["list_ids"]
    r = await web.client.patch(f"/api/lists/{vip}", headers=h, json={"weight": 70})
    assert r.status_code == 200, r.text
    assert [l["weight_percent"] for l in r.json()["lists"]] == [37.5, 18.8, 43.8]
    assert r.json()["list"]["weight"] == 70
    r = await web.client.patch(f"/api/lists/{old}", headers=h, json={"to_dial": False, "strategy": "newest"})
    lists = {l["name"]: l for l in r.json()["lists"]}
    assert lists["old"]["weight_percent"] is None and lists["old"]["strategy"] == "newest"
    assert lists["fresh"]["weight_percent"] == 46.2


async def test_list_changes_are_checked(web, campaign):
    h = await web.login("sue", "supervisor")
    lid = campaign["list_ids"][0]
    for body, field in (({"weight": -1}, "weight"), ({"weight": "ten"}, "weight"), ({"weight": True}, "weight"),
                        ({"strategy": "loudest"}, "strategy"), ({"campaign_id": 2}, "campaign_id")):
        r = await web.client.patch(f"/api/lists/{lid}", headers=h, json=body)
        assert r.status_code == 400 and r.json()["field"] == field, r.text
    r = await web.client.patch(f"/api/lists/{lid}", headers=h, json={})
    assert r.status_code == 400 and "nothing to change" in r.json()["error"]
    r = await web.client.patch("/api/lists/999999", headers=h, json={"weight": 1})
    assert r.status_code == 404
    assert await web.store.fetchval("SELECT weight FROM lead_list WHERE id = $1", lid) == 60


async def test_lead_search_and_show(web, campaign):
    h = await web.login("sue", "supervisor")
    ada = await add_lead(web.store, campaign)
    bob = await add_lead(web.store, campaign, 1, first_name="Bob", last_name="Builder", phone="+13105550199")
    attempt = await add_attempt(web.store, campaign, bob)
    r = await web.client.get("/api/leads", headers=h, params={"phone": "+13105550199"})
    assert [l["id"] for l in r.json()["leads"]] == [bob]
    r = await web.client.get("/api/leads", headers=h, params={"id": str(ada)})
    assert [l["id"] for l in r.json()["leads"]] == [ada]
    r = await web.client.get("/api/leads", headers=h, params={"list": "old"})
    assert [l["id"] for l in r.json()["leads"]] == [bob]
    r = await web.client.get("/api/leads", headers=h, params={"attempt": attempt, "completed": "false"})
    assert [l["id"] for l in r.json()["leads"]] == [bob]
    for bad in ({"colour": "red"}, {"completed": "maybe"}, {"contacted_from": "yesterday"}, {"id": "abc"}):
        r = await web.client.get("/api/leads", headers=h, params=bad)
        assert r.status_code == 400 and r.json()["error"], (bad, r.text)
    r = await web.client.get(f"/api/leads/{bob}", headers=h)
    assert r.status_code == 200 and r.json()["list"] == "old"
    assert len(r.json()["history"]) == 1 and r.json()["history"][0]["outcome"] == "answered"
    assert (await web.client.get("/api/leads/999999", headers=h)).status_code == 404


async def test_lead_edit_wrap_copy_delete(web, campaign):
    h = await web.login("sue", "supervisor")
    lead = await add_lead(web.store, campaign)
    r = await web.client.patch(f"/api/leads/{lead}", headers=h, json={"first_name": "Augusta", "phone": "(212) 555-0111"})
    assert r.status_code == 200, r.text
    assert r.json()["changes"]["phone"]["new"] == "+12125550111"
    notes = (await web.client.get(f"/api/leads/{lead}", headers=h)).json()["notes"]
    assert notes[-1]["author"] == "sue" and "Augusta" in notes[-1]["body"]
    r = await web.client.patch(f"/api/leads/{lead}", headers=h, json={"phone": "not a number"})
    assert r.status_code == 400 and "phone" in r.json()["error"]
    r = await web.client.patch(f"/api/leads/{lead}", headers=h, json={"shoe_size": "9"})
    assert r.status_code == 400
    assert await web.store.fetchval("SELECT first_name FROM lead WHERE id = $1", lead) == "Augusta"

    r = await web.client.post(f"/api/leads/{lead}/wrap", headers=h, json={"code": "NOPE"})
    assert r.status_code == 400 and "NOPE" in r.json()["error"]
    r = await web.client.post(f"/api/leads/{lead}/wrap", headers=h, json={"code": "SALE", "note": "by phone"})
    assert r.status_code == 200 and r.json()["completed"] is True, r.text

    r = await web.client.post(f"/api/leads/{lead}/copy", headers=h, json={"to_list": "vip", "customer_key": "K1"})
    assert r.status_code == 200 and r.json()["updated"] is False, r.text
    copy = r.json()["lead_id"]
    r = await web.client.post(f"/api/leads/{lead}/copy", headers=h, json={"to_list": "nowhere"})
    assert r.status_code == 404

    r = await web.client.delete(f"/api/leads/{copy}", headers=h)
    assert r.status_code == 400 and r.json()["field"] == "confirm"
    r = await web.client.delete(f"/api/leads/{copy}", headers=h, params={"confirm": copy})
    assert r.status_code == 200
    assert (await web.client.get(f"/api/leads/{copy}", headers=h)).status_code == 404


async def test_dnc(web, campaign):
    h = await web.login("sue", "supervisor")
    r = await web.client.post("/api/dnc", headers=h, json={"numbers": ["(212) 555-0100", "+13105550199"],
                                                          "campaign": "spring"})
    assert r.status_code == 200 and r.json()["added"] == 2, r.text
    r = await web.client.get("/api/dnc", headers=h, params={"campaign": "spring"})
    assert {n["phone"] for n in r.json()["numbers"]} == {"+12125550100", "+13105550199"}
    r = await web.client.post("/api/dnc/check", headers=h, json={"numbers": ["2125550100", "2125550101"],
                                                                "campaign": "spring"})
    assert [n["dnc"] for n in r.json()["numbers"]] == [True, False]
    r = await web.client.post("/api/dnc/remove", headers=h, json={"numbers": ["2125550100"], "campaign": "spring"})
    assert r.json()["removed"] == 1
    r = await web.client.post("/api/dnc", headers=h, json={"numbers": ["12", "+13105550199"]})
    assert r.status_code == 400 and r.json()["field"] == "numbers[0]"
    r = await web.client.post("/api/dnc", headers=h, json={"numbers": []})
    assert r.status_code == 400


async def test_wallboard(web, campaign):
    h = await web.login("sue", "supervisor")
    await web.login("olga", "operator")
    op = web.users["olga"]["operator_id"]
    await web.desk.login(op, campaign["id"])
    await web.desk.ready(op)
    lead = await add_lead(web.store, campaign)
    await add_attempt(web.store, campaign, lead, outcome="abandoned")
    await add_attempt(web.store, campaign, lead, outcome="answered")
    await web.store.execute("""INSERT INTO attempt (lead_id, campaign_id, list_id, called_number, started_at)
                               VALUES ($1, $2, $3, '+12125550100', now())""", lead, campaign["id"],
                            campaign["list_ids"][0])
    await web.store.execute("UPDATE lead SET lease_owner = 'node-1', lease_expires_at = now() + interval '1 minute'")
    for _ in range(2):
        await add_lead(web.store, campaign, lease_owner="node-1", lease_expires_at=None)
    await web.store.execute("UPDATE lead SET lease_expires_at = now() + interval '1 minute'")
    r = await web.client.get("/api/wallboard", headers=h)
    assert r.status_code == 200, r.text
    board = r.json()
    assert board["operators_by_state"] == {"ready": 1}
    assert board["operators"][0]["name"] == "olga"
    (c,) = board["campaigns"]
    assert c["calls_in_flight"] == 1 and c["abandon_rate"] == 0.5 and c["dials"] == 3
    assert c["hopper_depth"] == 2  # three leased leads, one of them in a call
    assert {l["name"]: l["dials"] for l in c["lists"]} == {"fresh": 3, "old": 0, "vip": 0}


async def test_admin_user_management(web):
    admin = await web.login("root", "admin")
    r = await web.client.post("/api/users", headers=admin,
                              json={"name": "vera", "role": "validator", "password": "validate me"})
    assert r.status_code == 201, r.text
    r = await web.client.post("/api/users", headers=admin,
                              json={"name": "vera", "role": "validator", "password": "validate me"})
    assert r.status_code == 400 and "already exists" in r.json()["error"]
    r = await web.client.post("/api/users", headers=admin, json={"name": "w", "role": "king", "password": "x" * 9})
    assert r.status_code == 400 and r.json()["field"] == "role"
    r = await web.client.post("/api/users", headers=admin, json={"name": "w", "role": "admin", "password": "short"})
    assert r.status_code == 400 and r.json()["field"] == "password"
    r = await web.client.get("/api/users", headers=admin)
    assert {u["name"] for u in r.json()["users"]} == {"root", "vera"}
    r = await web.client.patch("/api/users/999999", headers=admin, json={"active": False})
    assert r.status_code == 404
    r = await web.client.post("/api/login", json={"name": "vera", "password": "validate me"})
    assert r.status_code == 200 and r.json()["user"]["role"] == "validator"
