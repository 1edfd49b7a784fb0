"""`dialer lead show|edit|wrap|copy|delete|search` (the `lead` group is shared with `lead add`)."""

from __future__ import annotations

from functools import partial

from .common import CliError, add_json_flag, format_value, print_fields, print_json, print_table, run, store_for
from .lead_group import lead_subparsers
from .lifecycle_common import author, lead_id, now, operator_id, parse_time, rule_errors

SEARCH_COLUMNS = ["id", "list", "phone", "first_name", "last_name", "status", "completed", "wrap_code",
                  "last_contacted_at"]


def register(sub) -> None:
    lsub = lead_subparsers(sub)

    p = lsub.add_parser("show", help="all fields, notes, callbacks and call history of a lead")
    p.add_argument("id")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_show, a))

    p = lsub.add_parser("edit", help="change fields (re-validated like an import row): field=value ...")
    p.add_argument("id")
    p.add_argument("assignments", nargs="+", metavar="FIELD=VALUE")
    p.add_argument("--author", help="name on the edit note (default: your user name)")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_edit, a))

    p = lsub.add_parser("wrap", help="apply a wrap code (and a note, a callback)")
    p.add_argument("id")
    p.add_argument("code")
    p.add_argument("--complete", action="store_true", help="mark the lead completed whatever the code says")
    p.add_argument("--callback", metavar="AT", help="call back at this date-time (lead-local unless it has an offset)")
    p.add_argument("--owner", metavar="OPERATOR", help="only this operator gets the callback (default: anyone)")
    p.add_argument("--operator", metavar="OPERATOR", help="the operator who wrapped the call")
    p.add_argument("--note")
    p.add_argument("--author", help="name on the note (default: your user name)")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_wrap, a))

    p = lsub.add_parser("copy", help="copy a lead into a list (update the lead with --customer-key if it exists)")
    p.add_argument("id")
    p.add_argument("--to-list", required=True, metavar="LIST", help="list name or id")
    p.add_argument("--customer-key", metavar="K")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_copy, a))

    p = lsub.add_parser("delete", help="delete a lead permanently (its call history stays)")
    p.add_argument("id")
    p.add_argument("--yes", action="store_true", help="confirm the deletion")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_delete, a))

    p = lsub.add_parser("search", help="find leads: by id or id prefix, or by the filters")
    p.add_argument("query", nargs="?", help="lead id or id prefix")
    p.add_argument("--campaign")
    p.add_argument("--list")
    p.add_argument("--contacted-from", metavar="AT", help="last contacted at or after (UTC unless offset given)")
    p.add_argument("--contacted-to", metavar="AT", help="last contacted before")
    p.add_argument("--attempt", metavar="ID", help="the lead of this attempt (interaction) id")
    p.add_argument("--wrap-code")
    p.add_argument("--operator", help="leads with an attempt by this operator (name or id)")
    p.add_argument("--completed", choices=["yes", "no"])
    p.add_argument("--status")
    p.add_argument("--phone")
    p.add_argument("--field", action="append", default=[], metavar="NAME=VALUE", help="custom field equals")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--columns", help=f"comma-separated (default: {','.join(SEARCH_COLUMNS)})")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_search, a))


@rule_errors
async def _show(args) -> int:
    from dialer.store.lead_ops import show_lead

    async with store_for(args) as store:
        lead = await store.run(show_lead, lead_id(args.id))
    if args.json:
        print_json(lead)
        return 0
    skip = {"notes", "history", "callbacks", "fields", "notes_joined"}
    print_fields([(k, v) for k, v in lead.items() if k not in skip]
                 + [(f"fields.{k}", v) for k, v in (lead["fields"] or {}).items()])
    print("\nnotes:")
    if lead["notes"]:
        print_table(lead["notes"], ["created_at", "author", "kind", "body"])
    print("\ncallbacks:")
    if lead["callbacks"]:
        print_table(lead["callbacks"], ["id", "due_at", "operator", "note", "done_at"])
    print("\ncall history:")
    if lead["history"]:
        print_table(lead["history"], ["id", "called_number", "caller_number", "campaign", "operator", "wrap_code",
                                      "started_at", "answered_at", "ended_at", "sip_status", "outcome", "notes"])
    return 0


def _assignments(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise CliError(f"{item!r}: expected FIELD=VALUE")
        if name.strip() in out:
            raise CliError(f"{name.strip()!r} is given twice")
        out[name.strip()] = value
    return out


@rule_errors
async def _edit(args) -> int:
    from dialer.store.lead_ops import edit_lead

    assignments = _assignments(args.assignments)
    async with store_for(args) as store:
        result = await store.run(edit_lead, lead_id(args.id), assignments, author(args), now())
    if args.json:
        print_json(result)
    elif not result["changes"]:
        print(f"lead {result['lead_id']}: nothing changed")
    else:
        for name, change in result["changes"].items():
            print(f"lead {result['lead_id']}: {name}: {format_value(change['old'])} -> {format_value(change['new'])}")
        for effect in result["effects"]:
            print(f"lead {result['lead_id']}: {effect}")
    return 0


@rule_errors
async def _wrap(args) -> int:
    from dialer.store.lead_ops import apply_wrap

    callback_at = parse_time(args.callback, "--callback") if args.callback else None
    async with store_for(args) as store:
        owner = await operator_id(store, args.owner, "--owner")
        op = await operator_id(store, args.operator, "--operator")
        unit = partial(apply_wrap, now=now(), author=author(args), operator_id=op, note=args.note,
                       callback_at=callback_at, callback_owner=owner, complete=args.complete)
        result = await store.run(unit, lead_id(args.id), args.code.strip())
    if args.json:
        print_json(result)
    else:
        print_fields([(k, v) for k, v in result.items()])
    return 0


@rule_errors
async def _copy(args) -> int:
    from dialer.store.lead_ops import copy_lead

    async with store_for(args) as store:
        result = await store.run(copy_lead, lead_id(args.id), args.to_list, now(), args.customer_key)
    if args.json:
        print_json(result)
    else:
        verb = "updated" if result["updated"] else "created"
        print(f"{verb} lead {result['lead_id']} in list {result['list_id']}")
    return 0


@rule_errors
async def _delete(args) -> int:
    from dialer.store.lead_ops import delete_lead

    if not args.yes:
        raise CliError(f"deleting lead {args.id} is permanent: add --yes to confirm")
    async with store_for(args) as store:
        result = await store.run(delete_lead, lead_id(args.id))
    if args.json:
        print_json(result)
    else:
        print(f"deleted lead {result['id']}")
    return 0


@rule_errors
async def _search(args) -> int:
    from dialer.store.lead_ops import search_leads

    q = {"id": args.query, "campaign": args.campaign, "list": args.list, "wrap_code": args.wrap_code,
         "operator": args.operator, "status": args.status, "phone": args.phone, "limit": args.limit,
         "completed": None if args.completed is None else args.completed == "yes",
         "attempt": args.attempt}
    if args.attempt is not None and not args.attempt.isdigit():
        raise CliError(f"--attempt: {args.attempt!r} is not an attempt id")
    for flag, key in (("--contacted-from", "contacted_from"), ("--contacted-to", "contacted_to")):
        text = getattr(args, key)
        if text:
            at = parse_time(text, flag)
            q[key] = at if at.tzinfo else at.replace(tzinfo=__import__("datetime").timezone.utc)
    q["fields"] = {}
    for item in args.field:
        name, sep, value = item.partition("=")
        if not sep:
            raise CliError(f"--field {item!r}: expected NAME=VALUE")
        q["fields"][name.strip()] = value
    from dialer.store.lead_ops import COLUMN_NAMES

    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else SEARCH_COLUMNS
    unknown = [c for c in columns if c not in COLUMN_NAMES and not c.startswith("fields.")]
    if unknown:
        raise CliError(f"--columns: no column {unknown[0]!r} (known: {', '.join(COLUMN_NAMES)}, fields.NAME)")
    async with store_for(args) as store:
        rows = await store.run(search_leads, q)
    for r in rows:
        for c in columns:
            if c.startswith("fields."):
                r[c] = (r["fields"] or {}).get(c[len("fields."):])
    if args.json:
        print_json({"leads": [{c: r.get(c) for c in columns} for r in rows]})
    else:
        print_table(rows, columns)
    return 0
