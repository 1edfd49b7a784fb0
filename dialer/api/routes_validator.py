"""Validator endpoints: the queue of leads held for call-centre validation."""

from __future__ import annotations

from dialer.store import validation, web

from .errors import bad_request
from .routes_auth import text_field
from .routing import VALIDATORS, Ctx, Registry

routes = Registry("validator")


@routes.route("GET", "/api/validation/leads", roles=VALIDATORS,
              summary="List leads held for validation, with telephone and contact status",
              query={"campaign": "campaign id", "limit": "at most this many (default 100)"})
async def held(ctx: Ctx):
    return {"leads": await ctx.store.run(web.held_leads, ctx.int_query("campaign", high=2**62),
                                         ctx.int_query("limit", 100, low=1, high=1000))}


@routes.route("POST", "/api/validation/leads/{id}", roles=VALIDATORS,
              summary="Set a held lead's contact status (unconfirmed, confirmed, rejected) with a note",
              body={"type": "object", "required": ["contact_status"],
                    "properties": {"contact_status": {"enum": list(web.CONTACT_STATUSES)},
                                   "note": {"type": "string"}}})
async def set_status(ctx: Ctx):
    body = await ctx.json()
    status = text_field(body, "contact_status", limit=20)
    note = text_field(body, "note", required=False)
    lead_id = ctx.int_param("id")
    if status not in web.CONTACT_STATUSES:
        raise bad_request(f"contact_status: {status!r} is not one of {', '.join(web.CONTACT_STATUSES)}",
                          "contact_status")
    # The lifecycle decides what may move (held leads only; rejected ones become invalid).
    return await ctx.store.run(validation.set_contact_status, lead_id, status, ctx.user["name"], ctx.api.now(),
                               note)
