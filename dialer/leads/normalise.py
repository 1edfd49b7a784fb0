"""Per-row validation of a lead: the one place that decides what a row means.

Pure functions, no I/O: the import pipeline runs them in worker processes,
`dialer lead add` runs them for one lead, and `dialer lead edit` / bulk edit
re-validate edited leads with them ("re-validated like an import row").
Checks that need the database (duplicates, do-not-call, NANP wireless blocks)
are set-based and live in `dialer/store/imports.py` / `dialer/store/dnc.py`.

    validate_row({"phone": "(555) 201-0123", "region": "tx"}, ValidationContext(country="US"))
      -> NormalisedLead(phone="+15552010123", timezone="America/Chicago", ...)
      or raises RowError("invalid_phone", "...")
"""

from __future__ import annotations

import csv
import functools
import json
import re
import zoneinfo
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Iterable, Mapping

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberType
from phonenumbers import phonenumberutil as _pnu
from phonenumbers import timezone as _pn_timezone

# Fields with a column of their own in `lead`; every other mapped field is custom (lead.fields).
STANDARD_FIELDS = (
    "phone", "alt_phones", "first_name", "last_name", "email", "address", "city", "region",
    "postal_code", "country", "timezone", "customer_key", "status", "called_count",
)
_STANDARD = frozenset(STANDARD_FIELDS)
# Text columns the character rules (--strip-chars) apply to.
TEXT_FIELDS = ("first_name", "last_name", "email", "address", "city", "region", "country")

_PHONE_JUNK = str.maketrans("", "", " .-()[]{}\t\u00a0/")
_NANP_REGIONS = frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1])
_UNKNOWN_ZONE = _pn_timezone.UNKNOWN_TIMEZONE

# phonenumbers' type enum -> the text stored in lead.phone_type.
PHONE_TYPES = {
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
    PhoneNumberType.UNKNOWN: "unknown",
}


class RowError(ValueError):
    """A row that cannot become a lead. `reason` is a stable code (counted in
    the import summary), `detail` says what was wrong with which value."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


# --------------------------------------------------------------------------- phones

def normalise_phone(raw: str | None, country: str) -> tuple[str, str]:
    """`raw` as typed by anyone -> (E.164, phone_type), or RowError.

    Spaces, dots, dashes, slashes and brackets are stripped first; the number is
    parsed in `country` unless it starts with `+` (or `00` in most countries).
    """
    number = parse_phone(raw, country)
    return e164(number), phone_type(number, country)


def parse_phone(raw: str | None, country: str) -> PhoneNumber:
    text = (raw or "").strip()
    if not text:
        raise RowError("missing_phone", "no phone number")
    cleaned = text.translate(_PHONE_JUNK)
    country = country.upper()
    number = _nanp_fast(cleaned, country) if country in _NANP_REGIONS else None
    if number is None:
        try:
            number = phonenumbers.parse(cleaned, country)
        except phonenumbers.NumberParseException:
            raise RowError("invalid_phone", f"{text!r} is not a phone number") from None
        if not phonenumbers.is_valid_number(number):
            raise RowError("invalid_phone", f"{text!r} is not a valid number ({country})")
    return number


def _nanp_fast(cleaned: str, country: str) -> PhoneNumber | None:
    """Skip phonenumbers' (slow, regex-heavy) parse for the common NANP shapes:
    10 digits, 1 + 10 digits, +1 + 10 digits. Validity and type are still
    phonenumbers' verdict, cached by NPA-NXX-X (see _nanp_kind)."""
    if cleaned.startswith("+1"):
        digits = cleaned[2:]
    elif len(cleaned) == 11 and cleaned[0] == "1":
        digits = cleaned[1:]
    else:
        digits = cleaned
    if len(digits) != 10 or not digits.isdigit():
        return None
    if _nanp_kind(country, digits) == PhoneNumberType.UNKNOWN:
        raise RowError("invalid_phone", f"{cleaned!r} is not a valid number ({country})")
    return PhoneNumber(country_code=1, national_number=int(digits))


_NANP_CACHE: dict[tuple[str, str], int] = {}
_NANP_CACHE_MAX = 1_000_000


def _nanp_kind(country: str, national: str) -> int:
    """phonenumbers' type of a 10-digit NANP number (UNKNOWN = invalid).

    NANP numbers are allocated in blocks of NPA-NXX-X (thousands-blocks), and
    libphonenumber's metadata never distinguishes finer than that, so the
    answer is cached by the first 7 digits (tests/leads/test_normalise.py
    checks this against the uncached answer). The campaign's own region is
    tried first (one metadata set), then all NANP regions (a Canadian
    number in a US campaign)."""
    key = (country, national[:7])
    kind = _NANP_CACHE.get(key)
    if kind is None:
        kind = _nanp_kind_uncached(country, national)
        if len(_NANP_CACHE) >= _NANP_CACHE_MAX:
            _NANP_CACHE.clear()
        _NANP_CACHE[key] = kind
    return kind


def _nanp_kind_uncached(country: str, national: str) -> int:
    kind = _type_in_region(country, national)
    if kind == PhoneNumberType.UNKNOWN:
        number = PhoneNumber(country_code=1, national_number=int(national))
        if phonenumbers.is_valid_number(number):
            kind = phonenumbers.number_type(number)
    return kind


_SPECIAL_TYPES = ((PhoneNumberType.PREMIUM_RATE, "premium_rate"), (PhoneNumberType.TOLL_FREE, "toll_free"),
                  (PhoneNumberType.SHARED_COST, "shared_cost"), (PhoneNumberType.VOIP, "voip"),
                  (PhoneNumberType.PERSONAL_NUMBER, "personal_number"), (PhoneNumberType.PAGER, "pager"),
                  (PhoneNumberType.UAN, "uan"), (PhoneNumberType.VOICEMAIL, "voicemail"))


@functools.lru_cache(maxsize=64)
def _compiled_region(region: str):
    """A region's number descriptions with their patterns compiled once:
    phonenumbers' own _number_type_helper looks each pattern up in a regex
    cache on every call, which is most of its cost."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None:
        return None

    def desc(d):
        if d is None or not d.national_number_pattern:
            return None
        return frozenset(d.possible_length or ()), re.compile(d.national_number_pattern).fullmatch

    return (desc(metadata.general_desc), [(kind, desc(getattr(metadata, name))) for kind, name in _SPECIAL_TYPES],
            desc(metadata.fixed_line), desc(metadata.mobile), metadata.same_mobile_and_fixed_line_pattern)


def _matches(national: str, desc) -> bool:
    if desc is None:
        return False
    lengths, fullmatch = desc
    if lengths and len(national) not in lengths:
        return False
    return fullmatch(national) is not None


def _type_in_region(region: str, national: str) -> int:
    """phonenumbers' _number_type_helper(national, metadata of region), same order of tests."""
    compiled = _compiled_region(region)
    if compiled is None:
        return PhoneNumberType.UNKNOWN
    general, specials, fixed, mobile, same = compiled
    if not _matches(national, general):
        return PhoneNumberType.UNKNOWN
    for kind, desc in specials:
        if _matches(national, desc):
            return kind
    if _matches(national, fixed):
        if same or _matches(national, mobile):
            return PhoneNumberType.FIXED_LINE_OR_MOBILE
        return PhoneNumberType.FIXED_LINE
    if not same and _matches(national, mobile):
        return PhoneNumberType.MOBILE
    return PhoneNumberType.UNKNOWN


def e164(number: PhoneNumber) -> str:
    if number.country_code == 1 and not number.italian_leading_zero:
        return f"+1{number.national_number}"   # what format_number gives, without its overhead
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_type(number: PhoneNumber, country: str | None = None) -> str:
    """phonenumbers' number type as text. For NANP numbers this is almost always
    `fixed_line_or_mobile` (the plan does not tell); the import upgrades it to
    `mobile` from the wireless block list."""
    national = str(number.national_number)
    if number.country_code == 1 and len(national) == 10 and country in _NANP_REGIONS:
        kind = _nanp_kind(country, national)
    else:
        kind = phonenumbers.number_type(number)
    return PHONE_TYPES.get(kind, "unknown")


def national_digits(e164_text: str) -> str:
    """The national significant number of an E.164 text (for area-code rules)."""
    number = phonenumbers.parse(e164_text)
    return phonenumbers.national_significant_number(number)


# --------------------------------------------------------------------------- postal codes

def normalise_postal_code(raw: str | None, country: str | None) -> str | None:
    """US zips: 3-4 digits are left-padded with zeros to 5 (spreadsheets eat
    leading zeros), 2 digits or fewer are dropped, more than 5 are kept as
    given (ZIP+4). Other countries' codes are kept as given, trimmed."""
    text = (raw or "").strip()
    if not text:
        return None
    if (country or "").upper() not in ("US", "USA"):
        return text
    if text.isdigit():
        if len(text) <= 2:
            return None
        if len(text) < 5:
            return text.zfill(5)
    return text


# --------------------------------------------------------------------------- timezones

@functools.lru_cache(maxsize=4096)
def is_iana_zone(name: str) -> bool:
    if not name or name != name.strip() or name.startswith("/") or ".." in name:
        return False
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, IsADirectoryError):
        return False
    return True


@dataclass(frozen=True)
class TimezoneRule:
    """One mapping rule: every criterion given must match (case-insensitively)."""
    zone: str
    region: str | None = None
    postal_prefix: str | None = None
    area_code: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "timezone rule") -> "TimezoneRule":
        unknown = set(data) - {"zone", "region", "postal_prefix", "area_code"}
        if unknown:
            raise ValueError(f"{where}: unknown key {sorted(unknown)[0]!r} "
                             "(expected zone, region, postal_prefix, area_code)")
        zone = str(data.get("zone") or "")
        if not is_iana_zone(zone):
            raise ValueError(f"{where}: zone {zone!r} is not an IANA timezone")
        rule = cls(zone=zone, **{k: str(data[k]).strip() for k in ("region", "postal_prefix", "area_code")
                                 if data.get(k) not in (None, "")})
        if not (rule.region or rule.postal_prefix or rule.area_code):
            raise ValueError(f"{where}: needs one of region, postal_prefix, area_code")
        return rule

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if v is not None}


@functools.lru_cache(maxsize=1)
def us_state_zones() -> dict[str, str]:
    """The shipped default table: casefolded state code and name -> zone."""
    table: dict[str, str] = {}
    text = resources.files("dialer.data").joinpath("us_state_timezones.csv").read_text("utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    for row in rows:
        table[row["code"].casefold()] = row["zone"]
        table[row["name"].casefold()] = row["zone"]
    return table


class TimezoneRules:
    """User rules in the order given (first match wins), then the US state table."""

    def __init__(self, rules: Iterable[TimezoneRule] = (), *, us_states: bool = True):
        self.rules = tuple(rules)
        self._us = us_state_zones() if us_states else {}
        self._folded = [(r, (r.region or "").casefold() or None, (r.postal_prefix or "").casefold() or None,
                         r.area_code) for r in self.rules]

    def match(self, region: str | None, postal_code: str | None, national: str | None,
              us: bool) -> str | None:
        region_f = (region or "").strip().casefold()
        postal_f = (postal_code or "").strip().casefold()
        for rule, r_region, r_postal, r_area in self._folded:
            if r_region is not None and r_region != region_f:
                continue
            if r_postal is not None and not postal_f.startswith(r_postal):
                continue
            if r_area is not None and not (national or "").startswith(r_area):
                continue
            return rule.zone
        if us and region_f:
            return self._us.get(region_f)
        return None


@functools.lru_cache(maxsize=200_000)
def _zones_for_prefix(country_code: int, national: str) -> tuple[str, ...]:
    number = PhoneNumber(country_code=country_code, national_number=int(national))
    zones = _pn_timezone.time_zones_for_number(number)
    return tuple(z for z in zones if z != _UNKNOWN_ZONE)


def phone_zones(number: PhoneNumber) -> tuple[str, ...]:
    """Zones phonenumbers gives for a number. NANP zone data never looks past
    1 + 6 digits, so results are cached by NPA-NXX (exact, and fast)."""
    national = str(number.national_number)
    if number.country_code == 1 and len(national) == 10:
        return _zones_for_prefix(1, national[:6] + "0000")
    return _zones_for_prefix(number.country_code, national)


def resolve_timezone(fields: Mapping[str, Any], rules: TimezoneRules, campaign_default: str,
                     phone: PhoneNumber | str | None) -> tuple[str, list[str] | None, list[str]]:
    """Which zone a lead lives in -> (zone, all zones when the number spans several, warnings).

    First that applies: a valid IANA name in `timezone`; the rules (user rules,
    then the US state table for US leads); the one zone phonenumbers gives;
    the campaign default. A bad IANA name is a warning and falls through.
    """
    warnings: list[str] = []
    given = (fields.get("timezone") or "").strip()
    if given:
        if is_iana_zone(given):
            return given, None, warnings
        warnings.append(f"timezone {given!r} is not an IANA zone; ignored")
    number = phonenumbers.parse(phone) if isinstance(phone, str) else phone
    national = str(number.national_number) if number is not None else None
    country = (fields.get("country") or "").strip().upper()
    us = country in ("US", "USA") or (number is not None and number.country_code == 1 and not country)
    zone = rules.match(fields.get("region"), fields.get("postal_code"), national, us)
    if zone:
        return zone, None, warnings
    zones = phone_zones(number) if number is not None else ()
    if len(zones) == 1:
        return zones[0], None, warnings
    return campaign_default, (sorted(zones) if len(zones) > 1 else None), warnings


# --------------------------------------------------------------------------- the row

@dataclass
class ValidationContext:
    """Everything per-row validation needs to know about where the lead goes."""
    country: str = "US"                        # parse numbers as dialed from here
    campaign_timezone: str = "America/New_York"
    rules: TimezoneRules = field(default_factory=TimezoneRules)
    strip_chars: str = ""                      # character rule for text fields, e.g. "&*"
    statuses: frozenset[str] = frozenset()     # known status codes of the campaign
    backup_status: str | None = None           # for status values that match none
    default_status: str = "NEW"


@dataclass
class NormalisedLead:
    phone: str
    phone_type: str
    timezone: str
    timezones: list[str] | None = None
    alt_phones: list[str] = field(default_factory=list)
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    address: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None
    customer_key: str | None = None
    status: str = "NEW"
    attempts: int = 0
    fields: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        data = dict(vars(self))
        data.pop("warnings")
        return data


def _text(value: Any, strip: str) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if strip:
        text = text.translate(str.maketrans("", "", strip)).strip()
    return text or None


@functools.lru_cache(maxsize=256)
def _key_roles(keys: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(alt phone keys, custom field keys) of a mapped row's keys; rows of one
    import share their keys, so this is worked out once."""
    alt = tuple(k for k in keys if k == "alt_phones" or k.startswith("alt_phone"))
    custom = tuple(k for k in keys if k not in _STANDARD and k not in alt)
    return alt, custom


def _alt_phone_values(mapped: Mapping[str, Any], alt_keys: tuple[str, ...]) -> list[str]:
    values: list[str] = []
    for key in alt_keys:
        values.extend(v for v in str(mapped.get(key) or "").replace("|", ";").split(";") if v.strip())
    return values


def validate_row(mapped: Mapping[str, Any], ctx: ValidationContext) -> NormalisedLead:
    """Mapped fields (standard names and custom names -> text) -> NormalisedLead, or RowError."""
    number = parse_phone(mapped.get("phone"), ctx.country)
    alt_keys, custom_keys = _key_roles(tuple(mapped))
    warnings: list[str] = []
    alt: list[str] = []
    for raw in _alt_phone_values(mapped, alt_keys):
        try:
            alt.append(e164(parse_phone(raw, ctx.country)))
        except RowError as exc:
            warnings.append(f"alt phone dropped: {exc.detail}")
    country = _text(mapped.get("country"), ctx.strip_chars)
    lead = NormalisedLead(
        phone=e164(number), phone_type=phone_type(number, ctx.country), timezone="",
        alt_phones=alt,
        first_name=_text(mapped.get("first_name"), ctx.strip_chars),
        last_name=_text(mapped.get("last_name"), ctx.strip_chars),
        email=_text(mapped.get("email"), ctx.strip_chars),
        address=_text(mapped.get("address"), ctx.strip_chars),
        city=_text(mapped.get("city"), ctx.strip_chars),
        region=_text(mapped.get("region"), ctx.strip_chars),
        country=country,
        postal_code=normalise_postal_code(mapped.get("postal_code"), country or ctx.country),
        customer_key=_text(mapped.get("customer_key"), ""),
        status=_status(mapped.get("status"), ctx),
        attempts=_called_count(mapped.get("called_count")),
    )
    zone_fields = {"timezone": mapped.get("timezone"), "region": lead.region,
                   "postal_code": lead.postal_code, "country": country or ctx.country}
    lead.timezone, lead.timezones, tz_warnings = resolve_timezone(
        zone_fields, ctx.rules, ctx.campaign_timezone, number)
    warnings.extend(tz_warnings)
    for key in custom_keys:
        text = _text(mapped[key], ctx.strip_chars)
        if text is not None:
            lead.fields[key] = text
    lead.warnings = warnings
    return lead


def _status(raw: Any, ctx: ValidationContext) -> str:
    text = (str(raw).strip().upper() if raw is not None else "")
    if not text:
        return ctx.default_status
    if text in ctx.statuses or not ctx.statuses:
        return text
    if ctx.backup_status:
        return ctx.backup_status
    raise RowError("unknown_status", f"status {text!r} is not a status of this campaign "
                                     "(use --backup-status)")


def _called_count(raw: Any) -> int:
    text = str(raw).strip() if raw is not None else ""
    if not text:
        return 0
    if not text.isdigit():
        raise RowError("bad_called_count", f"called count {text!r} is not a whole number >= 0")
    return int(text)


def fields_json(fields: Mapping[str, str]) -> str:
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
