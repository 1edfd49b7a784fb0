"""`dialer call` end to end: the real command against sipp over loopback UDP and TCP."""

import json
import socket
import subprocess
import sys

import pytest
import trio

from peers import require_program
from sipp_runner import SCENARIOS, free_port, run_sipp, sipp_command


def dialer(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "dialer", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.peers
@pytest.mark.parametrize("scenario, outcome, status, transport", [
    ("uas_answer.xml", "answered", 200, "udp"), ("uas_486.xml", "busy", 486, "udp"),
    ("uas_486.xml", "busy", 486, "tcp")])
async def test_call_command_against_sipp(scenario, outcome, status, transport):
    sipp = require_program("sipp", "sip-tester")
    port = free_port(socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM)
    uri = f"sip:127.0.0.1:{port}" + (";transport=tcp" if transport == "tcp" else "")
    sipp_args = ["-t", "t1"] if transport == "tcp" else []
    out = {}
    async with trio.open_nursery() as nursery:
        async def sipp_task(task_status):
            out["sipp"] = await run_sipp(sipp_command(sipp, port, "-sf", str(SCENARIOS / scenario),
                                                      "-m", "1", *sipp_args), 30, task_status)
        await nursery.start(sipp_task)
        with trio.fail_after(60):
            out["cli"] = await trio.run_process(
                [sys.executable, "-m", "dialer", "call", "+15551234567", "--trunk",
                 uri, "--listen", "127.0.0.1:0", "--caller-id", "15550001111",
                 "--ring-timeout", "15", "--hold", "0.2", "--json"],
                capture_stdout=True, capture_stderr=True, check=False)
    cli = out["cli"]
    assert cli.returncode == 0, cli.stderr
    result = json.loads(cli.stdout)
    assert result["outcome"] == outcome and result["sip_status"] == status
    assert result["ring_seconds"] > 0 and "talk_seconds" in result
    if outcome == "answered":
        assert result["talk_seconds"] == pytest.approx(0.2, abs=0.15)
    assert out["sipp"].returncode == 0


@pytest.mark.parametrize("args, message", [
    (["--trunk", "http://x"], "--trunk"),
    (["--trunk", "sip:127.0.0.1:5060;transport=sctp"], "--trunk"),
    (["--trunk", "sip:127.0.0.1:5060", "--ring-timeout", "0"], "--ring-timeout"),
    (["--trunk", "sip:127.0.0.1:5060", "--username", "u"], "--username"),
    (["--trunk", "sip:127.0.0.1:5060", "--listen", "nonsense"], "--listen"),
])
def test_call_command_bad_input(args, message):
    result = dialer("call", "+15551234567", *args)
    assert result.returncode == 2
    assert message in result.stderr
