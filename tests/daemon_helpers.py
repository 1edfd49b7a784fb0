"""Start `dialer run` as a real process for the tests that check the daemon from outside."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from typing import Iterator

NODE_CONFIG = """
[node]
name = "{node}"
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


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dialer_run(tmp_path, database_url: str, node: str) -> Iterator[tuple[subprocess.Popen, str, str]]:
    """`dialer run` on a one-campaign config: yields (process, its first output line, HTTP base URL).
    The process is killed on the way out if the test has not stopped it."""
    http_port = free_tcp_port()
    config = tmp_path / "node.toml"
    config.write_text(NODE_CONFIG.format(node=node, http_port=http_port))
    env = dict(os.environ, DIALER_DATABASE_URL=database_url)
    proc = subprocess.Popen([sys.executable, "-m", "dialer", "run", "--config", str(config), "--drain-timeout", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        yield proc, proc.stdout.readline(), f"http://127.0.0.1:{http_port}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def wait_for_http(url: str, seconds: float = 10) -> str:
    """The body of `url` once the server answers it (fails the test after `seconds`)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return urllib.request.urlopen(url, timeout=2).read().decode()
        except OSError:
            assert time.monotonic() < deadline, f"{url} did not answer within {seconds} s"
            time.sleep(0.1)
