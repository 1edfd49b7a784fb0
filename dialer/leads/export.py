"""Writing leads to CSV safely: cells a spreadsheet would run as a formula
(starting with =, +, - or @) are prefixed with a single quote."""

from __future__ import annotations

import datetime as dt

FORMULA_STARTS = ("=", "+", "-", "@")


def neutralise(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dt.datetime):
        text = value.isoformat()
    else:
        text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def csv_row(values) -> list[str]:
    return [neutralise(v) for v in values]
