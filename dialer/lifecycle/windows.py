"""When a lead may be called: its campaign's hours in every zone the lead may be in.

The compliance package owns the full calling window (state rules, holidays,
DST); this is the campaign-hours window with the same interface
(`allows(at)`, `next_allowed(at)`), used until and unless a richer one is
passed in. A lead whose number may be in several zones is callable only when
it is inside the hours in all of them.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import lru_cache
from typing import Protocol, Sequence

from .rules import Hours

# Look this far ahead for an opening before giving up (a window with no
# calling days at all never opens).
HORIZON_DAYS = 400


class Window(Protocol):
    def allows(self, at: dt.datetime) -> bool: ...

    def next_allowed(self, at: dt.datetime) -> dt.datetime | None: ...


@lru_cache(maxsize=1024)
def zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


class HoursWindow:
    def __init__(self, zones: Sequence[str], hours: Hours):
        self.zones = [zone(z) for z in zones]
        self.hours = hours

    def allows(self, at: dt.datetime) -> bool:
        return all(self._allows_in(at, z) for z in self.zones)

    def next_allowed(self, at: dt.datetime) -> dt.datetime | None:
        """The earliest instant >= `at` inside the hours in every zone, or None if never."""
        t = at
        limit = at + dt.timedelta(days=HORIZON_DAYS)
        while t <= limit:
            moved = False
            for z in self.zones:
                if not self._allows_in(t, z):
                    opening = self._next_opening_in(t, z)
                    if opening is None:
                        return None
                    t, moved = opening, True
            if not moved:
                return t
        return None

    def _day_open(self, day: dt.date) -> bool:
        return day.isoweekday() in self.hours.days and day not in self.hours.holidays

    def _allows_in(self, at: dt.datetime, z: zoneinfo.ZoneInfo) -> bool:
        local = at.astimezone(z)
        return self._day_open(local.date()) and self.hours.start <= local.time() < self.hours.end

    def _next_opening_in(self, at: dt.datetime, z: zoneinfo.ZoneInfo) -> dt.datetime | None:
        local = at.astimezone(z)
        day = local.date()
        for offset in range(HORIZON_DAYS + 1):
            d = day + dt.timedelta(days=offset)
            if not self._day_open(d):
                continue
            # Round-trip through UTC so a start inside a DST gap lands on a real instant.
            opening = dt.datetime.combine(d, self.hours.start, tzinfo=z).astimezone(dt.timezone.utc)
            if offset == 0 and local.time() >= self.hours.end:
                continue
            if opening >= at:
                return opening
            if offset == 0:
                return at  # inside today's hours already (only reached if caller misjudged)
        return None


def lead_window(rules, lead: dict) -> Window:
    """The window for one lead (a dict with timezone, timezones, region, country).

    The compliance package's `CallingWindow` (state rules, holidays, DST) when
    it is installed; the campaign-hours window otherwise. Windows are shared
    between leads with the same zones and region, and remember their recent
    answers (see `RememberingWindow`), because a batch of calls ending at the
    same moment asks the same question many times.
    """
    zones = tuple(lead.get("timezones") or ()) or (lead.get("timezone") or rules.timezone,)
    country = lead.get("country") or rules.country
    try:
        return _shared_window(rules.hours, zones, lead.get("region"), country)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        # A zone name the database holds but this machine does not know: one bad
        # lead must not fail the engine's whole batch; the campaign zone stands in.
        return _shared_window(rules.hours, (rules.timezone,), lead.get("region"), country)


@lru_cache(maxsize=4096)
def _shared_window(hours: Hours, zones: tuple[str, ...], region: str | None, country: str | None) -> Window:
    try:
        from dialer.compliance.windows import CallingWindow
    except ImportError:  # pragma: no cover - without the compliance package
        return RememberingWindow(HoursWindow(zones, hours))
    return RememberingWindow(CallingWindow.for_lead((hours.start, hours.end), hours.days, hours.holidays,
                                                    zones, region, country))


class RememberingWindow:
    """A window that remembers its last few `next_allowed` answers.

    If next_allowed(a) = r, nothing in [a, r) is allowed and r is, so for any
    t in [a, r] the answer is r too: no search needed. Exact, not approximate.
    """

    KEEP = 16

    def __init__(self, window: Window):
        self.window = window
        self._spans: list[tuple[dt.datetime, dt.datetime]] = []

    def allows(self, at: dt.datetime) -> bool:
        return self.window.allows(at)

    def next_allowed(self, at: dt.datetime) -> dt.datetime | None:
        for begin, answer in self._spans:
            if begin <= at <= answer:
                return answer
        answer = self.window.next_allowed(at)
        if answer is not None:
            self._spans.append((at, answer))
            del self._spans[:-self.KEEP]
        return answer
