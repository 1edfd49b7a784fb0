"""`dialer sim ...` argument and profile errors name what is wrong (exit status 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_bad_listen_address_is_named(capsys):
    assert main(["sim", "carrier", "--listen", "localhost", "--profile",
                 str(ROOT / "config/sim/default.toml"), "--duration", "0"]) == 2
    assert "--listen: 'localhost' is not HOST:PORT" in capsys.readouterr().err


def test_bad_profile_key_is_named(tmp_path, capsys):
    profile = tmp_path / "p.toml"
    profile.write_text("[talk]\nkind = \"lognormal\"\nmean = 10\n")
    assert main(["sim", "carrier", "--listen", "127.0.0.1:0", "--profile", str(profile)]) == 2
    assert f"dialer: {profile}: talk: sd is required for kind 'lognormal'" in capsys.readouterr().err


def test_missing_profile_is_named(tmp_path, capsys):
    assert main(["sim", "carrier", "--profile", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml: no such file" in capsys.readouterr().err


def test_carrier_runs_for_a_duration_and_prints_a_summary(capsys):
    pytest.importorskip("dialer.sip.endpoint", reason="the SIP endpoint (branch sip) is not merged yet")
    assert main(["sim", "carrier", "--listen", "127.0.0.1:0", "--profile",
                 str(ROOT / "config/sim/default.toml"), "--duration", "0.2"]) == 0
    captured = capsys.readouterr()
    assert "listening on 127.0.0.1:" in captured.err
    assert "calls 0 in" in captured.out and "answered" in captured.out
