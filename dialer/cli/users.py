"""`dialer user add|passwd|disable|enable|list`: people who use the web pages and the API."""

from __future__ import annotations

import getpass
import sys

from .common import CliError, add_json_flag, print_json, print_table, run, store_for

ROLES = ("operator", "validator", "supervisor", "admin")


def register(sub) -> None:
    user = sub.add_parser("user", help="web users: add, passwd, disable, enable, list")
    usub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)

    p = usub.add_parser("add", help="add a user (an operator user also gets an operator record)")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--display-name")
    _password_flag(p)
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_add, a))

    p = usub.add_parser("passwd", help="set a new password (ends the user's sessions)")
    p.add_argument("name")
    _password_flag(p)
    p.set_defaults(func=lambda a: run(_passwd, a))

    for action, active in (("disable", False), ("enable", True)):
        p = usub.add_parser(action, help=f"{action} a user" + (" (ends their sessions)" if not active else ""))
        p.add_argument("name")
        p.set_defaults(func=lambda a, active=active: run(_set_active, a, active))

    p = usub.add_parser("list", help="all users")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_list, a))


def _password_flag(p) -> None:
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of standard input (else prompt twice)")


def _read_password(args) -> str:
    from dialer.api.passwords import WeakPassword, check_strength

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise CliError("the two passwords differ")
    try:
        check_strength(password)
    except WeakPassword as exc:
        raise CliError(str(exc)) from None
    return password


async def _add(args) -> int:
    from dialer.api.passwords import hash_password_sync
    from dialer.store.users import UserError, create_user

    hashed = hash_password_sync(_read_password(args))
    async with store_for(args) as store:
        try:
            user = await store.run(create_user, args.name, args.role, hashed, args.display_name)
        except UserError as exc:
            raise CliError(str(exc)) from None
    if args.json:
        print_json(user)
    else:
        print(f"added {user['role']} {user['name']} (id {user['id']})")
    return 0


async def _passwd(args) -> int:
    from dialer.api.passwords import hash_password_sync
    from dialer.store.users import set_password

    hashed = hash_password_sync(_read_password(args))
    async with store_for(args) as store:
        user = await store.run(set_password, args.name, hashed)
    print(f"password of {user['name']} changed; their sessions ended")
    return 0


async def _set_active(args, active: bool) -> int:
    from dialer.store.users import set_active

    async with store_for(args) as store:
        user = await store.run(set_active, args.name, active)
    print(f"{user['name']} {'enabled' if active else 'disabled'}")
    return 0


async def _list(args) -> int:
    from dialer.store.users import list_users

    async with store_for(args) as store:
        rows = await store.run(list_users)
    if args.json:
        print_json({"users": rows})
    else:
        print_table(rows, ["id", "name", "role", "active", "created_at"])
    return 0
