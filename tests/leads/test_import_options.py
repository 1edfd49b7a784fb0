"""Every `dialer import` option against the real database."""

import csv
import json

import pytest

BASIC = "Phone,Name,State,Key\n2125550101,Ann,NY,K1\n2125550102,Bob,TX,K2\n2125550103,Cy,CA,K3\n"


def imp(cli, *args):
    r = cli("import", *map(str, args), "--json")
    assert r.code == 0, r
    return r.json()


def test_default_mapping_by_header_name_and_json_keys(cli, campaign, write, sql):
    s = imp(cli, write("a.csv", "phone,first_name,region,shoe size\n2125550101,Ann,NY,9\n"),
            "--campaign", campaign, "--list", "Main")
    for key in ("rows", "imported", "updated", "invalid", "duplicates", "dnc", "wireless", "warnings", "seconds",
                "reasons"):
        assert key in s
    assert s["imported"] == 1
    assert sql("SELECT fields::text AS f FROM lead")[0]["f"] == '{"shoe size": "9"}'


def test_tab_delimited_detected_and_explicit(cli, campaign, write, sql):
    path = write("a.txt", "Phone\tName\tNote\n2125550101\tAnn\tx, y\n2125550102\tBob\tz\n")
    s = imp(cli, path, "--campaign", campaign, "--list", "Main", "--map", "Phone=phone,Name=first_name,Note=note")
    assert s["imported"] == 2
    assert sql("SELECT fields->>'note' AS n FROM lead ORDER BY id")[0]["n"] == "x, y"
    s = imp(cli, path, "--campaign", campaign, "--new-list", "T2", "--delimiter", "\\t", "--dup-scope", "none",
            "--map", "Phone=phone")
    assert s["imported"] == 2


def test_no_header_maps_by_position(cli, campaign, write, sql):
    path = write("a.csv", "Ann,2125550101\nBob,(212) 555-0102\n")
    s = imp(cli, path, "--campaign", campaign, "--list", "Main", "--no-header", "--map", "2=phone,1=first_name")
    assert s["rows"] == 2 and s["imported"] == 2
    assert [r["first_name"] for r in sql("SELECT first_name FROM lead ORDER BY id")] == ["Ann", "Bob"]


def test_mapping_file_with_timezone_rules_and_templates(cli, campaign, write, sql, tmp_path):
    mapping = tmp_path / "m.toml"
    mapping.write_text('[map]\nPhone = "phone"\nState = "state"\nKey = "customer_key"\n\n'
                       '[[timezone_rules]]\nregion = "tx"\nzone = "America/Denver"\n')
    s = imp(cli, write("a.csv", BASIC), "--campaign", campaign, "--list", "Main", "--mapping", mapping,
            "--save-mapping", "crm")
    assert s["imported"] == 3
    zones = {r["customer_key"]: r["timezone"] for r in sql("SELECT customer_key, timezone FROM lead")}
    assert zones == {"K1": "America/New_York", "K2": "America/Denver", "K3": "America/Los_Angeles"}
    # The saved template carries the mapping and the rules.
    s = imp(cli, write("b.csv", BASIC.replace("555", "556")), "--campaign", campaign, "--list", "Main",
            "--template", "crm")
    assert s["imported"] == 3
    assert sql("SELECT count(*) AS n FROM lead WHERE timezone = 'America/Denver'")[0]["n"] == 2
    r = cli("import", write("c.csv", BASIC), "--campaign", campaign, "--list", "Main", "--template", "nope")
    assert r.code == 2 and "nope" in r.err


def test_dup_scopes(cli, campaign, write, sql):
    cli("campaign", "create", "Other", "--purpose", "insurance")
    cli("campaign", "create", "Third", "--purpose", "loans")
    cli("list", "create", "O", "--campaign", "Other")
    cli("list", "create", "T", "--campaign", "Third")
    imp(cli, write("o.csv", "phone\n2125550101\n"), "--campaign", "Other", "--list", "O")
    imp(cli, write("t.csv", "phone\n2125550102\n"), "--campaign", "Third", "--list", "T")
    path = write("a.csv", "phone\n2125550101\n2125550102\n2125550103\n2125550103\n")
    for scope, dups in (("none", 1), ("campaign", 1), ("purpose", 2), ("account", 3)):
        s = imp(cli, path, "--campaign", campaign, "--new-list", f"L-{scope}", "--dup-scope", scope, "--dry-run")
        assert s["duplicates"] == dups, scope
    other_list = sql("SELECT id FROM lead_list WHERE name = 'T'")[0]["id"]
    s = imp(cli, path, "--campaign", campaign, "--new-list", "L", "--dup-scope", f"lists:{other_list}")
    assert (s["duplicates"], s["imported"]) == (2, 2)
    r = cli("import", path, "--campaign", campaign, "--list", "Main", "--dup-scope", "lists:x")
    assert r.code == 2 and "--dup-scope" in r.err


def test_dup_action_mark(cli, campaign, write, sql):
    imp(cli, write("a.csv", "phone\n2125550101\n"), "--campaign", campaign, "--list", "Main")
    s = imp(cli, write("b.csv", "phone\n2125550101\n2125550102\n"), "--campaign", campaign, "--list", "Main",
            "--dup-action", "mark")
    assert (s["imported"], s["duplicates"]) == (2, 1)
    assert sql("SELECT status FROM lead ORDER BY id") == [{"status": "NEW"}, {"status": "DUPLICATE"},
                                                         {"status": "NEW"}]


def test_dup_action_relocate_with_retain(cli, campaign, write, sql):
    imp(cli, write("a.csv", "phone\n2125550101\n2125550102\n"), "--campaign", campaign, "--list", "Main")
    # One older lead came in by phone: new+inbound keeps it where it is.
    sql("UPDATE lead SET source = 'inbound' WHERE phone = '+12125550102'")
    s = imp(cli, write("b.csv", "phone\n2125550101\n2125550102\n2125550101\n"), "--campaign", campaign,
            "--new-list", "New", "--dup-action", "relocate", "--dup-retain", "new+inbound")
    assert (s["imported"], s["relocated"]) == (2, 1)
    assert s["reasons"] == {"duplicate": 1}  # the repeat within the file
    rows = sql("SELECT l.phone, ll.name, ll.active, ll.system FROM lead l JOIN lead_list ll ON ll.id = l.list_id "
               "ORDER BY l.id")
    assert rows[0] == {"phone": "+12125550101", "name": "SYS_DUPLICATE_LEADS", "active": False, "system": True}
    assert rows[1]["name"] == "Main"
    assert [r["name"] for r in rows[2:]] == ["New", "New"]


def test_dnc_scopes_actions_and_separate_rejects(cli, campaign, write, sql, tmp_path):
    cli("campaign", "create", "Other")
    assert cli("dnc", "add", "(212) 555-0101").code == 0
    assert cli("dnc", "add", "212.555.0102", "--campaign", "Other").code == 0
    assert cli("dnc", "add", "212 555 0103", "--campaign", campaign).code == 0
    path = write("a.csv", "phone,id\n2125550101,a\n2125550102,b\n2125550103,c\n2125550104,d\n2125550104,e\n")
    assert imp(cli, path, "--campaign", campaign, "--new-list", "A", "--dnc-scope", "account",
               "--dry-run")["dnc"] == 3
    assert imp(cli, path, "--campaign", campaign, "--new-list", "A", "--dnc-scope", "campaign",
               "--dry-run")["dnc"] == 2
    assert imp(cli, path, "--campaign", campaign, "--new-list", "A", "--dnc-scope", "none",
               "--dry-run")["dnc"] == 0
    rejects = tmp_path / "rej.csv"
    s = imp(cli, path, "--campaign", campaign, "--new-list", "A", "--rejects", rejects, "--separate-rejects")
    assert (s["imported"], s["dnc"], s["duplicates"]) == (1, 3, 1)
    dnc_rows = list(csv.reader(open(tmp_path / "rej.dnc.csv", newline="")))
    dup_rows = list(csv.reader(open(tmp_path / "rej.duplicates.csv", newline="")))
    assert [r[1] for r in dnc_rows[1:]] == ["a", "b", "c"] and dnc_rows[0] == ["phone", "id", "reason"]
    assert [r[1] for r in dup_rows[1:]] == ["e"]
    assert len(list(csv.reader(open(rejects, newline="")))) == 1  # header only
    s = imp(cli, path, "--campaign", campaign, "--new-list", "B", "--dnc-action", "mark", "--dup-scope", "none",
            "--dup-action", "mark")
    assert s["imported"] == 5
    statuses = sql("SELECT status, completed FROM lead l JOIN lead_list ll ON ll.id = l.list_id "
                   "WHERE ll.name = 'B' ORDER BY l.id")
    assert [r["status"] for r in statuses] == ["DNC", "DNC", "DNC", "NEW", "DUPLICATE"]
    assert statuses[0]["completed"] is True


def test_wireless_block_list_keep_and_skip(cli, campaign, write, sql):
    blocks = write("blocks.csv", "block\n212-555\n646-555-0\n")
    r = cli("wireless", "import", blocks, "--json")
    assert r.code == 0 and r.json()["added"] == 2
    path = write("a.csv", "phone\n2125550101\n6465550102\n6465551103\n")
    s = imp(cli, path, "--campaign", campaign, "--list", "Main", "--wireless", "keep")
    assert (s["imported"], s["wireless"]) == (3, 2)
    assert [r["phone_type"] for r in sql("SELECT phone_type FROM lead ORDER BY id")] == \
        ["mobile", "mobile", "fixed_line_or_mobile"]
    s = imp(cli, path, "--campaign", campaign, "--new-list", "W", "--wireless", "skip", "--dup-scope", "none")
    assert (s["imported"], s["wireless"], s["reasons"]) == (1, 2, {"wireless": 2})
    assert cli("wireless", "check", "212 555 0199").code == 1
    assert cli("wireless", "check", "212 556 0199").code == 0
    bad = write("bad.csv", "212-555\n12-34\n")
    r = cli("wireless", "import", bad)
    assert r.code == 2 and "line 2" in r.err


def test_foreign_mobile_is_wireless_without_block_list(cli, campaign, write):
    s = imp(cli, write("a.csv", "phone\n+44 7911 123456\n+44 20 7946 0018\n"), "--campaign", campaign,
            "--list", "Main", "--wireless", "skip")
    assert (s["imported"], s["wireless"]) == (1, 1)


def test_status_called_count_and_backup_status(cli, campaign, write, sql):
    path = write("a.csv", "phone,st,calls\n2125550101,na,3\n2125550102,ZZZ,1\n2125550103,,\n")
    r = cli("import", path, "--campaign", campaign, "--list", "Main", "--status-column", "st",
            "--called-count-column", "calls", "--json")
    assert r.code == 0, r
    s = r.json()
    assert (s["imported"], s["reasons"]) == (2, {"unknown_status": 1})
    s = imp(cli, path, "--campaign", campaign, "--new-list", "B", "--status-column", "st",
            "--called-count-column", "calls", "--backup-status", "new", "--dup-scope", "none")
    assert s["imported"] == 3
    rows = sql("SELECT status, attempts, call_mode FROM lead l JOIN lead_list ll ON ll.id = l.list_id "
               "WHERE ll.name = 'B' ORDER BY l.id")
    assert rows == [{"status": "NA", "attempts": 3, "call_mode": "retry"},
                    {"status": "NEW", "attempts": 1, "call_mode": "new"},
                    {"status": "NEW", "attempts": 0, "call_mode": "new"}]
    r = cli("import", path, "--campaign", campaign, "--list", "Main", "--status-column", "st",
            "--backup-status", "NOPE")
    assert r.code == 2 and "NOPE" in r.err


def test_update_by_customer_key(cli, campaign, write, sql):
    imp(cli, write("a.csv", BASIC), "--campaign", campaign, "--list", "Main",
        "--map", "Phone=phone,Name=first_name,Key=customer_key")
    path = write("b.csv", "Phone,Name,Key\n2125550111,Anne,K1\n2125550104,Dan,K4\n")
    s = imp(cli, path, "--campaign", campaign, "--list", "Main", "--update-by-customer-key",
            "--map", "Phone=phone,Name=first_name,Key=customer_key")
    assert (s["imported"], s["updated"]) == (1, 1)
    rows = {r["customer_key"]: r for r in sql("SELECT customer_key, first_name, phone FROM lead")}
    assert rows["K1"] == {"customer_key": "K1", "first_name": "Anne", "phone": "+12125550111"}
    assert len(rows) == 4
    # Without the flag the same rows are new leads.
    s = imp(cli, path, "--campaign", campaign, "--list", "Main", "--dup-scope", "none",
            "--map", "Phone=phone,Name=first_name,Key=customer_key")
    assert (s["imported"], s["updated"]) == (2, 0)


def test_country_override_and_strip_chars(cli, campaign, write, sql):
    s = imp(cli, write("a.csv", "phone,name\n07911 123456,Tom & Jerry*\n"), "--campaign", campaign, "--list",
            "Main", "--country", "GB", "--strip-chars", "&*", "--map", "phone=phone,name=first_name")
    assert s["imported"] == 1
    assert sql("SELECT phone, first_name FROM lead") == [{"phone": "+447911123456", "first_name": "Tom  Jerry"}]
    # Off by default: the characters stay.
    imp(cli, write("b.csv", "phone,name\n2125550101,A&B\n"), "--campaign", campaign, "--list", "Main",
        "--map", "phone=phone,name=first_name")
    assert sql("SELECT first_name FROM lead WHERE phone = '+12125550101'")[0]["first_name"] == "A&B"


def test_dry_run_writes_nothing_and_shows_first_rejects(cli, campaign, write, sql):
    path = write("a.csv", "phone\n2125550101\nbad\n")
    r = cli("import", path, "--campaign", campaign, "--new-list", "Dry", "--dry-run")
    assert r.code == 0, r
    assert "would import 1" in r.out and "row 2: invalid_phone" in r.out and "nothing was written" in r.out
    assert sql("SELECT count(*) AS n FROM lead")[0]["n"] == 0
    assert sql("SELECT count(*) AS n FROM lead_list WHERE name = 'Dry'")[0]["n"] == 0


def test_process_after_queues_a_job_run_due_runs_it(cli, campaign, write, sql):
    path = write("a.csv", BASIC)
    r = cli("import", path, "--campaign", campaign, "--new-list", "Later", "--process-after", "03:00", "--json")
    assert r.code == 0, r
    job = r.json()["job"]
    assert sql("SELECT count(*) AS n FROM lead")[0]["n"] == 0
    r = cli("imports", "run-due", "--json")
    assert r.json() == {"jobs": []}  # not due yet
    sql("UPDATE import_job SET process_after = now() - interval '1 minute' WHERE id = $1", job)
    r = cli("imports", "run-due", "--json")
    assert r.code == 0, r
    assert r.json()["jobs"][0]["summary"]["imported"] == 3
    r = cli("imports", "list", "--json")
    assert r.json()[0]["status"] == "done" and r.json()[0]["summary"]["imported"] == 3
    assert "done" in cli("imports", "list").out


def test_parallel_workers_give_the_same_result(cli, campaign, write, sql):
    import phonenumbers

    numbers = [f"212{n:07d}" for n in range(5550000, 5562000)] + ["bad"]
    valid = sum(1 for n in numbers[:-1] if phonenumbers.is_valid_number(phonenumbers.parse(n, "US")))
    lines = ["phone,n"] + [f"{n},{i}" for i, n in enumerate(numbers)]
    s = imp(cli, write("big.csv", "\n".join(lines) + "\n"), "--campaign", campaign, "--list", "Main",
            "--workers", "2")
    assert valid > 1000
    assert (s["rows"], s["imported"], s["invalid"]) == (12001, valid, 12001 - valid)
    assert sql("SELECT count(DISTINCT phone) AS n FROM lead")[0]["n"] == valid


def test_relocate_retain_new_moves_inbound_leads_too(cli, campaign, write, sql):
    imp(cli, write("a.csv", "phone\n2125550101\n"), "--campaign", campaign, "--list", "Main")
    sql("UPDATE lead SET source = 'inbound'")
    s = imp(cli, write("b.csv", "phone\n2125550101\n"), "--campaign", campaign, "--new-list", "New",
            "--dup-action", "relocate")
    assert (s["imported"], s["relocated"], s["duplicates"]) == (1, 1, 1)
    assert [r["name"] for r in sql("SELECT ll.name FROM lead l JOIN lead_list ll ON ll.id = l.list_id "
                                   "ORDER BY l.id")] == ["SYS_DUPLICATE_LEADS", "New"]
    # Leads already relocated are not duplicates any more.
    s = imp(cli, write("c.csv", "phone\n2125550101\n"), "--campaign", campaign, "--new-list", "Again",
            "--dup-scope", "account", "--dry-run")
    assert s["duplicates"] == 1  # only the lead in New


def test_queued_job_whose_file_vanished_fails_cleanly(cli, campaign, write, sql):
    import os

    path = write("gone.csv", BASIC)
    job = cli("import", path, "--campaign", campaign, "--list", "Main", "--process-after", "00:00",
              "--json").json()["job"]
    os.unlink(path)
    sql("UPDATE import_job SET process_after = now() - interval '1 minute'")
    r = cli("imports", "run-due")
    assert r.code == 1 and f"job {job}: failed" in r.out and "no such file" in r.out
    assert cli("imports", "list", "--json").json()[0]["status"] == "failed"


def test_progress_bar_only_on_a_terminal(capsys):
    from dialer.cli.imports import ProgressBar

    bar = ProgressBar(2_000_000)
    bar(1_000_000)
    assert capsys.readouterr().err == ""          # not a terminal: silent
    bar.enabled = True
    bar(1_000_000)
    assert "50.0%" in capsys.readouterr().err


def test_process_after_is_the_next_campaign_local_time():
    import datetime as dt

    from dialer.cli.imports import next_local_time

    now = dt.datetime(2026, 1, 15, 20, 0, tzinfo=dt.timezone.utc)  # 15:00 in New York
    assert next_local_time("22:30", "America/New_York", now) == dt.datetime(2026, 1, 16, 3, 30,
                                                                             tzinfo=dt.timezone.utc)
    assert next_local_time("09:00", "America/New_York", now) == dt.datetime(2026, 1, 16, 14, 0,
                                                                             tzinfo=dt.timezone.utc)
