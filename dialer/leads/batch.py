"""Validate a batch of raw rows into staging CSV (runs in worker processes).

Input: rows as the csv module read them and the field -> column-index map.
Output: PostgreSQL-CSV text for the staging table (dialer/store/imports.py
STAGE_COLUMNS order), the rejected rows (row number, reason, detail) and the
warnings. Plain data in, plain data out, so it pickles cheaply to and from
trio-parallel workers.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from .normalise import RowError, ValidationContext, fields_json, validate_row

MAX_WARNING_SAMPLES = 20


@dataclass
class BatchResult:
    stage_csv: str
    good: int = 0
    rejects: list[tuple[int, str, str]] = field(default_factory=list)
    warnings: int = 0
    warning_samples: list[tuple[int, str]] = field(default_factory=list)


def _array(values) -> str | None:
    if not values:
        return None
    return "{" + ",".join(f'"{v}"' for v in values) + "}"


def process_batch(ctx: ValidationContext, columns: dict[str, int], width: int, has_status: bool,
                  has_count: bool, start_row: int, rows: list[list[str]]) -> BatchResult:
    out = io.StringIO()
    write = csv.writer(out, lineterminator="\n").writerow
    result = BatchResult("")
    items = list(columns.items())
    for offset, row in enumerate(rows):
        row_no = start_row + offset
        if len(row) != width:
            result.rejects.append((row_no, "wrong_field_count",
                                   f"row has {len(row)} fields, the file's first row has {width}"))
            continue
        mapped = {name: row[index] for name, index in items}
        try:
            lead = validate_row(mapped, ctx)
        except RowError as exc:
            result.rejects.append((row_no, exc.reason, exc.detail))
            continue
        if lead.warnings:
            result.warnings += len(lead.warnings)
            if len(result.warning_samples) < MAX_WARNING_SAMPLES:
                result.warning_samples.extend((row_no, w) for w in lead.warnings)
        result.good += 1
        write((row_no, lead.phone, lead.phone_type, _array(lead.alt_phones), lead.first_name, lead.last_name,
               lead.email, lead.address, lead.city, lead.region, lead.postal_code, lead.country, lead.timezone,
               _array(lead.timezones), lead.customer_key, lead.status if has_status else None,
               lead.attempts if has_count else None, fields_json(lead.fields) if lead.fields else None))
    result.stage_csv = out.getvalue()
    return result
