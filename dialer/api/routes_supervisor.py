"""Supervisor endpoints: campaigns, lists, leads, wallboard."""

from __future__ import annotations

import datetime as dt

from dialer.store import lead_ops, web
from dialer.store import lists as list_store

from .errors import bad_request
from .routes_auth import text_field
from .routing import SUPERVISORS, Ctx, Registry

routes = Registry("supervisor")


def _changes(body: dict, allowed: tuple[str, ...]) -> dict:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise bad_request(f"{unknown[0]}: cannot be changed here; one of {', '.join(allowed)}", unknown[0])
    if not body:
        raise bad_request(f"nothing to change: send one of {', '.join(allowed)}")
    return body


async def _run_change(ctx: Ctx, unit, *args):
    try:
        return await ctx.store.run(unit, *args)
    except web.InvalidChange as exc:
        raise bad_request(str(exc), exc.field) from None


@routes.route("GET", "/api/campaigns", roles=SUPERVISORS, summary="List campaigns")
async def campaigns(ctx: Ctx):
    from dialer.store.campaigns import list_campaigns

    rows = await ctx.store.run(list_campaigns)
    return {"campaigns": [web._campaign(r) for r in rows]}


@routes.route("GET", "/api/campaigns/{ref}", roles=SUPERVISORS,
              summary="Show a campaign with its lists and wrap codes")
async def campaign(ctx: Ctx):
    return await ctx.store.run(web.campaign_detail, ctx.param("ref"))


CAMPAIGN_BODY = {"type": "object", "properties": {
    "active": {"type": "boolean", "description": "dialing on (true) or stopped (false)"},
    "dial_mode": {"enum": list(web.DIAL_MODES)},
    "pacing": {"type": "object", "properties": {k: {"type": "number", "minimum": lo, "maximum": hi}
                                                for k, (lo, hi) in web.PACING_LIMITS.items()}}}}


@routes.route("PATCH", "/api/campaigns/{ref}", roles=SUPERVISORS,
              summary="Start or stop dialing, set the dial mode and pacing targets", body=CAMPAIGN_BODY)
async def change_campaign(ctx: Ctx):
    body = _changes(await ctx.json(), ("active", "dial_mode", "pacing"))
    return await _run_change(ctx, web.update_campaign, ctx.param("ref"), body)


@routes.route("GET", "/api/campaigns/{ref}/lists", roles=SUPERVISORS,
              summary="List a campaign's lists with each one's share (%) of the dial mix")
async def lists(ctx: Ctx):
    from dialer.store.campaigns import find_campaign

    camp = await ctx.store.run(find_campaign, ctx.param("ref"))
    return {"campaign_id": camp["id"], "lists": await ctx.store.run(list_store.list_lists, camp["id"])}


LIST_BODY = {"type": "object", "properties": {
    "to_dial": {"type": "boolean"}, "active": {"type": "boolean"},
    "weight": {"type": "integer", "minimum": 0}, "strategy": {"enum": list(web.STRATEGIES)}}}

_LIST_CHECKS = {
    "to_dial": lambda v: isinstance(v, bool) or "must be true or false",
    "active": lambda v: isinstance(v, bool) or "must be true or false",
    "weight": lambda v: (isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 1_000_000)
    or f"{v!r} is not a whole number from 0 to 1000000",
    "strategy": lambda v: v in web.STRATEGIES or f"{v!r} is not one of {', '.join(web.STRATEGIES)}",
}


async def _change_list(conn, list_id: int, changes: dict) -> dict:
    changed = await list_store.update_list(conn, list_id, None, changes)
    return {"campaign_id": changed["campaign_id"], "list": changed,
            "lists": await list_store.list_lists(conn, changed["campaign_id"])}


@routes.route("PATCH", "/api/lists/{id}", roles=SUPERVISORS,
              summary="Change a list's to-dial flag, weight or strategy", body=LIST_BODY)
async def change_list(ctx: Ctx):
    body = _changes(await ctx.json(), tuple(_LIST_CHECKS))
    for key, value in body.items():
        verdict = _LIST_CHECKS[key](value)
        if verdict is not True:
            raise bad_request(f"{key}: {verdict}", key)
    return await ctx.store.run(_change_list, ctx.int_param("id"), body)


SEARCH_QUERY = {
    "id": "lead id or id prefix", "phone": "E.164 number", "campaign": "campaign name or id",
    "list": "list name or id", "status": "status code", "wrap_code": "wrap code",
    "operator": "operator name or id (any call by them)", "completed": "true or false",
    "attempt": "an attempt (interaction) id", "contacted_from": "last contacted at or after (ISO date-time)",
    "contacted_to": "last contacted before (ISO date-time)", "field.NAME": "a custom field's value",
    "limit": "at most this many (default 50)",
}


@routes.route("GET", "/api/leads", roles=SUPERVISORS, summary="Search leads", query=SEARCH_QUERY)
async def search(ctx: Ctx):
    q: dict = {"fields": {}}
    for key, value in ctx.request.query_params.items():
        if value == "":
            continue
        if key.startswith("field."):
            q["fields"][key[6:]] = value
        elif key in ("id", "phone", "campaign", "list", "status", "wrap_code", "operator"):
            q[key] = value
        elif key == "completed":
            if value not in ("true", "false"):
                raise bad_request("query completed: true or false", "completed")
            q[key] = value == "true"
        elif key == "attempt":
            q[key] = ctx.int_query("attempt", high=2**62)
        elif key in ("contacted_from", "contacted_to"):
            q[key] = _time(value, key)
        elif key != "limit":
            raise bad_request(f"query {key}: unknown; one of {', '.join(SEARCH_QUERY)}", key)
    q["limit"] = ctx.int_query("limit", 50, low=1, high=1000)
    return {"leads": await ctx.store.run(lead_ops.search_leads, q)}


def _time(text, name: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(str(text))
    except ValueError:
        raise bad_request(f"{name}: {text!r} is not an ISO date-time like 2026-03-02T14:30", name) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


@routes.route("GET", "/api/leads/{id}", roles=SUPERVISORS,
              summary="Show a lead: fields, notes, callbacks and call history")
async def lead(ctx: Ctx):
    return await ctx.store.run(lead_ops.show_lead, ctx.int_param("id"))


@routes.route("PATCH", "/api/leads/{id}", roles=SUPERVISORS,
              summary="Edit a lead's fields (re-validated like an import row)",
              body={"type": "object", "additionalProperties": {"type": ["string", "number", "null"]},
                    "description": "field -> new value; custom fields as \"fields.NAME\""})
async def edit(ctx: Ctx):
    body = await ctx.json()
    if not body:
        raise bad_request("nothing to change: send {\"field\": \"new value\", ...}")
    assignments = {}
    for key, value in body.items():
        if isinstance(value, (dict, list, bool)):
            raise bad_request(f"{key}: give the new value as text or a number", key)
        assignments[key] = "" if value is None else str(value)
    return await ctx.store.run(lead_ops.edit_lead, ctx.int_param("id"), assignments, ctx.user["name"],
                               ctx.api.now())


@routes.route("POST", "/api/leads/{id}/wrap", roles=SUPERVISORS,
              summary="Wrap a lead by hand: code, note, callback, complete",
              body={"type": "object", "required": ["code"], "properties": {
                  "code": {"type": "string"}, "note": {"type": "string"}, "complete": {"type": "boolean"},
                  "callback_at": {"type": "string", "description": "ISO date-time; no offset = lead's local time"},
                  "callback_operator": {"type": "integer", "description": "operator id owning the callback"}}})
async def wrap(ctx: Ctx):
    body = await ctx.json()
    code = text_field(body, "code", limit=50)
    note = text_field(body, "note", required=False, limit=4000)
    complete = body.get("complete", False)
    if not isinstance(complete, bool):
        raise bad_request("complete: must be true or false", "complete")
    callback_at = None
    if body.get("callback_at"):
        try:
            callback_at = dt.datetime.fromisoformat(str(body["callback_at"]))
        except ValueError:
            raise bad_request(f"callback_at: {body['callback_at']!r} is not an ISO date-time",
                              "callback_at") from None
    owner = body.get("callback_operator")
    if owner is not None and (not isinstance(owner, int) or isinstance(owner, bool)):
        raise bad_request("callback_operator: an operator id", "callback_operator")
    return await ctx.store.run(_wrap_unit, ctx.int_param("id"), code, ctx.api.now(), ctx.user["name"], note,
                               callback_at, owner, complete)


async def _wrap_unit(conn, lead_id, code, now, author, note, callback_at, owner, complete):
    return await lead_ops.apply_wrap(conn, lead_id, code, now=now, author=author, note=note,
                                     callback_at=callback_at, callback_owner=owner, complete=complete)


@routes.route("POST", "/api/leads/{id}/copy", roles=SUPERVISORS,
              summary="Copy a lead to a list (updating the lead with the same customer key there)",
              body={"type": "object", "required": ["to_list"], "properties": {
                  "to_list": {"type": ["string", "integer"]}, "customer_key": {"type": "string"}}})
async def copy(ctx: Ctx):
    body = await ctx.json()
    to_list = body.get("to_list")
    if isinstance(to_list, bool) or not isinstance(to_list, (str, int)) or to_list == "":
        raise bad_request("to_list: a list name or id", "to_list")
    key = text_field(body, "customer_key", required=False, limit=200)
    return await ctx.store.run(lead_ops.copy_lead, ctx.int_param("id"), to_list, ctx.api.now(), key)


@routes.route("DELETE", "/api/leads/{id}", roles=SUPERVISORS,
              summary="Delete a lead (its calls stay in the history)",
              query={"confirm": "must be the lead id (typed confirmation)"})
async def delete(ctx: Ctx):
    lead_id = ctx.int_param("id")
    if ctx.query("confirm") != str(lead_id):
        raise bad_request(f"confirm: repeat the lead id (?confirm={lead_id}) to delete it", "confirm")
    return await ctx.store.run(lead_ops.delete_lead, lead_id)


@routes.route("GET", "/api/wallboard", roles=SUPERVISORS,
              summary="Show live figures: operators by state, calls in flight, abandon rate, occupancy")
async def wallboard(ctx: Ctx):
    board = await ctx.store.run(web.wallboard)
    names = board.pop("operator_names")
    operators = ctx.api.desk.statuses()
    for op in operators:
        op["name"] = names.get(op["operator_id"])
    by_state: dict[str, int] = {}
    for op in operators:
        by_state[op["state"]] = by_state.get(op["state"], 0) + 1
    occupancies = [op["occupancy"] for op in operators if op.get("occupancy") is not None]
    hopper = getattr(ctx.api.engine, "hopper_depths", None)
    depths = hopper() if callable(hopper) else {}
    for c in board["campaigns"]:
        # The engine's own count when it has one (exact); else the leases in the database.
        c["hopper_depth"] = depths.get(c["id"], c["hopper_depth"])
    board.update(operators=operators, operators_by_state=by_state,
                 occupancy=round(sum(occupancies) / len(occupancies), 3) if occupancies else None)
    return board
