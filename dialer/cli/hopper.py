"""`dialer hopper show`: what would be dialed next, and why the rest would not."""

from __future__ import annotations

import datetime as dt

from .common import CliError, add_json_flag, print_json, print_table, run, store_for


def register(sub) -> None:
    hop = sub.add_parser("hopper", help="the hopper: which leads are dialed next")
    hsub = hop.add_subparsers(dest="hopper_command", metavar="ACTION", required=True)
    p = hsub.add_parser("show", help="next leads in dial order and counts of leads not callable, by reason")
    p.add_argument("--campaign", required=True, help="campaign name or id")
    p.add_argument("--at", metavar="ISO-DATETIME",
                   help="as if it were then (e.g. 2026-03-02T15:00:00Z; no offset means UTC)")
    p.add_argument("--limit", type=int, default=20, help="how many next leads to list (default 20)")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_show, a))


def parse_at(text: str | None) -> dt.datetime:
    if text is None:
        return dt.datetime.now(dt.timezone.utc)  # the CLI is not engine code: real time is right here
    try:
        at = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise CliError(f"--at: {text!r} is not an ISO date-time like 2026-03-02T15:00:00Z") from None
    return at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)


async def _show(args) -> int:
    from dialer.queue.preview import preview
    from dialer.store.campaigns import NotFound, find_campaign

    at = parse_at(args.at)
    if args.limit < 0:
        raise CliError(f"--limit: must be 0 or more, got {args.limit}")
    async def lookup(conn, ref):
        try:
            return await find_campaign(conn, ref)
        except NotFound:
            return None

    async with store_for(args) as store:
        campaign = await store.run(lookup, args.campaign)
        report = None if campaign is None else await preview(store, campaign["id"], at, args.limit)
    # Raised outside the store's nursery, so the user sees the message, not a traceback.
    if report is None:
        raise CliError(f"--campaign: no campaign {args.campaign!r}")
    if args.json:
        print_json(report)
        return 0
    print(f"campaign {report['campaign']} at {report['at']}: {report['callable']} callable"
          + ("" if report["active"] else " (campaign inactive)"))
    if report["next"]:
        print()
        print_table(report["next"], ["id", "list", "phone", "local_time", "call_mode", "callback"],
                    ["id", "list", "phone", "local time", "mode", "callback"])
    if report["not_callable"]:
        print()
        print_table([{"reason": k, "leads": v} for k, v in report["not_callable"].items()], ["reason", "leads"])
    for key, why in report["broken_window_keys"].items():
        print(f"warning: leads with location {key!r} can never be called: {why}")
    return 0
