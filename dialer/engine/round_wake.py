"""When the runner's next launch round starts, with one wake-up per round.

The runner launches in rounds: after a round it waits for an event that may free a line or
an operator (a call resolved, an operator ready, a stop) or for the pacer's tick, whichever
comes first, and then `round_gap` more, so that the events of the next few ms gather into
one round. Waiting on an Event and then sleeping woke the runner twice a round; here the
runner sleeps once, in one cancel scope whose deadline the first event moves earlier:

    after a round at T:  deadline = T + tick + gap
    first event at E:    deadline = min(deadline, E + gap)     (later events change nothing)
    an event during the round itself counts as one at the round's end

which starts each round at the same instant as the Event-then-sleep did.
"""

from __future__ import annotations

import trio

from dialer.scope_sleep import sleep_in


class RoundWake:
    def __init__(self, gap: float) -> None:
        self.gap = gap
        self._sleep: trio.CancelScope | None = None   # the runner's sleep, while it sleeps
        # An event came during this sleep already: later ones come no earlier, so they could
        # only move the deadline later, which `min` refuses. Several events a call, most skip.
        self._seen = False
        self._pending = False       # an event came while the runner was not sleeping
        self._event: trio.Event | None = None          # someone waiting for the next event

    def set(self) -> None:
        """Something happened that may free a line or an operator."""
        sleep = self._sleep
        if sleep is not None:
            if not self._seen:
                self._seen = True
                at = trio.current_time() + self.gap
                if at < sleep.deadline:
                    sleep.deadline = at
        else:
            self._pending = True
        if self._event is not None:
            self._event.set()

    async def next_round(self, tick: float) -> None:
        """Sleep until the next round is due (see the module's docstring)."""
        now = trio.current_time()
        deadline = now + self.gap if self._pending else now + tick + self.gap
        with trio.CancelScope(deadline=deadline) as sleep:
            self._sleep = sleep
            self._seen = False
            try:
                await sleep_in(sleep)   # its deadline ends it with a plain return, no Cancelled
            finally:
                self._sleep = None
                self._pending = False   # what came meanwhile is the next round's to see

    async def next_event(self) -> None:
        """Wait for the next event, no gap (the drain waits for the calls to end)."""
        self._event = event = trio.Event()
        try:
            await event.wait()
        finally:
            if self._event is event:
                self._event = None
