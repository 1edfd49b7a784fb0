"""`dialer run` as a process: starts (recovering a dead run's open attempts), serves /metrics,
and on SIGTERM stops cleanly with exit status 0."""

import os
import signal
import subprocess
import sys
import time
import urllib.request

import trio

from dialer.store import Store

CONFIG = """
[node]
name = "node-run"
sip_listen = "127.0.0.1:0"
http_listen = "127.0.0.1:{http_port}"

[[campaigns]]
name = "daemon"

[[campaigns.lists]]
name = "l1"

[[trunks]]
name = "nowhere"
host = "127.0.0.1"
port = 9
"""


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_starts_recovers_serves_metrics_and_stops_on_sigterm(tmp_path, database_url):
    async def seed():
        async with Store.open(database_url) as store:
            cid = await store.fetchval("INSERT INTO campaign (name) VALUES ('old') RETURNING id")
            await store.execute(
                "INSERT INTO attempt (campaign_id, node, called_number, started_at) "
                "VALUES ($1, 'node-run', '+12125550100', now())", cid)

    trio.run(seed)
    http_port = _free_port()
    config = tmp_path / "node.toml"
    config.write_text(CONFIG.format(http_port=http_port))
    env = dict(os.environ, DIALER_DATABASE_URL=database_url)
    proc = subprocess.Popen([sys.executable, "-m", "dialer", "run", "--config", str(config), "--drain-timeout", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert "SIP on 127.0.0.1:" in line and "recovered 1 open attempt" in line, (line, proc.stderr.read()
                                                                                    if proc.poll() else "")
        deadline = time.monotonic() + 10
        while True:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{http_port}/metrics", timeout=2).read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert "dialer_operators" in body and "dialer_db_latency_seconds" in body
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "SIGTERM: stopping new dials" in out and "stopped" in out

    async def check():
        async with Store.open(database_url) as store:
            return await store.fetchrow("SELECT outcome, ended_at FROM attempt")

    row = trio.run(check)
    assert row["outcome"] == "unknown" and row["ended_at"] is not None
