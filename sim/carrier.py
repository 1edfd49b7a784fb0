"""A simulated carrier: a SIP UAS in front of a population of called parties.

Built on the dialer's own SIP endpoint (`dialer.sip.endpoint`), so it runs
over real UDP or the in-memory network, in real or virtual time. For each
INVITE it:

1. challenges it (401/407) when the profile asks for digest authentication;
2. refuses it with 503 beyond the channel or calls-per-second limit;
3. draws the called party's fate (`sim.population`) and plays it: 180 Ringing
   (or 183 with early media), then after the ring time 200 + SDP answer
   (live person or answering machine, who hang up with BYE after the talk
   time or greeting + recording), 486, 404, 603 or 503; a no-answer call
   rings until the caller's CANCEL (487) or the carrier's no-answer limit (480).

Everything it saw is recorded in a `CarrierReport` for cross-checking the
dialer's own figures. `carrier.truth(call_id)` tells in-process tests and
benchmarks what the called party really was (the oracle a simulated answering
machine detector may consult).
"""

from __future__ import annotations

import math
from typing import Any

import trio

from dialer.net import Network
from dialer.sip.auth import DigestServer, parse_auth_params
from dialer.sip.endpoint import ANSWERED, ENDED, Call, open_endpoint
from dialer.sip.sdp import SdpError, answer_bytes, make_offer
from dialer.sip.transaction import DEFAULT_TIMERS, TimerValues

from .population import CallPlan, Population
from .profile import Profile
from .report import CallRecord, CarrierReport

# Outcomes where the phone rings (180) before the final answer; the others get
# their final response after a short post-dial delay, as networks do.
RINGING = frozenset({"answered", "machine", "no_answer", "rejected"})

REASONS = {486: "Busy Here", 404: "Not Found", 603: "Decline", 503: "Service Unavailable",
           480: "Temporarily Unavailable"}


class _Bucket:
    """Calls-per-second limit: `rate` tokens a second, a burst of max(1, rate)."""

    def __init__(self, rate: float):
        self.rate = rate
        self.burst = max(1.0, rate)
        self.tokens = self.burst
        self.stamp: float | None = None

    def take(self, now: float) -> bool:
        if self.stamp is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def called_number(call: Call) -> str:
    """The Request-URI user (the number dialled), else the To user, else the Call-ID."""
    invite = call.invite
    user = None
    try:
        user = invite.parsed_uri.user or invite.to_addr.uri.user
    except ValueError:
        pass
    return user or call.call_id


_RINGING, _TALKING, _OVER = "ringing", "talking", "over"


class _Play:
    """One called party's script in progress: its call, its fate and its record."""

    __slots__ = ("call", "plan", "record", "phase", "carrier", "done")

    def __init__(self, carrier: "Carrier", call: Call, plan: CallPlan, record: CallRecord):
        self.carrier, self.call, self.plan, self.record = carrier, call, plan, record
        self.phase = _RINGING
        self.done = False

    def caller_ended(self, call: Call) -> None:
        """`call.on_ended`: the caller hung up (CANCEL or BYE), or the call died (no ACK)."""
        record = self.record
        if self.phase == _RINGING:      # the caller cancelled while it rang
            record.ended = trio.current_time()
            record.result = "no_answer" if self.plan.outcome == "no_answer" else "cancelled"
        elif self.phase == _TALKING:
            record.ended = trio.current_time()
            record.result = self.plan.outcome
            record.hangup = "caller"
        else:
            return                      # the carrier ended it itself
        self.phase = _OVER
        self.over()

    def over(self) -> None:
        if self.done:
            return
        self.done = True
        self.carrier.active -= 1
        self.carrier._playing.discard(self)
        record = self.record
        if record.ended is None:
            record.ended = trio.current_time()
        if record.result is None:
            record.result = self.plan.outcome
        self.call.on_ended = None       # no cycle call -> play -> call left behind


def _not_ended(play: _Play) -> bool:
    return play.call.state != ENDED


def _answered(play: _Play) -> bool:
    return play.call.state == ANSWERED


class Carrier:
    def __init__(self, profile: Profile, *, seed: int | None = None):
        self.profile = profile
        self.population = Population(profile, seed)
        self.report = CarrierReport()
        self.active = 0
        self.endpoint = None
        cfg = profile.carrier
        self._bucket = _Bucket(cfg.cps) if cfg.cps else None
        self._auth: DigestServer | None = None
        if cfg.auth is not None:
            self._auth = DigestServer(cfg.auth.realm, {cfg.auth.username: cfg.auth.password},
                                      proxy=cfg.auth.status == 407)
        self._nonces: set[str] = set()  # nonces we challenged with
        self._truth: dict[str, str] = {}
        self._playing: set[_Play] = set()   # scripts not over yet

    def close(self) -> None:
        """The carrier stops (its endpoint closes): the calls still in progress end now in
        the report, as they would if their task had been cancelled."""
        for play in list(self._playing):
            play.over()

    def truth(self, call_id: str) -> str | None:
        """The outcome the population drew for the call with this Call-ID."""
        return self._truth.get(call_id)

    def summary(self) -> dict[str, Any]:
        return self.report.summary(trio.current_time())

    # --- the endpoint's on_invite, and the script it starts ---------------------------------
    #
    # No task per call: the INVITE is answered in the endpoint's receive loop (ring or
    # refuse), and the rest of the called party's script runs from the endpoint's timer heap
    # (answer or refuse after the ring time, BYE after the talk time), with the call's
    # `on_ended` telling it when the caller hangs up first. The draws and the SIP on the
    # wire are those of a task that would sleep between the steps.

    async def on_invite(self, call: Call) -> None:
        now = trio.current_time()
        if self._auth is not None and not await self._authenticate(call):
            return
        cfg = self.profile.carrier
        if cfg.channels and self.active >= cfg.channels:
            self.report.refuse("channels", now)
            await call.reject(503, "Channels Exhausted")
            return
        if self._bucket is not None and not self._bucket.take(now):
            self.report.refuse("cps", now)
            await call.reject(503, "Call Rate Exceeded")
            return
        number = called_number(call)
        plan = self.population.plan_for(number)
        self._truth[call.call_id] = plan.outcome
        play = _Play(self, call, plan, self.report.start(CallRecord(number, plan.outcome, now)))
        self.active += 1
        self._playing.add(play)
        call.on_ended = play.caller_ended
        if plan.outcome in RINGING:
            await call.ring(self._answer_sdp(call) if cfg.early_media else None)
        if plan.ring != math.inf:   # else it rings until the caller gives up
            self.endpoint.call_later(plan.ring, self._ring_over, play, _not_ended)

    async def _authenticate(self, call: Call) -> bool:
        verdict = self._auth.check(call.invite)
        if verdict == "ok":
            return True
        if verdict == "challenge" and self._answers_our_nonce(call.invite):
            # Credentials for a nonce we issued, and wrong: refuse instead of
            # challenging again, or a client that retries every new nonce would loop.
            self.report.auth_failures += 1
            await call.reject(403, "Wrong Credentials")
            return False
        self.report.challenged += 1
        name, value = self._auth.challenge_header(stale=verdict == "stale")
        self._nonces.add(value.split('nonce="', 1)[1].split('"', 1)[0])
        await call.reject(self._auth.status, headers=[(name, value)])
        return False

    def _answers_our_nonce(self, request) -> bool:
        header = "Proxy-Authorization" if self._auth.proxy else "Authorization"
        for value in request.headers.get_lines(header):
            try:
                _, params = parse_auth_params(value)
            except ValueError:
                continue
            if params.get("nonce") in self._nonces:
                return True
        return False

    async def _ring_over(self, play: "_Play") -> None:
        """The ring time is up and the caller is still there: answer or refuse."""
        call, plan, record = play.call, play.plan, play.record
        if not plan.answers:
            play.phase = _OVER
            record.ended = trio.current_time()
            record.result = plan.outcome
            await call.reject(plan.status, REASONS.get(plan.status, ""))
            play.over()
            return
        sdp = self._answer_sdp(call)
        if sdp is None:
            play.phase = _OVER
            record.ended = trio.current_time()
            record.result = "failed"
            await call.reject(488, "Not Acceptable Here")
            play.over()
            return
        record.answered = trio.current_time()
        play.phase = _TALKING
        await call.answer(sdp)
        self.endpoint.call_later(plan.talk, self._talk_over, play, _answered)

    async def _talk_over(self, play: "_Play") -> None:
        """The talk (or the machine's greeting and recording) is over: the called party hangs up."""
        record = play.record
        play.phase = _OVER
        record.ended = trio.current_time()
        record.result = play.plan.outcome
        record.hangup = "callee"
        # The channel is free once the BYE is answered, as it was for a task waiting on it.
        await play.call.hangup_nowait(play.over)

    def _answer_sdp(self, call: Call) -> bytes | None:
        address = self.endpoint.media_address if self.endpoint else ("127.0.0.1", 10000)
        if not call.remote_sdp:  # late offer: we offer in the 200, the ACK answers
            return make_offer(*address).to_bytes()
        try:
            return answer_bytes(call.remote_sdp, *address)
        except SdpError:
            return None


async def serve_carrier(network: Network, host: str, port: int, carrier: Carrier, *,
                        timers: TimerValues = DEFAULT_TIMERS,
                        task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Run `carrier` on a SIP endpoint bound to host:port until cancelled;
    `await nursery.start(serve_carrier, ...)` returns the endpoint."""
    async with open_endpoint(network, host, port, on_invite=carrier.on_invite, timers=timers,
                             user="carrier", user_agent="dialer-sim-carrier") as endpoint:
        carrier.endpoint = endpoint
        task_status.started(endpoint)
        try:
            await trio.sleep_forever()
        finally:
            carrier.close()
