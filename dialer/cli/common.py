"""What every CLI command shares: running trio, opening the store, printing."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
from typing import Any, AsyncIterator, Callable, Iterable, Sequence

import trio

from dialer.exceptions import lone_exception


class CliError(Exception):
    """A problem the user can fix; printed as `dialer: <message>`, exit status 2."""


def run(async_fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return trio.run(async_fn, *args)
    except BaseExceptionGroup as group:
        # trio's nurseries (the store's asyncio loop runs in one) wrap errors in
        # groups; a lone CliError/NotFound must still reach main() as itself.
        leaf = lone_exception(group)
        if leaf is None:
            raise
        raise leaf from None


@contextlib.asynccontextmanager
async def store_for(args) -> AsyncIterator[Any]:
    """The store the user configured (DIALER_DATABASE_URL or embedded), migrated."""
    from dialer.store import open_store

    async with open_store(getattr(args, "database_url", None)) as store:
        yield store


def add_json_flag(parser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object for scripts")


def _default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, default=_default, ensure_ascii=False)
    sys.stdout.write("\n")


def format_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, dt.timedelta):
        return _format_duration(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value) or "-"
    return str(value)


def _format_duration(value: dt.timedelta) -> str:
    seconds = int(value.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def print_table(rows: Sequence[dict], columns: Sequence[str], headers: Sequence[str] | None = None) -> None:
    headers = list(headers or columns)
    cells = [[format_value(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def print_fields(pairs: Iterable[tuple[str, Any]]) -> None:
    pairs = list(pairs)
    width = max((len(k) for k, _ in pairs), default=0)
    for key, value in pairs:
        print(f"{key.ljust(width)}  {format_value(value)}")
