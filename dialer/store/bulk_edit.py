"""Units of work for bulk edit: plan (preview) and apply, both from the same plan.

`apply_bulk_edit` recomputes the plan inside its transaction, with the leads
locked, and writes only if the typed confirmation equals the number of leads
that will change: the preview and the apply cannot disagree, and a mismatch
changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Sequence

from dialer.lifecycle.bulk_edit import EditRow
from dialer.lifecycle.rules import RuleError

from .lead_ops import LEAD_COLUMNS, LEAD_FROM, _lead_dict, add_note, describe_changes, plan_edit, write_changes
from .rules import load_rules


class ConfirmationMismatch(RuleError):
    """The typed confirmation is not the number of leads that would change."""


@dataclass
class BulkPlan:
    changes: list[tuple[int, int, dict]] = field(default_factory=list)   # (line, lead id, {field: (old, new)})
    unchanged: list[tuple[int, int]] = field(default_factory=list)       # (line, lead id)
    not_found: list[tuple[int, int]] = field(default_factory=list)
    not_editable: list[tuple[int, int, str]] = field(default_factory=list)  # (line, lead id, status)

    @property
    def count(self) -> int:
        return len(self.changes)

    def samples(self, per_field: int = 3) -> dict[str, list[dict]]:
        """Per field, the first few old -> new pairs (the preview's sample)."""
        out: dict[str, list[dict]] = {}
        for _, lead_id, changes in self.changes:
            for name, (old, new) in changes.items():
                bucket = out.setdefault(name, [])
                if len(bucket) < per_field:
                    bucket.append({"lead_id": lead_id, "old": old, "new": new})
        return out

    def field_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, _, changes in self.changes:
            for name in changes:
                counts[name] = counts.get(name, 0) + 1
        return counts

    def summary(self) -> dict:
        return {"will_change": self.count, "unchanged": len(self.unchanged),
                "field_counts": self.field_counts(), "samples": self.samples(),
                "not_found": [{"line": ln, "lead_id": i} for ln, i in self.not_found],
                "not_editable": [{"line": ln, "lead_id": i, "status": s} for ln, i, s in self.not_editable]}


async def plan_bulk_edit(conn, campaign_id: int, rows: Sequence[EditRow], *, lock: bool = False) -> BulkPlan:
    campaign = await conn.fetchrow("SELECT country, timezone, editable_statuses FROM campaign WHERE id = $1",
                                   campaign_id)
    leads = {r["id"]: _lead_dict(r) for r in await conn.fetch(
        f"SELECT {LEAD_COLUMNS} FROM {LEAD_FROM} WHERE l.campaign_id = $1 AND l.id = ANY($2::bigint[]) "
        f"ORDER BY l.id" + (" FOR UPDATE OF l" if lock else ""),
        campaign_id, [r.lead_id for r in rows])}
    editable = set(campaign["editable_statuses"])
    statuses = (await load_rules(conn, [campaign_id]))[campaign_id].statuses
    plan = BulkPlan()
    errors = []
    for row in rows:
        lead = leads.get(row.lead_id)
        if lead is None:
            plan.not_found.append((row.line, row.lead_id))
            continue
        if lead["status"] not in editable:
            plan.not_editable.append((row.line, row.lead_id, lead["status"]))
            continue
        try:
            changes = plan_edit(lead, campaign["country"], row.values, f"line {row.line}: ",
                                campaign_timezone=campaign["timezone"], statuses=statuses)
        except RuleError as exc:
            errors.append(str(exc))
            continue
        if changes:
            plan.changes.append((row.line, row.lead_id, changes))
        else:
            plan.unchanged.append((row.line, row.lead_id))
    if errors:
        raise RuleError("\n".join(errors[:20]) + (f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""))
    return plan


async def apply_bulk_edit(conn, campaign_id: int, rows: Sequence[EditRow], confirm: int, author: str,
                          now: dt.datetime) -> BulkPlan:
    plan = await plan_bulk_edit(conn, campaign_id, rows, lock=True)
    if confirm != plan.count:
        raise ConfirmationMismatch(
            f"--confirm {confirm} does not match the {plan.count} lead(s) that will change: nothing changed")
    leads = {r["id"]: _lead_dict(r) for r in await conn.fetch(
        f"SELECT {LEAD_COLUMNS} FROM {LEAD_FROM} WHERE l.id = ANY($1::bigint[])", [c[1] for c in plan.changes])}
    for _, lead_id, changes in plan.changes:
        effects = await write_changes(conn, leads[lead_id], changes, now)
        body = "bulk edit: " + describe_changes(changes) + "".join(f"; {e}" for e in effects)
        await add_note(conn, lead_id, author, body, now, kind="bulk_edit")
    return plan
