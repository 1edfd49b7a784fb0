"""Which file column feeds which lead field.

A mapping is `{file column: field}`; columns are header names, or 1-based
positions ("1", "2", ...) with --no-header. It comes from `--map
"Phone=phone,Zip=postal_code"`, a TOML file (`[map]` table plus optional
`[[timezone_rules]]` and `[options]`), or a saved template. Field names are
the standard ones (normalise.STANDARD_FIELDS, a few aliases accepted) or any
other name, which becomes a custom field.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field

from .normalise import STANDARD_FIELDS, TimezoneRule

ALIASES = {
    "phone_number": "phone", "primary_phone": "phone", "state": "region", "province": "region",
    "zip": "postal_code", "zipcode": "postal_code", "zip_code": "postal_code", "postcode": "postal_code",
    "tz": "timezone", "time_zone": "timezone", "firstname": "first_name", "lastname": "last_name",
    "called_since_last_reset": "called_count", "attempts": "called_count",
}


class MappingError(ValueError):
    """A mapping that cannot be used; the message names the column or field."""


@dataclass
class Mapping:
    columns: dict[str, str] = field(default_factory=dict)          # file column -> field
    timezone_rules: list[TimezoneRule] = field(default_factory=list)
    options: dict = field(default_factory=dict)

    def merged(self, other: "Mapping") -> "Mapping":
        return Mapping({**self.columns, **other.columns}, [*self.timezone_rules, *other.timezone_rules],
                       {**self.options, **other.options})

    def as_json(self) -> dict:
        return {"mapping": self.columns, "timezone_rules": [r.as_dict() for r in self.timezone_rules],
                "options": self.options}


def field_name(name: str) -> str:
    key = name.strip()
    folded = key.lower().replace(" ", "_")
    if folded in STANDARD_FIELDS or folded.startswith("alt_phone"):
        return folded
    return ALIASES.get(folded, key)


def parse_map(text: str) -> dict[str, str]:
    """`"Phone=phone,Customer ID=customer_key"` -> {"Phone": "phone", ...}."""
    result: dict[str, str] = {}
    for n, part in enumerate(p for p in text.split(",") if p.strip()):
        column, sep, target = part.partition("=")
        if not sep or not column.strip() or not target.strip():
            raise MappingError(f"--map item {n + 1} {part.strip()!r}: expected COLUMN=FIELD")
        result[column.strip()] = field_name(target)
    return result


def load_mapping_file(path: str) -> Mapping:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise MappingError(f"{path}: no such mapping file") from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path}: not valid TOML: {exc}") from None
    return mapping_from_data(data, path)


def mapping_from_data(data: dict, where: str) -> Mapping:
    columns = data.get("map", data.get("mapping", {}))
    if not isinstance(columns, dict):
        raise MappingError(f"{where}: [map] must be a table of column = field")
    rules = []
    for i, raw in enumerate(data.get("timezone_rules", [])):
        try:
            rules.append(TimezoneRule.from_mapping(raw, f"{where}: timezone_rules[{i}]"))
        except ValueError as exc:
            raise MappingError(str(exc)) from None
    options = data.get("options", {})
    return Mapping({str(k): field_name(str(v)) for k, v in columns.items()}, rules, dict(options))


def resolve_columns(mapping: Mapping, header: list[str] | None, width: int, path: str) -> dict[str, int]:
    """field -> column index. A mapped column missing from the file is an error
    (before anything is written), naming the column and what the file has."""
    if not mapping.columns:
        if header is None:
            raise MappingError("--no-header needs a mapping (--map \"1=phone,...\")")
        mapping = Mapping({h: field_name(h) for h in header if h})
    result: dict[str, int] = {}
    folded = {h.strip().casefold(): i for i, h in enumerate(header or [])}
    for column, target in mapping.columns.items():
        if header is None:
            if not column.isdigit() or not 1 <= int(column) <= width:
                raise MappingError(f"{path}: mapped column {column!r} does not exist: with --no-header "
                                   f"columns are numbered 1..{width}")
            index = int(column) - 1
        else:
            index = folded.get(column.strip().casefold())
            if index is None and column.isdigit() and 1 <= int(column) <= width:
                index = int(column) - 1
            if index is None:
                shown = ", ".join(repr(h) for h in header[:12]) + (" ..." if len(header) > 12 else "")
                raise MappingError(f"{path}: mapped column {column!r} is not in the file's header "
                                   f"(columns: {shown})")
        if target in result and not target.startswith("alt_phone"):
            raise MappingError(f"field {target!r} is mapped from two columns")
        key = target
        if target.startswith("alt_phone") and target in result:
            key = f"alt_phone_{len([k for k in result if k.startswith('alt_phone')]) + 1}"
        result[key] = index
    if "phone" not in result:
        raise MappingError(f"{path}: no column is mapped to phone (the one required field); "
                           "use --map \"COLUMN=phone\"")
    return result
