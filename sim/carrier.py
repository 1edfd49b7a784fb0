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

from typing import Any

import trio

from dialer.net import Network
from dialer.sip.auth import DigestServer, parse_auth_params
from dialer.sip.endpoint import ANSWERED, ENDED, Call, open_endpoint
from dialer.sip.message import parse_uri
from dialer.sip.sdp import SdpError, answer_offer, make_offer, parse_sdp
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
        user = parse_uri(invite.uri).user or invite.to_addr.uri.user
    except ValueError:
        pass
    return user or call.call_id


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

    def truth(self, call_id: str) -> str | None:
        """The outcome the population drew for the call with this Call-ID."""
        return self._truth.get(call_id)

    def summary(self) -> dict[str, Any]:
        return self.report.summary(trio.current_time())

    # --- the endpoint's handler ------------------------------------------------------------

    async def handle(self, call: Call) -> None:
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
        record = self.report.start(CallRecord(number, plan.outcome, now))
        self.active += 1
        try:
            await self._play(call, plan, record)
        finally:
            self.active -= 1
            if record.ended is None:
                record.ended = trio.current_time()
            if record.result is None:
                record.result = plan.outcome

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

    async def _play(self, call: Call, plan: CallPlan, record: CallRecord) -> None:
        early = self.profile.carrier.early_media
        if plan.outcome in RINGING and call.state != ENDED:
            await call.ring(self._answer_sdp(call) if early else None)
        with trio.move_on_after(plan.ring):
            await call.wait_for(ENDED)
        if call.state == ENDED:  # the caller cancelled while it rang
            record.ended = trio.current_time()
            record.result = "no_answer" if plan.outcome == "no_answer" else "cancelled"
            return
        if not plan.answers:
            record.ended = trio.current_time()
            record.result = plan.outcome
            await call.reject(plan.status, REASONS.get(plan.status, ""))
            return
        sdp = self._answer_sdp(call)
        if sdp is None:
            record.ended = trio.current_time()
            record.result = "failed"
            await call.reject(488, "Not Acceptable Here")
            return
        record.answered = trio.current_time()
        await call.answer(sdp)
        with trio.move_on_after(plan.talk):
            await call.wait_for(ENDED)
        record.ended = trio.current_time()
        record.result = plan.outcome
        if call.state == ANSWERED:
            record.hangup = "callee"
            await call.hangup()
        else:
            record.hangup = "caller"

    def _answer_sdp(self, call: Call) -> bytes | None:
        address = self.endpoint.media_address if self.endpoint else ("127.0.0.1", 10000)
        if not call.remote_sdp:  # late offer: we offer in the 200, the ACK answers
            return make_offer(*address).to_bytes()
        try:
            return answer_offer(parse_sdp(call.remote_sdp), *address).to_bytes()
        except SdpError:
            return None


async def serve_carrier(network: Network, host: str, port: int, carrier: Carrier, *,
                        timers: TimerValues = DEFAULT_TIMERS,
                        task_status=trio.TASK_STATUS_IGNORED) -> None:
    """Run `carrier` on a SIP endpoint bound to host:port until cancelled;
    `await nursery.start(serve_carrier, ...)` returns the endpoint."""
    async with open_endpoint(network, host, port, handler=carrier.handle, timers=timers,
                             user="carrier", user_agent="dialer-sim-carrier") as endpoint:
        carrier.endpoint = endpoint
        task_status.started(endpoint)
        await trio.sleep_forever()
