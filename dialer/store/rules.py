"""Unit of work: load campaigns' lifecycle rules (statuses, call modes, wrap codes, hours)."""

from __future__ import annotations

import json
import weakref
from typing import Any, Iterable

from dialer.lifecycle.rules import CallMode, CampaignRules, Hours, Status, WrapCode

from . import defaults
from .campaigns import NotFound, find_campaign


async def load_rules(conn, campaign_ids: Iterable[int]) -> dict[int, CampaignRules]:
    """Rules for each campaign id, in four queries whatever the number of campaigns."""
    ids = sorted(set(campaign_ids))
    if not ids:
        return {}
    # One round trip: each campaign row carries its statuses, call modes and wrap codes as
    # arrays of table rows (asyncpg decodes them as records). This runs in every batch of
    # call endings and every wrap, so three round trips fewer matter.
    campaigns = await conn.fetch(
        """SELECT c.id, c.name, c.timezone, c.country, c.calling_start, c.calling_end, c.calling_days, c.holidays,
                  c.validation, c.callback_grace, c.callback_grace_action, c.editable_statuses, c.abandon_lockout,
                  c.settings,
                  ARRAY(SELECT s FROM lead_status s WHERE s.campaign_id = c.id) AS statuses,
                  ARRAY(SELECT m FROM call_mode m WHERE m.campaign_id = c.id) AS modes,
                  ARRAY(SELECT w FROM wrap_code w WHERE w.campaign_id = c.id) AS codes
           FROM campaign c WHERE c.id = ANY($1::bigint[])""", ids)
    statuses: dict[int, dict] = {i: {} for i in ids}
    modes: dict[int, dict] = {i: {} for i in ids}
    codes: dict[int, dict] = {i: {} for i in ids}
    for c in campaigns:
        for r in c["statuses"]:
            statuses[c["id"]][r["code"]] = Status(r["code"], r["label"], r["auto_dial"], r["call_mode"],
                                                  r["completed"])
        for r in c["modes"]:
            put_off = r["put_off"]
            if isinstance(put_off, str):
                put_off = json.loads(put_off)
            modes[c["id"]][r["name"]] = CallMode(
                r["name"], r["new_lead_priority"], r["time_on_standard"],
                {k: int(v) for k, v in put_off.items()}, r["max_attempts"], r["exhausted_status"], r["position"])
        for r in c["codes"]:
            codes[c["id"]][r["code"]] = WrapCode(
                r["code"], r["label"], r["completes"], r["retry_after"], r["next_status"], r["adds_dnc"],
                r["needs_validation"], r["is_callback"])
    out = {}
    for c in campaigns:
        settings = c["settings"]
        if isinstance(settings, str):
            settings = json.loads(settings)
        outcome_status = {**defaults.OUTCOME_STATUS, **(settings or {}).get("outcome_status", {})}
        out[c["id"]] = CampaignRules(
            campaign_id=c["id"], name=c["name"], statuses=statuses[c["id"]], modes=modes[c["id"]],
            wrap_codes=codes[c["id"]], outcome_status=outcome_status,
            hours=Hours(c["calling_start"], c["calling_end"], tuple(c["calling_days"]),
                        frozenset(c["holidays"])),
            timezone=c["timezone"], country=c["country"], validation=c["validation"], callback_grace=c["callback_grace"],
            callback_grace_action=c["callback_grace_action"],
            editable_statuses=tuple(c["editable_statuses"]), abandon_lockout=c["abandon_lockout"])
    missing = [i for i in ids if i not in out]
    if missing:
        raise NotFound(f"no campaign with id {missing[0]}")
    return out


# Per connection: the id of the transaction that last read rules through `load_rules_once`, and
# what it read. Keyed weakly by the connection; the entry holds no reference back to it.
_read_once: "weakref.WeakKeyDictionary[Any, tuple[int, dict[int, CampaignRules]]]" = weakref.WeakKeyDictionary()

# A column for the first statement of a unit that calls `load_rules_once`: the caller's
# transaction id (the top-level one, also inside a savepoint). A statement that locks rows
# has one anyway (row locks need it), so asking costs nothing.
TRANSACTION_ID = "pg_current_xact_id()::text::bigint AS transaction_id"


async def load_rules_once(conn, transaction_id: int, campaign_ids: Iterable[int]) -> dict[int, CampaignRules]:
    """`load_rules`, but each campaign's rules are read once per transaction: the endings of a
    journal flush and the wraps stored behind them (`finish_attempts`, `apply_wraps`) decide
    with the same rules, read by the first of them (one round trip and ~0.1 ms of building
    CampaignRules fewer a flush). `transaction_id` is the caller's transaction's
    (`TRANSACTION_ID`, returned by its first statement): a later transaction reads them anew."""
    raw = getattr(conn, "_con", conn)        # a pool's proxy: the connection behind it
    seen, known = _read_once.get(raw, (None, {}))
    if seen != transaction_id:
        known = {}
    missing = set(campaign_ids) - set(known)
    if missing:
        known = {**known, **await load_rules(conn, missing)}
        _read_once[raw] = (transaction_id, known)
    return {i: known[i] for i in campaign_ids}


async def campaign_rules(conn, ref: str | int) -> CampaignRules:
    """One campaign's rules, by id or name."""
    campaign = await find_campaign(conn, ref)
    return (await load_rules(conn, [campaign["id"]]))[campaign["id"]]
