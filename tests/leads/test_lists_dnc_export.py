"""`dialer list`, `dialer lead add`, `dialer dnc`, `dialer export` against the real database."""

import csv
import io


def test_list_lifecycle_and_weight_percentages(cli, campaign, sql):
    cli("list", "update", "Main", "--campaign", campaign, "--to-dial", "--weight", "70")
    assert cli("list", "create", "B", "--campaign", campaign, "--weight", "30", "--to-dial").code == 0
    assert cli("list", "create", "C", "--campaign", campaign, "--to-dial").code == 0
    assert cli("list", "create", "Off", "--campaign", campaign, "--weight", "500").code == 0
    rows = {r["name"]: r for r in cli("list", "list", "--campaign", campaign, "--json").json()}
    assert {n: rows[n]["weight_percent"] for n in rows} == {"Main": 35.0, "B": 15.0, "C": 50.0, "Off": None}
    assert rows["C"]["weight"] == 100 and rows["Main"]["total_leads"] == 0
    shown = cli("list", "show", "B", "--campaign", campaign)
    assert "30 (15 % of the campaign's dialable lists)" in shown.out
    assert "35 %" in cli("list", "list").out
    # A list set to dial cannot be deleted.
    r = cli("list", "delete", "B", "--campaign", campaign)
    assert r.code == 2 and "cannot be deleted" in r.err
    cli("list", "update", "B", "--campaign", campaign, "--no-to-dial")
    assert cli("list", "delete", "B", "--campaign", campaign).code == 0
    assert cli("list", "create", "C", "--campaign", campaign).code == 2
    assert cli("list", "create", "X", "--campaign", "Nope").code == 2
    assert cli("list", "show", "Nope").code == 2
    assert cli("list", "create", "Neg", "--campaign", campaign, "--weight", "-1").code == 2


def test_lead_add_validates_like_an_import_row(cli, campaign, sql):
    r = cli("lead", "add", "--list", "Main", "--phone", "(212) 555-0101", "--region", "tx",
            "first_name=Ann", "postal_code=501", "Hobby=chess", "--json")
    assert r.code == 0, r
    lead = r.json()
    assert (lead["phone"], lead["timezone"], lead["status"]) == ("+12125550101", "America/Chicago", "NEW")
    row = sql("SELECT first_name, postal_code, source, fields->>'Hobby' AS hobby FROM lead")[0]
    assert row == {"first_name": "Ann", "postal_code": "00501", "source": "manual", "hobby": "chess"}
    r = cli("lead", "add", "--list", "Main", "--phone", "555-12")
    assert r.code == 2 and "invalid_phone" in r.err
    r = cli("lead", "add", "--list", "Main", "--phone", "212 555 0101")
    assert r.code == 2 and "duplicate" in r.err
    cli("dnc", "add", "2125550102")
    r = cli("lead", "add", "--list", "Main", "--phone", "2125550102")
    assert r.code == 2 and "do-not-call" in r.err
    r = cli("lead", "add", "--list", "Main", "--phone", "2125550103", "--timezone", "Mars/Base", "--json")
    assert r.code == 0 and r.json()["timezone"] == "America/New_York" and r.json()["warnings"]
    assert sql("SELECT count(*) AS n FROM lead")[0]["n"] == 2


def test_dnc_commands(cli, campaign, write):
    r = cli("dnc", "add", "(212) 555-0101", "+1 212 555 0102", "--json")
    assert r.json() == {"added": 2, "numbers": ["+12125550101", "+12125550102"]}
    assert cli("dnc", "add", "212.555.0101", "--json").json()["added"] == 0
    assert cli("dnc", "add", "2125550103", "--campaign", campaign).code == 0
    assert cli("dnc", "add", "nonsense").code == 2
    r = cli("dnc", "check", "2125550101", "2125550109", "--json")
    assert r.code == 1
    assert [n["dnc"] for n in r.json()["numbers"]] == [True, False]
    assert cli("dnc", "check", "2125550109").code == 0
    r = cli("dnc", "check", "2125550103", "--campaign", campaign, "--json")
    assert r.json()["numbers"][0]["scopes"] == [campaign]
    path = write("dnc.csv", "Phone Number\n(212) 555-0104\n212.555.0105\nbad\n")
    r = cli("dnc", "import", path, "--json")
    assert r.code == 0 and r.json()["added"] == 2 and r.json()["invalid"] == 1
    assert "line 4" in r.json()["invalid_lines"][0]
    assert len(cli("dnc", "list", "--json").json()) == 4
    assert len(cli("dnc", "list", "--all", "--json").json()) == 5
    assert cli("dnc", "remove", "2125550101", "--json").json() == {"removed": 1}
    assert cli("dnc", "check", "2125550101").code == 0


def test_export_columns_notes_statuses_and_formula_neutralising(cli, campaign, write, sql, tmp_path):
    path = write("a.csv", 'phone,first_name,last_name,Plan\n2125550101,=HYPERLINK("x"),@SUM(A1),+gold\n'
                          "2125550102,Bob,-5,silver\n")
    assert cli("import", path, "--campaign", campaign, "--list", "Main").code == 0
    lead_id = sql("SELECT min(id) AS id FROM lead")[0]["id"]
    sql("INSERT INTO lead_note (lead_id, author, body, created_at) VALUES ($1, 'a', 'first call', now()), "
        "($1, 'b', '=cmd|x', now() + interval '1 s')", lead_id)
    sql("UPDATE lead SET status = 'SALE' WHERE id <> $1", lead_id)
    out = tmp_path / "out.csv"
    r = cli("export", "--campaign", campaign, "--columns", "phone,first_name,last_name,Plan,notes,status", out)
    assert r.code == 0, r
    rows = list(csv.reader(open(out, newline="", encoding="utf-8")))
    assert rows[0] == ["phone", "first_name", "last_name", "Plan", "notes", "status"]
    assert rows[1] == ["'+12125550101", "'=HYPERLINK(\"x\")", "'@SUM(A1)", "'+gold", "first call; =cmd|x", "NEW"]
    assert rows[2][2] == "'-5"
    r = cli("export", "--campaign", campaign, "--status", "SALE", "--columns", "first_name", "-")
    assert r.code == 0 and list(csv.reader(io.StringIO(r.out))) == [["first_name"], ["Bob"]]
    r = cli("export", "--campaign", campaign, "--list", "Main", "-")
    assert r.out.splitlines()[0].startswith("id,list,customer_key,phone")
    assert len(r.out.splitlines()) == 3
    assert cli("export", "--campaign", campaign, "--list", "Nope", "-").code == 2


def test_export_leaves_out_leads_held_for_validation(cli, campaign, write, sql):
    path = write("v.csv", "phone,first_name\n2125550101,Held\n2125550102,Confirmed\n2125550103,Rejected\n"
                          "2125550104,Plain\n")
    assert cli("import", path, "--campaign", campaign, "--list", "Main").code == 0
    sql("UPDATE lead SET contact_status = 'unconfirmed' WHERE first_name = 'Held'")
    sql("UPDATE lead SET contact_status = 'confirmed' WHERE first_name = 'Confirmed'")
    sql("UPDATE lead SET contact_status = 'rejected', valid = false WHERE first_name = 'Rejected'")
    r = cli("export", "--campaign", campaign, "--columns", "first_name", "-")
    assert r.code == 0, r
    assert [row[0] for row in csv.reader(io.StringIO(r.out))] == ["first_name", "Confirmed", "Plain"]
    r = cli("export", "--campaign", campaign, "--columns", "first_name,contact_status", "--include-held", "-")
    assert [row for row in csv.reader(io.StringIO(r.out))][1:] == [
        ["Held", "unconfirmed"], ["Confirmed", "confirmed"], ["Rejected", "rejected"], ["Plain", ""]]
