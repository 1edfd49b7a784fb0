"""Supervisor endpoints: campaigns, lists, leads, wallboard."""

from __future__ import annotations

from dialer.store import web

from .errors import bad_request
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
              summary="List a campaign's lists with each one's share of the dial mix")
async def lists(ctx: Ctx):
    from dialer.store.campaigns import find_campaign

    camp = await ctx.store.run(find_campaign, ctx.param("ref"))
    return {"campaign_id": camp["id"], "lists": await ctx.store.run(web.campaign_lists, camp["id"])}


LIST_BODY = {"type": "object", "properties": {
    "to_dial": {"type": "boolean"}, "active": {"type": "boolean"},
    "weight": {"type": "integer", "minimum": 0}, "strategy": {"enum": list(web.STRATEGIES)}}}


@routes.route("PATCH", "/api/lists/{id}", roles=SUPERVISORS,
              summary="Change a list's to-dial flag, weight or strategy", body=LIST_BODY)
async def change_list(ctx: Ctx):
    body = _changes(await ctx.json(), ("to_dial", "active", "weight", "strategy"))
    return await _run_change(ctx, web.update_list, ctx.int_param("id"), body)


@routes.route("GET", "/api/leads", roles=SUPERVISORS, summary="Search leads",
              query={"q": "id or id prefix, phone digits, name or customer key",
                     "campaign": "campaign id", "list": "list id", "limit": "at most this many (default 50)"})
async def search(ctx: Ctx):
    rows = await ctx.store.run(web.search_leads, ctx.query("q"), ctx.int_query("campaign", high=2**62),
                               ctx.int_query("list", high=2**62), ctx.int_query("limit", 50, low=1, high=1000))
    return {"leads": rows}


@routes.route("GET", "/api/leads/{id}", roles=SUPERVISORS, summary="Show a lead with its call history and notes")
async def lead(ctx: Ctx):
    return await ctx.store.run(web.lead_detail, ctx.int_param("id"))


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
        c["hopper_depth"] = depths.get(c["id"])
    board.update(operators=operators, operators_by_state=by_state,
                 occupancy=round(sum(occupancies) / len(occupancies), 3) if occupancies else None)
    return board
