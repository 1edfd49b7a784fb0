"""`dialer wireless import|check`: the NANP wireless block list (NPA-NXX or
NPA-NXX-X rows), since phonenumbers cannot tell North American mobiles."""

from __future__ import annotations

from .common import CliError, add_json_flag, print_json, run, store_for


def register(sub) -> None:
    w = sub.add_parser("wireless", help="NANP wireless blocks: import, check")
    wsub = w.add_subparsers(dest="wireless_command", metavar="ACTION", required=True)
    p = wsub.add_parser("import", help="load blocks from a file: one NPA-NXX or NPA-NXX-X per line (first column)")
    p.add_argument("file")
    p.add_argument("--replace", action="store_true", help="drop the blocks loaded before")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_import, a))
    p = wsub.add_parser("check", help="is a number in a wireless block? (exit 1 when it is)")
    p.add_argument("number")
    p.add_argument("--country", default="US")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_check, a))


def read_blocks(path: str) -> list[str]:
    """Prefixes from the file; a header line is allowed, any other bad line is an error naming it."""
    from dialer.leads.reader import FileProblem, iter_batches, sniff

    prefixes = []
    try:
        shape = sniff(path, header=False)
        for start, rows in iter_batches(path, shape, 5000):
            for offset, row in enumerate(rows):
                line = start + offset
                cell = row[0].strip()
                digits = "".join(ch for ch in cell if ch.isdigit())
                if len(digits) in (6, 7) and all(ch.isdigit() or ch in "-. " for ch in cell):
                    if digits[0] in "01":
                        raise CliError(f"{path}: line {line}: {cell!r}: an area code cannot start with {digits[0]}")
                    prefixes.append(digits)
                elif line == 1 and not digits:
                    continue  # header
                else:
                    raise CliError(f"{path}: line {line}: {cell!r} is not NPA-NXX or NPA-NXX-X")
    except FileProblem as exc:
        raise CliError(str(exc)) from None
    return prefixes


async def _import(args) -> int:
    from dialer.store.dnc import import_wireless_blocks, wireless_count

    prefixes = read_blocks(args.file)
    async with store_for(args) as store:
        added = await store.run(import_wireless_blocks, prefixes, args.replace)
        total = await store.run(wireless_count)
    if args.json:
        print_json({"read": len(prefixes), "added": added, "total": total})
    else:
        print(f"loaded {added} new wireless block(s) ({total} in all)")
    return 0


async def _check(args) -> int:
    from dialer.leads.normalise import RowError, normalise_phone
    from dialer.store.dnc import is_wireless_block

    try:
        phone, kind = normalise_phone(args.number, args.country)
    except RowError as exc:
        raise CliError(f"number {args.number!r}: {exc.detail}") from None
    async with store_for(args) as store:
        block = await store.run(is_wireless_block, phone)
    wireless = block or kind == "mobile"
    if args.json:
        print_json({"number": phone, "phone_type": "mobile" if wireless else kind, "wireless": wireless})
    else:
        print(f"{phone}: {'wireless' if wireless else 'not wireless'} ({'block list' if block else kind})")
    return 1 if wireless else 0
