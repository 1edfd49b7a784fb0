"""The pacer interface the campaign runner calls. See docs/PACING.md."""

from __future__ import annotations

import math

from dialer.config.model import PacingConfig

from .snapshot import Decision, Event, Snapshot


class Pacer:
    """Pure: `observe(event)` for every event, `decide(snapshot)` whenever the runner may dial.

    A pacer never reads a clock and never does I/O; it may keep state between calls (estimates,
    a dial level). The runner calls `decide` after every state change that could free a line or
    an operator, and at least every `tick` seconds, and launches `Decision.launch` calls at once.
    """

    mode = "abstract"
    tick = 0.5  # seconds: the longest the runner should wait between two `decide` calls

    def __init__(self, config: PacingConfig | None = None):
        self.config = config or PacingConfig()

    def observe(self, event: Event) -> None:  # most baselines learn nothing
        pass

    def decide(self, snapshot: Snapshot) -> Decision:
        raise NotImplementedError

    def line_cap(self, snapshot: Snapshot, want: int) -> int:
        """`want` limited so calls without an operator stay within max lines per operator."""
        room = math.floor(self.config.max_lines_per_operator * snapshot.active_operators
                          + 1e-9) - snapshot.calls_without_operator
        return max(0, min(want, room))
