"""All or nothing when an import is interrupted from outside: the process killed mid-load, or
its database connection cut (what a database restart does to it). Nothing may be left behind,
and the same import run again afterwards must work as if the first had never started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.db

ROWS = 150_000


@pytest.fixture
def big_file(write):
    body = "".join(f"212{n:07d},Name{n}\n" for n in range(5_000_000, 5_000_000 + ROWS))
    return write("big.csv", "phone,first_name\n" + body)


def _start_import(database_url: str, path: str, list_name: str) -> subprocess.Popen:
    env = dict(os.environ, DIALER_DATABASE_URL=database_url)
    # Its own process group, so killing it takes its parser workers down too.
    return subprocess.Popen(
        [sys.executable, "-m", "dialer", "import", path, "--campaign", "Sales",
         "--new-list", list_name, "--dup-scope", "none", "--json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_for_load(sql, proc: subprocess.Popen, timeout: float = 120.0) -> int:
    """Wait until the import's backend is writing (its COPY into staging is running) and
    return that backend's pid. The transaction is open, so nothing is visible yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the import ended before it was interrupted: {proc.communicate()}"
        rows = sql("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                   "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL "
                   "AND query ILIKE '%copy%'")
        if rows:
            return rows[0]["pid"]
        time.sleep(0.05)
    raise AssertionError("the import never reached its COPY")


def _nothing_left(sql, list_name: str) -> None:
    assert sql("SELECT count(*) AS n FROM lead")[0]["n"] == 0
    assert sql("SELECT count(*) AS n FROM lead_list WHERE name = $1", list_name)[0]["n"] == 0


def _import_again_works(cli, path: str, list_name: str) -> None:
    r = cli("import", path, "--campaign", "Sales", "--new-list", list_name, "--dup-scope", "none", "--json")
    assert r.code == 0, r.err
    assert r.json()["imported"] == ROWS


def test_killed_import_leaves_nothing_behind(cli, campaign, big_file, sql, database_url):
    proc = _start_import(database_url, big_file, "Killed")
    backend = _wait_for_load(sql, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    # The server notices the closed connection and rolls the transaction back.
    deadline = time.monotonic() + 30
    while sql("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = $1", backend)[0]["n"]:
        assert time.monotonic() < deadline, "the killed import's backend never went away"
        time.sleep(0.05)
    _nothing_left(sql, "Killed")
    _import_again_works(cli, big_file, "Killed")


def test_import_whose_connection_is_cut_says_so_and_leaves_nothing(cli, campaign, big_file, sql, database_url):
    # This once hung for ever: asyncpg's COPY waited on its flow control after the connection
    # was gone (see dialer/store/bridge.py copy_stream_to_table).
    proc = _start_import(database_url, big_file, "Cut")
    try:
        backend = _wait_for_load(sql, proc)
        assert sql("SELECT pg_terminate_backend($1) AS ok", backend)[0]["ok"]
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    assert proc.returncode != 0, out
    assert "nothing" in err.lower() and "import" in err.lower(), err
    # One clear line, not a traceback or a flood of transport warnings.
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    _nothing_left(sql, "Cut")
    _import_again_works(cli, big_file, "Cut")
