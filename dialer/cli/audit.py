"""`dialer audit --campaign C [--since …] [--json]`: exit status 1 when any rule was broken."""

from __future__ import annotations

import datetime as dt
import re

from .common import CliError, add_json_flag, print_json, print_table, run, store_for


def register(sub) -> None:
    p = sub.add_parser("audit", help="check every attempt of a campaign against the calling rules")
    p.add_argument("--campaign", required=True, help="campaign name or id")
    p.add_argument("--since", help="only attempts started since: ISO date/datetime (UTC if no offset), "
                                   "or a span back from now such as 24h, 7d")
    p.add_argument("--abandon-cap", type=float, default=0.03, help="daily abandon-rate cap (default 0.03)")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_audit, a))


def parse_since(text: str | None, now: dt.datetime) -> dt.datetime | None:
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", text)
    if m:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
        return now - dt.timedelta(**{unit: int(m.group(1))})
    try:
        value = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise CliError(f"--since: {text!r} is neither an ISO date/datetime nor a span like 24h or 7d") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


async def _audit(args) -> int:
    from dialer.engine.audit import run_audit

    # The CLI is an edge: reading the real time here (for "--since 24h") is fine.
    since = parse_since(args.since, dt.datetime.now(dt.timezone.utc))
    async with store_for(args) as store:
        report = await run_audit(store, args.campaign, since, abandon_cap=args.abandon_cap)
    if args.json:
        print_json(report.as_dict())
    else:
        print(f"campaign {report.campaign}: {report.attempts} attempts checked, "
              f"{len(report.violations)} violations")
        if report.violations:
            print_table([v.as_dict() for v in report.violations],
                        ["rule", "attempt_id", "lead_id", "at", "detail"],
                        ["rule", "attempt", "lead", "started", "detail"])
    return 0 if report.ok else 1
