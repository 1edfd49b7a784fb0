"""`dialer campaign rules show C`: the effective lifecycle rules of a campaign."""

from __future__ import annotations

from .common import add_json_flag, format_value, print_fields, print_json, print_table, run, store_for


def register_rules(csub) -> None:
    rules = csub.add_parser("rules", help="statuses, call modes, wrap codes and retry rules")
    rsub = rules.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    p = rsub.add_parser("show", help="print the effective rules of a campaign")
    p.add_argument("campaign")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_show, a))


def rules_as_dict(r) -> dict:
    import dataclasses

    return {
        "campaign": r.name, "campaign_id": r.campaign_id,
        "calling_hours": {"start": r.hours.start, "end": r.hours.end, "days": list(r.hours.days),
                          "holidays": sorted(r.hours.holidays), "default_timezone": r.timezone},
        "validation": r.validation, "callback_grace": r.callback_grace,
        "callback_grace_action": r.callback_grace_action, "editable_statuses": list(r.editable_statuses),
        "abandon_lockout": r.abandon_lockout, "outcome_status": r.outcome_status,
        "statuses": [dataclasses.asdict(s) for s in r.statuses.values()],
        "call_modes": [dataclasses.asdict(m) for m in sorted(r.modes.values(), key=lambda m: m.position)],
        "wrap_codes": [dataclasses.asdict(w) for w in r.wrap_codes.values()],
        "problems": r.problems(),
    }


async def _show(args) -> int:
    from dialer.store.rules import campaign_rules

    async with store_for(args) as store:
        r = await store.run(campaign_rules, args.campaign)
    d = rules_as_dict(r)
    if args.json:
        print_json(d)
        return 0
    h = d["calling_hours"]
    print_fields([
        ("campaign", f"{r.name} (id {r.campaign_id})"),
        ("calling hours", f"{h['start']:%H:%M}-{h['end']:%H:%M} lead-local, days {h['days']}"),
        ("holidays", h["holidays"]), ("validation", r.validation),
        ("callback grace", f"{format_value(r.callback_grace)}, then {r.callback_grace_action}"),
        ("editable statuses", list(r.editable_statuses)), ("abandon lock-out", r.abandon_lockout),
    ])
    print("\noutcome -> status:")
    print_table([{"outcome": k, "status": v} for k, v in r.outcome_status.items()], ["outcome", "status"])
    print("\ncall modes (put-off minutes by outcome):")
    modes = [{**m, "put_off": ", ".join(f"{k} {v}" for k, v in m["put_off"].items())} for m in d["call_modes"]]
    print_table(modes, ["name", "new_lead_priority", "time_on_standard", "max_attempts", "exhausted_status",
                        "put_off"])
    print("\nstatuses:")
    print_table(d["statuses"], ["code", "label", "auto_dial", "call_mode", "completed"])
    print("\nwrap codes:")
    print_table(d["wrap_codes"], ["code", "label", "completes", "retry_after", "next_status", "adds_dnc",
                                  "needs_validation", "is_callback"])
    for problem in d["problems"]:
        print(f"warning: {problem}")
    return 0
