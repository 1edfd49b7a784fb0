"""A scripted call placer for runner unit tests: the runner's orchestration in virtual time
without a SIP stack. What a number does is set by its last digit (see SCRIPT). Integration
tests use the real SIP endpoint and the simulator instead."""

from __future__ import annotations

import trio

# last digit -> (outcome, sip status, seconds until answer or final response, talk seconds)
SCRIPT = {
    "0": ("answered", 200, 6, 60), "1": ("answered", 200, 8, 90), "2": ("answered", 200, 4, 30),
    "3": ("answered", 200, 10, 120), "4": ("busy", 486, 3, 0), "5": ("no_answer", 487, None, 0),
    "6": ("no_answer", 487, None, 0), "7": ("invalid", 404, 1, 0), "8": ("failed", 503, 1, 0),
    "9": ("machine", 200, 7, 0),
}


class ScriptedCall:
    def __init__(self, number: str, ring_timeout: float, nursery: trio.Nursery):
        self.number = number
        self.outcome: str | None = None
        self.sip_status: int | None = None
        self.machine = False
        self._answered = trio.Event()
        self._ended = trio.Event()
        self._scope = trio.CancelScope()
        nursery.start_soon(self._play, ring_timeout)

    async def _play(self, ring_timeout: float) -> None:
        outcome, status, after, talk = SCRIPT[self.number[-1]]
        with self._scope:
            if after is None or after >= ring_timeout:
                await trio.sleep(ring_timeout)
                self._end("no_answer", 487)
                return
            await trio.sleep(after)
            if status >= 300:
                self._end(outcome, status)
                return
            self.machine = outcome == "machine"
            self.outcome, self.sip_status = "answered", 200
            self._answered.set()
            await trio.sleep(talk if talk else 3600)
            self._end("answered", 200)      # the called party hangs up

    def _end(self, outcome: str, status: int) -> None:
        if not self._ended.is_set():
            self.outcome, self.sip_status = outcome, status if self.outcome != "answered" else 200
            self._ended.set()
            self._answered.set()
            self._scope.cancel()

    @property
    def state(self) -> str:
        if self._ended.is_set():
            return "ended"
        return "answered" if self._answered.is_set() else "ringing"

    async def wait_answered(self) -> bool:
        await self._answered.wait()
        return self.outcome == "answered" and not (self._ended.is_set() and self.sip_status != 200)

    async def wait_ended(self) -> str:
        await self._ended.wait()
        return self.outcome

    async def hangup(self) -> None:
        if not self._ended.is_set():
            self._end(self.outcome if self.outcome == "answered" else "no_answer",
                      200 if self.outcome == "answered" else 487)


class ScriptedPlacer:
    def __init__(self, nursery: trio.Nursery):
        self.nursery = nursery
        self.dialed: list[str] = []
        self.concurrent = 0
        self.max_concurrent: dict[str, int] = {}

    async def dial(self, number, *, caller_id=None, ring_timeout=25.0, headers=()):
        self.dialed.append(number)
        return ScriptedCall(number, ring_timeout, self.nursery)
