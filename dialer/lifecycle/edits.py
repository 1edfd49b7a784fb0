"""Which lead fields a person may edit, and how an edited value is cleaned.

Used by `dialer lead edit` and bulk edit. Names are lead columns, or
`fields.NAME` for a custom field. Values are re-validated as an import row
would be: phone numbers to E.164 in the campaign's country, timezones must be
IANA names, e-mail must look like one.
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Any

from .rules import RuleError

TEXT_FIELDS = ("first_name", "last_name", "email", "address", "city", "region", "postal_code", "country",
               "customer_key", "phone_type")
EDITABLE = ("phone", "alt_phones", "timezone", *TEXT_FIELDS)
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
    if name == "email" and value and not _EMAIL.match(value):
        raise RuleError(f"{where}: {value!r} is not an e-mail address")
    return value or None


def current_value(lead: dict, name: str) -> Any:
    if name.startswith(CUSTOM_PREFIX):
        return (lead.get("fields") or {}).get(name[len(CUSTOM_PREFIX):])
    return lead.get(name)


def _e164(value: str, country: str, where: str) -> str:
    import phonenumbers

    try:
        parsed = phonenumbers.parse(value, country)
    except phonenumbers.NumberParseException as exc:
        raise RuleError(f"{where}: phone {value!r} cannot be read ({exc})") from None
    if not phonenumbers.is_valid_number(parsed):
        raise RuleError(f"{where}: phone {value!r} is not a valid number for {country}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
