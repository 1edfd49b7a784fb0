"""The three journeys of issue 10 in headless Chromium, plus layout at tablet size."""

from __future__ import annotations

import re

import pytest
from browser_helpers import login, screenshot

from dialer.store.campaigns import create_campaign

pytestmark = pytest.mark.peers


def make_campaign(server) -> dict:
    camp = server.run(server.store.run, create_campaign, {"name": "spring", "validation": True})
    lists = []
    for name, weight in (("fresh", 60), ("old", 30), ("vip", 10)):
        lists.append(server.sql("INSERT INTO lead_list (campaign_id, name, to_dial, weight) "
                                "VALUES ($1, $2, true, $3) RETURNING id", camp["id"], name, weight))
    camp["lists"] = lists
    return camp


def add_lead(server, camp, first, last, phone, **extra) -> int:
    return server.sql(
        """INSERT INTO lead (campaign_id, list_id, phone, first_name, last_name, timezone, city, region,
               contact_status, wrap_code, fields)
           VALUES ($1, $2, $3, $4, $5, 'America/Chicago', 'Springfield', 'IL', $6, $7, $8) RETURNING id""",
        camp["id"], camp["lists"][0], phone, first, last, extra.get("contact_status"), extra.get("wrap_code"),
        '{"plan": "gold", "account": "A-1042"}')


def bridged_attempt(server, camp, lead_id, operator_id, outcome="answered") -> int:
    return server.sql(
        """INSERT INTO attempt (lead_id, campaign_id, list_id, called_number, caller_number, started_at,
               answered_at, bridged_at, ended_at, outcome, operator_id, sip_status)
           SELECT id, campaign_id, list_id, phone, '+18005550000', now() - interval '2 min',
                  now() - interval '110 s', now() - interval '109 s', $3, $2, $4, 200 FROM lead WHERE id = $1
           RETURNING id""", lead_id, outcome, None if outcome == "answered" else __import__("datetime").datetime.now(
            __import__("datetime").timezone.utc), operator_id)


def test_operator_takes_a_call_and_wraps_it(server, page, tmp_path):
    camp = make_campaign(server)
    olga = server.add_user("olga", "operator")
    lead = add_lead(server, camp, "Grace", "Hopper", "+13125550142")
    earlier = server.sql("""INSERT INTO attempt (lead_id, campaign_id, list_id, called_number, started_at, ended_at,
                                outcome) SELECT id, campaign_id, list_id, phone, now() - interval '1 day',
                                now() - interval '1 day', 'no_answer' FROM lead WHERE id = $1 RETURNING id""", lead)
    assert earlier

    login(page, server, "olga")
    page.wait_for_url("**/operator")
    page.wait_for_selector("#state[data-state=logged_out]")
    page.click("#login-campaign")
    page.wait_for_selector("#state[data-state=paused]")
    page.click("#ready")
    page.wait_for_selector("#state[data-state=ready]")

    # The engine's bridge connects a live answer to the longest-idle ready operator: simulated here.
    attempt = bridged_attempt(server, camp, lead, olga["operator_id"])
    server.run_sync(server.desk.offer_call, olga["operator_id"], lead, attempt)

    page.wait_for_selector("#pop:not([hidden])")
    assert page.text_content("#pop-name") == "Grace Hopper"
    fields = page.text_content("#pop-fields")
    assert "+13125550142" in fields and "gold" in fields and "A-1042" in fields
    history = page.text_content("#pop-history")
    assert "no_answer" in history and "answered" in history
    assert page.get_attribute("#state", "data-state") == "on_call"
    screenshot(page, "operator", tmp_path)

    page.select_option("#wrap-code", "SALE")
    page.fill("#wrap-notes", "Upgraded to the gold plan; send the contract by mail")
    page.click("#save-wrap")
    page.wait_for_selector("#state[data-state=ready]")
    page.wait_for_selector("#pop", state="hidden")
    assert "Saved SALE" in page.text_content("#msg")
    assert server.sql("SELECT wrap_code || '|' || notes FROM attempt WHERE id = $1", attempt) == \
        "SALE|Upgraded to the gold plan; send the contract by mail"
    assert server.sql("SELECT status FROM lead WHERE id = $1", lead) == "SALE"
    page.wait_for_function("document.querySelector('#calls').textContent.includes('SALE')")


def test_validator_confirms_a_held_lead(server, page, tmp_path):
    camp = make_campaign(server)
    server.add_user("vera", "validator")
    held = add_lead(server, camp, "Alan", "Turing", "+16175550123", contact_status="unconfirmed", wrap_code="LEAD")
    add_lead(server, camp, "Katherine", "Johnson", "+17575550188", contact_status="unconfirmed", wrap_code="LEAD")
    add_lead(server, camp, "Not", "Held", "+12125550000")

    login(page, server, "vera")
    page.wait_for_url("**/validator")
    row = page.wait_for_selector(f"tr[data-lead='{held}']")
    assert "+16175550123" in row.text_content() and "unconfirmed" in row.text_content()
    assert page.locator("#held tr").count() == 2
    screenshot(page, "validator", tmp_path)

    page.fill(f"tr[data-lead='{held}'] input.note", "Spoke to Alan; details correct")
    page.click(f"tr[data-lead='{held}'] button.confirm")
    page.wait_for_selector(f"tr[data-lead='{held}']", state="detached")
    assert page.locator("#held tr").count() == 1
    assert server.sql("SELECT contact_status FROM lead WHERE id = $1", held) == "confirmed"
    assert "Spoke to Alan" in server.sql("SELECT body FROM lead_note WHERE lead_id = $1", held)


def test_supervisor_changes_a_list_weight_and_sees_the_share(server, page, tmp_path):
    camp = make_campaign(server)
    server.add_user("sue", "supervisor")
    olga = server.add_user("olga", "operator")
    lead = add_lead(server, camp, "Grace", "Hopper", "+13125550142")
    bridged_attempt(server, camp, lead, olga["operator_id"], outcome="abandoned")
    bridged_attempt(server, camp, lead, olga["operator_id"], outcome="no_answer")
    server.run(server.desk.login, olga["operator_id"], camp["id"])
    server.run(server.desk.ready, olga["operator_id"])

    login(page, server, "sue")
    page.wait_for_url("**/wallboard")
    page.wait_for_function("document.querySelector('#operators').textContent.includes('olga')")
    assert page.text_content("#t-ready") == "1"
    assert page.text_content("#t-abandon") == "100.0 %"
    assert "fresh" in page.text_content("#lists")
    screenshot(page, "wallboard", tmp_path)

    page.click("header nav a[href='/lists']")
    page.wait_for_selector("tr[data-list=vip]")
    assert page.text_content("tr[data-list=vip] .share") == "10.0 %"
    page.fill("tr[data-list=vip] input.weight", "70")
    page.click("tr[data-list=vip] button.save")
    page.wait_for_function("document.querySelector('tr[data-list=vip] .share').textContent === '43.8 %'")
    assert page.text_content("tr[data-list=fresh] .share") == "37.5 %"
    assert server.sql("SELECT weight FROM lead_list WHERE id = $1", camp["lists"][2]) == 70


def test_pages_fit_a_tablet_and_refuse_strangers(server, chromium):
    make_campaign(server)
    server.add_user("sue", "supervisor")
    server.add_user("olga", "operator")
    context = chromium.new_context(viewport={"width": 800, "height": 1280}, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(server.url + "/wallboard")  # no session: sent to the login page
        page.wait_for_url(re.compile(r"/login\?next=%2Fwallboard$"))
        login(page, server, "sue")
        page.wait_for_url("**/wallboard")
        for path in ("/wallboard", "/lists", "/leads", "/imports", "/validator"):
            page.goto(server.url + path)
            page.wait_for_selector("header .who button")
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
        page.click("#logout")
        page.wait_for_url("**/login")
        login(page, server, "olga")
        page.wait_for_url("**/operator")
        page.wait_for_selector("#state[data-state=logged_out]")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        context.close()


def test_supervisor_imports_a_file_and_edits_a_lead(server, page, tmp_path):
    camp = make_campaign(server)
    server.add_user("sue", "supervisor")
    login(page, server, "sue")
    page.wait_for_url("**/wallboard")
    page.click("header nav a[href='/imports']")
    page.wait_for_selector("#i-list option[value=fresh]", state="attached")
    csv = b"Phone,First,Last\n(212) 555-0100,Ada,Lovelace\n310-555-0199,Bob,Builder\nnope,Bad,Row\n"
    page.set_input_files("#i-file", files=[{"name": "spring.csv", "mimeType": "text/csv", "buffer": csv}])
    page.wait_for_function("document.querySelector('#i-map').value.includes('Phone=')")
    page.fill("#i-map", "Phone=phone, First=first_name, Last=last_name")
    page.select_option("#i-list", "fresh")
    page.click("#i-preview")
    page.wait_for_selector("dd[data-key='would import']")
    assert page.text_content("dd[data-key='would import']") == "2"
    assert page.text_content("dd[data-key=invalid]") == "1"
    assert server.sql("SELECT count(*) FROM lead") == 0
    page.click("#i-run")
    page.wait_for_selector("dd[data-key=imported]")
    assert server.sql("SELECT count(*) FROM lead WHERE list_id = $1", camp["lists"][0]) == 2

    page.click("header nav a[href='/leads']")
    page.select_option("#by", "phone")
    page.fill("#q", "+13105550199")
    page.click("#search button[type=submit]")
    page.click("#results a")
    page.wait_for_selector("#detail:not([hidden])")
    assert "Bob" in page.text_content("#d-fields")
    page.select_option("#e-field", "first_name")
    page.fill("#e-value", "Robert")
    page.click("#edit button[type=submit]")
    page.wait_for_function("document.querySelector('#d-fields').textContent.includes('Robert')")
    assert "Robert" in page.text_content("#d-notes")
    assert server.sql("SELECT first_name FROM lead WHERE phone = '+13105550199'") == "Robert"
