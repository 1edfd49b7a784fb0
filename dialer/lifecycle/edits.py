"""Which lead fields a person may edit, and how an edited value is cleaned.

Used by `dialer lead edit` and bulk edit. Names are lead columns, or
`fields.NAME` for a custom field. Values are re-validated as an import row
would be, with the import's own functions (`dialer.leads.normalise`): phone
numbers to E.164 in the campaign's country, US zips padded, timezones must be
IANA names, e-mail must look like one. When the phone, region, postal code,
country or timezone changes, `reprocess` re-derives the phone type and the
timezone(s) as the import would.
"""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache
from typing import Any

from .rules import RuleError

TEXT_FIELDS = ("first_name", "last_name", "email", "address", "city", "region", "postal_code", "country",
               "customer_key", "phone_type")
EDITABLE = ("phone", "alt_phones", "timezone", "status", *TEXT_FIELDS)
CUSTOM_PREFIX = "fields."
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_field(name: str, where: str) -> str:
    """The field name, or RuleError naming `where` (a column, an argument)."""
    if name in EDITABLE or (name.startswith(CUSTOM_PREFIX) and len(name) > len(CUSTOM_PREFIX)):
        return name
    raise RuleError(f"{where}: {name!r} is not an editable field "
                    f"(one of {', '.join(EDITABLE)}, or fields.NAME for a custom field)")


def clean_value(name: str, value: str, country: str, where: str) -> Any:
    """The stored form of `value` for field `name`; RuleError naming `where` if it is bad."""
    value = value.strip()
    if name == "phone":
        return _e164(value, country, where)
    if name == "alt_phones":
        return [_e164(v, country, where) for v in re.split(r"[;|]", value) if v.strip()]
    if name == "timezone":
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise RuleError(f"{where}: timezone {value!r} is not an IANA timezone") from None
        return value
    if name == "status":
        return value.upper() or None
    if name == "postal_code":
        from dialer.leads.normalise import normalise_postal_code

        return normalise_postal_code(value, country)
    if name == "email" and value and not _EMAIL.match(value):
        raise RuleError(f"{where}: {value!r} is not an e-mail address")
    return value or None


def current_value(lead: dict, name: str) -> Any:
    if name.startswith(CUSTOM_PREFIX):
        return (lead.get("fields") or {}).get(name[len(CUSTOM_PREFIX):])
    return lead.get(name)


def _e164(value: str, country: str, where: str) -> str:
    from dialer.leads.normalise import RowError, normalise_phone

    try:
        return normalise_phone(value, country)[0]
    except RowError as exc:
        raise RuleError(f"{where}: phone {exc.detail or exc.reason}") from None


# Fields whose change means the phone type / timezone must be worked out again.
LOCATION_FIELDS = ("phone", "region", "postal_code", "country", "timezone")


def reprocess(lead: dict, changes: dict[str, tuple], campaign_country: str, campaign_timezone: str) -> dict:
    """Derived changes {field: (old, new)} after `changes`, as an import row would get them."""
    from dialer.leads.normalise import normalise_postal_code, parse_phone, phone_type, resolve_timezone

    if not any(f in changes for f in LOCATION_FIELDS):
        return {}
    after = {f: (changes[f][1] if f in changes else lead.get(f)) for f in LOCATION_FIELDS}
    country = after["country"] or campaign_country
    number = parse_phone(after["phone"], campaign_country)
    derived = {"phone_type": phone_type(number, campaign_country),
               "postal_code": normalise_postal_code(after["postal_code"], country)}
    # A timezone typed in this edit wins; otherwise the zone is worked out again from the new place.
    zone_fields = {"timezone": changes["timezone"][1] if "timezone" in changes else None,
                   "region": after["region"], "postal_code": derived["postal_code"], "country": country}
    derived["timezone"], derived["timezones"], _ = resolve_timezone(zone_fields, _rules(), campaign_timezone, number)
    out = {}
    for name, new in derived.items():
        old = lead.get(name)
        if new != old and name not in changes or (name in changes and changes[name][1] != new):
            out[name] = (changes[name][0] if name in changes else old, new)
    return out


@lru_cache(maxsize=1)
def _rules():
    from dialer.leads.normalise import TimezoneRules

    return TimezoneRules()


def status_effects(changes: dict[str, tuple], lead: dict, statuses: dict, where: str) -> dict:
    """A new status must exist; the lead takes its call mode and completed flag."""
    if "status" not in changes:
        return {}
    code = changes["status"][1]
    status = statuses.get(code)
    if status is None:
        raise RuleError(f"{where}: status {code!r} is not a status of this campaign "
                        f"(known: {', '.join(sorted(statuses))})")
    out = {}
    if status.call_mode and status.call_mode != lead.get("call_mode"):
        out["call_mode"] = (lead.get("call_mode"), status.call_mode)
    if status.completed != lead.get("completed"):
        out["completed"] = (lead.get("completed"), status.completed)
    return out
