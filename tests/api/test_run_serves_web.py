"""`dialer run` serves the API and pages next to the engine, on node.http_listen."""

import os
import socket
import subprocess
import sys
import time

import httpx

CONFIG = """
[node]
name = "node-web"
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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dialer_run_serves_api_pages_and_metrics(tmp_path, database_url):
    port = free_port()
    config = tmp_path / "node.toml"
    config.write_text(CONFIG.format(http_port=port))
    env = dict(os.environ, DIALER_DATABASE_URL=database_url)
    proc = subprocess.Popen([sys.executable, "-m", "dialer", "run", "--config", str(config), "--drain-timeout", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert "SIP on" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                login = httpx.get(base + "/login", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert login.status_code == 200 and "<form" in login.text
        assert httpx.get(base + "/api/campaigns").status_code == 401
        assert "/api/operator/ready" in httpx.get(base + "/openapi.json").json()["paths"]
        metrics = httpx.get(base + "/metrics").text
        assert "dialer_operators" in metrics and "dialer_db_latency_seconds" in metrics
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
