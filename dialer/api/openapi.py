"""The OpenAPI 3.1 description, generated from the endpoint table (routing.py)."""

from __future__ import annotations

import re

from dialer import __version__

from .routing import Endpoint

_ERROR = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def describe(endpoints: list[Endpoint]) -> dict:
    paths: dict[str, dict] = {}
    for ep in endpoints:
        op: dict = {"summary": ep.summary, "tags": [ep.tag], "operationId": f"{ep.tag}_{ep.handler.__name__}"}
        params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in re.findall(r"{(\w+)}", ep.path)]
        params += [{"name": name, "in": "query", "required": False, "description": text,
                    "schema": {"type": "string"}} for name, text in ep.query.items()]
        if params:
            op["parameters"] = params
        if ep.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ep.body}}}
        responses = {"200": {"description": "success", "content": {ep.produces: {}}}}
        if ep.body is not None or params:
            responses["400"] = _ERROR
        if ep.roles is not None:
            op["security"] = [{"bearer": []}, {"cookie": []}]
            op["x-roles"] = sorted(ep.roles)
            responses["401"] = _ERROR
            responses["403"] = _ERROR
        if ep.body is not None:
            responses["413"] = _ERROR
            responses["415"] = _ERROR
        op["responses"] = responses
        paths.setdefault(ep.path, {})[ep.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "dialer", "version": __version__,
                 "description": "Operator, validator and supervisor API of the dialer. Log in with "
                                "POST /api/login, then send `Authorization: Bearer TOKEN`."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "cookie": {"type": "apiKey", "in": "cookie", "name": "dialer_session"}},
            "schemas": {"Error": {"type": "object", "required": ["error"],
                                  "properties": {"error": {"type": "string"}, "field": {"type": "string"}}}},
        },
    }
