"""Supervisor endpoints for do-not-call lists (the import branch's DNC units)."""

from __future__ import annotations

from dialer.leads.normalise import RowError, normalise_phone
from dialer.store import dnc
from dialer.store.campaigns import find_campaign

from .errors import bad_request
from .routing import SUPERVISORS, Ctx, Registry

routes = Registry("dnc")

MAX_NUMBERS = 10_000
DNC_BODY = {"type": "object", "required": ["numbers"], "properties": {
    "numbers": {"type": "array", "items": {"type": "string"}, "maxItems": MAX_NUMBERS},
    "campaign": {"type": ["string", "integer"], "description": "campaign name or id; omit for account-wide"},
    "source": {"type": "string"}}}


async def _scope(ctx: Ctx, ref) -> tuple[int | None, str]:
    if ref in (None, ""):
        return None, "US"
    if isinstance(ref, bool) or not isinstance(ref, (str, int)):
        raise bad_request("campaign: a campaign name or id", "campaign")
    camp = await ctx.store.run(find_campaign, ref)
    return camp["id"], camp["country"]


def _numbers(body: dict, country: str) -> list[str]:
    numbers = body.get("numbers")
    if not isinstance(numbers, list) or not numbers:
        raise bad_request("numbers: a non-empty list of telephone numbers", "numbers")
    if len(numbers) > MAX_NUMBERS:
        raise bad_request(f"numbers: at most {MAX_NUMBERS} per request", "numbers")
    out = []
    for i, n in enumerate(numbers):
        if not isinstance(n, str):
            raise bad_request(f"numbers[{i}]: must be a string", f"numbers[{i}]")
        try:
            out.append(normalise_phone(n, country)[0])
        except RowError as exc:
            raise bad_request(f"numbers[{i}] {n!r}: {exc.detail or exc.reason}", f"numbers[{i}]") from None
    return out


@routes.route("GET", "/api/dnc", roles=SUPERVISORS, summary="List do-not-call numbers",
              query={"campaign": "campaign name or id (default: account-wide)", "limit": "default 500"})
async def list_dnc(ctx: Ctx):
    cid, _ = await _scope(ctx, ctx.query("campaign"))
    rows = await ctx.store.run(dnc.list_dnc, cid, False, ctx.int_query("limit", 500, low=1, high=100_000))
    return {"campaign_id": cid, "numbers": rows}


@routes.route("POST", "/api/dnc", roles=SUPERVISORS, summary="Add numbers to a do-not-call list", body=DNC_BODY)
async def add(ctx: Ctx):
    body = await ctx.json()
    cid, country = await _scope(ctx, body.get("campaign"))
    phones = _numbers(body, country)
    source = body.get("source") if isinstance(body.get("source"), str) else f"web:{ctx.user['name']}"
    return {"added": await ctx.store.run(dnc.add_dnc, phones, cid, source), "numbers": phones}


@routes.route("POST", "/api/dnc/remove", roles=SUPERVISORS, summary="Remove numbers from a do-not-call list",
              body=DNC_BODY)
async def remove(ctx: Ctx):
    body = await ctx.json()
    cid, country = await _scope(ctx, body.get("campaign"))
    return {"removed": await ctx.store.run(dnc.remove_dnc, _numbers(body, country), cid)}


@routes.route("POST", "/api/dnc/check", roles=SUPERVISORS, summary="Check numbers against do-not-call lists",
              body=DNC_BODY)
async def check(ctx: Ctx):
    body = await ctx.json()
    cid, country = await _scope(ctx, body.get("campaign"))
    phones = _numbers(body, country)
    found = await ctx.store.run(dnc.dnc_matches, phones, cid, "campaign" if cid else "account")
    return {"numbers": [{"number": p, "dnc": p in found, "scopes": found.get(p, [])} for p in phones]}
