"""Interop: sipp as the UAC against `dialer sim carrier` over real UDP on 127.0.0.1."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from peers import require_program

ROOT = Path(__file__).resolve().parents[2]
ANSWER_ALL = ROOT / "config" / "sim" / "answer-all.toml"
SIPP_DIR = Path(__file__).resolve().parent / "sipp"
CALLS = 30

pytestmark = pytest.mark.peers
pytest.importorskip("dialer.sip.endpoint", reason="the SIP endpoint (branch sip) is not merged yet")


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Carrier:
    """`dialer sim carrier` in a subprocess on a free port, stopped with SIGINT."""

    def __init__(self, profile: Path):
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dialer", "sim", "carrier", "--listen", "127.0.0.1:0",
             "--profile", str(profile), "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
        self.port = self._read_port()

    def _read_port(self) -> int:
        deadline = time.monotonic() + 30
        line = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stderr], [], [], 0.5)
            if ready:
                line = self.proc.stderr.readline()
                if b"listening on" in line:
                    return int(line.split(b"listening on ")[1].split(b" ")[0].rsplit(b":", 1)[1])
                if not line and self.proc.poll() is not None:
                    break
        self.proc.kill()
        raise AssertionError(f"carrier did not start: {line!r} {self.proc.stderr.read()!r}")

    def stop(self) -> dict:
        self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=30)
        assert self.proc.returncode == 0, err
        return json.loads(out)


def _sipp(port: int, *extra: str) -> subprocess.CompletedProcess:
    sipp = require_program("sipp", "sip-tester")
    args = [sipp, f"127.0.0.1:{port}", "-i", "127.0.0.1", "-p", str(_free_udp_port()),
            "-ci", "127.0.0.1", "-cp", str(_free_udp_port()),
            "-mi", "127.0.0.1", "-mp", str(_free_udp_port()),
            "-m", str(CALLS), "-r", "10", "-l", str(CALLS), "-timeout", "60s", "-timeout_error",
            "-nostdin", *extra]
    return subprocess.run(args, capture_output=True, timeout=120, cwd=SIPP_DIR)


def _successful(result: subprocess.CompletedProcess) -> tuple[int, int]:
    text = result.stdout.decode(errors="replace")
    def last(label):
        lines = [line for line in text.splitlines() if line.strip().startswith(label)]
        return int(lines[-1].split("|")[2].split()[0]) if lines else -1
    return last("Successful call"), last("Failed call")


def test_sipp_uac_completes_every_call_against_the_carrier():
    require_program("sipp", "sip-tester")
    carrier = _Carrier(ANSWER_ALL)
    try:
        result = _sipp(carrier.port, "-sn", "uac")
    finally:
        summary = carrier.stop()
    assert result.returncode == 0, result.stdout.decode(errors="replace")[-3000:]
    assert _successful(result) == (CALLS, 0)
    assert summary["calls"] == CALLS
    assert summary["results"]["answered"] == CALLS
    assert summary["results"]["in_progress"] == 0
    assert summary["hangups"]["caller"] == CALLS  # sipp hangs up at once; talk is 1-3 s


def _auth_profile(tmp_path: Path, status: int) -> Path:
    path = tmp_path / "answer-all-auth.toml"
    path.write_text(ANSWER_ALL.read_text() + f"""
[carrier.auth]
username = "trunkuser"
password = "trunkpass"
realm = "sim.dialer.local"
status = {status}
""")
    return path


@pytest.mark.parametrize("status", [407, 401])
def test_sipp_answers_the_carriers_digest_challenge(tmp_path, status):
    require_program("sipp", "sip-tester")
    carrier = _Carrier(_auth_profile(tmp_path, status))
    try:
        result = _sipp(carrier.port, "-sf", "uac_auth.xml", "-au", "trunkuser", "-ap", "trunkpass")
    finally:
        summary = carrier.stop()
    assert result.returncode == 0, result.stdout.decode(errors="replace")[-3000:]
    assert _successful(result) == (CALLS, 0)
    assert summary["challenged"] == CALLS
    assert summary["auth_failures"] == 0
    assert summary["results"]["answered"] == CALLS


def test_sipp_with_a_wrong_password_is_refused(tmp_path):
    require_program("sipp", "sip-tester")
    carrier = _Carrier(_auth_profile(tmp_path, 407))
    try:
        result = _sipp(carrier.port, "-sf", "uac_auth.xml", "-au", "trunkuser", "-ap", "nope")
    finally:
        summary = carrier.stop()
    assert result.returncode != 0
    assert _successful(result)[0] == 0
    assert summary["calls"] == 0
    assert summary["auth_failures"] == CALLS
