"""/openapi.json lists every endpoint with its roles and error answers."""

from dialer.api.app import all_endpoints


async def test_openapi_lists_every_endpoint(web):
    r = await web.client.get("/openapi.json")
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    listed = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}
    routed = {(ep.method, ep.path) for ep in all_endpoints()}
    assert listed == routed
    wrap = doc["paths"]["/api/operator/wrap"]["post"]
    assert wrap["x-roles"] == ["operator"]
    assert {"400", "401", "403", "413", "415"} <= set(wrap["responses"])
    assert "code" in wrap["requestBody"]["content"]["application/json"]["schema"]["required"]
    assert "security" not in doc["paths"]["/api/login"]["post"]


async def test_healthz(web):
    assert (await web.client.get("/healthz")).json() == {"ok": True}
