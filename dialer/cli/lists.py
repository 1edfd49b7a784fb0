"""`dialer list create|list|show|update|delete`."""

from __future__ import annotations

from .common import CliError, add_json_flag, print_fields, print_json, print_table, run, store_for

STRATEGIES = ["oldest", "newest", "fewest_attempts", "random"]


def register(sub) -> None:
    lst = sub.add_parser("list", help="lead lists: create, list, show, update, delete")
    lsub = lst.add_subparsers(dest="list_command", metavar="ACTION", required=True)

    p = lsub.add_parser("create", help="create a list in a campaign")
    p.add_argument("name")
    p.add_argument("--campaign", required=True)
    p.add_argument("--weight", type=int, default=100, help="share of dialing among to-dial lists (default 100)")
    p.add_argument("--to-dial", action="store_true", help="dial this list")
    p.add_argument("--strategy", choices=STRATEGIES, default="oldest")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_create, a))

    p = lsub.add_parser("list", help="lists, with weights as a share of each campaign's dialable lists")
    p.add_argument("--campaign")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_list, a))

    p = lsub.add_parser("show", help="one list")
    p.add_argument("list", help="name or id")
    p.add_argument("--campaign")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_show, a))

    p = lsub.add_parser("update", help="change name, weight, to-dial, strategy, active")
    p.add_argument("list", help="name or id")
    p.add_argument("--campaign")
    p.add_argument("--name", dest="new_name")
    p.add_argument("--weight", type=int)
    p.add_argument("--to-dial", dest="to_dial", action="store_true", default=None)
    p.add_argument("--no-to-dial", dest="to_dial", action="store_false")
    p.add_argument("--strategy", choices=STRATEGIES)
    p.add_argument("--active", dest="active", action="store_true", default=None)
    p.add_argument("--inactive", dest="active", action="store_false")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_update, a))

    p = lsub.add_parser("delete", help="delete a list and its leads (refused while it is to be dialed)")
    p.add_argument("list", help="name or id")
    p.add_argument("--campaign")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_delete, a))


def _check_weight(weight) -> None:
    if weight is not None and weight < 0:
        raise CliError(f"--weight {weight}: must be 0 or more")


async def _create(args) -> int:
    from dialer.store.lists import ListError, create_list

    _check_weight(args.weight)
    async with store_for(args) as store:
        try:
            lst = await store.run(create_list, args.campaign, args.name, args.weight, args.to_dial,
                                  args.strategy)
        except ListError as exc:
            raise CliError(str(exc)) from None
    if args.json:
        print_json(lst)
    else:
        print(f"created list {lst['name']} (id {lst['id']}) in campaign {lst['campaign']}")
    return 0


def _percent(l: dict) -> str:
    return f"{l['weight_percent']:g} %" if l.get("weight_percent") is not None else "-"


async def _list(args) -> int:
    from dialer.store.lists import list_lists

    async with store_for(args) as store:
        rows = await store.run(list_lists, args.campaign)
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        r["share"] = _percent(r)
    print_table(rows, ["id", "campaign", "name", "created_at", "total_leads", "to_dial", "strategy", "weight",
                       "share", "active"],
                ["id", "campaign", "name", "created", "leads", "to dial", "strategy", "weight", "share", "active"])
    return 0


async def _show(args) -> int:
    from dialer.store.lists import show_list

    async with store_for(args) as store:
        l = await store.run(show_list, args.list, args.campaign)
    if args.json:
        print_json(l)
        return 0
    _print_list(l)
    return 0


def _print_list(l: dict) -> None:
    print_fields([("id", l["id"]), ("name", l["name"]), ("campaign", l["campaign"]), ("created", l["created_at"]),
                  ("total leads", l["total_leads"]), ("to dial", l["to_dial"]), ("strategy", l["strategy"]),
                  ("weight", f"{l['weight']} ({_percent(l)} of the campaign's dialable lists)"),
                  ("active", l["active"]), ("system", l["system"])])


async def _update(args) -> int:
    from dialer.store.lists import update_list

    _check_weight(args.weight)
    async with store_for(args) as store:
        l = await store.run(update_list, args.list, args.campaign,
                            {"name": args.new_name, "weight": args.weight, "to_dial": args.to_dial,
                             "strategy": args.strategy, "active": args.active})
    if args.json:
        print_json(l)
    else:
        _print_list(l)
    return 0


async def _delete(args) -> int:
    from dialer.store.lists import ListError, delete_list

    async with store_for(args) as store:
        try:
            l = await store.run(delete_list, args.list, args.campaign)
        except ListError as exc:
            raise CliError(str(exc)) from None
    if args.json:
        print_json({"deleted": l["id"], "name": l["name"], "leads": l["total_leads"]})
    else:
        print(f"deleted list {l['name']} (id {l['id']}) and its {l['total_leads']} leads")
    return 0
