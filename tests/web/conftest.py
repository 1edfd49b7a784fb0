"""Browser tests: the daemon's HTTP side in a trio thread, headless Chromium driven by Playwright.

Playwright's sync API blocks the thread that calls it, so the server runs in
its own thread with its own trio run; the test reaches into it (database set-up,
handing a simulated call to an operator) with trio.from_thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading

import argon2
import pytest
import trio
import trio_asyncio

from dialer.api import LocalDesk, create_app, passwords, serve
from dialer.store import Store
from dialer.store import users as user_store
from peers import require_program

from browser_helpers import PASSWORD
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class ServerThread:
    def __init__(self, database_url: str):
        self.database_url = database_url
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="dialer-web", daemon=True)

    def _run(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:  # reported to the test, which fails with it
            self.error = exc
            self.ready.set()

    async def _main(self) -> None:
        self.token = trio.lowlevel.current_trio_token()
        async with Store.open(self.database_url) as store:
            self.store = store
            self.loop = trio_asyncio.current_loop.get()
            self.desk = LocalDesk(store)
            async with trio.open_nursery() as nursery:
                self.scope = nursery.cancel_scope
                (self.url,) = await nursery.start(serve, create_app(store, desk=self.desk), "127.0.0.1", 0)
                self.ready.set()

    def start(self) -> "ServerThread":
        self.thread.start()
        if not self.ready.wait(30) or self.error:
            raise RuntimeError(f"web server did not start: {self.error!r}")
        return self

    def run(self, async_fn, *args):
        """Run `async_fn(*args)` in the server's trio thread and return its result."""
        async def in_loop_context():
            # from_thread tasks start in a bare context: give them the store's asyncio loop.
            trio_asyncio.current_loop.set(self.loop)
            return await async_fn(*args)

        return trio.from_thread.run(in_loop_context, trio_token=self.token)

    def run_sync(self, fn, *args):
        return trio.from_thread.run_sync(fn, *args, trio_token=self.token)

    def sql(self, query: str, *args):
        return self.run(self.store.fetchval, query, *args)

    def add_user(self, name: str, role: str) -> dict:
        hashed = passwords.HASHER.hash(PASSWORD)
        return self.run(self.store.run, user_store.create_user, name, role, hashed)

    def stop(self) -> None:
        if self.thread.is_alive() and not self.error:
            self.run_sync(self.scope.cancel)
        self.thread.join(10)


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    monkeypatch.setattr(passwords, "HASHER", argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))


@pytest.fixture
def server(database_url):
    srv = ServerThread(database_url).start()
    yield srv
    srv.stop()


@contextlib.contextmanager
def plain_asyncio_policy():
    """Playwright's sync API runs its own asyncio loop in this thread. trio-asyncio (imported by the
    store) installs a global policy that would hand it a trio-flavoured loop and child watcher, so
    the default policy is restored while the browser runs. The server thread is unaffected: its
    trio-asyncio loop is found as the *running* loop, never through the policy."""
    previous = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())
    try:
        yield
    finally:
        asyncio.set_event_loop_policy(previous)


@pytest.fixture
def chromium():
    executable = require_program("chromium", "chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("DIALER_REQUIRE_PEERS") == "1":
            pytest.fail("playwright (PyPI) is not installed, and DIALER_REQUIRE_PEERS=1 says it must be")
        pytest.skip("playwright (PyPI) is not installed")
    with plain_asyncio_policy(), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()
