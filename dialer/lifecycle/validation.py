"""Call-centre validation: the contact-status moves a validator may make.

A lead enters validation (`unconfirmed`) when wrapped with a code that needs
validation in a campaign with `validation = true`. A validator moves it to
`confirmed`, `rejected` or back to `unconfirmed`. Rejecting flags the lead
invalid, so it leaves the validation listing; moving a rejected lead back
flags it valid again (the "flagged valid" of the issue).
"""

from __future__ import annotations

from .rules import RuleError

CONTACT_STATUSES = ("unconfirmed", "confirmed", "rejected")


def validation_move(lead_id: int, current: str | None, valid: bool, new: str) -> tuple[str, bool]:
    """(contact_status, valid) after a validator sets `new`; RuleError if not allowed."""
    if new not in CONTACT_STATUSES:
        raise RuleError(f"contact status {new!r} is not one of {', '.join(CONTACT_STATUSES)}")
    if current is None:
        raise RuleError(f"lead {lead_id} is not held for validation")
    if not valid and current != "rejected":
        raise RuleError(f"lead {lead_id} is invalid and not shown to validators")
    return new, new != "rejected"
