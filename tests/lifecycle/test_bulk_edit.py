"""Bulk edit: preview equals apply, confirmation mismatch changes nothing, non-editable leads untouched."""

import trio

from dialer.store import Store

from .dbhelpers import seed
from .test_cli import _query


def _setup(database_url, tmp_path, n=4, editable=(0, 1, 2)):
    async def go():
        async with Store.open(database_url) as store:
            s = await store.run(seed, n)
            await store.execute("UPDATE lead SET status = 'CAUTION' WHERE id = ANY($1::bigint[])",
                                [s["leads"][i] for i in editable])
            return s

    s = trio.run(go)
    lines = ["Lead ID;Email;First;Ignored"]
    for i, lead in enumerate(s["leads"]):
        lines.append(f"{lead};person{i}@example.com;Ann{i + 1};junk")
    path = tmp_path / "edit.csv"
    path.write_text("\n".join(lines) + "\n")
    return s, path


MAP = "Lead ID=id,Email=email,First=first_name,Ignored=-"


def _snapshot(database_url):
    return _query(database_url, "SELECT * FROM lead ORDER BY id")


def test_preview_equals_apply_and_non_editable_untouched(cli, database_url, tmp_path):
    s, path = _setup(database_url, tmp_path)
    before = _snapshot(database_url)
    preview = cli("leads", "bulk-edit", path, "--campaign", "c", "--map", MAP, "--preview", "--json")
    assert preview.code == 0, preview
    p = preview.json()
    # First names already equal (Ann1..): only e-mails change, on the three CAUTION leads.
    assert p["will_change"] == 3 and p["field_counts"] == {"email": 3}
    assert [x["lead_id"] for x in p["not_editable"]] == [s["leads"][3]]
    assert _snapshot(database_url) == before   # preview writes nothing
    applied = cli("leads", "bulk-edit", path, "--campaign", "c", "--map", MAP, "--confirm", "3", "--json")
    assert applied.code == 0, applied
    a = applied.json()
    assert a["applied"] and {k: v for k, v in a.items() if k != "applied"} == \
        {k: v for k, v in p.items() if k != "applied"}
    after = {r["id"]: r for r in _snapshot(database_url)}
    for i, lead in enumerate(s["leads"][:3]):
        assert after[lead]["email"] == f"person{i}@example.com"
    assert after[s["leads"][3]] == before[3]
    notes = _query(database_url, "SELECT lead_id, kind, body FROM lead_note ORDER BY lead_id")
    assert [n["lead_id"] for n in notes] == s["leads"][:3]
    assert all(n["kind"] == "bulk_edit" and "email: (empty) -> person" in n["body"] for n in notes)


def test_confirmation_mismatch_changes_nothing(cli, database_url, tmp_path):
    _, path = _setup(database_url, tmp_path)
    before = _snapshot(database_url)
    out = cli("leads", "bulk-edit", path, "--campaign", "c", "--map", MAP, "--confirm", "4")
    assert out.code == 2 and "does not match the 3 lead(s)" in out.err
    assert _snapshot(database_url) == before
    assert _query(database_url, "SELECT count(*) AS n FROM lead_note")[0]["n"] == 0


def test_bad_files_are_clear_errors(cli, database_url, tmp_path):
    _, path = _setup(database_url, tmp_path)
    before = _snapshot(database_url)
    out = cli("leads", "bulk-edit", path, "--campaign", "c", "--map", "Email=email", "--preview")
    assert out.code == 2 and "no column is mapped to the lead id" in out.err
    out = cli("leads", "bulk-edit", path, "--campaign", "c", "--map", "Lead ID=id,Colour=email", "--preview")
    assert out.code == 2 and "no column 'Colour'" in out.err
    out = cli("leads", "bulk-edit", path, "--campaign", "c", "--map", "Lead ID=id,Email=shoe_size", "--preview")
    assert out.code == 2 and "'shoe_size' is not an editable field" in out.err
    bad = tmp_path / "bad.csv"
    bad.write_text("id,phone\n1,+12025550100\nx7,+12025550101\n")
    out = cli("leads", "bulk-edit", bad, "--campaign", "c", "--map", "id=id,phone=phone", "--confirm", "1")
    assert out.code == 2 and "line 3" in out.err and "'x7' is not a lead id" in out.err
    bad.write_text("id,phone\n1,+12025550100\n2,555\n")
    out = cli("leads", "bulk-edit", bad, "--campaign", "c", "--map", "id=id,phone=phone", "--confirm", "2")
    assert out.code == 2 and "line 3" in out.err and "phone" in out.err
    assert _snapshot(database_url) == before


def test_unknown_ids_are_reported_not_applied(cli, database_url, tmp_path):
    s, _ = _setup(database_url, tmp_path)
    path = tmp_path / "ids.csv"
    path.write_text(f"id,email\n{s['leads'][0]},x@example.com\n999999,y@example.com\n")
    out = cli("leads", "bulk-edit", path, "--campaign", "c", "--map", "id=id,email=email", "--confirm", "1", "--json")
    assert out.code == 0, out
    assert out.json()["not_found"] == [{"line": 3, "lead_id": 999999}]
    text = cli("leads", "bulk-edit", path, "--campaign", "c", "--map", "id=id,email=email", "--preview")
    assert "no lead 999999" in text.out


def test_bulk_edited_phones_are_reprocessed(cli, database_url, tmp_path):
    s, _ = _setup(database_url, tmp_path)
    path = tmp_path / "phones.csv"
    path.write_text(f"Lead ID,Phone\n{s['leads'][0]},(213) 555-0142\n")
    out = cli("leads", "bulk-edit", path, "--campaign", "c", "--map", "Lead ID=id,Phone=phone", "--preview", "--json")
    assert out.json()["field_counts"] == {"phone": 1, "phone_type": 1, "timezone": 1}
    assert cli("leads", "bulk-edit", path, "--campaign", "c", "--map", "Lead ID=id,Phone=phone",
               "--confirm", "1").code == 0
    row = _query(database_url, "SELECT phone, timezone FROM lead WHERE id = $1", s["leads"][0])[0]
    assert row == {"phone": "+12135550142", "timezone": "America/Los_Angeles"}
    [note] = _query(database_url, "SELECT body FROM lead_note")
    assert "phone: +12025550001 -> +12135550142" in note["body"] and "America/Los_Angeles" in note["body"]
