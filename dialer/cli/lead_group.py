"""Command groups that several modules add actions to (`dialer lead ...`, `dialer leads ...`).

The first module to ask creates the group; later ones get the same
subparsers, so `lead add` (import) and `lead show` (lifecycle) can live in
separate modules.
"""

from __future__ import annotations

GROUP_HELP = {
    "lead": "one lead: add, show, edit, wrap, copy, delete, search",
    "leads": "many leads at once: bulk edit",
}


def group_subparsers(sub, name: str, help: str | None = None):
    """The subparsers of top-level group `name`, creating the group once."""
    parser = sub.choices.get(name)
    if parser is None:
        parser = sub.add_parser(name, help=help or GROUP_HELP.get(name, name))
        parser._dialer_actions = parser.add_subparsers(dest=f"{name}_command", metavar="ACTION", required=True)
    return parser._dialer_actions


def lead_subparsers(sub):
    return group_subparsers(sub, "lead")


def leads_subparsers(sub):
    return group_subparsers(sub, "leads")
