"""Reading a bulk-edit file: the column map and the rows, checked before any lead is touched.

`--map "Lead ID=id,Email=email,Notes=-"`: file column -> lead field; `-`
means "do not change". Exactly one column maps to `id`. Every other mapped
field must be editable (see `edits.py`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from .edits import check_field
from .rules import RuleError

SKIP = "-"


@dataclass(frozen=True)
class EditRow:
    line: int                      # line in the file (header is line 1)
    lead_id: int
    values: dict[str, str]         # field -> new raw value


def parse_map(text: str) -> dict[str, str | None]:
    """'Col=field,Other=-' -> {'Col': 'field', 'Other': None}; RuleError naming the bad part."""
    mapping: dict[str, str | None] = {}
    for part in (p for p in text.split(",") if p.strip()):
        column, sep, field = part.partition("=")
        column, field = column.strip(), field.strip()
        if not sep or not column or not field:
            raise RuleError(f"--map: {part.strip()!r} is not COLUMN=FIELD")
        if column in mapping:
            raise RuleError(f"--map: column {column!r} is mapped twice")
        mapping[column] = None if field == SKIP else check_field(field, f"--map {column}") if field != "id" else "id"
    targets = [f for f in mapping.values() if f is not None]
    dup = sorted({f for f in targets if targets.count(f) > 1})
    if dup:
        raise RuleError(f"--map: field {dup[0]!r} is the target of more than one column")
    return mapping


def read_edit_file(path: str | Path, mapping: dict[str, str | None]) -> list[EditRow]:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise RuleError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise RuleError(f"{path}: not UTF-8 text") from None
    return parse_edit_text(text, mapping, str(path))


def parse_edit_text(text: str, mapping: dict[str, str | None], name: str = "file") -> list[EditRow]:
    try:
        dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if not header:
        raise RuleError(f"{name}: empty file (no header line)")
    header = [h.strip() for h in header]
    missing = [c for c in mapping if c not in header]
    if missing:
        raise RuleError(f"{name} line 1: no column {missing[0]!r} (columns: {', '.join(header)})")
    id_columns = [c for c, f in mapping.items() if f == "id"]
    if not id_columns:
        raise RuleError(f"{name}: no column is mapped to the lead id (add e.g. \"Lead ID=id\" to --map)")
    id_index = header.index(id_columns[0])
    fields = [(header.index(c), f) for c, f in mapping.items() if f not in (None, "id")]
    if not fields:
        raise RuleError(f"{name}: --map names no field to change")
    rows: list[EditRow] = []
    seen: dict[int, int] = {}
    errors: list[str] = []
    for line, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) < len(header):
            cells = cells + [""] * (len(header) - len(cells))
        raw_id = cells[id_index].strip()
        if not raw_id.isdigit():
            errors.append(f"{name} line {line}: {id_columns[0]} {raw_id!r} is not a lead id")
            continue
        lead_id = int(raw_id)
        if lead_id in seen:
            errors.append(f"{name} line {line}: lead {lead_id} already edited on line {seen[lead_id]}")
            continue
        seen[lead_id] = line
        rows.append(EditRow(line, lead_id, {f: cells[i] for i, f in fields}))
    if errors:
        raise RuleError("\n".join(errors[:20]) + (f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""))
    return rows
