"""Log in, log out, who am I; and user administration for admins."""

from __future__ import annotations

import datetime as dt
import secrets

from starlette.responses import JSONResponse

from dialer.store import users as user_store

from .errors import ApiError, bad_request
from .passwords import WeakPassword, hash_password, verify_password
from .routing import ADMINS, ANYONE, PUBLIC, SESSION_COOKIE, Ctx, Registry, jsonable, request_token, token_digest

routes = Registry("auth")

LOGIN_BODY = {"type": "object", "required": ["name", "password"],
              "properties": {"name": {"type": "string"}, "password": {"type": "string"}}}


def text_field(body: dict, name: str, *, required: bool = True, limit: int = 2000) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise bad_request(f"{name}: required", name)
        return None
    if not isinstance(value, str):
        raise bad_request(f"{name}: must be a string", name)
    if len(value) > limit:
        raise bad_request(f"{name}: longer than {limit} characters", name)
    return value


@routes.route("POST", "/api/login", roles=PUBLIC, summary="Log in: returns a session token", body=LOGIN_BODY)
async def login(ctx: Ctx):
    body = await ctx.json()
    name, password = text_field(body, "name", limit=100), text_field(body, "password", limit=1000)
    record = await ctx.store.run(user_store.login_record, name)
    # Verify against a dummy hash for unknown users so timing does not reveal names.
    stored = record["password_hash"] if record else _DUMMY_HASH
    ok, rehashed = await verify_password(stored, password)
    if not (ok and record and record["active"]):
        raise ApiError(401, "wrong user name or password, or the user is disabled")
    if rehashed:
        await ctx.store.run(user_store.rehash_password, record["id"], rehashed)
    token = secrets.token_urlsafe(32)
    lifetime = dt.timedelta(seconds=ctx.api.settings.session_seconds)
    expires = await ctx.store.run(user_store.open_session, record["id"], token_digest(token), lifetime)
    user = {k: record[k] for k in ("id", "name", "role", "operator_id")}
    response = JSONResponse(jsonable({"token": token, "expires_at": expires, "user": user}))
    response.set_cookie(SESSION_COOKIE, token, max_age=int(lifetime.total_seconds()), httponly=True,
                        samesite="strict", path="/")
    return response


_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$tF0rucv4BH0RwStld4sf9g$VTw0rzlDc63ARkrJiZ7hXUFNhY0E3Mavv2fmlPSPThU"


@routes.route("POST", "/api/logout", roles=ANYONE, summary="Log out: ends this session")
async def logout(ctx: Ctx):
    await ctx.store.run(user_store.close_session, token_digest(request_token(ctx.request)))
    response = JSONResponse({"logged_out": True})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@routes.route("GET", "/api/me", roles=ANYONE, summary="Show the logged-in user")
async def me(ctx: Ctx):
    return {k: ctx.user[k] for k in ("id", "name", "role", "operator_id", "expires_at")}


USER_BODY = {"type": "object", "required": ["name", "role", "password"],
             "properties": {"name": {"type": "string"}, "password": {"type": "string"},
                            "role": {"enum": list(user_store.ROLES)}, "display_name": {"type": "string"}}}


@routes.route("GET", "/api/users", roles=ADMINS, summary="List users")
async def list_users(ctx: Ctx):
    return {"users": await ctx.store.run(user_store.list_users)}


@routes.route("POST", "/api/users", roles=ADMINS, summary="Add a user", body=USER_BODY)
async def add_user(ctx: Ctx):
    body = await ctx.json()
    name, role = text_field(body, "name", limit=100), text_field(body, "role", limit=20)
    try:
        hashed = await hash_password(text_field(body, "password", limit=1000))
        user = await ctx.store.run(user_store.create_user, name, role, hashed,
                                   text_field(body, "display_name", required=False, limit=200))
    except WeakPassword as exc:
        raise bad_request(str(exc), "password") from None
    except user_store.UserError as exc:
        raise bad_request(str(exc), "name" if "name" in str(exc) or "exists" in str(exc) else "role") from None
    return JSONResponse(jsonable(user), status_code=201)


@routes.route("PATCH", "/api/users/{id}", roles=ADMINS, summary="Change a user's password or disable them",
              body={"type": "object", "properties": {"password": {"type": "string"},
                                                     "active": {"type": "boolean"}}})
async def change_user(ctx: Ctx):
    body = await ctx.json()
    uid = ctx.int_param("id")
    if not {"password", "active"} & body.keys():
        raise bad_request("nothing to change: send password and/or active")
    user = await ctx.store.run(user_store.find_user, uid)
    if "password" in body:
        try:
            hashed = await hash_password(text_field(body, "password", limit=1000))
        except WeakPassword as exc:
            raise bad_request(str(exc), "password") from None
        await ctx.store.run(user_store.set_password, uid, hashed)
    if "active" in body:
        if not isinstance(body["active"], bool):
            raise bad_request("active: must be true or false", "active")
        user = await ctx.store.run(user_store.set_active, uid, body["active"])
    return user
