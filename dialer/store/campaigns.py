"""Units of work for campaigns (see bridge.py: each runs in one transaction)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from . import defaults

CAMPAIGN_COLUMNS = """id, name, purpose, country, timezone, calling_start, calling_end, calling_days,
    holidays, dial_mode, active, caller_id, validation, abandon_lockout,
    max_daily_attempts_per_number, callback_grace, callback_grace_action, editable_statuses,
    settings, created_at"""


class NotFound(LookupError):
    """A named thing (campaign, list, lead, ...) does not exist."""


async def create_campaign(conn, spec: dict[str, Any]) -> dict:
    """Insert a campaign with default statuses, call modes and wrap codes."""
    row = await conn.fetchrow(
        f"""INSERT INTO campaign (name, purpose, country, timezone, calling_start, calling_end,
                calling_days, holidays, dial_mode, active, caller_id, validation, abandon_lockout,
                max_daily_attempts_per_number, settings)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
            RETURNING {CAMPAIGN_COLUMNS}""",
        spec["name"], spec.get("purpose"), spec.get("country", "US"),
        spec.get("timezone", "America/New_York"),
        spec.get("calling_start", dt.time(9)), spec.get("calling_end", dt.time(21)),
        spec.get("calling_days", [1, 2, 3, 4, 5, 6, 7]), spec.get("holidays", []),
        spec.get("dial_mode", "progressive"), spec.get("active", True), spec.get("caller_id"),
        spec.get("validation", False), spec.get("abandon_lockout"),
        spec.get("max_daily_attempts_per_number"), json.dumps(spec.get("settings", {})),
    )
    cid = row["id"]
    await conn.executemany(
        "INSERT INTO lead_status (campaign_id, code, label, auto_dial, call_mode, completed) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [(cid, *s) for s in defaults.STATUSES],
    )
    await conn.executemany(
        "INSERT INTO call_mode (campaign_id, name, new_lead_priority, time_on_standard, put_off, "
        "max_attempts, exhausted_status, position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        [(cid, name, prio, dt.timedelta(minutes=tos) if tos else None, json.dumps(put_off), maxa, exh, pos)
         for pos, (name, prio, tos, put_off, maxa, exh) in enumerate(defaults.CALL_MODES)],
    )
    await conn.executemany(
        "INSERT INTO wrap_code (campaign_id, code, label, completes, retry_after, next_status, "
        "adds_dnc, needs_validation, is_callback) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [(cid, code, label, comp, dt.timedelta(minutes=ra) if ra is not None else None, nxt, dnc, val, cb)
         for code, label, comp, ra, nxt, dnc, val, cb in defaults.WRAP_CODES],
    )
    return dict(row)


async def find_campaign(conn, ref: str | int) -> dict:
    """A campaign by id or name; NotFound names what was asked for."""
    row = None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        row = await conn.fetchrow(f"SELECT {CAMPAIGN_COLUMNS} FROM campaign WHERE id = $1", int(ref))
    if row is None:
        row = await conn.fetchrow(f"SELECT {CAMPAIGN_COLUMNS} FROM campaign WHERE name = $1", str(ref))
    if row is None:
        raise NotFound(f"no campaign {ref!r}")
    return dict(row)


async def list_campaigns(conn) -> list[dict]:
    rows = await conn.fetch(
        f"""SELECT {CAMPAIGN_COLUMNS},
               (SELECT count(*) FROM lead_list l WHERE l.campaign_id = c.id) AS lists,
               (SELECT count(*) FROM lead WHERE lead.campaign_id = c.id) AS leads
            FROM campaign c ORDER BY id""")
    return [dict(r) for r in rows]


async def apply_campaign_config(conn, cfg) -> tuple[dict, bool]:
    """Create or update a campaign (and its lists, call modes, wrap codes) from config.

    Returns (campaign row, created?). Lists, modes and codes named in the config
    are upserted; ones not named are left as they are.
    """
    spec = {
        "name": cfg.name, "purpose": cfg.purpose, "country": cfg.country.upper(),
        "timezone": cfg.timezone, "calling_start": cfg.calling_hours.start,
        "calling_end": cfg.calling_hours.end, "calling_days": cfg.calling_hours.days,
        "holidays": cfg.holidays, "dial_mode": cfg.dial_mode, "active": cfg.active,
        "caller_id": cfg.caller_id, "validation": cfg.validation,
        "abandon_lockout": (dt.timedelta(hours=cfg.abandon_lockout_hours)
                            if cfg.abandon_lockout_hours is not None else None),
        "max_daily_attempts_per_number": cfg.max_daily_attempts_per_number,
        "settings": {"pacing": _jsonable(vars(cfg.pacing)),
                     **({"outcome_status": dict(cfg.outcome_status)} if cfg.outcome_status else {})},
        "callback_grace": dt.timedelta(minutes=cfg.callback_grace_minutes),
        "callback_grace_action": cfg.callback_grace_action,
        "editable_statuses": list(cfg.editable_statuses),
    }
    existing = await conn.fetchval("SELECT id FROM campaign WHERE name = $1", cfg.name)
    if existing is None:
        campaign = await create_campaign(conn, spec)
        created = True
    else:
        await conn.execute(
            """UPDATE campaign SET purpose=$2, country=$3, timezone=$4, calling_start=$5,
                   calling_end=$6, calling_days=$7, holidays=$8, dial_mode=$9, active=$10,
                   caller_id=$11, validation=$12, abandon_lockout=$13,
                   max_daily_attempts_per_number=$14, settings = settings || $15::jsonb
               WHERE id = $1""",
            existing, *[spec[k] for k in ("purpose", "country", "timezone", "calling_start",
                                         "calling_end", "calling_days", "holidays", "dial_mode",
                                         "active", "caller_id", "validation", "abandon_lockout",
                                         "max_daily_attempts_per_number")],
            json.dumps(spec["settings"]))
        campaign = await find_campaign(conn, existing)
        created = False
    cid = campaign["id"]
    await conn.execute(
        "UPDATE campaign SET callback_grace = $2, callback_grace_action = $3, editable_statuses = $4 WHERE id = $1",
        cid, spec["callback_grace"], spec["callback_grace_action"], spec["editable_statuses"])
    for st in cfg.statuses:
        await conn.execute(
            """INSERT INTO lead_status (campaign_id, code, label, auto_dial, call_mode, completed)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (campaign_id, code) DO UPDATE SET label = EXCLUDED.label,
                   auto_dial = EXCLUDED.auto_dial, call_mode = EXCLUDED.call_mode, completed = EXCLUDED.completed""",
            cid, st.code, st.label or st.code, st.auto_dial, st.call_mode, st.completed)
    for lst in cfg.lists:
        await conn.execute(
            """INSERT INTO lead_list (campaign_id, name, to_dial, weight, strategy, active)
               VALUES ($1, $2, $3, $4, $5, $6)
               ON CONFLICT (campaign_id, name) DO UPDATE SET to_dial = EXCLUDED.to_dial,
                   weight = EXCLUDED.weight, strategy = EXCLUDED.strategy, active = EXCLUDED.active""",
            cid, lst.name, lst.to_dial, lst.weight, lst.strategy, lst.active)
    for mode in cfg.call_modes:
        await conn.execute(
            """INSERT INTO call_mode (campaign_id, name, new_lead_priority, time_on_standard, put_off,
                   max_attempts, exhausted_status, position)
               VALUES ($1, $2, $3, $4, $5, $6, $7,
                       (SELECT coalesce(max(position) + 1, 0) FROM call_mode WHERE campaign_id = $1))
               ON CONFLICT (campaign_id, name) DO UPDATE SET
                   new_lead_priority = EXCLUDED.new_lead_priority,
                   time_on_standard = EXCLUDED.time_on_standard,
                   put_off = call_mode.put_off || EXCLUDED.put_off,
                   max_attempts = coalesce(EXCLUDED.max_attempts, call_mode.max_attempts),
                   exhausted_status = coalesce(EXCLUDED.exhausted_status, call_mode.exhausted_status)""",
            cid, mode.name, mode.new_lead_priority,
            dt.timedelta(minutes=mode.time_on_standard_minutes) if mode.time_on_standard_minutes else None,
            json.dumps(mode.put_off_minutes), mode.max_attempts, mode.exhausted_status)
    for wc in cfg.wrap_codes:
        await conn.execute(
            """INSERT INTO wrap_code (campaign_id, code, label, completes, retry_after, next_status,
                   adds_dnc, needs_validation, is_callback)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
               ON CONFLICT (campaign_id, code) DO UPDATE SET label = EXCLUDED.label,
                   completes = EXCLUDED.completes, retry_after = EXCLUDED.retry_after,
                   next_status = EXCLUDED.next_status, adds_dnc = EXCLUDED.adds_dnc,
                   needs_validation = EXCLUDED.needs_validation, is_callback = EXCLUDED.is_callback""",
            cid, wc.code, wc.label or wc.code, wc.completes,
            dt.timedelta(minutes=wc.retry_after_minutes) if wc.retry_after_minutes is not None else None,
            wc.next_status, wc.adds_dnc, wc.needs_validation, wc.is_callback)
    return campaign, created


def _jsonable(d: dict) -> dict:
    return {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in d.items()}
