"""`hopper show`: what would be dialed next, and why the rest would not, without
claiming anything. Uses the same candidate query and list mix as the hopper."""

from __future__ import annotations

import datetime as dt

from dialer.compliance.keys import KeyWindows
from dialer.compliance.windows import zone
from dialer.store import hopper as sql

from .mix import WeightedMix


async def preview(store, campaign_id: int, at: dt.datetime, limit: int = 20, rules=None) -> dict:
    setup = await store.run(sql.load_setup, campaign_id)
    campaign = setup["campaign"]
    windows = KeyWindows(campaign, setup["keys"], rules)
    gate = sql.Gate(campaign_id, at, setup["auto_statuses"], windows.open_at(at),
                    campaign["abandon_lockout"], campaign["max_daily_attempts_per_number"])
    lists = {l["id"]: l for l in setup["lists"]}
    dialing = {lid: l["weight"] for lid, l in lists.items() if l["active"] and l["to_dial"] and l["weight"] > 0}
    requests = [sql.ListRequest(lid, lists[lid]["strategy"] if lists[lid]["strategy"] != "random" else "oldest",
                                max(limit, 1)) for lid in dialing]

    async def both(conn):
        found = await sql.candidates(conn, gate, requests, setup["modes"], max(limit, 1), lock=False)
        return found, await sql.reasons(conn, gate)

    found, counts = await store.run(both)
    order = []
    queues = {lid: list(rows) for lid, rows in found.items()}
    mix = WeightedMix(dialing)
    while len(order) < limit:
        lid = mix.pick([k for k, q in queues.items() if q])
        if lid is None:
            break
        row = queues[lid].pop(0)
        order.append({
            "id": row["id"], "list": lists[lid]["name"], "list_id": lid, "phone": row["phone"],
            "local_time": at.astimezone(zone(row["timezone"])).isoformat(timespec="seconds"),
            "timezone": row["timezone"], "call_mode": row["call_mode"], "attempts": row["attempts"],
            "callback": row.get("callback_id") is not None, "operator": row.get("callback_operator"),
        })
    callable_count = counts.pop("callable", 0)
    return {"campaign": campaign["name"], "campaign_id": campaign_id, "at": at.isoformat(),
            "active": campaign["active"], "callable": callable_count, "next": order,
            "not_callable": {reason: counts[reason] for reason in sql.REASONS if reason in counts},
            "broken_window_keys": windows.broken}
