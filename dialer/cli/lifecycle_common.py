"""Helpers the lifecycle commands share: wall time, authors, rule errors as CLI errors."""

from __future__ import annotations

import datetime as dt
import functools
import getpass

from .common import CliError


def now() -> dt.datetime:
    """The CLI is not engine code: a supervisor's command happens at the real now."""
    from dialer.clock import Clock

    return Clock().now()


def author(args) -> str:
    if getattr(args, "author", None):
        return args.author
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "cli"


def rule_errors(fn):
    """Run an async command, turning the rules' errors into `dialer: ...` messages."""
    from dialer.lifecycle.rules import RuleError

    @functools.wraps(fn)
    async def wrapper(args):
        try:
            return await fn(args)
        except RuleError as exc:
            raise CliError(str(exc)) from None

    return wrapper


def parse_time(text: str, what: str) -> dt.datetime:
    """ISO date-time; naive ones stay naive (the caller decides their zone)."""
    try:
        return dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise CliError(f"{what}: {text!r} is not a date-time like 2026-03-02T14:30 or 2026-03-02 14:30") from None


def lead_id(text: str) -> int:
    if not str(text).isdigit():
        raise CliError(f"lead id {text!r} is not a number")
    return int(text)


async def operator_id(store, ref: str | None, what: str) -> int | None:
    if ref is None:
        return None
    row = await store.fetchval("SELECT id FROM operator WHERE name = $1 OR ($2 AND id::text = $1)",
                               ref, ref.isdigit())
    if row is None:
        raise CliError(f"{what}: no operator {ref!r}")
    return row
