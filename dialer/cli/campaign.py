"""`dialer campaign create|list|show|load`."""

from __future__ import annotations

import datetime as dt

from dialer.config import CallingHours, CampaignConfig, ConfigError, load_config
from dialer.config.loader import read_config

from .common import CliError, add_json_flag, print_fields, print_json, print_table, run, store_for


def register(sub) -> None:
    camp = sub.add_parser("campaign", help="campaigns: create, list, show, load from config")
    csub = camp.add_subparsers(dest="campaign_command", metavar="ACTION", required=True)

    p = csub.add_parser("create", help="create a campaign with default statuses, call modes and wrap codes")
    p.add_argument("name")
    p.add_argument("--country", default="US", help="ISO country for parsing numbers (default US)")
    p.add_argument("--timezone", default="America/New_York", help="default IANA zone for leads with none")
    p.add_argument("--hours", default="09:00-21:00", metavar="HH:MM-HH:MM", help="lead-local calling hours")
    p.add_argument("--purpose", help="campaigns with the same purpose share duplicate checks")
    p.add_argument("--dial-mode", default="progressive",
                   choices=["preview", "progressive", "power", "predictive"])
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_create, a))

    p = csub.add_parser("list", help="all campaigns")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_list, a))

    p = csub.add_parser("show", help="one campaign, by name or id")
    p.add_argument("campaign")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_show, a))

    from .rules import register_rules

    register_rules(csub)

    p = csub.add_parser("load", help="create or update the campaigns in a config file")
    p.add_argument("config", help="TOML file (see config/example.toml)")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_load, a))


def _campaign_config_from_flags(args) -> CampaignConfig:
    start, sep, end = args.hours.partition("-")
    if not sep:
        raise CliError(f"--hours: {args.hours!r} is not HH:MM-HH:MM")
    data = {"name": args.name, "country": args.country.upper(), "timezone": args.timezone,
            "calling_hours": {"start": start.strip(), "end": end.strip()}, "dial_mode": args.dial_mode}
    if args.purpose:
        data["purpose"] = args.purpose
    try:
        return read_config(CampaignConfig, data, "command line")
    except ConfigError as exc:
        # Name the flags, not the internal key paths.
        text = str(exc).replace("calling_hours.start", "--hours (start)").replace(
            "calling_hours.end", "--hours (end)").replace("(top)", "--hours")
        raise CliError(text.replace("command line: ", "")) from None


async def _create(args) -> int:
    from dialer.store.campaigns import apply_campaign_config

    cfg = _campaign_config_from_flags(args)
    async with store_for(args) as store:
        if await store.fetchval("SELECT 1 FROM campaign WHERE name = $1", cfg.name):
            raise CliError(f"campaign {cfg.name!r} already exists")
        campaign, _ = await store.run(apply_campaign_config, cfg)
    if args.json:
        print_json(campaign)
    else:
        print(f"created campaign {campaign['name']} (id {campaign['id']})")
    return 0


async def _list(args) -> int:
    from dialer.store.campaigns import list_campaigns

    async with store_for(args) as store:
        rows = await store.run(list_campaigns)
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        r["hours"] = f"{r['calling_start']:%H:%M}-{r['calling_end']:%H:%M}"
    print_table(rows, ["id", "name", "dial_mode", "country", "timezone", "hours", "active", "lists", "leads"])
    return 0


async def _show(args) -> int:
    from dialer.store.campaigns import find_campaign

    async with store_for(args) as store:
        c = await store.run(find_campaign, args.campaign)
    if args.json:
        print_json(c)
        return 0
    print_fields([
        ("id", c["id"]), ("name", c["name"]), ("purpose", c["purpose"]), ("country", c["country"]),
        ("timezone", c["timezone"]),
        ("calling hours", f"{c['calling_start']:%H:%M}-{c['calling_end']:%H:%M} (lead-local)"),
        ("calling days", c["calling_days"]), ("holidays", c["holidays"]), ("dial mode", c["dial_mode"]),
        ("active", c["active"]), ("caller id", c["caller_id"]), ("validation", c["validation"]),
        ("abandon lock-out", c["abandon_lockout"]), ("created", c["created_at"]),
    ])
    return 0


async def _load(args) -> int:
    from dialer.store.campaigns import apply_campaign_config

    config = load_config(args.config)
    results = []
    async with store_for(args) as store:
        for cfg in config.campaigns:
            campaign, created = await store.run(apply_campaign_config, cfg)
            results.append({"id": campaign["id"], "name": campaign["name"], "created": created})
    if args.json:
        print_json({"campaigns": results})
    else:
        for r in results:
            print(f"{'created' if r['created'] else 'updated'} campaign {r['name']} (id {r['id']})")
    return 0
