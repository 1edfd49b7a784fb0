"""The foundation's CLI against a real database."""

import datetime as dt
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_campaign_create_list_show(cli):
    r = cli("campaign", "create", "spring", "--country", "gb", "--timezone", "Europe/London",
            "--hours", "08:30-20:00", "--json")
    assert r.code == 0, r
    created = r.json()
    assert created["country"] == "GB" and created["calling_start"] == "08:30:00"

    r = cli("campaign", "list", "--json")
    assert [c["name"] for c in r.json()] == ["spring"]

    by_name = cli("campaign", "show", "spring", "--json").json()
    by_id = cli("campaign", "show", str(created["id"]), "--json").json()
    assert by_name == by_id
    text = cli("campaign", "show", "spring").out
    assert "08:30-20:00 (lead-local)" in text


def test_campaign_errors_are_clear(cli):
    assert cli("campaign", "create", "x", "--hours", "25:00-20:00").err.strip() == \
        'dialer: --hours (start): "25:00" is not a time (HH:MM)'
    r = cli("campaign", "create", "x", "--timezone", "Nowhere/Land")
    assert r.code == 2 and 'timezone: "Nowhere/Land" is not an IANA timezone' in r.err
    assert cli("campaign", "create", "x").code == 0
    r = cli("campaign", "create", "x")
    assert r.code == 2 and "campaign 'x' already exists" in r.err
    r = cli("campaign", "show", "missing")
    assert r.code == 2 and "no campaign 'missing'" in r.err


def test_campaign_load_from_config_creates_then_updates(cli):
    example = ROOT / "config" / "example.toml"
    first = cli("campaign", "load", str(example), "--json").json()
    assert first == {"campaigns": [{"id": first["campaigns"][0]["id"], "name": "acme-renewals", "created": True}]}
    again = cli("campaign", "load", str(example), "--json").json()
    assert again["campaigns"][0]["created"] is False
    shown = cli("campaign", "show", "acme-renewals", "--json").json()
    assert shown["abandon_lockout"] == dt.timedelta(hours=72).total_seconds()
    assert shown["calling_days"] == [1, 2, 3, 4, 5, 6]


def test_db_status_and_migrate(cli):
    r = cli("db", "migrate", "--json")
    assert r.code == 0 and r.json()["applied"] == []
    status = cli("db", "status", "--json").json()
    assert status["pending_migrations"] == [] and status["schema_version"] >= 1
    assert status["embedded"] is False  # the fixture passes an explicit URL


def test_version_and_help(capsys):
    import pytest

    from dialer.cli import main

    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("dialer 0.1.0")
    assert main([]) == 2
