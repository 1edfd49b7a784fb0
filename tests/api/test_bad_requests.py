"""Malformed JSON, wrong content types and oversized bodies get a 4xx with a message, never a 500."""

import pytest


@pytest.mark.parametrize("body,fragment", [
    (b"{not json", "malformed JSON at line 1 column 2"),
    (b"", "malformed JSON"),
    (b'{"name": "sue"', "malformed JSON"),
    (b"\xff\xfe\x00garbage", "malformed JSON"),
    (b"[1, 2, 3]", "must be a JSON object"),
    (b'"just a string"', "must be a JSON object"),
])
async def test_malformed_json_is_400(web, body, fragment):
    for path in ("/api/login",):
        r = await web.client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, r.text
        assert fragment in r.json()["error"]


async def test_malformed_json_on_protected_endpoints(web, campaign):
    headers = {**await web.login("sue", "supervisor"), "Content-Type": "application/json"}
    for method, path in (("PATCH", f"/api/campaigns/{campaign['id']}"),
                         ("PATCH", f"/api/lists/{campaign['list_ids'][0]}")):
        r = await web.client.request(method, path, content=b"{'single': 'quotes'}", headers=headers)
        assert r.status_code == 400 and "malformed JSON" in r.json()["error"], r.text


async def test_wrong_content_type_is_415(web):
    r = await web.client.post("/api/login", content=b"name=sue&password=x",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415 and "application/json" in r.json()["error"]


async def test_oversized_body_is_413_by_content_length(web):
    big = b'{"name": "' + b"x" * 10_000 + b'", "password": "y"}'
    r = await web.client.post("/api/login", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "over the limit of 4096" in r.json()["error"]


async def test_oversized_body_is_413_when_streamed_without_length(web):
    async def chunks():
        for _ in range(20):
            yield b"x" * 1000

    r = await web.client.post("/api/login", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "over the limit" in r.json()["error"]


async def test_missing_and_mistyped_fields_are_named(web):
    r = await web.client.post("/api/login", json={"name": "sue"})
    assert r.status_code == 400 and r.json() == {"error": "password: required", "field": "password"}
    r = await web.client.post("/api/login", json={"name": 5, "password": "x"})
    assert r.status_code == 400 and r.json()["field"] == "name"


async def test_unknown_path_and_method_are_json(web):
    r = await web.client.get("/api/nothing-here")
    assert r.status_code == 404 and "error" in r.json()
    r = await web.client.delete("/api/login")
    assert r.status_code == 405 and "error" in r.json()


async def test_non_numeric_ids_and_queries(web):
    headers = await web.login("sue", "supervisor")
    r = await web.client.get("/api/leads/abc", headers=headers)
    assert r.status_code == 404 and "not a number" in r.json()["error"]
    r = await web.client.get("/api/leads?limit=lots", headers=headers)
    assert r.status_code == 400 and r.json()["field"] == "limit"
    r = await web.client.get("/api/leads?limit=0", headers=headers)
    assert r.status_code == 400
