"""Endpoints as data: method, path, roles, summary and body schema.

One table drives both the Starlette routes and the OpenAPI description, so
the description cannot forget an endpoint. Every endpoint names the roles that
may call it; the wrapper answers 401 (no or expired token) and 403 (wrong
role) before the handler runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dialer.lifecycle.rules import RuleError
from dialer.store.campaigns import NotFound
from dialer.store.lists import ListError
from dialer.store.web import InvalidChange

from .errors import ApiError

log = logging.getLogger("dialer.api")

SESSION_COOKIE = "dialer_session"
ANYONE = frozenset({"operator", "validator", "supervisor", "admin"})
SUPERVISORS = frozenset({"supervisor", "admin"})
VALIDATORS = frozenset({"validator", "supervisor", "admin"})
OPERATORS = frozenset({"operator"})
ADMINS = frozenset({"admin"})
PUBLIC = None

USER_ERRORS = (RuleError, ListError, InvalidChange)

Handler = Callable[["Ctx"], Awaitable[Any]]


@dataclass
class Endpoint:
    method: str
    path: str                      # OpenAPI style: /api/leads/{id}
    roles: frozenset[str] | None   # None: no login needed
    summary: str
    handler: Handler
    tag: str
    body: dict | None = None       # JSON schema of the request body
    query: dict[str, str] = field(default_factory=dict)  # name -> description
    produces: str = "application/json"
    upload: bool = False           # body is a file (larger limit, not JSON)


class Registry:
    def __init__(self, tag: str):
        self.tag = tag
        self.endpoints: list[Endpoint] = []

    def route(self, method: str, path: str, *, roles: frozenset[str] | None, summary: str,
              body: dict | None = None, query: dict[str, str] | None = None,
              produces: str = "application/json", upload: bool = False):
        def register(handler: Handler) -> Handler:
            self.endpoints.append(Endpoint(method, path, roles, summary, handler, self.tag, body,
                                           query or {}, produces, upload))
            return handler
        return register


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def request_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.cookies.get(SESSION_COOKIE) or None


class Ctx:
    """What a handler gets: the request, the logged-in user and the app's parts."""

    def __init__(self, request: Request, endpoint: Endpoint, user: dict | None):
        self.request = request
        self.endpoint = endpoint
        self.user = user
        self.api = request.app.state.api
        self.store = self.api.store

    def param(self, name: str) -> str:
        return self.request.path_params[name]

    def int_param(self, name: str) -> int:
        value = self.request.path_params[name]
        try:
            return int(value)
        except ValueError:
            raise ApiError(404, f"{name} {value!r} is not a number") from None

    def query(self, name: str, default: Any = None) -> Any:
        return self.request.query_params.get(name, default)

    def int_query(self, name: str, default: int | None = None, *, low: int = 0,
                  high: int = 10_000) -> int | None:
        raw = self.request.query_params.get(name)
        if raw in (None, ""):
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(400, f"query {name}: {raw!r} is not a whole number", name) from None
        if not low <= value <= high:
            raise ApiError(400, f"query {name}: {value} is not between {low} and {high}", name)
        return value

    async def body_bytes(self, limit: int) -> bytes:
        declared = self.request.headers.get("content-length")
        if declared is not None:
            try:
                if int(declared) > limit:
                    raise ApiError(413, f"request body of {declared} bytes is over the limit of {limit}")
            except ValueError:
                raise ApiError(400, "content-length is not a number") from None
        chunks, size = [], 0
        async for chunk in self.request.stream():
            size += len(chunk)
            if size > limit:
                raise ApiError(413, f"request body is over the limit of {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def json(self) -> dict:
        """The request body as a JSON object, or a 4xx that says what is wrong with it."""
        ctype = self.request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            # Also what keeps cross-site HTML forms (CSRF) away from cookie sessions.
            raise ApiError(415, "send the body as application/json")
        limit = self.api.settings.max_upload_bytes if self.endpoint.upload else self.api.settings.max_json_bytes
        raw = await self.body_bytes(limit)
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            where = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            raise ApiError(400, f"malformed JSON{where}: {exc.msg if hasattr(exc, 'msg') else exc}") from None
        if not isinstance(data, dict):
            raise ApiError(400, "the body must be a JSON object")
        return data


async def authenticate(request: Request) -> dict | None:
    token = request_token(request)
    if not token:
        return None
    from dialer.store.users import session_user

    return await request.app.state.api.store.run(session_user, token_digest(token))


def wrap(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        try:
            user = None
            if endpoint.roles is not None:
                user = await authenticate(request)
                if user is None:
                    raise ApiError(401, "log in first (no session token, or it expired)")
                if user["role"] not in endpoint.roles:
                    raise ApiError(403, f"a {user['role']} may not {endpoint.summary[0].lower()}"
                                        f"{endpoint.summary[1:]}")
            else:
                user = await authenticate(request) if request_token(request) else None
            result = await endpoint.handler(Ctx(request, endpoint, user))
        except ApiError as exc:
            return exc.response()
        except NotFound as exc:
            return ApiError(404, str(exc)).response()
        except USER_ERRORS as exc:
            # The rules' own refusals (unknown wrap code, callback in the past, a list that
            # is to be dialed, ...) are the caller's input: 400 with the rule's message.
            return ApiError(400, str(exc), getattr(exc, "field", None)).response()
        if isinstance(result, Response):
            return result
        return JSONResponse(jsonable(result))

    handle.__name__ = endpoint.handler.__name__
    return handle


def jsonable(value: Any) -> Any:
    import datetime as dt
    import decimal

    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value
