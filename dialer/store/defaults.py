"""What a new campaign starts with: statuses, call modes and wrap codes.

A contact centre edits these per campaign; the defaults follow common dialer
practice (VICIdial-style short status codes) so a campaign can dial at once.
"""

from __future__ import annotations

# code, label, auto_dial, call_mode, completed
STATUSES = [
    ("NEW", "New lead", True, "new", False),
    ("NA", "No answer", True, "retry", False),
    ("B", "Busy", True, "retry", False),
    ("FAIL", "Network failure", True, "retry", False),
    ("AM", "Answering machine", True, "retry", False),
    ("CALLBK", "Callback scheduled", True, "callback", False),
    ("RECONF", "Re-confirm", True, "reconfirm", False),
    ("DROP", "Abandoned (no operator)", True, "retry", False),
    ("REJ", "Rejected by the callee", True, "retry", False),
    ("LOST", "Call state lost (engine stopped)", True, "retry", False),
    ("ANSWERED", "Answered, not yet wrapped", False, None, False),
    ("CAUTION", "Held for correction", False, None, False),
    ("SALE", "Sale", False, None, True),
    ("NI", "Not interested", False, None, True),
    ("DNC", "Do not call", False, None, True),
    ("INVALID", "Invalid number", False, None, True),
    ("DUPLICATE", "Duplicate lead upload", False, None, False),
    ("MAXED", "Attempts exhausted", False, None, True),
]

# name, new_lead_priority, time_on_standard_minutes, put_off minutes by outcome, max_attempts, exhausted_status
CALL_MODES = [
    ("new", True, 60, {"no_answer": 60, "busy": 15, "failed": 10, "machine": 120, "abandoned": 60,
                       "rejected": 240, "unknown": 10}, 6, "MAXED"),
    ("retry", False, None, {"no_answer": 120, "busy": 15, "failed": 10, "machine": 240, "abandoned": 60,
                            "rejected": 480, "unknown": 10}, 6, "MAXED"),
    ("callback", False, None, {"no_answer": 30, "busy": 10, "failed": 10, "machine": 60, "abandoned": 30,
                               "rejected": 120, "unknown": 10}, 8, "MAXED"),
    ("reconfirm", False, None, {"no_answer": 60, "busy": 15, "failed": 10, "machine": 120, "abandoned": 60,
                                "rejected": 240, "unknown": 10}, 3, "MAXED"),
]

# code, label, completes, retry_after_minutes, next_status, adds_dnc, needs_validation, is_callback
WRAP_CODES = [
    ("SALE", "Sale", True, None, "SALE", False, False, False),
    ("NI", "Not interested", True, None, "NI", False, False, False),
    ("CALLBK", "Call back", False, None, "CALLBK", False, False, True),
    ("NA", "No answer / line dropped", False, 60, "NA", False, False, False),
    ("DNC", "Do not call me", True, None, "DNC", True, False, False),
    ("LEAD", "Qualified lead (validate)", True, None, "SALE", False, True, False),
    ("WRONG", "Wrong number", True, None, "INVALID", False, False, False),
    ("RECONF", "Re-confirm later", False, 1440, "RECONF", False, False, False),
    ("CAUTION", "Hold for data correction", False, None, "CAUTION", False, False, False),
]

# Dial outcome -> the status a lead moves to (before max-attempts rules). A
# campaign may override entries with settings.outcome_status. `answered` waits
# for the operator's wrap code; `unknown` (engine stopped mid-call) retries soon.
OUTCOME_STATUS = {
    "answered": "ANSWERED",
    "machine": "AM",
    "busy": "B",
    "no_answer": "NA",
    "invalid": "INVALID",
    "rejected": "REJ",
    "failed": "FAIL",
    "abandoned": "DROP",
    "unknown": "LOST",
}
