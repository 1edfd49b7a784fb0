"""Every endpoint checks its roles: 401 without a token, 403 with the wrong role."""

import pytest

from dialer.api.app import all_endpoints
from dialer.api.routing import ANYONE

ROLES = sorted(ANYONE)
PUBLIC_PATHS = {"/", "/login", "/operator", "/validator", "/wallboard", "/leads", "/lists", "/imports", "/openapi.json",
                "/healthz", "/metrics", "/api/login"}


def concrete(path: str) -> str:
    return path.replace("{id}", "1").replace("{ref}", "1")


async def call(web, ep, headers=None):
    kwargs = {"headers": headers or {}}
    if ep.method in ("POST", "PATCH", "PUT"):
        kwargs["json"] = {}
    return await web.client.request(ep.method, concrete(ep.path), **kwargs)


async def test_only_the_intended_endpoints_are_public():
    public = {ep.path for ep in all_endpoints() if ep.roles is None}
    assert public == PUBLIC_PATHS


async def test_every_protected_endpoint_answers_401_without_a_token(web):
    protected = [ep for ep in all_endpoints() if ep.roles is not None]
    assert len(protected) > 25
    for ep in protected:
        r = await call(web, ep)
        assert r.status_code == 401, (ep.method, ep.path, r.status_code, r.text)
        assert "log in" in r.json()["error"]
        r = await call(web, ep, {"Authorization": "Bearer not-a-real-token"})
        assert r.status_code == 401, (ep.method, ep.path)


async def test_every_protected_endpoint_answers_403_to_the_wrong_roles(web):
    headers = {role: await web.login(f"{role}1", role) for role in ROLES}
    checked = 0
    for ep in all_endpoints():
        if ep.roles is None:
            continue
        for role in ROLES:
            if role in ep.roles:
                continue
            r = await call(web, ep, headers[role])
            assert r.status_code == 403, (role, ep.method, ep.path, r.status_code, r.text)
            assert f"a {role} may not" in r.json()["error"]
            checked += 1
    assert checked > 50


@pytest.mark.parametrize("role,path,allowed", [
    ("operator", "/api/campaigns", False), ("validator", "/api/campaigns", False),
    ("supervisor", "/api/campaigns", True), ("admin", "/api/campaigns", True),
    ("validator", "/api/validation/leads", True), ("operator", "/api/validation/leads", False),
    ("supervisor", "/api/operator/status", False), ("operator", "/api/operator/status", True),
    ("supervisor", "/api/users", False), ("admin", "/api/users", True),
])
async def test_role_matrix_samples(web, role, path, allowed):
    r = await web.client.get(path, headers=await web.login(f"{role}x", role))
    assert (r.status_code == 200) == allowed, r.text
    assert r.status_code in (200, 403)


async def test_wrong_password_unknown_user_and_disabled_user(web):
    await web.add_user("sue", "supervisor")
    for name, pw in (("sue", "wrong password"), ("nobody", "whatever it is")):
        r = await web.client.post("/api/login", json={"name": name, "password": pw})
        assert r.status_code == 401 and "wrong user name or password" in r.json()["error"]
    headers = await web.login("sue")
    admin = await web.login("root", "admin")
    r = await web.client.patch(f"/api/users/{web.users['sue']['id']}", json={"active": False}, headers=admin)
    assert r.status_code == 200 and r.json()["active"] is False
    # Disabling ends the live session and refuses new ones.
    assert (await web.client.get("/api/me", headers=headers)).status_code == 401
    r = await web.client.post("/api/login", json={"name": "sue", "password": "correct horse battery"})
    assert r.status_code == 401


async def test_logout_ends_the_session(web):
    headers = await web.login("sue", "supervisor")
    assert (await web.client.get("/api/me", headers=headers)).status_code == 200
    assert (await web.client.post("/api/logout", headers=headers)).status_code == 200
    assert (await web.client.get("/api/me", headers=headers)).status_code == 401


async def test_expired_session_is_refused(web):
    headers = await web.login("sue", "supervisor")
    await web.store.execute("UPDATE user_session SET expires_at = now() - interval '1 second'")
    r = await web.client.get("/api/me", headers=headers)
    assert r.status_code == 401


async def test_tokens_are_stored_hashed_and_cookie_sessions_work(web):
    await web.add_user("sue", "supervisor")
    r = await web.client.post("/api/login", json={"name": "sue", "password": "correct horse battery"})
    token = r.json()["token"]
    assert len(token) >= 40
    stored = await web.store.fetch("SELECT token_hash FROM user_session")
    assert len(stored) == 1 and token.encode() not in bytes(stored[0]["token_hash"])
    assert len(bytes(stored[0]["token_hash"])) == 32
    # The login set an HttpOnly cookie; the client sends it back without a header.
    assert "httponly" in r.headers["set-cookie"].lower() and "samesite=strict" in r.headers["set-cookie"].lower()
    me = await web.client.get("/api/me")
    assert me.status_code == 200 and me.json()["name"] == "sue"


async def test_changing_password_ends_sessions(web):
    headers = await web.login("sue", "supervisor")
    admin = await web.login("root", "admin")
    r = await web.client.patch(f"/api/users/{web.users['sue']['id']}", json={"password": "another long one"},
                               headers=admin)
    assert r.status_code == 200, r.text
    assert (await web.client.get("/api/me", headers=headers)).status_code == 401
    r = await web.client.post("/api/login", json={"name": "sue", "password": "another long one"})
    assert r.status_code == 200
