"""`dialer lead add`: one lead through the same validation as an import row."""

from __future__ import annotations

from .common import CliError, add_json_flag, print_json, run, store_for
from .lead_group import lead_subparsers


def register(sub) -> None:
    p = lead_subparsers(sub).add_parser("add", help="add one lead (validated like an import row)")
    p.add_argument("--list", required=True, help="list name or id")
    p.add_argument("--campaign", help="campaign (needed when the list name is used in several)")
    p.add_argument("--phone", required=True)
    p.add_argument("--timezone", help="IANA zone (else rules, phone number, campaign default)")
    p.add_argument("--region", help="state / province")
    p.add_argument("--country", help="parse the number as dialed from here (default: the campaign's)")
    p.add_argument("--dup-scope", default="campaign", choices=["none", "account", "campaign", "purpose"])
    p.add_argument("--dup-action", default="skip", choices=["skip", "mark", "relocate"])
    p.add_argument("--dnc-scope", default="account", choices=["none", "account", "campaign"])
    p.add_argument("--dnc-action", default="skip", choices=["skip", "mark"])
    p.add_argument("fields", nargs="*", metavar="field=value",
                   help="first_name=Ann postal_code=02139 or any custom field")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_add, a))


def parse_fields(items) -> dict[str, str]:
    from dialer.leads.mapping import field_name

    fields = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CliError(f"{item!r}: expected field=value")
        fields[field_name(key)] = value
    return fields


async def _add(args) -> int:
    from dialer.leads.normalise import RowError
    from dialer.leads.single import add_one
    from dialer.store.lists import find_list

    fields = parse_fields(args.fields)
    fields["phone"] = args.phone
    if args.timezone:
        fields["timezone"] = args.timezone
    if args.region:
        fields["region"] = args.region
    async with store_for(args) as store:
        campaign = args.campaign or (await store.run(find_list, args.list))["campaign_id"]
        try:
            lead = await add_one(store, str(campaign), args.list, fields, country=args.country,
                                 dup_scope=args.dup_scope, dup_action=args.dup_action, dnc_scope=args.dnc_scope,
                                 dnc_action=args.dnc_action)
        except RowError as exc:
            raise CliError(f"lead not added: {exc}") from None
    if args.json:
        print_json(lead)
    else:
        print(f"added lead {lead['id']}: {lead['phone']} ({lead['phone_type']}), timezone {lead['timezone']}, "
              f"status {lead['status']}")
        for w in lead["warnings"]:
            print(f"  warning: {w}")
    return 0
