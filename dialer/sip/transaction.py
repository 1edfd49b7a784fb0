"""SIP transactions (RFC 3261 §17, with RFC 6026's Accepted state), sans-IO.

Each transaction is a small state machine. The driver feeds it what happened
(`start()`, `receive_response()`, `receive_request()`, `send_response()`,
`timer_fired(name)`) and gets back a list of events to act on:

- `Send(message)`: put this message on the wire, to the transaction's peer.
- `StartTimer(name, delay)`: call `timer_fired(name)` after `delay` seconds.
  Timers are never cancelled; a transaction ignores a timer that no longer
  applies to its state, so the driver can keep one cheap timer heap.
  `wants_timer(name)` says whether it still applies (once False, it stays False:
  states only move forward), so a driver may drop it unfired. Timers named in
  `LINGER_TIMERS` only end a transaction kept to absorb retransmissions: a driver
  may fire them late (never early).
- `Deliver(response)`: a response for the transaction user (the call).
- `TimedOut()`: no final response in time (Timer B or F): treat as 408.
- `TransportFailed()`: the driver reported (`transport_failed()`) that the request
  could not be sent or its connection was lost: treat as 503 (§8.1.3.1, §17.1.4).
- `Terminated()`: forget this transaction.

Retransmissions happen only on unreliable transports (`reliable=False`): over TCP
Timers A, E and G are never started, Timer B and F still apply, and D, I, J and K
are zero (§17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2).
The machines do not know about sockets, clocks or dialogs.
"""

from __future__ import annotations

from dataclasses import dataclass

from .message import Headers, Request, Response
from .tokens import token_hex

BRANCH_MAGIC = "z9hG4bK"

# Timers whose only effect is Terminated(), ending a transaction that lingers to absorb
# retransmissions (D, K client side; I, J, L server side; M: RFC 6026's Accepted).
LINGER_TIMERS = frozenset({"D", "I", "J", "K", "L", "M"})


@dataclass(frozen=True, slots=True)
class TimerValues:
    """RFC 3261 §17 timer base values; tests and the simulator may shrink them."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0


DEFAULT_TIMERS = TimerValues()


@dataclass(slots=True)
class Send:
    message: Request | Response


@dataclass(slots=True)
class StartTimer:
    name: str
    delay: float


@dataclass(slots=True)
class Deliver:
    response: Response


@dataclass(slots=True)
class TimedOut:
    pass


@dataclass(slots=True)
class TransportFailed:
    pass


@dataclass(slots=True)
class Terminated:
    pass


def new_branch() -> str:
    return BRANCH_MAGIC + token_hex(8)


class LocalProtocolError(RuntimeError):
    """We (the transaction user) asked for something the state does not allow."""


# --- client transactions ------------------------------------------------------------------

class _ClientTransaction:
    """What both client transactions share: the request, the start that sends it
    once and arms the retransmit timer (unreliable transports only) and the
    give-up timer (64*T1). Subclasses name their first state and timers."""

    FIRST_STATE: str
    RETRANSMIT_TIMER: str
    TIMEOUT_TIMER: str

    def __init__(self, request: Request, *, reliable: bool = False,
                 timers: TimerValues = DEFAULT_TIMERS):
        self.request = request
        self.reliable = reliable
        self.timers = timers
        self.state = "init"
        self.branch = request.branch
        self._interval = timers.t1

    def start(self) -> list:
        if self.state != "init":
            raise LocalProtocolError("transaction already started")
        self.state = self.FIRST_STATE
        events: list = [Send(self.request)]
        if not self.reliable:
            events.append(StartTimer(self.RETRANSMIT_TIMER, self._interval))
        events.append(StartTimer(self.TIMEOUT_TIMER, 64 * self.timers.t1))
        return events

    # States in which the transaction still waits for (or absorbs) responses.
    WAITING_STATES = ("calling", "trying", "proceeding")

    def transport_failed(self) -> list:
        """The transport could not send our request, or the connection it went over was
        lost: a transaction still waiting for its final response tells the TU and ends
        (§17.1.4); one that already has it just ends (nothing more can arrive)."""
        if self.state in ("init", "terminated"):
            return []
        waiting = self.state in self.WAITING_STATES
        self.state = "terminated"
        return [TransportFailed(), Terminated()] if waiting else [Terminated()]


class ClientInviteTransaction(_ClientTransaction):
    """Client INVITE transaction: calling → proceeding → completed/accepted → terminated.

    Timer A retransmits the INVITE (UDP only), Timer B gives up, Timer D absorbs
    final-response retransmissions after our ACK (for non-2xx), Timer M keeps
    the transaction in Accepted so 2xx retransmissions still reach the dialog,
    which re-sends its ACK (RFC 6026).
    """

    kind = "invite"
    FIRST_STATE, RETRANSMIT_TIMER, TIMEOUT_TIMER = "calling", "A", "B"

    def __init__(self, request: Request, *, reliable: bool = False,
                 timers: TimerValues = DEFAULT_TIMERS):
        super().__init__(request, reliable=reliable, timers=timers)
        self._ack: Request | None = None

    def receive_response(self, response: Response) -> list:
        status = response.status
        state = self.state
        if state in ("calling", "proceeding"):
            if status < 200:
                self.state = "proceeding"
                return [Deliver(response)]
            if status < 300:
                self.state = "accepted"
                return [Deliver(response), StartTimer("M", 64 * self.timers.t1)]
            self.state = "completed"
            self._ack = self.ack_for(response)
            return [Send(self._ack), Deliver(response),
                    StartTimer("D", 0 if self.reliable else 32.0)]
        if state == "completed" and status >= 300:
            return [Send(self._ack)]  # our ACK was lost: repeat it, do not tell the TU again
        if state == "accepted" and 200 <= status < 300:
            return [Deliver(response)]  # the dialog re-sends its ACK
        return []

    def wants_timer(self, name: str) -> bool:
        state = self.state
        if name == "A":
            return state == "calling" and not self.reliable
        if name == "B":
            return state == "calling"
        return (name == "D" and state == "completed") or (name == "M" and state == "accepted")

    def timer_fired(self, name: str) -> list:
        if not self.wants_timer(name):
            return []
        if name == "A":
            self._interval *= 2
            return [Send(self.request), StartTimer("A", self._interval)]
        self.state = "terminated"
        return [TimedOut(), Terminated()] if name == "B" else [Terminated()]

    def ack_for(self, response: Response) -> Request:
        """ACK for a non-2xx final response (§17.1.1.3): same branch, hop by hop."""
        request = self.request
        h = Headers()
        h.add("Via", request.headers.get_all("Via")[0])
        for name in ("Route",):
            for value in request.headers.get_lines(name):
                h.add(name, value)
        h.add("From", request.headers.get("From"))
        h.add("To", response.headers.get("To"))
        h.add("Call-ID", request.call_id)
        h.add("CSeq", f"{request.cseq} ACK")
        h.add("Max-Forwards", "70")
        ack = Request("ACK", request.uri, h, index=False)
        ack._known_index(request.call_id, request.cseq, request.from_tag, response.to_tag,
                         request.branch)
        return ack


class ClientNonInviteTransaction(_ClientTransaction):
    """Client non-INVITE transaction (BYE, CANCEL, OPTIONS, REGISTER): trying →
    proceeding → completed → terminated, with Timers E (retransmit), F (give up), K (linger)."""

    kind = "non-invite"
    FIRST_STATE, RETRANSMIT_TIMER, TIMEOUT_TIMER = "trying", "E", "F"

    def receive_response(self, response: Response) -> list:
        if self.state not in ("trying", "proceeding"):
            return []
        if response.status < 200:
            self.state = "proceeding"
            return [Deliver(response)]
        self.state = "completed"
        return [Deliver(response), StartTimer("K", 0 if self.reliable else self.timers.t4)]

    def wants_timer(self, name: str) -> bool:
        state = self.state
        if name == "E":
            return state in ("trying", "proceeding") and not self.reliable
        if name == "F":
            return state in ("trying", "proceeding")
        return name == "K" and state == "completed"

    def timer_fired(self, name: str) -> list:
        if not self.wants_timer(name):
            return []
        if name == "E":
            if self.state == "trying":
                self._interval = min(2 * self._interval, self.timers.t2)
            else:
                self._interval = self.timers.t2
            return [Send(self.request), StartTimer("E", self._interval)]
        self.state = "terminated"
        return [TimedOut(), Terminated()] if name == "F" else [Terminated()]


# --- server transactions ------------------------------------------------------------------

class ServerInviteTransaction:
    """Server INVITE transaction: proceeding → completed → confirmed → terminated,
    or proceeding → accepted → terminated for a 2xx (RFC 6026).

    After a 2xx it stays "accepted" for Timer L (64*T1) and absorbs retransmissions
    of the INVITE (the dialog layer retransmits the 2xx itself until the ACK): a caller
    whose Timer A fired before our answer reached it must not start a second call.
    A non-2xx final response is retransmitted (Timer G) until the ACK arrives or
    Timer H gives up; Timer I absorbs ACK retransmissions.
    """

    kind = "invite"

    def __init__(self, request: Request, *, reliable: bool = False,
                 timers: TimerValues = DEFAULT_TIMERS):
        self.request = request
        self.reliable = reliable
        self.timers = timers
        self.state = "proceeding"
        self.branch = request.branch
        self.last_response: Response | None = None
        self._interval = timers.t1

    def receive_request(self, request: Request) -> list:
        """A request with this transaction's branch: a retransmission or the ACK."""
        if self.state == "accepted":
            return []  # a retransmitted INVITE (its 2xx is the dialog's to repeat), or a stray ACK
        if request.method == "ACK":
            if self.state == "completed":
                self.state = "confirmed"
                return [StartTimer("I", 0 if self.reliable else self.timers.t4)]
            return []
        if self.state in ("proceeding", "completed") and self.last_response is not None:
            return [Send(self.last_response)]
        return []

    def send_response(self, response: Response) -> list:
        if self.state != "proceeding":
            raise LocalProtocolError(f"cannot respond in state {self.state}")
        self.last_response = response
        if response.status < 200:
            return [Send(response)]
        if response.status < 300:
            self.state = "accepted"
            return [Send(response), StartTimer("L", 64 * self.timers.t1)]
        self.state = "completed"
        events: list = [Send(response)]
        if not self.reliable:
            events.append(StartTimer("G", self._interval))
        events.append(StartTimer("H", 64 * self.timers.t1))
        return events

    def transport_failed(self) -> list:
        """The connection the request came on is gone: nothing more can be sent or received."""
        if self.state == "terminated":
            return []
        self.state = "terminated"
        return [Terminated()]

    def wants_timer(self, name: str) -> bool:
        state = self.state
        if name == "G":
            return state == "completed" and not self.reliable
        if name == "H":
            return state == "completed"
        return (name == "L" and state == "accepted") or (name == "I" and state == "confirmed")

    def timer_fired(self, name: str) -> list:
        if not self.wants_timer(name):
            return []
        if name == "G":
            self._interval = min(2 * self._interval, self.timers.t2)
            return [Send(self.last_response), StartTimer("G", self._interval)]
        self.state = "terminated"
        return [TimedOut(), Terminated()] if name == "H" else [Terminated()]


class ServerNonInviteTransaction:
    """Server non-INVITE transaction: trying → proceeding → completed → terminated (Timer J)."""

    kind = "non-invite"

    def __init__(self, request: Request, *, reliable: bool = False,
                 timers: TimerValues = DEFAULT_TIMERS):
        self.request = request
        self.reliable = reliable
        self.timers = timers
        self.state = "trying"
        self.branch = request.branch
        self.last_response: Response | None = None

    def receive_request(self, request: Request) -> list:
        if self.state in ("proceeding", "completed") and self.last_response is not None:
            return [Send(self.last_response)]
        return []

    def send_response(self, response: Response) -> list:
        if self.state not in ("trying", "proceeding"):
            raise LocalProtocolError(f"cannot respond in state {self.state}")
        self.last_response = response
        if response.status < 200:
            self.state = "proceeding"
            return [Send(response)]
        self.state = "completed"
        return [Send(response), StartTimer("J", 0 if self.reliable else 64 * self.timers.t1)]

    def transport_failed(self) -> list:
        """The connection the request came on is gone: nothing more can be sent or received."""
        if self.state == "terminated":
            return []
        self.state = "terminated"
        return [Terminated()]

    def wants_timer(self, name: str) -> bool:
        return name == "J" and self.state == "completed"

    def timer_fired(self, name: str) -> list:
        if not self.wants_timer(name):
            return []
        self.state = "terminated"
        return [Terminated()]


def server_transaction_for(request: Request, *, reliable: bool = False,
                           timers: TimerValues = DEFAULT_TIMERS):
    cls = ServerInviteTransaction if request.method == "INVITE" else ServerNonInviteTransaction
    return cls(request, reliable=reliable, timers=timers)


def transaction_key(message: Request | Response) -> tuple[str, str]:
    """Matching key (§17.1.3 / §17.2.3): top Via branch plus the CSeq method, with ACK
    matching the INVITE it acknowledges and CANCEL kept apart from the request it cancels."""
    method = message.cseq_method
    if method == "ACK":
        method = "INVITE"
    return (message.branch or "", method)
