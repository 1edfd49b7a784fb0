"""`dialer web` serves the API and pages as a real process."""

import os
import re
import subprocess
import sys

import httpx
import trio


async def test_dialer_web_serves_pages_and_api(database_url):
    env = {**os.environ, "DIALER_DATABASE_URL": database_url}
    proc = subprocess.Popen([sys.executable, "-m", "dialer", "web", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, text=True)
    try:
        line = await trio.to_thread.run_sync(proc.stdout.readline)
        match = re.search(r"serving on (http://127\.0\.0\.1:\d+)", line)
        assert match, (line, proc.stderr.read() if proc.poll() is not None else "")
        async with httpx.AsyncClient(base_url=match.group(1)) as client:
            assert (await client.get("/healthz")).json() == {"ok": True}
            page = await client.get("/login")
            assert page.status_code == 200 and "<form" in page.text
            assert (await client.get("/static/app.js")).status_code == 200
            assert (await client.get("/api/campaigns")).status_code == 401
    finally:
        proc.terminate()
        proc.wait(10)
