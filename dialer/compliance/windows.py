"""Calling windows: may this lead be called at this instant, and if not, when?

A window is the intersection, in the lead's local time, of
  * the campaign's calling hours [start, end) on its calling days,
  * no campaign holiday (dates in the lead's local calendar),
  * the country/state rules table (`rules.py`) for the lead's country/region,
and, for a number that may be in several zones, of that in every zone: only
hours allowed in all of them count.

Everything is pure and DST-correct: local times come from `zoneinfo`, never from
fixed offsets. `next_allowed` is exact, not sampled: between two "change points"
(a boundary wall time on some local date in some zone, a local midnight, or a
DST transition) the answer cannot change, so the earliest allowed instant is
either `at` itself or one of those points.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from typing import Iterable, Iterator, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .rules import ALL_DAY, CLOSED, Hours, RulesTable, default_rules

UTC = dt.timezone.utc
ALL_DAYS = frozenset(range(1, 8))
_SEARCH_CHUNK_DAYS = 8


@functools.lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """A ZoneInfo by IANA name, or ValueError naming the bad zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name!r}") from None


@dataclasses.dataclass(frozen=True)
class CallingWindow:
    start: dt.time                  # campaign calling hours, lead-local, [start, end)
    end: dt.time
    days: frozenset[int]            # ISO weekdays the campaign calls on
    holidays: frozenset[dt.date]    # lead-local dates with no calls
    zones: tuple[str, ...]          # every zone the number may be in
    country: str | None
    region: str | None
    rules: RulesTable = dataclasses.field(default_factory=default_rules, compare=False, repr=False)

    @classmethod
    def for_lead(cls, campaign_hours: tuple[dt.time, dt.time], days: Iterable[int] = ALL_DAYS,
                 holidays: Iterable[dt.date] = (), zones: Sequence[str] = (), region: str | None = None,
                 country: str | None = "US", rules: RulesTable | None = None) -> "CallingWindow":
        if not zones:
            raise ValueError("a calling window needs at least one timezone")
        for name in zones:
            zone(name)  # fail early, naming the zone
        start, end = campaign_hours
        days = frozenset(int(d) for d in days)
        if not days <= ALL_DAYS:
            raise ValueError(f"calling days must be ISO weekdays 1..7, got {sorted(days)}")
        return cls(start, end, days, frozenset(holidays), tuple(dict.fromkeys(zones)),
                   country, region, rules or default_rules())

    @classmethod
    def for_campaign_lead(cls, campaign: dict, lead: dict, rules: RulesTable | None = None) -> "CallingWindow":
        """From a campaign row and a lead row (dicts or asyncpg Records)."""
        zones = list(lead.get("timezones") or []) or [lead.get("timezone") or campaign["timezone"]]
        return cls.for_lead((campaign["calling_start"], campaign["calling_end"]),
                            campaign["calling_days"], campaign["holidays"] or (), zones,
                            lead.get("region"), lead.get("country") or campaign["country"], rules)

    # -- the question -------------------------------------------------------------------

    def hours_on(self, local_date: dt.date) -> Hours:
        """Allowed local hours on that local date (same for every zone of the lead)."""
        weekday = local_date.isoweekday()
        if weekday not in self.days or local_date in self.holidays:
            return CLOSED
        hours = Hours(self.start, self.end)
        if hours.closed and self.end != dt.time(0):
            return CLOSED
        if self.end == dt.time(0):  # "until midnight"
            hours = Hours(self.start, dt.time.max)
        return hours.intersect(self.rules.hours(self.country, self.region, weekday))

    def allows(self, at: dt.datetime) -> bool:
        """May the lead be called at this instant (in every zone it may be in)?"""
        _require_aware(at)
        return all(self._allows_in(zone(name), at) for name in self.zones)

    def _allows_in(self, tz: ZoneInfo, at: dt.datetime) -> bool:
        local = at.astimezone(tz)
        hours = self.hours_on(local.date())
        if hours.closed:
            return False
        wall = local.time().replace(tzinfo=None)
        return hours.start <= wall and (wall < hours.end or hours.end == dt.time.max)

    def local_times(self, at: dt.datetime) -> dict[str, dt.datetime]:
        _require_aware(at)
        return {name: at.astimezone(zone(name)) for name in self.zones}

    def next_allowed(self, at: dt.datetime, horizon: dt.timedelta = dt.timedelta(days=400)) -> dt.datetime | None:
        """The earliest instant >= `at` at which calling is allowed, or None if there is
        none within `horizon` (e.g. a campaign with no calling days)."""
        _require_aware(at)
        at = at.astimezone(UTC)
        if self.allows(at):
            return at
        limit = at + horizon
        chunk_start = at
        while chunk_start < limit:
            chunk_end = min(chunk_start + dt.timedelta(days=_SEARCH_CHUNK_DAYS), limit)
            for point in sorted(set(self._change_points(chunk_start, chunk_end))):
                if at < point <= chunk_end and self.allows(point):
                    return point
            chunk_start = chunk_end
        return None

    def _change_points(self, begin: dt.datetime, end: dt.datetime) -> Iterator[dt.datetime]:
        """Every instant in about [begin, end] where `allows` may change its answer."""
        for name in self.zones:
            tz = zone(name)
            day = begin.astimezone(tz).date() - dt.timedelta(days=1)
            last = end.astimezone(tz).date() + dt.timedelta(days=1)
            while day <= last:
                hours = self.hours_on(day)
                walls = {dt.time(0)}
                if not hours.closed:
                    walls.update((hours.start, hours.end))
                for wall in walls:
                    if wall == dt.time.max:
                        continue
                    for fold in (0, 1):
                        yield dt.datetime.combine(day, wall, tzinfo=tz).replace(fold=fold).astimezone(UTC)
                transition = _transition_on(tz, day)
                if transition is not None:
                    yield transition
                day += dt.timedelta(days=1)


def _require_aware(at: dt.datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"calling windows need an aware datetime, got naive {at!r}")


@functools.lru_cache(maxsize=65536)
def _transition_on(tz: ZoneInfo, day: dt.date) -> dt.datetime | None:
    """The UTC instant the zone's UTC offset changes during that local date, if it does."""
    lo = dt.datetime.combine(day, dt.time(0), tzinfo=tz).astimezone(UTC)
    hi = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=tz).astimezone(UTC)
    before, after = lo.astimezone(tz).utcoffset(), hi.astimezone(tz).utcoffset()
    if before == after:
        return None
    # Offsets change on whole seconds: bisect to the first second with the new offset.
    lo_s, hi_s = int(lo.timestamp()), int(hi.timestamp())
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        if dt.datetime.fromtimestamp(mid, tz).utcoffset() == before:
            lo_s = mid
        else:
            hi_s = mid
    return dt.datetime.fromtimestamp(hi_s, UTC)
