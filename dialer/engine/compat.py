"""The engine's view of its neighbours: the names the runner uses, in one place.

Pacing (`Snapshot`, pacer events, `make_pacer`), the lifecycle's attempt units
(`start_attempts`, `finish_attempts`, `AttemptStart`, `AttemptEnd`) and the hopper.
(While the neighbours were being built in parallel this module held stand-ins with the
same shapes; they are merged now and the stand-ins are gone.)
"""

from __future__ import annotations

import datetime as dt

from dialer.pacing.factory import make_pacer  # noqa: F401
from dialer.pacing.snapshot import (CallResolved, Decision, LiveAnswerSettled, Snapshot,  # noqa: F401
                                    TalkEnded, WrapEnded)
from dialer.queue.hopper import Hopper  # noqa: F401
from dialer.store.attempts import AttemptEnd, AttemptStart, finish_attempts, start_attempts  # noqa: F401


async def finish_unknown(conn, attempt_ids, now: dt.datetime):
    """Crash recovery's close: the lifecycle rules for outcome `unknown` (see store/recovery.py)."""
    return await finish_attempts(conn, [AttemptEnd(i, "unknown", now) for i in attempt_ids])
