"""`dialer audit`: every attempt judged against the rules in force when it was placed.

Rules (each violation names the rule, the attempt and why):
  dnc            the number was on the account or campaign DNC list before the call started
  calling_hours  the call started outside the lead-local calling window (campaign hours, days,
                 holidays, and the country/state rules table of `dialer.compliance`)
  max_attempts   the attempt's number on its lead is above its call mode's maximum
  daily_limit    more calls to one number on one lead-local day than the campaign allows
  short_ring     a no-answer the dialer itself gave up on (CANCEL/487, or no final status) after
                 less than 15 s of ringing
  lockout        a call to a number inside the campaign's abandon lock-out after an abandoned call
  double_dial    two attempts on one lead overlapping in time
  abandon_rate   abandoned / live answers above the cap (3 %) on a campaign-local day

"Rules in force at the time": DNC entries count from their `added_at`; campaign settings are
the current ones (the schema keeps no history of campaign edits - see docs/ENGINE.md).
"""

from __future__ import annotations

import collections
import datetime as dt
import zoneinfo
from dataclasses import asdict, dataclass
from functools import lru_cache

from dialer.compliance import CallingWindow
from dialer.store.audit import audit_facts

MIN_RING = dt.timedelta(seconds=15)
ABANDON_CAP = 0.03


@dataclass(frozen=True)
class Violation:
    rule: str
    attempt_id: int | None
    lead_id: int | None
    at: dt.datetime | None
    detail: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class AuditReport:
    campaign: str
    attempts: int
    violations: list[Violation]
    abandon_by_day: dict[str, dict]

    @property
    def ok(self) -> bool:
        return not self.violations

    def counts(self) -> dict[str, int]:
        return dict(collections.Counter(v.rule for v in self.violations))

    def as_dict(self) -> dict:
        return {"campaign": self.campaign, "attempts": self.attempts, "ok": self.ok,
                "violation_count": len(self.violations), "by_rule": self.counts(),
                "abandon_by_day": self.abandon_by_day,
                "violations": [v.as_dict() for v in self.violations]}


async def run_audit(store, campaign: str | int, since: dt.datetime | None = None, *,
                    abandon_cap: float = ABANDON_CAP) -> AuditReport:
    facts = await store.run(audit_facts, campaign, since)
    return judge(facts, abandon_cap=abandon_cap)


def judge(facts: dict, *, abandon_cap: float = ABANDON_CAP) -> AuditReport:
    campaign = facts["campaign"]
    out: list[Violation] = []
    per_number_day: collections.Counter = collections.Counter()
    daily_limit = campaign["max_daily_attempts_per_number"]
    campaign_zone = _zone(campaign["timezone"])
    days: dict[dt.date, list[int]] = collections.defaultdict(lambda: [0, 0])

    for a in facts["attempts"]:
        aid, lid, at = a["id"], a["lead_id"], a["started_at"]

        def flag(rule: str, detail: str) -> None:
            out.append(Violation(rule, aid, lid, at, detail))

        if aid in facts["dnc"]:
            flag("dnc", f"{a['called_number']} on the DNC list since {facts['dnc'][aid].isoformat()}")
        window = calling_window(campaign, a)
        if window is not None and not window.allows(at):
            local = at.astimezone(_zone(a["timezone"] or campaign["timezone"]))
            flag("calling_hours", f"started at {local:%a %Y-%m-%d %H:%M:%S %Z} lead-local "
                                  f"({a['timezone']}, region {a['region'] or '-'})")
        limit = facts["max_attempts"].get(a["call_mode"])
        if limit is not None and a["ordinal"] > limit:
            flag("max_attempts", f"attempt {a['ordinal']} on the lead; call mode {a['call_mode']!r} allows {limit}")
        if daily_limit is not None:
            local_day = at.astimezone(_zone(a["timezone"] or campaign["timezone"])).date()
            key = (a["called_number"], local_day)
            per_number_day[key] += 1
            if per_number_day[key] > daily_limit:
                flag("daily_limit", f"call {per_number_day[key]} to {a['called_number']} on {local_day} "
                                    f"(limit {daily_limit})")
        if a["outcome"] == "no_answer" and a["sip_status"] in (None, 487) and a["ended_at"] is not None:
            rang = a["ended_at"] - at
            if rang < MIN_RING:
                flag("short_ring", f"gave up after {rang.total_seconds():.1f} s of ringing (minimum 15 s)")
        if aid in facts["lockouts"]:
            flag("lockout", f"inside the {campaign['abandon_lockout']} lock-out after abandoned attempt "
                            f"{facts['lockouts'][aid]}")
        if aid in facts["overlaps"]:
            flag("double_dial", f"overlaps attempt {facts['overlaps'][aid]} on the same lead")
        if a["outcome"] in ("answered", "abandoned"):
            day = days[at.astimezone(campaign_zone).date()]
            day[0] += 1
            day[1] += a["outcome"] == "abandoned"

    abandon_by_day = {}
    for day, (live, abandoned) in sorted(days.items()):
        rate = abandoned / live if live else 0.0
        abandon_by_day[day.isoformat()] = {"live": live, "abandoned": abandoned, "rate": rate}
        if rate > abandon_cap:
            out.append(Violation("abandon_rate", None, None, None,
                                 f"{day}: {abandoned} abandoned of {live} live answers = {rate:.1%} "
                                 f"(cap {abandon_cap:.0%})"))
    return AuditReport(campaign["name"], len(facts["attempts"]), out, abandon_by_day)


def calling_window(campaign: dict, attempt: dict) -> CallingWindow:
    """The lead-local calling window for this attempt's lead (campaign hours + country/state rules)."""
    lead = {"timezone": attempt["timezone"], "timezones": attempt.get("timezones"),
            "region": attempt.get("region"), "country": attempt.get("country")}
    return CallingWindow.for_campaign_lead(campaign, lead)


@lru_cache(maxsize=512)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)
