"""`dialer call NUMBER --trunk sip:HOST:PORT`: place one call, for testing a trunk.

Dials, waits for an answer up to the ring timeout (then CANCELs), holds the
answered call for `--hold` seconds, hangs up and reports what happened. No
database is needed.
"""

from __future__ import annotations

import os

from .common import CliError, add_json_flag, print_fields, print_json, run


def register(sub) -> None:
    p = sub.add_parser("call", help="place one SIP call through a trunk (trunk testing)")
    p.add_argument("number", help="number to call, e.g. +15551234567")
    p.add_argument("--trunk", required=True, metavar="sip:HOST[:PORT][;transport=tcp]",
                   help="trunk address (UDP unless ;transport=tcp)")
    p.add_argument("--username", help="digest user name for the trunk")
    p.add_argument("--password", help="digest password (or set --password-env)")
    p.add_argument("--password-env", metavar="VAR", help="read the password from this variable")
    p.add_argument("--caller-id", help="calling number (From and P-Asserted-Identity)")
    p.add_argument("--ring-timeout", type=float, default=30.0, metavar="S",
                   help="seconds to ring before CANCEL (default 30)")
    p.add_argument("--hold", type=float, default=0.0, metavar="S",
                   help="seconds to stay on an answered call before BYE (default 0)")
    p.add_argument("--listen", default="0.0.0.0:0", metavar="HOST:PORT",
                   help="local SIP address (default: any address, a free port)")
    p.add_argument("--contact-host", metavar="HOST",
                   help="address the trunk should answer to (default: the local IP toward the trunk)")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_call, a))


def _host_port(text: str, what: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise CliError(f"{what}: {text!r} is not HOST:PORT")
    return host, int(port)


def _route_host(address: tuple[str, int]) -> str:
    """The local IP the kernel would use toward `address` (for Via/Contact)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(address)
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


async def _call(args) -> int:
    import trio

    from dialer.net import UdpNetwork
    from dialer.sip.endpoint import open_endpoint
    from dialer.sip.message import SipParseError
    from dialer.sip.trunk import Trunk

    if args.ring_timeout <= 0:
        raise CliError("--ring-timeout: must be greater than 0")
    if args.hold < 0:
        raise CliError("--hold: must not be negative")
    password = args.password
    if password is None and args.password_env:
        password = os.environ.get(args.password_env)
        if password is None:
            raise CliError(f"--password-env: environment variable {args.password_env} is not set")
    if args.username and password is None:
        raise CliError("--username needs --password or --password-env")
    try:
        trunk = Trunk.from_uri(args.trunk, username=args.username, password=password,
                               caller_id=args.caller_id)
    except (SipParseError, ValueError) as exc:
        raise CliError(f"--trunk: {args.trunk!r} is not a SIP address ({exc})") from None
    try:
        resolved = await trio.socket.getaddrinfo(trunk.host, trunk.port, type=trio.socket.SOCK_DGRAM)
    except OSError as exc:
        raise CliError(f"--trunk: cannot resolve {trunk.host}: {exc}") from None
    trunk.host = resolved[0][4][0]
    host, port = _host_port(args.listen, "--listen")
    contact = args.contact_host or (host if host != "0.0.0.0" else _route_host(trunk.address))
    try:
        async with open_endpoint(UdpNetwork(), host, port, contact_host=contact) as endpoint:
            call = await endpoint.dial(trunk, args.number, caller_id=args.caller_id,
                                       ring_timeout=args.ring_timeout)
            if await call.wait_answered():
                await trio.sleep(args.hold)
                await call.hangup()
            await call.wait_ended()
    except OSError as exc:
        raise CliError(f"--listen: cannot bind {args.listen}: {exc}") from None
    result = {
        "number": args.number, "trunk": f"{trunk.host}:{trunk.port}", "call_id": call.call_id,
        "outcome": call.outcome, "sip_status": call.sip_status, "reason": call.reason,
        "ended_by": call.ended_by, "ring_seconds": round(call.ring_seconds, 3),
        "talk_seconds": round(call.talk_seconds, 3),
        "progress": [state for _, state in call.progress],
    }
    if args.json:
        print_json(result)
    else:
        print_fields(list(result.items()))
    return 0
