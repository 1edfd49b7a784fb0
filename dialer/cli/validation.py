"""`dialer validation list|set`: call-centre validation of wrapped leads."""

from __future__ import annotations

from .common import add_json_flag, print_json, print_table, run, store_for
from .lifecycle_common import author, lead_id, now, rule_errors


def register(sub) -> None:
    v = sub.add_parser("validation", help="call-centre validation: list held leads, confirm or reject them")
    vsub = v.add_subparsers(dest="validation_command", metavar="ACTION", required=True)

    p = vsub.add_parser("list", help="leads held for validation (valid ones only), with telephone and notes")
    p.add_argument("--campaign", required=True)
    p.add_argument("--status", choices=["unconfirmed", "confirmed"], help="only leads in this contact status")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_list, a))

    p = vsub.add_parser("set", help="set a lead's contact status, with a note")
    p.add_argument("id")
    p.add_argument("status", choices=["unconfirmed", "confirmed", "rejected"])
    p.add_argument("--note")
    p.add_argument("--author", help="validator name on the note (default: your user name)")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_set, a))


@rule_errors
async def _list(args) -> int:
    from dialer.store.campaigns import find_campaign
    from dialer.store.validation import validation_listing

    async with store_for(args) as store:
        campaign = await store.run(find_campaign, args.campaign)
        rows = await store.run(validation_listing, campaign["id"], args.status)
    if args.json:
        print_json({"campaign": campaign["name"], "leads": rows})
    else:
        print_table(rows, ["id", "phone", "first_name", "last_name", "wrap_code", "contact_status", "notes"])
    return 0


@rule_errors
async def _set(args) -> int:
    from dialer.store.validation import set_contact_status

    async with store_for(args) as store:
        result = await store.run(set_contact_status, lead_id(args.id), args.status, author(args), now(), args.note)
    if args.json:
        print_json(result)
    else:
        print(f"lead {result['lead_id']}: {result['contact_status']}" + ("" if result["valid"] else " (invalid)"))
    return 0
