"""`dialer run` as a process: starts (recovering a dead run's open attempts), serves /metrics,
and on SIGTERM stops cleanly with exit status 0."""

import signal

import trio

from daemon_helpers import dialer_run, wait_for_http
from dialer.store import Store


def test_run_starts_recovers_serves_metrics_and_stops_on_sigterm(tmp_path, database_url):
    async def seed():
        async with Store.open(database_url) as store:
            cid = await store.fetchval("INSERT INTO campaign (name) VALUES ('old') RETURNING id")
            await store.execute(
                "INSERT INTO attempt (campaign_id, node, called_number, started_at) "
                "VALUES ($1, 'node-run', '+12125550100', now())", cid)

    trio.run(seed)
    with dialer_run(tmp_path, database_url, "node-run") as (proc, line, base):
        assert "SIP on 127.0.0.1:" in line and "recovered 1 open attempt" in line, (line, proc.stderr.read()
                                                                                    if proc.poll() else "")
        body = wait_for_http(base + "/metrics")
        assert "dialer_operators" in body and "dialer_db_latency_seconds" in body
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "SIGTERM: stopping new dials" in out and "stopped" in out

    async def check():
        async with Store.open(database_url) as store:
            return await store.fetchrow("SELECT outcome, ended_at FROM attempt")

    row = trio.run(check)
    assert row["outcome"] == "unknown" and row["ended_at"] is not None
