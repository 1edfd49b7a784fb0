"""`dialer export --campaign C [--list L] [--status S,...] [--columns a,b,c] OUT.csv|-`."""

from __future__ import annotations

import csv
import sys

from .common import CliError, run, store_for


def register(sub) -> None:
    p = sub.add_parser("export", help="export leads to CSV (formula-safe; notes joined with semicolons)")
    p.add_argument("out", help="output file, or - for stdout")
    p.add_argument("--campaign", required=True)
    p.add_argument("--list", help="only this list (name or id)")
    p.add_argument("--status", action="append", help="only these statuses (comma-separated; repeatable)")
    p.add_argument("--columns", help="comma-separated columns (standard, notes, or custom field names)")
    p.add_argument("--include-held", action="store_true",
                   help="also export leads held for validation (unconfirmed) or rejected by a validator")
    p.set_defaults(func=lambda a: run(_export, a))


async def _export(args) -> int:
    from dialer.leads.export import csv_row
    from dialer.store.campaigns import find_campaign
    from dialer.store.export import DEFAULT_COLUMNS, export_leads
    from dialer.store.lists import find_list

    columns = [c.strip() for c in args.columns.split(",") if c.strip()] if args.columns else list(DEFAULT_COLUMNS)
    if not columns:
        raise CliError("--columns: give at least one column")
    statuses = [s.strip().upper() for item in args.status or [] for s in item.split(",") if s.strip()]
    async with store_for(args) as store:
        campaign = await store.run(find_campaign, args.campaign)
        list_id = (await store.run(find_list, args.list, campaign["id"]))["id"] if args.list else None
        out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8", newline="")
        try:
            writer = csv.writer(out, lineterminator="\r\n" if args.out != "-" else "\n")
            writer.writerow(csv_row(columns))
            n = await store.run(export_leads, campaign["id"], list_id, statuses or None, columns,
                                lambda values: writer.writerow(csv_row(values)), args.include_held)
        finally:
            if out is not sys.stdout:
                out.close()
    if args.out != "-":
        print(f"exported {n} leads to {args.out}", file=sys.stderr)
    return 0
