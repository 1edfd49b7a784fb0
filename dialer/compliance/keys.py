"""Window keys: the (country, region, zones) a lead's calling window depends on.

The database keeps one key per distinct combination (migration 030,
`lead_window_key`); the hopper asks here which keys are open at an instant and
passes only those to the claim, so millions of leads are filtered by a string
comparison instead of by a timezone computation each.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from .rules import RulesTable, default_rules
from .windows import CallingWindow


def make_key(timezone: str, timezones: list[str] | None, region: str | None, country: str | None) -> str:
    """The same string as SQL's lead_window_key()."""
    zones = ",".join(timezones) if timezones else timezone
    return f"{(country or '').upper()}|{(region or '').upper()}|{zones}"


def window_for_key(campaign: dict, key: str, rules: RulesTable | None = None) -> CallingWindow:
    """The calling window for a key under a campaign's hours, days and holidays.

    Raises ValueError (naming the zone) when the key holds an unknown timezone."""
    country, region, zones = key.split("|", 2)
    return CallingWindow.for_lead((campaign["calling_start"], campaign["calling_end"]),
                                  campaign["calling_days"], campaign["holidays"] or (),
                                  zones.split(","), region or None, country or campaign["country"],
                                  rules or default_rules())


class KeyWindows:
    """Windows for a campaign's keys, built once, asked many times."""

    def __init__(self, campaign: dict, keys: Iterable[str], rules: RulesTable | None = None):
        self.windows: dict[str, CallingWindow] = {}
        self.broken: dict[str, str] = {}  # key -> why it can never be called
        for key in keys:
            try:
                self.windows[key] = window_for_key(campaign, key, rules)
            except ValueError as exc:
                self.broken[key] = str(exc)

    def open_at(self, at: dt.datetime) -> list[str]:
        return sorted(key for key, window in self.windows.items() if window.allows(at))

    def allows(self, key: str, at: dt.datetime) -> bool:
        window = self.windows.get(key)
        return window is not None and window.allows(at)
