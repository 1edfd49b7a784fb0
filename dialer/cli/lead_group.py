"""The shared `dialer lead` group: several modules add sub-commands to it
(`lead add` from cli/lead_add.py, show/edit/... from the lifecycle module).

Each module's `register(sub)` calls `lead_subparsers(sub)`; the first call
creates the group, later calls get the same sub-parsers back.
"""

from __future__ import annotations


def lead_subparsers(sub):
    existing = getattr(sub, "_dialer_lead_actions", None)
    if existing is not None:
        return existing
    lead = sub.add_parser("lead", help="single leads: add (and show, edit, ... when installed)")
    actions = lead.add_subparsers(dest="lead_command", metavar="ACTION", required=True)
    sub._dialer_lead_actions = actions
    return actions
