"""The `dialer` command. Each sub-command group lives in its own module with a
`register(subparsers)` function; add new groups to COMMAND_MODULES."""

from __future__ import annotations

import argparse
import importlib
import sys

from dialer import __version__

from .common import CliError

COMMAND_MODULES = [
    "dialer.cli.db",
    "dialer.cli.campaign",
    "dialer.cli.demo",
    "dialer.cli.hopper",
    "dialer.cli.lists",
    "dialer.cli.lead_add",
    "dialer.cli.imports",
    "dialer.cli.dnc",
    "dialer.cli.wireless",
    "dialer.cli.export",
    "dialer.cli.lead_ops",
    "dialer.cli.validation",
    "dialer.cli.bulk_edit",
    "dialer.cli.call",
    "dialer.cli.sim",
    "dialer.cli.audit",
    "dialer.cli.run",
    "dialer.cli.loadtest",
    "dialer.cli.users",
    "dialer.cli.web",
]

# Commands whose process carries many SIP calls, where CPython's default garbage-collector
# threshold costs about a third of the CPU per call.
CALL_CARRYING_COMMANDS = {"run", "demo", "loadtest", "sim", "call"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dialer",
        description="Outbound telephony dialer: leads in PostgreSQL, SIP calls, pacing, simulator.",
    )
    parser.add_argument("--version", action="version", version=f"dialer {__version__}")
    parser.add_argument("--database-url", metavar="URL",
                        help="PostgreSQL to use (default: $DIALER_DATABASE_URL, else an embedded server)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from dialer.config import ConfigError
    from dialer.store.campaigns import NotFound

    if args.command in CALL_CARRYING_COMMANDS:
        # This process carries SIP calls: collect garbage less often (dialer/sip/gctune.py).
        from dialer.sip.gctune import tune_gc_for_calls

        tune_gc_for_calls()
    try:
        result = args.func(args)
    except (CliError, ConfigError, NotFound) as exc:
        for line in str(exc).splitlines() or [type(exc).__name__]:
            print(f"dialer: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dialer: interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
