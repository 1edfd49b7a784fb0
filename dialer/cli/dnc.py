"""`dialer dnc add|remove|import|check|list`: do-not-call numbers, account-wide
(default) or for one campaign (--campaign). Numbers in any common format are
stored as E.164."""

from __future__ import annotations

from .common import CliError, add_json_flag, print_json, print_table, run, store_for


def register(sub) -> None:
    dnc = sub.add_parser("dnc", help="do-not-call numbers: add, remove, import, check, list")
    dsub = dnc.add_subparsers(dest="dnc_command", metavar="ACTION", required=True)

    def common(p, numbers=True):
        if numbers:
            p.add_argument("numbers", nargs="+", metavar="NUMBER")
        p.add_argument("--campaign", help="the campaign's own list (default: account-wide)")
        p.add_argument("--country", help="parse numbers as dialed from here (default: campaign's, else US)")
        add_json_flag(p)

    p = dsub.add_parser("add", help="add numbers")
    common(p)
    p.add_argument("--source", default="manual")
    p.set_defaults(func=lambda a: run(_add, a))
    p = dsub.add_parser("remove", help="remove numbers")
    common(p)
    p.set_defaults(func=lambda a: run(_remove, a))
    p = dsub.add_parser("check", help="is a number on a DNC list? (exit 1 when any is)")
    common(p)
    p.set_defaults(func=lambda a: run(_check, a))
    p = dsub.add_parser("import", help="add the numbers in a file (first column, or --column)")
    p.add_argument("file")
    p.add_argument("--column", help="header name or 1-based position of the number column")
    common(p, numbers=False)
    p.set_defaults(func=lambda a: run(_import, a))
    p = dsub.add_parser("list", help="numbers on a DNC list")
    p.add_argument("--all", action="store_true", help="every scope")
    p.add_argument("--limit", type=int)
    common(p, numbers=False)
    p.set_defaults(func=lambda a: run(_list, a))


async def _scope(store, args) -> tuple[int | None, str]:
    from dialer.store.campaigns import find_campaign

    if args.campaign:
        c = await store.run(find_campaign, args.campaign)
        return c["id"], (args.country or c["country"]).upper()
    return None, (args.country or "US").upper()


def _normalise_all(numbers, country) -> list[str]:
    from dialer.leads.normalise import RowError, normalise_phone

    out = []
    for n in numbers:
        try:
            out.append(normalise_phone(n, country)[0])
        except RowError as exc:
            raise CliError(f"number {n!r}: {exc.detail or exc.reason}") from None
    return out


async def _add(args) -> int:
    from dialer.store.dnc import add_dnc

    async with store_for(args) as store:
        cid, country = await _scope(store, args)
        phones = _normalise_all(args.numbers, country)
        added = await store.run(add_dnc, phones, cid, args.source)
    if args.json:
        print_json({"added": added, "numbers": phones})
    else:
        print(f"added {added} number(s) to the {'campaign' if cid else 'account-wide'} DNC list "
              f"({len(phones) - added} already there)")
    return 0


async def _remove(args) -> int:
    from dialer.store.dnc import remove_dnc

    async with store_for(args) as store:
        cid, country = await _scope(store, args)
        phones = _normalise_all(args.numbers, country)
        removed = await store.run(remove_dnc, phones, cid)
    if args.json:
        print_json({"removed": removed})
    else:
        print(f"removed {removed} number(s)")
    return 0


async def _check(args) -> int:
    from dialer.store.dnc import dnc_matches

    async with store_for(args) as store:
        cid, country = await _scope(store, args)
        phones = _normalise_all(args.numbers, country)
        found = await store.run(dnc_matches, phones, cid, "campaign" if cid else "account")
    result = [{"number": p, "dnc": p in found, "scopes": found.get(p, [])} for p in phones]
    if args.json:
        print_json({"numbers": result})
    else:
        for r in result:
            print(f"{r['number']}: " + (f"on DNC ({', '.join(r['scopes'])})" if r["dnc"] else "not on DNC"))
    return 1 if found else 0


async def _import(args) -> int:
    from dialer.leads.normalise import RowError, normalise_phone
    from dialer.leads.reader import FileProblem, iter_batches, sniff
    from dialer.store.dnc import add_dnc

    async with store_for(args) as store:
        cid, country = await _scope(store, args)
        try:
            shape = sniff(args.file, header=False)
            index = 0
            first = True
            phones, invalid = [], []
            for start, rows in iter_batches(args.file, shape, 5000):
                for offset, row in enumerate(rows):
                    line = start + offset
                    if first:
                        first = False
                        names = [c.strip().casefold() for c in row]
                        if args.column and not args.column.isdigit():
                            if args.column.casefold() not in names:
                                raise CliError(f"{args.file}: line 1: no column {args.column!r} "
                                               f"(columns: {', '.join(row)})")
                            index = names.index(args.column.casefold())
                            continue
                        if args.column:
                            index = int(args.column) - 1
                        try:
                            normalise_phone(row[index] if index < len(row) else "", country)
                        except RowError:
                            continue  # a header line
                    value = row[index] if index < len(row) else ""
                    try:
                        phones.append(normalise_phone(value, country)[0])
                    except RowError as exc:
                        invalid.append(f"line {line}: {exc.detail or exc.reason}")
        except FileProblem as exc:
            raise CliError(str(exc)) from None
        added = await store.run(add_dnc, phones, cid, f"import:{args.file}")
    if args.json:
        print_json({"read": len(phones) + len(invalid), "added": added, "invalid": len(invalid),
                    "invalid_lines": invalid[:20]})
    else:
        print(f"added {added} number(s) ({len(phones) - added} already listed, {len(invalid)} invalid)")
        for text in invalid[:10]:
            print(f"  skipped {text}")
    return 0


async def _list(args) -> int:
    from dialer.store.dnc import list_dnc

    async with store_for(args) as store:
        cid, _ = await _scope(store, args)
        rows = await store.run(list_dnc, cid, args.all, args.limit)
    if args.json:
        print_json(rows)
    else:
        print_table(rows, ["phone", "scope", "source", "added_at"])
    return 0
