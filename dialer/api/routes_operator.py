"""Operator endpoints: state, screen pop, wrap-up, preview, callbacks, live events.

Operators see only their own calls and the leads they have been connected to.
State changes go through the desk (the engine's operator API).
"""

from __future__ import annotations

import datetime as dt
import json

import trio
from starlette.responses import StreamingResponse

from dialer.store import lead_ops, web
from dialer.store.campaigns import find_campaign

from .desk import DeskError
from .errors import ApiError, bad_request
from .routes_auth import text_field
from .routing import OPERATORS, Ctx, Registry

routes = Registry("operator")


def _me(ctx: Ctx) -> int:
    return ctx.user["operator_id"]


async def _desk(action):
    try:
        return await action
    except DeskError as exc:
        raise ApiError(exc.status, str(exc)) from None


@routes.route("POST", "/api/operator/login", roles=OPERATORS, summary="Log in to a campaign's dialing",
              body={"type": "object", "required": ["campaign"], "properties": {"campaign": {"type": "string"}}})
async def login(ctx: Ctx):
    body = await ctx.json()
    ref = body.get("campaign")
    if not isinstance(ref, (str, int)) or isinstance(ref, bool) or ref == "":
        raise bad_request("campaign: required (name or id)", "campaign")
    camp = await ctx.store.run(find_campaign, ref)
    return await _desk(ctx.api.desk.login(_me(ctx), camp["id"]))


@routes.route("GET", "/api/operator/campaigns", roles=OPERATORS, summary="List the campaigns I can log in to")
async def campaigns(ctx: Ctx):
    return {"campaigns": await ctx.store.run(web.active_campaigns)}


@routes.route("POST", "/api/operator/logout", roles=OPERATORS, summary="Log out of dialing")
async def logout(ctx: Ctx):
    return await _desk(ctx.api.desk.logout(_me(ctx)))


@routes.route("POST", "/api/operator/ready", roles=OPERATORS, summary="Go ready for calls")
async def ready(ctx: Ctx):
    return await _desk(ctx.api.desk.ready(_me(ctx)))


@routes.route("POST", "/api/operator/pause", roles=OPERATORS, summary="Pause with a reason",
              body={"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}})
async def pause(ctx: Ctx):
    reason = text_field(await ctx.json(), "reason", limit=200)
    return await _desk(ctx.api.desk.pause(_me(ctx), reason))


@routes.route("GET", "/api/operator/status", roles=OPERATORS, summary="Show my state and current call")
async def status(ctx: Ctx):
    return ctx.api.desk.status(_me(ctx))


@routes.route("GET", "/api/operator/call", roles=OPERATORS,
              summary="Show the current call's screen pop: lead fields, call history, wrap codes")
async def current_call(ctx: Ctx):
    state = ctx.api.desk.status(_me(ctx))
    if not state.get("call"):
        raise ApiError(404, f"no call now (state: {state['state']})")
    return await _screen_pop(ctx, state["call"]["lead_id"], state["call"]["attempt_id"])


async def _screen_pop(ctx: Ctx, lead_id: int, attempt_id: int | None) -> dict:
    lead = await ctx.store.run(lead_ops.show_lead, lead_id)
    codes = await ctx.store.run(web.wrap_codes, lead["campaign_id"])
    return {"attempt_id": attempt_id, "lead": lead, "wrap_codes": codes}


WRAP_BODY = {"type": "object", "required": ["code"], "properties": {
    "code": {"type": "string"}, "notes": {"type": "string"},
    "callback_at": {"type": "string", "description": "ISO date-time; without an offset, the lead's local time"},
    "callback_owned": {"type": "boolean", "description": "only I get the callback (else anyone)"}}}


@routes.route("POST", "/api/operator/wrap", roles=OPERATORS,
              summary="Wrap up the current call: code, notes, optional callback", body=WRAP_BODY)
async def wrap(ctx: Ctx):
    body = await ctx.json()
    code = text_field(body, "code", limit=50)
    notes = text_field(body, "notes", required=False, limit=4000)
    callback_at = None
    raw = body.get("callback_at")
    if raw not in (None, ""):
        try:
            callback_at = dt.datetime.fromisoformat(str(raw))
        except ValueError:
            raise bad_request(f"callback_at: {raw!r} is not an ISO date-time", "callback_at") from None
    owned = body.get("callback_owned", False)
    if not isinstance(owned, bool):
        raise bad_request("callback_owned: must be true or false", "callback_owned")
    return await _desk(ctx.api.desk.wrap(_me(ctx), code=code, notes=notes, callback_at=callback_at,
                                         callback_owned=owned))


@routes.route("POST", "/api/operator/preview/next", roles=OPERATORS, summary="Preview mode: show the next lead")
async def preview_next(ctx: Ctx):
    return await _desk(ctx.api.desk.preview_next(_me(ctx)))


@routes.route("POST", "/api/operator/preview/dial", roles=OPERATORS, summary="Preview mode: dial the lead shown")
async def preview_dial(ctx: Ctx):
    return await _desk(ctx.api.desk.preview_dial(_me(ctx)))


@routes.route("POST", "/api/operator/preview/skip", roles=OPERATORS, summary="Preview mode: skip the lead shown")
async def preview_skip(ctx: Ctx):
    return await _desk(ctx.api.desk.preview_skip(_me(ctx)))


@routes.route("GET", "/api/operator/callbacks", roles=OPERATORS, summary="List my pending callbacks")
async def callbacks(ctx: Ctx):
    return {"callbacks": await ctx.store.run(web.operator_callbacks, _me(ctx))}


@routes.route("GET", "/api/operator/calls", roles=OPERATORS, summary="List my calls, newest first",
              query={"limit": "at most this many (default 50)"})
async def calls(ctx: Ctx):
    return {"calls": await ctx.store.run(web.operator_calls, _me(ctx),
                                         ctx.int_query("limit", 50, low=1, high=1000))}


@routes.route("GET", "/api/operator/leads/{id}", roles=OPERATORS,
              summary="Show a lead I have been connected to")
async def lead(ctx: Ctx):
    lead_id = ctx.int_param("id")
    if not await ctx.store.run(web.operator_connected, _me(ctx), lead_id):
        # The same answer as for a lead that does not exist: no probing of ids.
        raise ApiError(404, f"no lead {lead_id} among your calls")
    return await ctx.store.run(lead_ops.show_lead, lead_id)


@routes.route("GET", "/api/operator/events", roles=OPERATORS, produces="text/event-stream",
              summary="Live updates (server-sent events): my state and calls as they change")
async def events(ctx: Ctx):
    desk, me = ctx.api.desk, _me(ctx)
    keepalive = ctx.api.settings.sse_keepalive_seconds

    async def stream():
        with desk.subscribe(me) as updates:
            while True:
                snapshot = None
                # Never yield inside a cancel scope (an async generator may be
                # suspended there): wait, leave the scope, then yield.
                with trio.move_on_after(keepalive):
                    snapshot = await updates.receive()
                if snapshot is None:
                    yield ": keep-alive\n\n"
                else:
                    yield f"event: status\ndata: {json.dumps(snapshot)}\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
