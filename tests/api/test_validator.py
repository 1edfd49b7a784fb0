"""Validators see held leads only and set their contact status with notes."""

from api_helpers import add_lead


async def test_held_leads_and_confirm_reject(web, campaign):
    h = await web.login("vera", "validator")
    held = await add_lead(web.store, campaign, contact_status="unconfirmed", wrap_code="LEAD")
    other = await add_lead(web.store, campaign, first_name="Not", last_name="Held")
    gone = await add_lead(web.store, campaign, contact_status="unconfirmed", valid=False)
    r = await web.client.get("/api/validation/leads", headers=h)
    assert r.status_code == 200
    (lead,) = r.json()["leads"]
    assert lead["id"] == held and lead["phone"] == "+12125550100" and lead["contact_status"] == "unconfirmed"

    r = await web.client.post(f"/api/validation/leads/{held}", headers=h,
                              json={"contact_status": "confirmed", "note": "customer agreed"})
    assert r.status_code == 200, r.text
    assert r.json()["contact_status"] == "confirmed"
    note = await web.store.fetchrow("SELECT author, body FROM lead_note WHERE lead_id = $1 ORDER BY id DESC", held)
    assert note["author"] == "vera" and "customer agreed" in note["body"]
    assert (await web.client.get("/api/validation/leads", headers=h)).json()["leads"] == []

    # Back to unconfirmed, then rejected: rejected leads become invalid and leave the queue.
    await web.client.post(f"/api/validation/leads/{held}", headers=h, json={"contact_status": "unconfirmed"})
    assert len((await web.client.get("/api/validation/leads", headers=h)).json()["leads"]) == 1
    r = await web.client.post(f"/api/validation/leads/{held}", headers=h,
                              json={"contact_status": "rejected", "note": "wrong person"})
    assert r.json()["valid"] is False
    assert (await web.client.get("/api/validation/leads", headers=h)).json()["leads"] == []
    notes = await web.store.fetch("SELECT body FROM lead_note WHERE lead_id = $1 ORDER BY id", held)
    assert len(notes) == 3

    # Leads that are not held are not the validator's.
    r = await web.client.post(f"/api/validation/leads/{other}", headers=h, json={"contact_status": "confirmed"})
    assert r.status_code == 400 and "not held for validation" in r.json()["error"]
    assert gone


async def test_bad_status_is_named(web, campaign):
    h = await web.login("vera", "validator")
    held = await add_lead(web.store, campaign, contact_status="unconfirmed")
    r = await web.client.post(f"/api/validation/leads/{held}", headers=h, json={"contact_status": "maybe"})
    assert r.status_code == 400 and r.json()["field"] == "contact_status"
    r = await web.client.post(f"/api/validation/leads/{held}", headers=h, json={})
    assert r.status_code == 400 and r.json()["field"] == "contact_status"
    assert await web.store.fetchval("SELECT contact_status FROM lead WHERE id = $1", held) == "unconfirmed"
