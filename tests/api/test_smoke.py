async def test_openapi_served(web):
    r = await web.client.get("/openapi.json")
    assert r.status_code == 200
    assert "/api/login" in r.json()["paths"]


async def test_login_and_me(web):
    headers = await web.login("sue", "supervisor")
    r = await web.client.get("/api/me", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "supervisor"
