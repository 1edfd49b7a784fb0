"""Uploads: lead import with mapping, preview and summary; bulk edit with preview and typed confirmation."""

from api_helpers import add_lead

CSV = """Phone,First,Last,State
(212) 555-0100,Ada,Lovelace,NY
310-555-0199,Bob,Builder,CA
not a phone,Bad,Row,TX
"""


async def test_import_preview_then_import(web, campaign):
    h = await web.login("sue", "supervisor")
    body = {"filename": "spring.csv", "content": CSV, "map": "Phone=phone,First=first_name,Last=last_name,State=region",
            "list": "fresh", "preview": True}
    r = await web.client.post("/api/campaigns/spring/imports", headers=h, json=body)
    assert r.status_code == 200, r.text
    preview = r.json()
    assert preview["dry_run"] is True and preview["rows"] == 3 and preview["invalid"] == 1
    assert preview["first_rejects"] and preview["filename"] == "spring.csv"
    assert await web.store.fetchval("SELECT count(*) FROM lead") == 0

    r = await web.client.post("/api/campaigns/spring/imports", headers=h, json={**body, "preview": False})
    assert r.status_code == 200, r.text
    assert r.json()["imported"] == 2
    phones = {row["phone"] for row in await web.store.fetch("SELECT phone FROM lead")}
    assert phones == {"+12125550100", "+13105550199"}


async def test_import_bad_input_is_named(web, campaign):
    h = await web.login("sue", "supervisor")
    base = {"filename": "x.csv", "content": CSV, "map": "Phone=phone", "list": "fresh"}
    cases = [({"map": "Phone"}, "map"), ({"map": "Telephone=phone"}, "Telephone"), ({"content": ""}, "content"),
             ({"list": "nope"}, "nope"), ({"header": "yes"}, "header"), ({"map": 5}, "map")]
    for change, word in cases:
        r = await web.client.post("/api/campaigns/spring/imports", headers=h, json={**base, **change})
        assert r.status_code in (400, 404), (change, r.text)
        assert word in r.json()["error"], (change, r.json())
    assert await web.store.fetchval("SELECT count(*) FROM lead") == 0


async def test_oversized_upload_is_413(web, campaign):
    h = await web.login("sue", "supervisor")
    big = "Phone\n" + "2125550100\n" * 10_000
    r = await web.client.post("/api/campaigns/spring/imports", headers=h,
                              json={"filename": "big.csv", "content": big, "map": "Phone=phone", "list": "fresh"})
    assert r.status_code == 413 and "over the limit" in r.json()["error"]


async def test_bulk_edit_preview_and_typed_confirmation(web, campaign):
    h = await web.login("sue", "supervisor")
    a = await add_lead(web.store, campaign, status="CAUTION", email="old@example.com")
    b = await add_lead(web.store, campaign, status="CAUTION", email="b@example.com")
    locked = await add_lead(web.store, campaign, status="SALE")
    content = f"Lead ID,Email\n{a},new@example.com\n{b},b@example.com\n{locked},x@example.com\n999999,y@example.com\n"
    body = {"content": content, "map": "Lead ID=id,Email=email"}
    r = await web.client.post("/api/campaigns/spring/bulk-edit", headers=h, json={**body, "preview": True})
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["applied"] is False and plan["will_change"] == 1 and plan["unchanged"] == 1
    assert plan["samples"]["email"][0] == {"lead_id": a, "old": "old@example.com", "new": "new@example.com"}
    assert [x["lead_id"] for x in plan["not_editable"]] == [locked]
    assert [x["lead_id"] for x in plan["not_found"]] == [999999]

    r = await web.client.post("/api/campaigns/spring/bulk-edit", headers=h, json={**body, "confirm": 2})
    assert r.status_code == 400 and "nothing changed" in r.json()["error"]
    assert await web.store.fetchval("SELECT email FROM lead WHERE id = $1", a) == "old@example.com"
    r = await web.client.post("/api/campaigns/spring/bulk-edit", headers=h, json=body)
    assert r.status_code == 400 and r.json()["field"] == "confirm"
    r = await web.client.post("/api/campaigns/spring/bulk-edit", headers=h, json={**body, "confirm": 1})
    assert r.status_code == 200 and r.json()["applied"] is True, r.text
    assert await web.store.fetchval("SELECT email FROM lead WHERE id = $1", a) == "new@example.com"
    r = await web.client.post("/api/campaigns/spring/bulk-edit", headers=h,
                              json={"content": "Email\nx@example.com\n", "map": "Email=email", "preview": True})
    assert r.status_code == 400 and "lead id" in r.json()["error"]
