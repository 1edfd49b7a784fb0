"""`dialer run` serves the API and pages next to the engine, on node.http_listen."""

import httpx

from daemon_helpers import dialer_run, wait_for_http


def test_dialer_run_serves_api_pages_and_metrics(tmp_path, database_url):
    with dialer_run(tmp_path, database_url, "node-web") as (proc, line, base):
        assert "SIP on" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
        login = wait_for_http(base + "/login")
        assert "<form" in login
        assert httpx.get(base + "/login").status_code == 200
        assert httpx.get(base + "/api/campaigns").status_code == 401
        assert "/api/operator/ready" in httpx.get(base + "/openapi.json").json()["paths"]
        metrics = httpx.get(base + "/metrics").text
        assert "dialer_operators" in metrics and "dialer_db_latency_seconds" in metrics
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
