"""What a call's ending means for the lead: SIP status → outcome (documented in docs/SIP.md).

| SIP final response / event                         | outcome        | next trunk? |
|----------------------------------------------------|----------------|-------------|
| 2xx                                                | answered       | no          |
| 486, 600                                           | busy           | no          |
| 487 after our CANCEL (ring timeout), 480, 408      | no_answer      | no          |
| 404, 484, 485, 410, 604                            | invalid        | no          |
| 403, 603                                           | rejected       | no          |
| 500, 502, 503, 504, transport timeout (Timer B)    | failed         | yes         |
| 488, 606                                           | codec_mismatch | no          |
| 401/407 we could not answer                        | failed         | yes         |
| any other 4xx/5xx/6xx                              | failed         | no          |

"failed" on a trunk problem (5xx, timeout) is retried on the next trunk and is
not counted as an attempt on the lead (`counts_as_attempt`).
"""

from __future__ import annotations

ANSWERED = "answered"
BUSY = "busy"
NO_ANSWER = "no_answer"
INVALID = "invalid"
REJECTED = "rejected"
FAILED = "failed"
CODEC_MISMATCH = "codec_mismatch"

TRANSPORT_TIMEOUT = 408  # the status we record when Timer B fires (RFC 3261 §8.1.3.1)
TRANSPORT_ERROR = 503    # ... and when the request cannot be sent / its connection breaks

_BY_STATUS = {
    486: BUSY, 600: BUSY,
    487: NO_ANSWER, 480: NO_ANSWER, 408: NO_ANSWER,
    404: INVALID, 484: INVALID, 485: INVALID, 410: INVALID, 604: INVALID,
    403: REJECTED, 603: REJECTED,
    488: CODEC_MISMATCH, 606: CODEC_MISMATCH,
}

TRUNK_FAILURES = frozenset({500, 502, 503, 504, 401, 407})


def outcome_for(status: int, *, transport_timeout: bool = False) -> str:
    """The outcome of a call that ended with final `status` (or a transport timeout)."""
    if transport_timeout:
        return FAILED
    if 200 <= status < 300:
        return ANSWERED
    return _BY_STATUS.get(status, FAILED)


def try_next_trunk(status: int, *, transport_timeout: bool = False) -> bool:
    """True when the failure is the trunk's, not the number's: fail over, count no attempt."""
    return transport_timeout or status in TRUNK_FAILURES


def counts_as_attempt(status: int, *, transport_timeout: bool = False) -> bool:
    return not try_next_trunk(status, transport_timeout=transport_timeout)
