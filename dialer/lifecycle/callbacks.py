"""Who may take a due callback.

A campaign-wide callback (no owner) goes to any operator once due. An owned
one goes only to its operator; after the campaign's grace it goes to anyone
(`callback_grace_action = 'anyone'`) or keeps waiting for the owner ('wait').
"""

from __future__ import annotations

import datetime as dt


def may_take(owner_id: int | None, operator_id: int | None, due_at: dt.datetime, now: dt.datetime,
             grace: dt.timedelta, grace_action: str) -> bool:
    if due_at > now:
        return False
    if owner_id is None or owner_id == operator_id:
        return True
    return grace_action == "anyone" and now >= due_at + grace


def localize(local: dt.datetime, timezone: str) -> dt.datetime:
    """A naive date-time read as wall time in the lead's zone, as an aware UTC datetime."""
    import zoneinfo

    from .rules import RuleError
    from .windows import zone

    try:
        tz = zone(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise RuleError(f"the lead's timezone {timezone!r} is unknown: give the callback time with an "
                        "offset, e.g. 2026-03-02T14:30-05:00") from None
    return local.replace(tzinfo=tz).astimezone(dt.timezone.utc)
