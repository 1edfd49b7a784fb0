"""`dialer sim carrier|operators`: the call simulator as standalone SIP peers.

`dialer sim carrier` is a carrier any SIP dialer can call; it prints what it
saw when it stops (Ctrl-C, SIGTERM or `--duration`). `dialer sim operators`
runs operator phones that register with a dialer. See docs/SIMULATOR.md.
"""

from __future__ import annotations

import signal
import sys

import trio

from .common import CliError, add_json_flag, print_json, run


def register(sub) -> None:
    simp = sub.add_parser("sim", help="call simulator: a carrier with called parties, operator phones")
    ssub = simp.add_subparsers(dest="sim_command", metavar="ROLE", required=True)

    p = ssub.add_parser("carrier", help="a SIP carrier in front of a simulated population")
    p.add_argument("--listen", default="127.0.0.1:5070", metavar="HOST:PORT",
                   help="UDP address to listen on (port 0: any free port; default 127.0.0.1:5070)")
    p.add_argument("--profile", required=True, metavar="FILE", help="TOML profile (see config/sim/)")
    p.add_argument("--seed", type=int, help="seed for the called parties' fates (default: the profile's)")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_carrier, a))

    p = ssub.add_parser("operators", help="operator phones that register and auto-answer")
    p.add_argument("--count", type=int, help="how many phones (default: the profile's operators.count)")
    p.add_argument("--registrar", required=True, metavar="sip:HOST:PORT", help="where to REGISTER")
    p.add_argument("--profile", required=True, metavar="FILE", help="TOML profile (see config/sim/)")
    p.add_argument("--seed", type=int, help="seed for talk/wrap draws (default: the profile's)")
    p.add_argument("--host", default="127.0.0.1", help="address the phones bind to")
    p.add_argument("--user-prefix", default="op", help="phones register as PREFIX1, PREFIX2, ...")
    p.add_argument("--password", default="operator", help="SIP password of every phone (default operator)")
    p.add_argument("--api", metavar="URL", help="the dialer's HTTP API (e.g. http://127.0.0.1:8080): log in, "
                   "ready, pause, wrap and log out there as web users named like the phones")
    p.add_argument("--campaign", help="with --api: the campaign the operators log in to")
    p.add_argument("--web-password", help="with --api: the web users' password (default: --password)")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_operators, a))


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise CliError(f"--listen: {text!r} is not HOST:PORT")
    return host, int(port)


def _load(path: str):
    from sim.profile import load_profile

    return load_profile(path)


async def _until_stopped(duration: float | None) -> None:
    """Return on SIGINT/SIGTERM or after `duration` seconds."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        with trio.move_on_after(duration if duration is not None else float("inf")):
            async for _ in signals:
                return


async def _carrier(args) -> int:
    from dialer.net import UdpNetwork
    from sim.carrier import Carrier, serve_carrier
    from sim.network import LossyNetwork

    host, port = parse_listen(args.listen)
    profile = _load(args.profile)
    carrier = Carrier(profile, seed=args.seed)
    network = UdpNetwork()
    if profile.network.loss:
        network = LossyNetwork(network, profile.network.loss, seed=carrier.population.seed)
    async with trio.open_nursery() as nursery:
        try:
            endpoint = await nursery.start(serve_carrier, network, host, port, carrier)
        except OSError as exc:
            raise CliError(f"--listen {args.listen}: {exc.strerror or exc}") from None
        bound = endpoint.local_address
        print(f"dialer sim carrier: listening on {bound[0]}:{bound[1]} (udp), profile "
              f"{profile.name!r}, seed {carrier.population.seed}", file=sys.stderr, flush=True)
        await _until_stopped(args.duration)
        nursery.cancel_scope.cancel()
    summary = carrier.summary()
    summary["listen"] = f"{bound[0]}:{bound[1]}"
    summary["profile"] = profile.name
    summary["seed"] = carrier.population.seed
    if args.json:
        print_json(summary)
    else:
        _print_summary(summary)
    return 0


def _print_summary(summary: dict) -> None:
    print(f"calls {summary['calls']} in {summary['duration']:.1f} s "
          f"(mean {summary['cps']['mean']:.2f} calls/s, peak {summary['cps']['peak']} in one second); "
          f"concurrent peak {summary['concurrent']['peak']}, mean {summary['concurrent']['mean']:.2f}")
    print("outcome      planned  result")
    for outcome, planned in summary["planned"].items():
        print(f"{outcome:<12} {planned:>7}  {summary['results'].get(outcome, 0):>6}")
    for extra in ("cancelled", "in_progress"):
        print(f"{extra:<12} {'':>7}  {summary['results'].get(extra, 0):>6}")
    print(f"refused 503: channels {summary['limited']['channels']}, cps {summary['limited']['cps']}; "
          f"challenged {summary['challenged']}, wrong credentials {summary['auth_failures']}")
    talk = summary["talk"]
    if talk["count"]:
        print(f"talk: {talk['count']} calls, mean {talk['mean']:.1f} s, sd {talk['sd']:.1f} s, "
              f"p50 {talk['p50']:.1f} s, p90 {talk['p90']:.1f} s, max {talk['max']:.1f} s")
    print(f"hangups: called party {summary['hangups']['callee']}, caller {summary['hangups']['caller']}")


async def _operators(args) -> int:
    from dialer.net import UdpNetwork
    from sim.operators import LoggingDesk, OperatorTeam
    from dialer.sip.message import parse_uri

    profile = _load(args.profile)
    try:
        registrar = parse_uri(args.registrar if args.registrar.startswith("sip") else f"sip:{args.registrar}")
    except ValueError:
        raise CliError(f"--registrar: {args.registrar!r} is not sip:HOST:PORT") from None
    count = args.count if args.count is not None else profile.operators.count
    if count < 1:
        raise CliError(f"--count: {count} must be at least 1")
    if args.api:
        if not args.campaign:
            raise CliError("--api needs --campaign (the campaign the operators log in to)")
        from sim.http_desk import HttpDesk

        desk = HttpDesk(args.api, args.campaign, args.web_password or args.password)
    else:
        desk = LoggingDesk(echo=not args.json)
    team = OperatorTeam(profile, desk, count=count, seed=args.seed, user_prefix=args.user_prefix,
                        password=args.password)
    print(f"dialer sim operators: {count} phones registering with {registrar.address[0]}:"
          f"{registrar.address[1]}", file=sys.stderr, flush=True)
    async with trio.open_nursery() as nursery:
        await nursery.start(team.run, UdpNetwork(), args.host, registrar.address)
        await _until_stopped(args.duration)
        # Log out and unregister (briefly) before leaving.
        with trio.move_on_after(3):
            async with trio.open_nursery() as leaving:
                for op in team.operators:
                    leaving.start_soon(op.leave)
        nursery.cancel_scope.cancel()
    if args.api:
        await desk.aclose()
    summary = team.summary()
    if args.json:
        print_json(summary)
    else:
        for name, row in summary["operators"].items():
            print(f"{name}: calls {row['calls']}, talk {row['talk']:.1f} s, wrap {row['wrap']:.1f} s, "
                  f"codes {row['codes']}")
    return 0
