"""`dialer loadtest --virtual --json` and `dialer demo` end to end (fresh databases beside the test's)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"calls", "outcomes", "abandon_rate", "worst_hour_abandon_rate", "occupancy",
        "talk_minutes_per_operator_hour", "dials_per_list", "audit_violations"}


def test_loadtest_virtual_json(cli):
    r = cli("loadtest", "--profile", ROOT / "config" / "sim" / "default.toml", "--operators", "3",
            "--duration", "10m", "--virtual", "--seed", "3", "--json")
    assert r.code == 0, r
    report = r.json()
    assert KEYS <= set(report)
    assert report["calls"] > 0 and report["audit_violations"] == 0
    # The carrier saw exactly the calls the dialer stored.
    assert report["carrier"]["calls"] == report["calls"]


def test_loadtest_bad_input(cli):
    r = cli("loadtest", "--profile", ROOT / "config" / "sim" / "default.toml", "--duration", "forever")
    assert r.code == 2 and "--duration" in r.err
    r = cli("loadtest", "--profile", ROOT / "nope.toml")
    assert r.code == 2 and "no such file" in r.err


def test_demo_runs_over_udp_and_audits_clean(cli):
    r = cli("demo", "--seconds", "8", "--operators", "3")
    assert r.code == 0, r
    assert "final report" in r.out and "audit: 0 violations" in r.out


def test_loadtest_virtual_with_phone_operators(cli):
    r = cli("loadtest", "--profile", ROOT / "config" / "sim" / "default.toml", "--operators", "3",
            "--duration", "10m", "--virtual", "--operators-via", "phones", "--seed", "3", "--json")
    assert r.code == 0, r
    report = r.json()
    assert report["operators_via"] == "phones" and report["phones"]["registered"] == 3
    answered = report["outcomes"].get("answered", 0)
    assert answered > 0 and report["phones"]["bridge"]["bridged"] == answered
    assert report["audit_violations"] == 0
    r = cli("loadtest", "--profile", ROOT / "config" / "sim" / "default.toml", "--operators-via", "carrier-pigeon")
    assert r.code == 2 and "--operators-via" in r.err
