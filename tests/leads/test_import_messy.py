"""A messy file end to end against the real database: BOM, CRLF, quoted commas,
many phone formats, bad numbers, in-file duplicates, DNC numbers, short zips,
bad IANA names."""

import csv

MESSY = (
    "\ufeffCustomer ID,First Name,Phone,Zip,State,TZ,Notes\n"
    'C1,"Smith, Ann",(212) 555-0101,501,NY,,"likes calls, mornings"\n'
    "C2,Bob,212.555.0102,2139,ma,Mars/Base,\n"
    "C3,Carl,+1 212 555 0103,12,TX,,\n"
    "C4,Dee,not a number,12345,CA,,\n"
    "C5,Eve,212-555-0101,12345,CA,,\n"
    "C6,Fay,1 (646) 555-0104,123456789,,Europe/Paris,\n"
    "C7,Gus,555-12,,,,\n"
    'C8,"Hal ""H"" Jones",[646] 555 0105,90210,CA,,\n'
)
MAP = ("Customer ID=customer_key,First Name=first_name,Phone=phone,Zip=postal_code,State=region,"
       "TZ=timezone,Notes=notes")


def test_messy_file(cli, campaign, write, sql, tmp_path):
    assert cli("dnc", "add", "646-555-0105").code == 0
    path = write("messy.csv", MESSY, newline="\r\n")
    rejects = tmp_path / "rejects.csv"
    r = cli("import", path, "--campaign", campaign, "--list", "Main", "--map", MAP, "--rejects", rejects, "--json")
    assert r.code == 0, r
    s = r.json()
    assert {k: s[k] for k in ("rows", "imported", "updated", "invalid", "duplicates", "dnc", "warnings")} == \
        {"rows": 8, "imported": 4, "updated": 0, "invalid": 2, "duplicates": 1, "dnc": 1, "warnings": 1}
    assert s["reasons"] == {"dnc": 1, "duplicate": 1, "invalid_phone": 2}
    assert set(s) >= {"wireless", "seconds"}

    leads = {r["customer_key"]: r for r in sql(
        "SELECT customer_key, first_name, phone, postal_code, region, timezone, fields, status, source "
        "FROM lead ORDER BY id")}
    assert list(leads) == ["C1", "C2", "C3", "C6"]
    assert leads["C1"]["first_name"] == "Smith, Ann"
    assert leads["C1"]["phone"] == "+12125550101"
    assert leads["C1"]["postal_code"] == "00501"
    assert '"notes": "likes calls, mornings"' in leads["C1"]["fields"]
    assert leads["C2"]["postal_code"] == "02139" and leads["C2"]["timezone"] == "America/New_York"
    assert leads["C3"]["postal_code"] is None and leads["C3"]["timezone"] == "America/Chicago"
    assert leads["C6"]["postal_code"] == "123456789" and leads["C6"]["timezone"] == "Europe/Paris"
    assert all(l["status"] == "NEW" and l["source"] == "import" for l in leads.values())

    with open(rejects, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["Customer ID", "First Name", "Phone", "Zip", "State", "TZ", "Notes", "reason"]
    by_key = {row[0]: row for row in rows[1:]}
    assert set(by_key) == {"C4", "C5", "C7", "C8"}
    assert by_key["C8"][1] == 'Hal "H" Jones'          # the row as it was
    assert by_key["C8"][-1].startswith("dnc")
    assert by_key["C5"][-1].startswith("duplicate")
    assert by_key["C4"][-1].startswith("invalid_phone")


def test_messy_file_human_summary(cli, campaign, write):
    path = write("messy.csv", MESSY, newline="\r\n")
    r = cli("import", path, "--campaign", campaign, "--new-list", "Fresh", "--map", MAP)
    assert r.code == 0, r
    assert "imported 5 new leads into list 'Fresh'" in r.out
    assert "Mars/Base" in r.out
