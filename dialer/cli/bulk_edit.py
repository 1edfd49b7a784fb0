"""`dialer leads bulk-edit FILE --campaign C --map "Lead ID=id,Email=email,..." [--preview | --confirm N]`."""

from __future__ import annotations

from .common import CliError, add_json_flag, format_value, print_json, run, store_for
from .lead_group import leads_subparsers
from .lifecycle_common import author, now, rule_errors


def register(sub) -> None:
    lsub = leads_subparsers(sub)
    p = lsub.add_parser("bulk-edit", help="change fields of many leads from a file of lead ids and new values")
    p.add_argument("file", help="CSV (or ; / tab / | separated) with a header line")
    p.add_argument("--campaign", required=True)
    p.add_argument("--map", required=True, metavar="COLUMN=FIELD,...",
                   help='e.g. "Lead ID=id,Email=email,Notes=-" (- leaves a column unused)')
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--preview", action="store_true", help="show what would change; write nothing")
    mode.add_argument("--confirm", type=int, metavar="N", help="apply; N must equal the number of leads changing")
    p.add_argument("--author", help="name on the per-lead notes (default: your user name)")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_bulk_edit, a))


@rule_errors
async def _bulk_edit(args) -> int:
    from dialer.lifecycle.bulk_edit import parse_map, read_edit_file
    from dialer.store.bulk_edit import apply_bulk_edit, plan_bulk_edit
    from dialer.store.campaigns import find_campaign

    rows = read_edit_file(args.file, parse_map(args.map))
    async with store_for(args) as store:
        campaign = await store.run(find_campaign, args.campaign)
        if args.preview:
            plan = await store.run(plan_bulk_edit, campaign["id"], rows)
        else:
            plan = await store.run(apply_bulk_edit, campaign["id"], rows, args.confirm, author(args), now())
    summary = {"applied": not args.preview, **plan.summary()}
    if args.json:
        print_json(summary)
        return 0
    verb = "changed" if not args.preview else "will change"
    print(f"{plan.count} lead(s) {verb}; {len(plan.unchanged)} unchanged")
    for name, pairs in summary["samples"].items():
        print(f"  {name} ({summary['field_counts'][name]} lead(s)):")
        for s in pairs:
            print(f"    lead {s['lead_id']}: {format_value(s['old'])} -> {format_value(s['new'])}")
    for line, lead_id, status in plan.not_editable:
        print(f"  line {line}: lead {lead_id} not edited: status {status} is not editable")
    for line, lead_id in plan.not_found:
        print(f"  line {line}: no lead {lead_id} in campaign {campaign['name']}")
    if args.preview and plan.count:
        print(f"apply with --confirm {plan.count}")
    return 0
