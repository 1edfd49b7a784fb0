"""Country and state calling-hour rules, shipped as data.

`data/calling_rules.csv` has one row per (country, region, days) with the hours
calls are allowed on those days (empty hours: no calls at all that day) and the
public source it comes from. A country row with an empty region is the national
floor; a region row narrows it (the allowed hours are the intersection). Rows
say whether they could be checked against the source text; see docs/HOPPER.md.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
from importlib import resources

DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]  # ISO weekday = index + 1


class RulesError(ValueError):
    """The rules table has a bad row; the message names the row and field."""


@dataclasses.dataclass(frozen=True)
class Rule:
    country: str
    region: str            # "" for the national rule
    weekdays: frozenset[int]  # ISO weekdays 1..7
    start: dt.time | None  # None: no calls on these days
    end: dt.time | None
    source: str
    verified: str
    note: str


@dataclasses.dataclass(frozen=True)
class Hours:
    """Allowed local hours on one day: [start, end), or closed when start >= end."""
    start: dt.time
    end: dt.time

    @property
    def closed(self) -> bool:
        return self.start >= self.end

    def intersect(self, other: "Hours") -> "Hours":
        return Hours(max(self.start, other.start), min(self.end, other.end))


CLOSED = Hours(dt.time(0), dt.time(0))
ALL_DAY = Hours(dt.time(0), dt.time.max)


def parse_days(text: str, where: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        lo, _, hi = part.partition("-")
        try:
            a = DAY_NAMES.index(lo) + 1
            b = DAY_NAMES.index(hi) + 1 if hi else a
        except ValueError:
            raise RulesError(f"{where}: field 'days': {text!r} is not like 'mon-fri' or 'sat,sun'") from None
        if b < a:
            raise RulesError(f"{where}: field 'days': range {part!r} runs backwards")
        days.update(range(a, b + 1))
    return frozenset(days)


def _parse_time(text: str, field: str, where: str) -> dt.time | None:
    if not text.strip():
        return None
    try:
        return dt.time.fromisoformat(text.strip())
    except ValueError:
        raise RulesError(f"{where}: field {field!r}: {text!r} is not a time like 08:00") from None


class RulesTable:
    """Answers "which local hours may this country/region be called on this weekday?"."""

    def __init__(self, rules: list[Rule]):
        self.rules = list(rules)
        self._by_key: dict[tuple[str, str], list[Rule]] = {}
        for rule in self.rules:
            self._by_key.setdefault((rule.country, rule.region), []).append(rule)
        self.countries = frozenset(r.country for r in self.rules)
        self.regions = frozenset((r.country, r.region) for r in self.rules if r.region)

    @classmethod
    def from_csv_text(cls, text: str, name: str = "rules") -> "RulesTable":
        reader = csv.DictReader(text.splitlines())
        missing = {"country", "region", "days", "start", "end", "source"} - set(reader.fieldnames or [])
        if missing:
            raise RulesError(f"{name}: header lacks {', '.join(sorted(missing))}")
        rules = []
        for line, row in enumerate(reader, start=2):
            where = f"{name} line {line}"
            start = _parse_time(row["start"], "start", where)
            end = _parse_time(row["end"], "end", where)
            if (start is None) != (end is None):
                raise RulesError(f"{where}: give both 'start' and 'end', or neither (no calls)")
            if not row["source"].strip():
                raise RulesError(f"{where}: field 'source': every rule needs a citation")
            rules.append(Rule(row["country"].strip().upper(), row["region"].strip().upper(),
                              parse_days(row["days"], where), start, end, row["source"].strip(),
                              (row.get("verified") or "").strip(), (row.get("note") or "").strip()))
        return cls(rules)

    def hours(self, country: str | None, region: str | None, isoweekday: int) -> Hours:
        """Allowed hours for that weekday: national rule ∩ regional rule(s)."""
        country = (country or "").upper()
        hours = ALL_DAY
        keys = [(country, "")]
        if region:
            keys.append((country, region.upper()))
        for key in keys:
            for rule in self._by_key.get(key, ()):
                if isoweekday in rule.weekdays:
                    if rule.start is None:
                        return CLOSED
                    hours = hours.intersect(Hours(rule.start, rule.end))
        return hours

    def rule_key(self, country: str | None, region: str | None) -> tuple[str, str]:
        """The (country, region) whose rules apply; regions without rows share the national key."""
        country = (country or "").upper()
        region = (region or "").upper()
        if (country, region) in self.regions:
            return country, region
        if country in self.countries:
            return country, ""
        return "", ""


@functools.lru_cache(maxsize=1)
def default_rules() -> RulesTable:
    text = resources.files("dialer.compliance").joinpath("data/calling_rules.csv").read_text("utf-8")
    return RulesTable.from_csv_text(text, "calling_rules.csv")
