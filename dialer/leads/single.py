"""One lead through the same path as an import row (`dialer lead add`, the web
form later): the same validation, wireless marking, DNC and duplicate checks,
in one transaction."""

from __future__ import annotations

import os
import tempfile

from .batch import process_batch
from .normalise import RowError


async def add_one(store, campaign: str, list_ref: str, fields: dict[str, str], *, country: str | None = None,
                  dup_scope: str = "campaign", dup_action: str = "skip", dnc_scope: str = "account",
                  dnc_action: str = "skip", wireless: str = "keep", source: str = "manual") -> dict:
    """Add the lead; returns {"id", "phone", "timezone", "warnings", ...}, or raises RowError
    (invalid_phone, dnc, duplicate, wireless, ...) and writes nothing."""
    from dialer.store.campaigns import find_campaign
    from dialer.store.imports import load_import
    from dialer.store.lists import find_list

    from .normalise import TimezoneRules, ValidationContext

    c = await store.run(find_campaign, campaign)
    lst = await store.run(find_list, list_ref, c["id"])
    statuses = await store.fetch("SELECT code FROM lead_status WHERE campaign_id = $1", c["id"])
    ctx = ValidationContext(country=(country or c["country"]).upper(), campaign_timezone=c["timezone"],
                            rules=TimezoneRules(), statuses=frozenset(r["code"] for r in statuses))
    names = list(fields)
    columns = {name: i for i, name in enumerate(names)}
    if "phone" not in columns:
        raise RowError("missing_phone", "give --phone")
    res = process_batch(ctx, columns, len(names), "status" in columns, "called_count" in columns, 1,
                        [[str(fields[n]) for n in names]])
    if res.rejects:
        _, reason, detail = res.rejects[0]
        raise RowError(reason, detail)
    fd, path = tempfile.mkstemp(prefix="dialer-lead-", suffix=".csv")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(res.stage_csv)
        plan = {"campaign_id": c["id"], "list_id": lst["id"], "dup_scope": dup_scope, "dup_action": dup_action,
                "dup_retain": "new", "dnc_scope": dnc_scope, "dnc_action": dnc_action, "wireless": wireless,
                "source": source, "return_ids": True}
        result = await store.run(load_import, path, plan)
    finally:
        os.unlink(path)
    if result["rejected"]:
        _, reason, phone = result["rejected"][0]
        raise RowError(reason, {"dnc": f"{phone} is on a do-not-call list",
                                "duplicate": f"{phone} is already a lead (duplicate scope {dup_scope})",
                                "wireless": f"{phone} is a wireless number"}.get(reason, phone))
    lead = await store.fetchrow("SELECT id, phone, phone_type, timezone, status, list_id FROM lead WHERE id = $1",
                                result["ids"][0])
    out = dict(lead)
    out["warnings"] = [w for _, w in res.warning_samples]
    out["relocated"] = result["relocated"]
    return out
