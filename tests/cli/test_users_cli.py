"""`dialer user add|passwd|disable|enable|list` against a real database."""

import io

import argon2
import pytest
import trio

from dialer.api import passwords
from dialer.store import Store


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    monkeypatch.setattr(passwords, "HASHER", argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))


def stdin(monkeypatch, text):
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def stored_hash(url, name):
    async def get():
        async with Store.open(url) as store:
            return await store.fetchval("SELECT password_hash FROM app_user WHERE name = $1", name)
    return trio.run(get)


def test_add_passwd_disable_enable(cli, monkeypatch, database_url):
    stdin(monkeypatch, "first password\n")
    r = cli("user", "add", "olga", "--role", "operator", "--password-stdin", "--json")
    assert r.code == 0, r
    assert r.json()["role"] == "operator" and r.json()["operator_id"]
    first = stored_hash(database_url, "olga")
    assert first.startswith("$argon2id$") and "first password" not in first
    passwords.HASHER.verify(first, "first password")

    stdin(monkeypatch, "second password\n")
    assert cli("user", "passwd", "olga", "--password-stdin").code == 0
    passwords.HASHER.verify(stored_hash(database_url, "olga"), "second password")

    assert cli("user", "disable", "olga").code == 0
    users = cli("user", "list", "--json").json()["users"]
    assert [u["active"] for u in users if u["name"] == "olga"] == [False]
    assert cli("user", "enable", "olga").code == 0
    assert cli("user", "list", "--json").json()["users"][0]["active"] is True


def test_bad_input_is_named(cli, monkeypatch):
    stdin(monkeypatch, "short\n")
    r = cli("user", "add", "vic", "--role", "validator", "--password-stdin")
    assert r.code == 2 and "at least 8" in r.err
    stdin(monkeypatch, "long enough pw\n")
    assert cli("user", "add", "vic", "--role", "validator", "--password-stdin").code == 0
    stdin(monkeypatch, "long enough pw\n")
    r = cli("user", "add", "vic", "--role", "validator", "--password-stdin")
    assert r.code == 2 and "already exists" in r.err
    r = cli("user", "disable", "nobody")
    assert r.code == 2 and "no user 'nobody'" in r.err
    r = cli("user", "add", "x", "--role", "king", "--password-stdin")
    assert r.code == 2
