"""The lifecycle commands end to end: `dialer campaign rules show`, `dialer lead ...`,
`dialer validation ...`, `dialer leads bulk-edit`."""

import datetime as dt
from functools import partial

import trio

from dialer.store import Store
from dialer.store.attempts import AttemptEnd, AttemptStart, finish_attempts, start_attempts

from .dbhelpers import seed


def _seed(database_url, n=3, **kw):
    async def go():
        async with Store.open(database_url) as store:
            s = await store.run(partial(seed, **kw), n)
            start = dt.datetime(2026, 3, 2, 15, tzinfo=dt.timezone.utc)
            ids = await store.run(start_attempts, [AttemptStart(s["leads"][0], s["campaign_id"], "+12025550001",
                                                                start, list_id=s["list_id"], caller_number="+12025559999")])
            await store.run(finish_attempts, [AttemptEnd(ids[0], "answered", start + dt.timedelta(seconds=40),
                                                         sip_status=200, answered_at=start + dt.timedelta(seconds=5))])
            return s

    return trio.run(go)


def _query(database_url, sql, *args):
    async def go():
        async with Store.open(database_url) as store:
            return [dict(r) for r in await store.fetch(sql, *args)]

    return trio.run(go)


def test_rules_show(cli, database_url):
    _seed(database_url, 1)
    out = cli("campaign", "rules", "show", "c", "--json")
    assert out.code == 0, out
    rules = out.json()
    assert rules["outcome_status"]["no_answer"] == "NA"
    assert {m["name"] for m in rules["call_modes"]} >= {"new", "retry", "callback", "reconfirm"}
    text = cli("campaign", "rules", "show", "c")
    assert text.code == 0 and "put_off" in text.out and "MAXED" in text.out
    missing = cli("campaign", "rules", "show", "nope")
    assert missing.code == 2 and "no campaign 'nope'" in missing.err


def test_lead_show_has_history_and_notes(cli, database_url):
    s = _seed(database_url, 1)
    lead = s["leads"][0]
    assert cli("lead", "wrap", lead, "SALE", "--note", "two boxes", "--author", "alice").code == 0
    shown = cli("lead", "show", lead, "--json").json()
    assert shown["status"] == "SALE" and shown["completed"] and shown["wrap_code"] == "SALE"
    [call] = shown["history"]
    assert (call["called_number"], call["caller_number"], call["sip_status"], call["wrap_code"], call["notes"]) == \
        ("+12025550001", "+12025559999", 200, "SALE", "two boxes")
    assert shown["notes"][0]["author"] == "alice" and shown["last_contacted_at"]
    text = cli("lead", "show", lead)
    assert text.code == 0 and "call history" in text.out and "two boxes" in text.out


def test_unknown_lead_ids_are_clear_errors(cli, database_url):
    _seed(database_url, 1)
    for args in (("show", "99999"), ("edit", "99999", "email=a@b.co"), ("wrap", "99999", "SALE"),
                 ("copy", "99999", "--to-list", "main"), ("delete", "99999", "--yes")):
        out = cli("lead", *args)
        assert out.code == 2 and "no lead with id 99999" in out.err, (args, out)


def test_wrap_errors_change_nothing(cli, database_url):
    s = _seed(database_url, 1)
    lead = s["leads"][1 - 1]
    before = _query(database_url, "SELECT * FROM lead")
    out = cli("lead", "wrap", lead, "BOGUS")
    assert out.code == 2 and "unknown wrap code 'BOGUS'" in out.err
    out = cli("lead", "wrap", lead, "CALLBK", "--callback", "2020-01-01 10:00")
    assert out.code == 2 and "in the past" in out.err
    out = cli("lead", "wrap", lead, "CALLBK", "--callback", "tomorrow")
    assert out.code == 2 and "--callback" in out.err
    out = cli("lead", "wrap", lead, "CALLBK", "--callback", "2099-01-01 10:00", "--owner", "nobody")
    assert out.code == 2 and "--owner: no operator 'nobody'" in out.err
    assert _query(database_url, "SELECT * FROM lead") == before
    assert _query(database_url, "SELECT * FROM callback") == []


def test_wrap_with_owned_callback(cli, database_url):
    s = _seed(database_url, 1)
    out = cli("lead", "wrap", s["leads"][0], "CALLBK", "--callback", "2099-01-05 14:30", "--owner", "c-alice", "--json")
    assert out.code == 0, out
    [cb] = _query(database_url, "SELECT due_at, operator_id FROM callback")
    assert cb["operator_id"] == s["operators"][0]
    assert cb["due_at"] == dt.datetime(2099, 1, 5, 19, 30, tzinfo=dt.timezone.utc)  # 14:30 New York, EST


def test_edit_revalidates_and_notes(cli, database_url):
    s = _seed(database_url, 1)
    lead = s["leads"][0]
    out = cli("lead", "edit", lead, "phone=(202) 555-0199", "email=ann@example.com", "fields.plan=gold",
              "--author", "sup", "--json")
    assert out.code == 0, out
    row = _query(database_url, "SELECT phone, email, fields FROM lead WHERE id = $1", lead)[0]
    assert row["phone"] == "+12025550199" and row["email"] == "ann@example.com" and "gold" in row["fields"]
    [note] = _query(database_url, "SELECT author, kind, body FROM lead_note")
    assert note["author"] == "sup" and "+12025550001 -> +12025550199" in note["body"]
    for bad, msg in (("phone=12", "phone '12'"), ("email=nope", "e-mail"), ("colour=red", "not an editable field"),
                     ("timezone=Mars/Base", "IANA"), ("novalue", "FIELD=VALUE")):
        out = cli("lead", "edit", lead, "first_name=Zed", bad)
        assert out.code == 2 and msg in out.err, (bad, out)
    assert _query(database_url, "SELECT first_name FROM lead")[0]["first_name"] == "Ann1"


def test_copy_and_update_by_customer_key(cli, database_url):
    s = _seed(database_url, 2)
    _query(database_url, "INSERT INTO lead_list (campaign_id, name) VALUES ($1, 'other') RETURNING id",
           s["campaign_id"])
    out = cli("lead", "copy", s["leads"][0], "--to-list", "other", "--json")
    assert out.code == 0 and not out.json()["updated"]
    copied = out.json()["lead_id"]
    out = cli("lead", "copy", s["leads"][1], "--to-list", "other", "--customer-key", "K1", "--json")
    assert out.json() == {"lead_id": copied, "updated": True, "list_id": out.json()["list_id"]}
    assert _query(database_url, "SELECT phone FROM lead WHERE id = $1", copied)[0]["phone"] == "+12025550002"
    assert cli("lead", "copy", s["leads"][0], "--to-list", "nope").code == 2


def test_delete_needs_yes_and_keeps_history(cli, database_url):
    s = _seed(database_url, 1)
    out = cli("lead", "delete", s["leads"][0])
    assert out.code == 2 and "--yes" in out.err
    assert cli("lead", "delete", s["leads"][0], "--yes").code == 0
    assert _query(database_url, "SELECT count(*) AS n FROM lead")[0]["n"] == 0
    assert _query(database_url, "SELECT lead_id FROM attempt") == [{"lead_id": None}]


def test_search(cli, database_url):
    s = _seed(database_url, 12)
    first = s["leads"][0]
    cli("lead", "wrap", first, "SALE", "--operator", "c-alice")
    _query(database_url, "UPDATE lead SET fields = '{\"plan\": \"gold\"}' WHERE id = $1 RETURNING id", s["leads"][3])
    ids = lambda *a: [r["id"] for r in cli("lead", "search", *a, "--json").json()["leads"]]  # noqa: E731
    assert ids(str(first)) == [first] or first in ids(str(first))
    assert ids("--wrap-code", "SALE") == [first]
    assert ids("--operator", "c-alice") == [first]
    assert ids("--completed", "yes") == [first]
    assert ids("--field", "plan=gold") == [s["leads"][3]]
    attempt = _query(database_url, "SELECT id FROM attempt")[0]["id"]
    assert ids("--attempt", str(attempt)) == [first]
    assert ids("--contacted-from", "2026-03-02T00:00", "--contacted-to", "2026-03-03T00:00") == [first]
    assert len(ids("--list", "main")) == 12
    cols = cli("lead", "search", "--status", "SALE", "--columns", "id,phone,fields.plan", "--json").json()
    assert list(cols["leads"][0]) == ["id", "phone", "fields.plan"]
    assert cli("lead", "search", "abc").code == 2


def test_validation_commands(cli, database_url):
    s = _seed(database_url, 2, validation=True)
    a, b = s["leads"]
    for lead in (a, b):
        assert cli("lead", "wrap", lead, "LEAD").code == 0
    listing = cli("validation", "list", "--campaign", "c", "--json").json()["leads"]
    assert [r["id"] for r in listing] == [a, b] and all(r["contact_status"] == "unconfirmed" for r in listing)
    assert cli("validation", "set", a, "confirmed", "--note", "ok", "--author", "v1").code == 0
    assert cli("validation", "set", b, "rejected", "--note", "fake", "--author", "v1").code == 0
    listing = cli("validation", "list", "--campaign", "c", "--json").json()["leads"]
    assert [r["id"] for r in listing] == [a] and "ok" in listing[0]["notes"]
    out = cli("validation", "set", "99999", "confirmed")
    assert out.code == 2 and "no lead with id 99999" in out.err


def test_rules_from_toml_config(cli, database_url, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('''
[[campaigns]]
name = "tomlc"
callback_grace_minutes = 30
callback_grace_action = "wait"
editable_statuses = ["CAUTION", "NEW"]
outcome_status = { machine = "NA" }

[[campaigns.statuses]]
code = "HOT"
label = "Hot lead"
auto_dial = true
call_mode = "vip"

[[campaigns.call_modes]]
name = "vip"
put_off_minutes = { no_answer = 5 }
max_attempts = 12
exhausted_status = "MAXED"

[[campaigns.wrap_codes]]
code = "HOTW"
next_status = "GHOST"
''')
    assert cli("campaign", "load", cfg).code == 0
    r = cli("campaign", "rules", "show", "tomlc", "--json").json()
    assert r["callback_grace"] == 1800 and r["callback_grace_action"] == "wait"
    assert r["editable_statuses"] == ["CAUTION", "NEW"] and r["outcome_status"]["machine"] == "NA"
    assert {"code": "HOT", "label": "Hot lead", "auto_dial": True, "call_mode": "vip", "completed": False} \
        in r["statuses"]
    vip = [m for m in r["call_modes"] if m["name"] == "vip"][0]
    assert vip["max_attempts"] == 12 and vip["put_off"] == {"no_answer": 5}
    assert r["problems"] == ["wrap code HOTW: next status 'GHOST' is not a status"]
    cfg.write_text('[[campaigns]]\nname = "x"\noutcome_status = { ringing = "NA" }\n')
    out = cli("campaign", "load", cfg)
    assert out.code == 2 and "outcome_status.ringing" in out.err


def test_edit_reprocesses_like_an_import(cli, database_url):
    s = _seed(database_url, 2)
    a, b = s["leads"]
    # A Los Angeles number: the zone follows the number, the type is worked out again.
    out = cli("lead", "edit", a, "phone=213-555-0142", "--json")
    assert out.code == 0, out
    row = _query(database_url, "SELECT phone, timezone, phone_type FROM lead WHERE id = $1", a)[0]
    assert row["phone"] == "+12135550142" and row["timezone"] == "America/Los_Angeles" and row["phone_type"]
    # The state, when given, places the lead (the import's state table); a typed zone wins over both.
    cli("lead", "edit", a, "region=TX")
    assert _query(database_url, "SELECT timezone FROM lead WHERE id = $1", a)[0]["timezone"] == "America/Chicago"
    cli("lead", "edit", a, "timezone=America/Denver", "postal_code=501")
    row = _query(database_url, "SELECT timezone, postal_code FROM lead WHERE id = $1", a)[0]
    assert row == {"timezone": "America/Denver", "postal_code": "00501"}
    # A number on the DNC list finishes the lead; one already used by another lead is noted.
    _query(database_url, "INSERT INTO dnc (phone) VALUES ('+12025550150') RETURNING phone")
    out = cli("lead", "edit", b, "phone=+1 202 555 0150", "--json").json()
    assert "do-not-call" in out["effects"][0]
    assert _query(database_url, "SELECT status, completed FROM lead WHERE id = $1", b)[0] == \
        {"status": "DNC", "completed": True}
    out = cli("lead", "edit", a, "phone=+1 202 555 0150", "--json").json()
    assert any(f"lead(s) {b}" in e for e in out["effects"])


def test_search_rejects_unknown_columns_even_with_no_rows(cli, database_url):
    _seed(database_url, 1)
    out = cli("lead", "search", "--status", "NOPE", "--columns", "id,shoe")
    assert out.code == 2 and "--columns: no column 'shoe'" in out.err


def test_edit_status_takes_its_mode_and_completed_flag(cli, database_url):
    s = _seed(database_url, 1)
    lead = s["leads"][0]
    out = cli("lead", "edit", lead, "status=callbk", "--json")
    assert out.code == 0, out
    assert set(out.json()["changes"]) == {"status", "call_mode"}
    assert cli("lead", "edit", lead, "status=SALE").code == 0
    assert _query(database_url, "SELECT status, call_mode, completed FROM lead")[0] == \
        {"status": "SALE", "call_mode": "callback", "completed": True}
    out = cli("lead", "edit", lead, "status=PARTY")
    assert out.code == 2 and "status 'PARTY' is not a status of this campaign" in out.err
