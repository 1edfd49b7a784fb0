"""The SIP endpoint: one socket, many calls, on trio.

`Endpoint` drives the sans-IO machines (transactions, dialogs, digest auth)
over a `dialer.net` datagram socket: real UDP (`UdpNetwork`) or the
simulator's in-memory network. It is both a user agent client (the dialer
places calls with `await endpoint.dial(...)`) and a user agent server
(incoming INVITEs go to a `handler`: the simulator's carrier and operator
phones are built on that).

Usage::

    async with open_endpoint(UdpNetwork(), "127.0.0.1", 0, handler=on_call) as endpoint:
        call = await endpoint.dial(Trunk.from_uri("sip:127.0.0.1:5070"), "+15551234567",
                                   caller_id="15550001111", ring_timeout=25)
        if await call.wait_answered():
            await trio.sleep(10)
            await call.hangup()
        print(call.outcome, call.sip_status, call.ring_seconds, call.talk_seconds)

Every call ends with an outcome (see `dialer.sip.outcome`) within its timers,
whatever the peer does: ring timeout → CANCEL; no final answer to the CANCEL
within 64·T1 → ended anyway; Timer B/F → failed.

Timers (transaction timers, ring timeouts, 2xx retransmission) live in one
heap served by one task (`dialer.sip.timers`), so a call costs memory, not a
task; timers that became moot are dropped unfired. All time comes from trio, so
everything runs under `trio.testing.MockClock`.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, AsyncIterator, Awaitable, Callable

import trio

from dialer.clock import clock_reading
from dialer.net import Address, Network

from . import outcome as outcomes
from .auth import DigestClient
from .dialog import Dialog, DialogError, new_call_id, new_tag
from .message import (MATCHING_HEADERS, Headers, Request, Response, SipParseError, canonical_name,
                      make_response, parse_name_addr, plain_uri_text)
from .sdp import SdpError, offer_bytes
from .tcp import NoTcp, TcpTransport
from .timers import TimerQueue
from .transaction import (DEFAULT_TIMERS, LINGER_TIMERS, ClientInviteTransaction,
                          ClientNonInviteTransaction, Deliver, LocalProtocolError, Send, StartTimer,
                          Terminated, TimedOut, TimerValues, TransportFailed, new_branch,
                          server_transaction_for)
from .transport import DatagramTransport
from .trunk import Trunk

log = logging.getLogger("dialer.sip")

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE"

# Call states, in the order a call can pass through them.
CALLING, TRYING, RINGING, EARLY_MEDIA, ANSWERED, ENDED = (
    "calling", "trying", "ringing", "early_media", "answered", "ended")
INCOMING = "incoming"  # an inbound call the handler has not answered yet

# Datagrams handled per wake-up of the receive loop before it yields to other tasks.
RECEIVE_SLICE = 64


class CallError(Exception):
    """A call operation that cannot be done (e.g. re-INVITE on a call that is not up)."""


class Call:
    """One call leg, placed by us (`direction == "outbound"`) or received (`"inbound"`).

    Observe it:
      - `state`: calling → trying → ringing / early_media → answered → ended
        (inbound: incoming → ringing / early_media → answered → ended);
      - `progress`: [(trio time, state), ...] every state it went through;
      - `await call.wait_for(*states)`, `await call.wait_answered()` (True/False),
        `await call.wait_ended()` (returns the outcome), or without a task: `on_fate`
        (called once, synchronously, when the call is answered or ends);
      - once ended: `outcome` (see `dialer.sip.outcome`), `sip_status` (the final
        SIP status; 408 for a transport timeout), `reason`, `ended_by`
        ("local"/"remote"/"timeout"), `ring_seconds`, `talk_seconds`;
      - `remote_sdp` / `local_sdp`: the bodies exchanged (bytes), updated by re-INVITEs.

    Act on it: `hangup()` (CANCEL before answer, BYE after), `reinvite(sdp)` (new
    offer, returns the peer's answer: bridging / hold), and for inbound calls
    `ring()`, `answer(sdp)`, `reject(status)`. `on_reinvite` may be set to a
    function `(call, offer: bytes) -> answer: bytes` to answer the peer's re-INVITEs;
    by default we answer with our current `local_sdp`.
    """

    def __init__(self, endpoint: "Endpoint", direction: str, peer: Address, transport=None):
        self.endpoint = endpoint
        self.direction = direction
        self.peer = peer
        # The transport the call's messages go over: the endpoint's UDP, or its TCP
        # (a connection to `peer`, opened on demand and shared with other calls).
        self.transport = transport or endpoint.transport
        self.state = INCOMING if direction == "inbound" else CALLING
        self.started_at = now = endpoint._now()
        self.progress: list[tuple[float, str]] = [(now, self.state)]
        self.answered_at: float | None = None
        self.ended_at: float | None = None
        self.outcome: str | None = None
        self.sip_status: int | None = None
        self.reason = ""
        self.ended_by: str | None = None
        self.transport_timeout = False
        self.transport_error = False    # the request could not be sent / the connection broke
        self.cancelled = False          # we sent (or, inbound, received) a CANCEL
        self.local_sdp: bytes = b""
        self.remote_sdp: bytes | None = None
        self.dialog: Dialog | None = None
        self.invite: Request | None = None
        self.call_id = ""
        self.local_tag = ""
        self.trunk: Trunk | None = None
        self.number: str | None = None
        self.on_reinvite: Callable[["Call", bytes], bytes] | None = None
        # Called (synchronously) once when the call ends, whoever ended it: lets code that
        # drives a call from timers (the simulator's carrier) learn of the end without a task
        # waiting for it.
        self.on_ended: Callable[["Call"], None] | None = None
        # Called (synchronously) once when the call is answered or ends, whichever comes
        # first: lets the dialer act on a call's fate without a task waiting for it (most
        # calls are never answered). Set it while the call is neither.
        self.on_fate: Callable[["Call"], None] | None = None
        # Tasks in wait_for: (the states each waits for, its Event). Only those whose
        # state came are woken (a caller waiting for the end is not woken at each ring).
        self._waiters: list[tuple[tuple[str, ...], trio.Event]] = []
        # outbound
        self._ack: Request | None = None
        self._auth: DigestClient | None = None
        self._cancel_when_provisional = False
        # inbound
        self._server_tx = None
        self._ok: Response | None = None     # our 2xx, retransmitted until the ACK
        self._ok_interval = 0.0
        self._acked = True

    def __repr__(self) -> str:
        return f"<Call {self.direction} {self.call_id} {self.state} {self.outcome or ''}>"

    # --- observing -----------------------------------------------------------------------

    @property
    def ring_seconds(self) -> float:
        end = self.answered_at or self.ended_at or trio.current_time()
        return max(0.0, end - self.started_at)

    @property
    def talk_seconds(self) -> float:
        if self.answered_at is None:
            return 0.0
        return max(0.0, (self.ended_at or trio.current_time()) - self.answered_at)

    @property
    def try_next_trunk(self) -> bool:
        """The call failed because of the trunk (5xx, timeout): fail over, no attempt counted."""
        return self.state == ENDED and self.answered_at is None and outcomes.try_next_trunk(
            self.sip_status or 0, transport_timeout=self.transport_timeout)

    async def wait_for(self, *states: str) -> str:
        """Wait until the call is in one of `states` (or ended); return the state."""
        if self.state not in states and self.state != ENDED:
            waiter = (states, trio.Event())
            self._waiters.append(waiter)
            try:
                await waiter[1].wait()
            finally:
                if not waiter[1].is_set():  # cancelled while waiting
                    self._waiters.remove(waiter)
        return self.state

    async def wait_answered(self) -> bool:
        return await self.wait_for(ANSWERED) == ANSWERED

    async def wait_ended(self) -> str:
        await self.wait_for(ENDED)
        return self.outcome

    def _set_state(self, state: str) -> None:
        if state == self.state or self.state == ENDED:
            return
        self.state = state
        self.progress.append((self.endpoint._now(), state))
        if self._waiters:
            waiting = []
            for waiter in self._waiters:
                if state in waiter[0] or state == ENDED:
                    waiter[1].set()
                else:
                    waiting.append(waiter)
            self._waiters = waiting
        if state == ANSWERED:
            self._tell_fate()

    def _tell_fate(self) -> None:
        hook = self.on_fate
        if hook is not None:
            self.on_fate = None
            hook(self)

    def _end(self, outcome: str, status: int | None, reason: str = "", by: str = "remote") -> None:
        if self.state == ENDED:
            return
        self.outcome = self.outcome or outcome
        if self.answered_at is None:
            self.sip_status = status  # an answered call keeps its 200
        self.reason = self.reason or reason
        self.ended_by = by
        self.ended_at = self.endpoint._now()
        self._set_state(ENDED)
        self.endpoint._forget_call(self)   # before the hook: the trunk's breaker has the result
        self._tell_fate()
        if self.on_ended is not None:
            self.on_ended(self)

    # --- acting ----------------------------------------------------------------------------

    async def hangup(self) -> None:
        """End the call from our side: CANCEL if ringing (outbound), 480 if not answered
        (inbound), BYE if answered, or if a 200 crossed the CANCEL. Returns once the call has
        ended."""
        if self.state == ENDED:
            return
        if self.state != ANSWERED:
            if self.direction == "outbound":
                await self.endpoint._cancel(self)
            else:
                await self.reject(480)
            # A 200 may cross our CANCEL (the called party answered as we gave up): the call
            # is then up with nobody on our side, so it is taken down with a BYE below.
            if await self.wait_for(ANSWERED, ENDED) == ENDED:
                return
        bye = self.dialog.create_request("BYE")
        # Ended before we wait: if the caller is cancelled while the BYE is in flight,
        # the call is still over (the endpoint keeps retransmitting the BYE on its own).
        self._end(outcomes.ANSWERED, self.sip_status, "BYE sent", by="local")
        await self.endpoint._request(bye, self.peer, self.transport)

    async def hangup_nowait(self, on_done: Callable[[], None] | None = None) -> None:
        """End an answered call with a BYE without waiting for its answer, for code running
        in the endpoint's own loops (a timer callback must not wait for a message the
        receive loop has yet to read); `on_done()` once the BYE's transaction has its final
        response, timed out or failed (as `hangup()` would have returned then)."""
        if self.state != ANSWERED:
            raise CallError(f"hangup_nowait needs an answered call, this one is {self.state}")
        bye = self.dialog.create_request("BYE")
        self._end(outcomes.ANSWERED, self.sip_status, "BYE sent", by="local")
        callbacks = (None, None, None)
        if on_done is not None:
            done = []

            async def finished(response: Response | None = None) -> None:
                if not done and (response is None or response.status >= 200):
                    done.append(True)
                    on_done()

            callbacks = (finished, finished, finished)
        await self.endpoint._start_client(bye, self.peer, self.transport, *callbacks)

    async def reinvite(self, sdp: bytes, *, timeout: float | None = None) -> bytes:
        """Send a re-INVITE with a new offer; return the peer's answer SDP.

        For bridging (RFC 3725 third-party call control) and hold. Raises CallError
        if the call is not up or the peer refuses (the call stays up on a refusal)."""
        if self.state != ANSWERED or self.dialog is None:
            raise CallError(f"re-INVITE needs an answered call, this one is {self.state}")
        request = self.dialog.create_request("INVITE", body=sdp)
        response = await self.endpoint._invite_in_dialog(self, request)
        if response is None or response.status >= 300:
            raise CallError(f"re-INVITE refused: {response.status if response else 'timeout'}")
        self.local_sdp = sdp
        if response.body:
            self.remote_sdp = response.body
        return response.body

    # inbound ------------------------------------------------------------------------------

    async def ring(self, sdp: bytes | None = None) -> None:
        """Inbound: send 180 Ringing (or 183 Session Progress with early media `sdp`)."""
        self._check_inbound_unanswered()
        status = 183 if sdp else 180
        response = self.endpoint._make_response(self.invite, status, self.local_tag, body=sdp or b"",
                                                transport=self.transport)
        await self.endpoint._respond(self._server_tx, response, self.peer)
        self._set_state(EARLY_MEDIA if sdp else RINGING)

    async def answer(self, sdp: bytes | None = None) -> None:
        """Inbound: send 200 OK (retransmitted until the ACK arrives) with our answer SDP."""
        self._check_inbound_unanswered()
        self.local_sdp = sdp if sdp is not None else self.local_sdp
        endpoint = self.endpoint
        response = endpoint._make_response(self.invite, 200, self.local_tag, body=self.local_sdp,
                                           contact=True, transport=self.transport)
        self.dialog = Dialog.from_uas(self.invite, local_tag=self.local_tag,
                                      local_contact=endpoint.contact_for(self.transport),
                                      via_host=endpoint.via_host)
        endpoint._add_dialog(self)
        self._ok, self._acked = response, False
        self._ok_interval = endpoint.timers.t1
        self.answered_at = endpoint._now()
        self.outcome, self.sip_status = outcomes.ANSWERED, 200
        self._set_state(ANSWERED)
        await endpoint._respond(self._server_tx, response, self.peer)
        endpoint._schedule(self._ok_interval, self._ok_timer, response, self._ok_needed)
        endpoint._schedule(64 * endpoint.timers.t1, self._ok_timeout, response, self._ok_needed)

    async def reject(self, status: int = 486, reason: str = "",
                     headers: list[tuple[str, str]] = ()) -> None:
        """Inbound: refuse the call with a final non-2xx response (extra `headers`, e.g.
        a WWW-Authenticate challenge for a 401)."""
        self._check_inbound_unanswered()
        response = self.endpoint._make_response(self.invite, status, self.local_tag, reason=reason,
                                                headers=headers)
        self._end(outcomes.outcome_for(status), status, response.reason, by="local")
        await self.endpoint._respond(self._server_tx, response, self.peer)

    def _check_inbound_unanswered(self) -> None:
        if self.direction != "inbound":
            raise CallError("only an inbound call can be rung, answered or rejected")
        if self.state in (ANSWERED, ENDED):
            raise CallError(f"the call is already {self.state}")

    # Each 2xx has its own retransmissions and ACK timeout (the timer's argument is the
    # 2xx): a re-INVITE's 2xx starts its own, and those of the 2xx before it stop.
    def _ok_needed(self, ok: Response) -> bool:
        """Our 2xx `ok` is still the latest and still waits for its ACK."""
        return self._ok is ok and not self._acked and self.state == ANSWERED

    async def _ok_timer(self, ok: Response) -> None:
        if not self._ok_needed(ok):
            return
        await self.transport.send(ok, self.peer)
        self._ok_interval = min(2 * self._ok_interval, self.endpoint.timers.t2)
        self.endpoint._schedule(self._ok_interval, self._ok_timer, ok, self._ok_needed)

    async def _ok_timeout(self, ok: Response) -> None:
        # No ACK for our 2xx within 64*T1: the dialog is dead; say so with a BYE (§13.3.1.4).
        if self._ok_needed(ok):
            self._acked = True
            bye = self.dialog.create_request("BYE")
            self._end(outcomes.ANSWERED, 200, "no ACK", by="timeout")
            # Runs in the timer loop: start the BYE's transaction, never wait for its answer
            # here (its retransmissions and Timer F are this loop's own timers).
            await self.endpoint._start_client(bye, self.peer, self.transport)


def _ring_timeout_needed(call: Call) -> bool:
    return call.state not in (ANSWERED, ENDED) and not call.cancelled


def trying_delay(timers: TimerValues) -> float:
    """How long a task-run handler may take to answer an INVITE before we send 100 Trying:
    RFC 3261 §17.2.1's 200 ms, shrunk with T1 when tests or the simulator shrink the timers
    (at the default T1 of 500 ms it is 200 ms), so that it still reaches the caller before its
    first retransmission (Timer A, T1)."""
    return min(0.2, 0.4 * timers.t1)


def _trying_needed(entry: "_ServerEntry") -> bool:
    """The INVITE's server transaction has sent nothing yet and can still answer."""
    tx = entry.tx
    return tx.state == "proceeding" and tx.last_response is None


def _cancel_guard_needed(call: Call) -> bool:
    return call.state not in (ANSWERED, ENDED)


# Each retransmission timer and the give-up timer chained behind it (`Endpoint._start_timer`).
RETRANSMIT_TIMERS = {"A": "B", "E": "F", "G": "H"}
GIVE_UP_TIMERS = frozenset(RETRANSMIT_TIMERS.values())


def _tx_timer_needed(arg) -> bool:
    entry, name = arg
    return entry.tx.wants_timer(name)


class _ClientEntry:
    """A client transaction with its destination and its owner's callbacks."""

    __slots__ = ("tx", "address", "transport", "on_response", "on_timeout", "on_transport_error",
                 "done", "final", "retransmitting", "give_up")

    def __init__(self, tx, address, transport, on_response=None, on_timeout=None,
                 on_transport_error=None):
        self.tx = tx
        self.address = address
        self.transport = transport
        self.on_response = on_response
        self.on_timeout = on_timeout
        self.on_transport_error = on_transport_error
        self.done: trio.Event | None = None
        self.final: Response | None = None
        self.retransmitting = False         # a retransmission timer was started (UDP)
        self.give_up: float | None = None   # the give-up timer's deadline, held back


class _ServerEntry:
    __slots__ = ("tx", "address", "transport", "call", "retransmitting", "give_up")

    def __init__(self, tx, address, transport, call=None):
        self.tx = tx
        self.address = address
        self.transport = transport    # responses go back the way the request came (§18.2.2)
        self.call = call
        self.retransmitting = False   # as for _ClientEntry: Timer G started, H held back
        self.give_up: float | None = None


Handler = Callable[[Call], Awaitable[None]]


@contextlib.asynccontextmanager
async def open_endpoint(network: Network, host: str = "127.0.0.1", port: int = 0, *,
                        tcp: bool | None = None, **kwargs: Any) -> AsyncIterator["Endpoint"]:
    """Bind a socket on `network`, run an Endpoint on it until the block exits.

    tcp: also listen for SIP over TCP on the same port number (RFC 3261 §18: every SIP
    element speaks UDP and TCP) and open TCP connections to TCP trunks. None (default):
    when the network has TCP (`UdpNetwork` does, the simulator's in-memory network does
    not); False: UDP only; True: TCP required."""
    has_tcp = bool(getattr(network, "tcp", False))
    if tcp and not has_tcp:
        raise ValueError(f"{type(network).__name__} has no TCP")
    sock, listeners = await _bind(network, host, port, has_tcp if tcp is None else tcp)
    try:
        async with trio.open_nursery() as nursery:
            endpoint = Endpoint(sock, tcp_listeners=listeners, **kwargs)
            await nursery.start(endpoint.run)
            try:
                yield endpoint
            finally:
                nursery.cancel_scope.cancel()
    finally:
        sock.close()
        for listener in listeners or ():
            listener.socket.close()


async def _bind(network: Network, host: str, port: int, tcp: bool):
    """The UDP socket and, with `tcp`, TCP listeners on the same port number. With port 0
    the UDP port is picked first; if that TCP port is taken, try another pair."""
    for attempt in range(20):
        sock = await network.bind(host, port)
        if not tcp:
            return sock, None
        try:
            return sock, await trio.open_tcp_listeners(sock.local_address[1], host=host)
        except OSError as exc:
            sock.close()
            if port or attempt == 19:
                raise OSError(exc.errno, f"cannot listen for SIP over TCP on {host}:"
                                         f"{sock.local_address[1]}: {exc.strerror}") from exc


class Endpoint:
    """A SIP user agent on one datagram socket.

    handler: `async def handler(call)` for incoming INVITEs (None: refuse with 403);
        it runs in the endpoint's nursery and should ring/answer/reject the call.
    on_invite: instead of `handler`, `async def on_invite(call)` awaited in the receive
        loop itself (no task per call): it must not wait for anything but a send. It acts
        at once (ring, answer or reject) and schedules what comes later with `call_later`,
        whose callbacks run in the timer loop under the same rule (`Call.on_ended` tells it
        of the caller's hang-up, `Call.hangup_nowait` ends the call).
    allow: which sources may send us requests: None (anyone: a simulated carrier
        or phone), or a callable `(host, port) -> bool`. Others get 403.
        (The dialer's endpoint allows its trunks and registered phones.)
    on_request: optional `(request, address) -> Response | None` for requests
        outside any dialog that are not INVITE/OPTIONS (e.g. REGISTER for a registrar).
    timers: RFC 3261 T1/T2/T4 (shrink them in tests).
    contact_host: the host to put in Via/Contact (default: the socket's address).
    media_address: (host, port) advertised in default SDP offers/answers.
    """

    def __init__(self, sock, *, handler: Handler | None = None, on_invite: Handler | None = None,
                 allow: Callable[[Address], bool] | None = None,
                 on_request: Callable[[Request, Address], Response | None] | None = None,
                 timers: TimerValues = DEFAULT_TIMERS, contact_host: str | None = None,
                 user: str = "dialer", user_agent: str = "dialer",
                 media_address: tuple[str, int] | None = None,
                 tcp_listeners: list | None = None):
        self.transport = DatagramTransport(sock)
        # SIP over TCP (dialer/sip/tcp.py) when `open_endpoint` gave us listeners;
        # otherwise a stand-in whose sends fail, so a TCP trunk's calls fail over.
        self._tcp_listeners = tcp_listeners
        self.tcp = NoTcp() if tcp_listeners is None else TcpTransport(
            self._handle_stream, self._connection_lost, connect_timeout=64 * timers.t1)
        self.handler = handler
        self.on_invite = on_invite
        self.allow = allow
        self.on_request = on_request
        self.timers = timers
        host, port = self.transport.local_address
        self.host = contact_host or host
        self.port = port
        self.via_host = f"{self.host}:{port}"
        self.contact = f"<sip:{user}@{self.host}:{port}>"
        self.tcp_contact = f"<sip:{user}@{self.host}:{port};transport=tcp>"
        self.user_agent = user_agent
        self.media_address = media_address or (self.host, 10000)
        self.stats = {"calls_out": 0, "calls_in": 0, "refused_sources": 0, "unknown_dialog": 0,
                      "internal_errors": 0, "dropped": 0}
        self._clients: dict[tuple[str, str], _ClientEntry] = {}
        self._servers: dict[tuple[str, str], _ServerEntry] = {}
        self._dialogs: dict[tuple[str, str], Call] = {}     # (Call-ID, our tag) -> call
        self._timers = TimerQueue()
        self._now = clock_reading()  # reads trio's clock, one call deep
        self._nursery: trio.Nursery | None = None

    @property
    def local_address(self) -> Address:
        return self.transport.local_address

    @property
    def active_calls(self) -> int:
        return len(self._dialogs)

    def transport_named(self, name: str):
        """Our transport for a trunk's `transport` setting ("udp" or "tcp")."""
        return self.tcp if name.lower() == "tcp" else self.transport

    def contact_for(self, transport) -> str:
        return self.tcp_contact if transport is self.tcp else self.contact

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        """Serve the socket and the timers until cancelled."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._timer_loop)
                if isinstance(self.tcp, TcpTransport):
                    self.tcp.start(nursery, self._tcp_listeners)
                task_status.started()
                await self._receive_loop()
        finally:
            # Pending timers and transactions hold calls, and calls hold the endpoint: left
            # as they are, a stopped endpoint is one big reference cycle that only a full
            # collection frees, later and in one long pause (measured: 1.4 s for ~30,000
            # recent calls, in the middle of the next benchmark run). Break it now.
            self._timers.clear()
            self._clients.clear()
            for entry in self._servers.values():
                entry.call = None  # the call holds its entry too (call._server_tx)
            self._servers.clear()
            self._dialogs.clear()

    # --- timers ----------------------------------------------------------------------------

    def _schedule(self, delay: float, fn: Callable[[Any], Awaitable[None]], arg: Any,
                  needed: Callable[[Any], bool] | None = None) -> None:
        self._timers.schedule(delay, fn, arg, needed)

    def call_later(self, delay: float, fn: Callable[[Any], Awaitable[None]], arg: Any,
                   needed: Callable[[Any], bool] | None = None) -> None:
        """`await fn(arg)` in the timer loop `delay` seconds from now, unless `needed(arg)`
        is False by then (it must stay False once False). `fn` must not wait for anything
        but a send: it holds up every timer of the endpoint while it runs."""
        self._timers.schedule(delay, fn, arg, needed)

    def _start_timer(self, event: StartTimer, fn: Callable[[Any], Awaitable[None]], entry,
                     linger_over: Callable[[Any], None]) -> None:
        """A transaction's timer: a linger timer may fire late, the others are dropped
        once the transaction no longer wants them.

        A give-up timer (B, F, H) started beside its retransmission timer (A, E, G: UDP) is
        held back on the entry and put in the heap only when the retransmissions reach its
        deadline: the two apply in exactly the same states, so it fires when it would
        have, and the usual transaction, answered before its first retransmission, never
        puts it in the heap (nor drops it from there unfired)."""
        name = event.name
        if name in LINGER_TIMERS:
            self._timers.schedule_linger(event.delay, linger_over, (entry, name))
            return
        deadline = self._now() + event.delay
        if name in GIVE_UP_TIMERS:
            if entry.retransmitting:
                entry.give_up = deadline
                return
        elif name in RETRANSMIT_TIMERS:
            entry.retransmitting = True
            give_up = entry.give_up
            if give_up is not None and deadline >= give_up:
                # The give-up timer comes first (or with it, and first: it was started
                # first), ends the transaction and with it the retransmissions.
                entry.give_up = None
                self._timers.schedule_at(give_up, fn, (entry, RETRANSMIT_TIMERS[name]),
                                         _tx_timer_needed)
                return
        self._timers.schedule_at(deadline, fn, (entry, name), _tx_timer_needed)

    def _timer_error(self) -> None:
        self.stats["internal_errors"] += 1
        log.exception("SIP timer handler failed")

    async def _timer_loop(self) -> None:
        # After a stall (CPU contention, a long collection) both this loop and the receive
        # loop are due; the timers handle what is queued first, or Timer A/E would
        # retransmit requests whose answers are waiting (and a retransmitted INVITE
        # crossing the 200 makes some peers, sipp's UAS among them, abort).
        await self._timers.serve(lambda: self._receive_queued(RECEIVE_SLICE * 16), self._timer_error)

    # --- client transactions ---------------------------------------------------------------

    async def _start_client(self, request: Request, address: Address, transport=None,
                            on_response=None, on_timeout=None,
                            on_transport_error=None) -> _ClientEntry:
        transport = transport or self.transport
        cls = ClientInviteTransaction if request.method == "INVITE" else ClientNonInviteTransaction
        tx = cls(request, reliable=transport.reliable, timers=self.timers)
        entry = _ClientEntry(tx, address, transport, on_response, on_timeout, on_transport_error)
        self._clients[(tx.branch, request.method)] = entry
        await self._client_events(entry, tx.start())
        return entry

    async def _client_events(self, entry: _ClientEntry, events: list) -> None:
        for event in events:
            if isinstance(event, Send):
                if not await entry.transport.send(event.message, entry.address):
                    await self._client_events(entry, entry.tx.transport_failed())
            elif isinstance(event, StartTimer):
                self._start_timer(event, self._client_timer, entry, self._client_linger_over)
            elif isinstance(event, Deliver):
                if event.response.status >= 200:
                    entry.final = event.response
                    if entry.done is not None:
                        entry.done.set()
                if entry.on_response is not None:
                    await entry.on_response(event.response)
            elif isinstance(event, Terminated):   # (before the rare ones: every transaction ends)
                self._forget_client(entry)
            elif isinstance(event, TimedOut):
                if entry.done is not None:
                    entry.done.set()
                if entry.on_timeout is not None:
                    await entry.on_timeout()
            elif isinstance(event, TransportFailed):
                if entry.done is not None:
                    entry.done.set()
                if entry.on_transport_error is not None:
                    await entry.on_transport_error()

    async def _connection_lost(self, address: Address) -> None:
        """A TCP connection broke or was closed: the transactions that went over it end
        with a transport error (a call still waiting for its answer fails, next trunk)."""
        for entry in [e for e in self._clients.values()
                      if e.transport is self.tcp and e.address == address]:
            await self._client_events(entry, entry.tx.transport_failed())
        for entry in [e for e in self._servers.values()
                      if e.transport is self.tcp and e.address == address]:
            await self._server_events(entry, entry.tx.transport_failed())

    async def _client_timer(self, arg) -> None:
        entry, name = arg
        await self._client_events(entry, entry.tx.timer_fired(name))

    # A linger timer's only event is Terminated (`LINGER_TIMERS`): it is acted on here, in a
    # plain call (the timer queue calls linger functions synchronously).

    def _client_linger_over(self, arg) -> None:
        entry, name = arg
        if entry.tx.timer_fired(name):
            self._forget_client(entry)

    def _server_linger_over(self, arg) -> None:
        entry, name = arg
        if entry.tx.timer_fired(name):
            self._forget_server(entry)

    def _forget_client(self, entry: _ClientEntry) -> None:
        key = (entry.tx.branch, entry.tx.request.method)
        if self._clients.get(key) is entry:
            del self._clients[key]

    def _forget_server(self, entry: _ServerEntry) -> None:
        key = (entry.tx.branch or "", entry.tx.request.method)
        if self._servers.get(key) is entry:
            del self._servers[key]
        entry.call = None  # no cycle with call._server_tx once the transaction is over

    async def _request(self, request: Request, address: Address,
                       transport=None) -> Response | None:
        """Send a non-INVITE request in a client transaction; return its final response
        (None on timeout or transport error)."""
        entry = await self._start_client(request, address, transport)
        if entry.final is None:
            entry.done = trio.Event()
            await entry.done.wait()
        return entry.final

    def _base_request(self, method: str, uri: str, to: str, *, from_user: str | None = None,
                      display: str | None = None, transport=None) -> Request:
        h = Headers()
        name = (transport or self.transport).name
        branch, tag, call_id = new_branch(), new_tag(), new_call_id(self.host)
        h.add("Via", f"SIP/2.0/{name} {self.via_host};branch={branch};rport")
        h.add("Max-Forwards", "70")
        user = from_user or "dialer"
        name = f'"{display}" ' if display else ""
        h.add("From", f"{name}<sip:{user}@{self.host}>;tag={tag}")
        h.add("To", to)
        h.add("Call-ID", call_id)
        h.add("CSeq", f"1 {method}")
        h.add("User-Agent", self.user_agent)
        request = Request(method, uri, h, b"", index=False)
        # `to` never has a tag here. Callers that change From, To, Via, Call-ID or CSeq
        # afterwards index again (`_index(full=False)`).
        request._known_index(call_id, 1, tag, None, branch)
        return request

    async def options(self, address: Address, *, timeout: float | None = None,
                      transport: str = "udp") -> int | None:
        """Send OPTIONS (keep-alive) over `transport` ("udp"/"tcp"); return the final
        status or None on timeout or transport error."""
        host, port = address
        via = self.transport_named(transport)
        params = ";transport=tcp" if via is self.tcp else ""
        request = self._base_request("OPTIONS", f"sip:{host}:{port}{params}",
                                     f"<sip:{host}:{port}{params}>", transport=via)
        request.headers.add("Accept", "application/sdp")
        request._index(full=False)
        response = await self._request(request, address, via)
        return response.status if response is not None else None

    async def register(self, trunk: Trunk, *, expires: int = 300) -> int | None:
        """REGISTER our Contact with a trunk (answering a digest challenge once)."""
        user = trunk.username or "dialer"
        aor = f"<sip:{user}@{trunk.host}>"
        via = self.transport_named(trunk.transport)
        uri = f"sip:{trunk.host}:{trunk.port}" + (";transport=tcp" if via is self.tcp else "")
        request = self._base_request("REGISTER", uri, aor, from_user=user, transport=via)
        request.headers.set("From", f"{aor};tag={new_tag()}")
        request.headers.add("Contact", self.contact_for(via))
        request.headers.add("Expires", str(expires))
        request._index(full=False)
        response = await self._request(request, trunk.address, via)
        creds = trunk.credentials
        if response is not None and response.status in (401, 407) and creds:
            client = DigestClient(*creds)
            retry = self._next_request(request)
            retry.headers.add(*client.authorization(response, retry))
            retry._index(full=False)
            response = await self._request(retry, trunk.address, via)
        return response.status if response is not None else None

    @staticmethod
    def _next_request(previous: Request) -> Request:
        """The same request again with CSeq + 1 and a new branch (auth retries)."""
        h = Headers()
        for name, value in previous.headers:
            if name == "Via":
                value = value.split(";branch=")[0] + f";branch={new_branch()};rport"
            elif name == "CSeq":
                value = f"{previous.cseq + 1} {previous.method}"
            elif name in ("Authorization", "Proxy-Authorization"):
                continue
            h.add(name, value)
        return Request(previous.method, previous.uri, h, previous.body, index=False)

    # --- placing calls ---------------------------------------------------------------------

    async def dial(self, trunk: Trunk | str | Address, number: str, *, caller_id: str | None = None,
                   ring_timeout: float = 30.0, sdp: bytes | None = None,
                   headers: list[tuple[str, str]] = (),
                   credentials: tuple[str, str] | None = None) -> Call:
        """Place a call to `number` through `trunk`; return the Call once the INVITE is sent.

        trunk: a `Trunk` (its channel limit and CPS bucket are waited for here, its number
            rewriting and caller ID applied), a `"sip:HOST:PORT"` string or a (host, port).
        caller_id: the calling number for From and P-Asserted-Identity (default: trunk's).
        ring_timeout: seconds from now until we CANCEL an unanswered call.
        sdp: our offer (default: PCMU/PCMA/telephone-event at `media_address`).
        headers: extra headers for the INVITE (e.g. X-Campaign).
        credentials: (user, password) for digest challenges (default: the trunk's).
        """
        if not isinstance(trunk, Trunk):
            trunk = Trunk.from_uri(trunk) if isinstance(trunk, str) else Trunk("direct", *trunk)
        await trunk.acquire()
        transport = self.transport_named(trunk.transport)
        call = Call(self, "outbound", trunk.address, transport)
        try:
            call.trunk, call.number = trunk, number
            caller = caller_id or trunk.caller_id
            host, port = trunk.address
            target = trunk.format_number(number)
            invite = self._base_request(
                "INVITE", trunk.request_uri(number),
                f"<sip:{target}@{host}{'' if port == 5060 else f':{port}'}>",
                from_user=caller or "anonymous", transport=transport)
            h = invite.headers
            h.add("Contact", self.contact_for(transport))
            h.add("Allow", ALLOW)
            if caller:
                h.add("P-Asserted-Identity", f"<sip:{caller}@{self.host}>")
            names_matching_field = False
            for name, value in headers:
                h.add(name, value)
                if canonical_name(name) in MATCHING_HEADERS:
                    names_matching_field = True
            if sdp is None:
                sdp = offer_bytes(*self.media_address)
            call.local_sdp = sdp
            if sdp:
                h.add("Content-Type", "application/sdp")
                invite.body = sdp
            if names_matching_field:  # e.g. a Call-ID of the caller's: read them back
                invite._index(full=False)
            creds = credentials or trunk.credentials
            call._auth = DigestClient(*creds) if creds else None
            call.invite = invite
            call.call_id, call.local_tag = invite.call_id, invite.from_tag
            self._dialogs[(call.call_id, call.local_tag)] = call
            self.stats["calls_out"] += 1
            self._schedule(ring_timeout, self._ring_timeout, call, _ring_timeout_needed)
            await self._send_invite(call, invite)
        except BaseException:
            if self._dialogs.pop((call.call_id, call.local_tag), None) is None:
                trunk.release()
            else:
                call._end(outcomes.FAILED, None, "dial interrupted", by="local")
            raise
        return call

    async def _send_invite(self, call: Call, invite: Request) -> None:
        async def on_response(response: Response) -> None:
            await self._invite_response(call, response)

        async def on_timeout() -> None:
            # Timer B fires only before any provisional response: the trunk never answered.
            call.transport_timeout = True
            call._end(outcomes.FAILED, outcomes.TRANSPORT_TIMEOUT, "transport timeout",
                      by="timeout")

        async def on_transport_error() -> None:
            # Could not connect or send, or the connection broke before the final
            # response: a 503 for us (§8.1.3.1), so the next trunk is tried.
            call.transport_error = True
            if call.state == ENDED:
                return
            call._ack_then_bye = True  # should a 200 still come another way, take it down
            call._end(outcomes.FAILED, outcomes.TRANSPORT_ERROR,
                      f"transport error ({call.transport.name})", by="timeout")

        call.invite = invite
        await self._start_client(invite, call.peer, call.transport, on_response, on_timeout,
                                 on_transport_error)

    async def _invite_response(self, call: Call, response: Response) -> None:
        status = response.status
        if status < 200:
            if call.state in (ENDED, ANSWERED):
                return  # a late provisional (reordered behind the 200): nothing to do
            if response.to_tag and call.dialog is None:
                call.dialog = Dialog.from_uac(call.invite, response, via_host=self.via_host)
            if status == 100:
                call._set_state(TRYING)
            elif response.body and call.state != EARLY_MEDIA:
                call.remote_sdp = response.body
                call._set_state(EARLY_MEDIA)
            elif status != 100 and call.state in (CALLING, TRYING):
                call._set_state(RINGING)
            if call._cancel_when_provisional:
                call._cancel_when_provisional = False
                await self._send_cancel(call)
            return
        if status < 300:
            await self._invite_ok(call, response)
            return
        if status in (401, 407) and call._auth is not None and call.state != ENDED \
                and not call.cancelled and call._auth.should_retry(response):
            retry = self._next_request(call.invite)
            try:
                retry.headers.add(*call._auth.authorization(response, retry))
                retry._index(full=False)
            except (SipParseError, ValueError):
                pass
            else:
                await self._send_invite(call, retry)
                return
        reason = response.reason
        if status == 487 and call.cancelled:
            reason = "ring timeout" if call.ended_by is None else reason
        call._end(outcomes.outcome_for(status), status, reason,
                  by="local" if call.cancelled else "remote")

    async def _invite_ok(self, call: Call, response: Response) -> None:
        if call._ack is not None and response.to_tag == call.dialog.remote_tag:
            await call.transport.send(call._ack, call.peer)  # 2xx retransmitted: ACK again
            return
        if call.dialog is None or call.dialog.remote_tag != response.to_tag:
            call.dialog = Dialog.from_uac(call.invite, response, via_host=self.via_host)
        else:
            call.dialog.confirm(response)
        call._ack = call.dialog.ack(call.invite.cseq)
        await call.transport.send(call._ack, call.peer)
        if call.state == ENDED or call._ack_then_bye:
            # The 200 crossed our CANCEL (or came after we gave up): take it down. This runs
            # in the receive loop, which is the only reader of the BYE's answer: start the
            # transaction and go on (waiting here stalled every call until Timer F, 32 s).
            await self._start_client(call.dialog.create_request("BYE"), call.peer, call.transport)
            return
        call.answered_at = self._now()
        call.outcome, call.sip_status, call.reason = outcomes.ANSWERED, response.status, "answered"
        if response.body:
            call.remote_sdp = response.body
        call._set_state(ANSWERED)

    async def _ring_timeout(self, call: Call) -> None:
        if call.state in (ANSWERED, ENDED) or call.cancelled:
            return
        call.reason = "ring timeout"
        if call.state == CALLING:
            # No provisional response yet: RFC 3261 §9.1 says wait for one before CANCEL.
            call.cancelled = True
            call._cancel_when_provisional = True
            return
        await self._send_cancel(call)

    async def _cancel(self, call: Call) -> None:
        if call.state in (ANSWERED, ENDED) or call.cancelled:
            return
        if call.state == CALLING:
            call.cancelled = True
            call._cancel_when_provisional = True
            return
        call.reason = call.reason or "cancelled"
        await self._send_cancel(call)

    async def _send_cancel(self, call: Call) -> None:
        call.cancelled = True
        invite = call.invite
        h = Headers()
        h.add("Via", invite.headers.get_all("Via")[0])
        for route in invite.headers.get_lines("Route"):
            h.add("Route", route)
        h.add("Max-Forwards", "70")
        h.add("From", invite.headers.get("From"))
        h.add("To", invite.headers.get("To"))
        h.add("Call-ID", invite.call_id)
        h.add("CSeq", f"{invite.cseq} CANCEL")
        cancel = Request("CANCEL", invite.uri, h, index=False)
        cancel._known_index(invite.call_id, invite.cseq, invite.from_tag, invite.to_tag,
                            invite.branch)
        await self._start_client(cancel, call.peer, call.transport)
        # If no final response to the INVITE follows, end the call anyway (§9.1: 64*T1).
        self._schedule(64 * self.timers.t1, self._cancel_guard, call, _cancel_guard_needed)

    async def _cancel_guard(self, call: Call) -> None:
        if call.state not in (ENDED, ANSWERED):
            call._ack_then_bye = True
            call._end(outcomes.NO_ANSWER, 487, "no answer (CANCEL unanswered)", by="timeout")

    async def _invite_in_dialog(self, call: Call, request: Request) -> Response | None:
        result: list[Response] = []
        done = trio.Event()

        async def on_response(response: Response) -> None:
            if response.status >= 200 and not result:
                result.append(response)
                if response.status < 300:
                    await call.transport.send(call.dialog.ack(request.cseq), call.peer)
                done.set()
            elif 200 <= response.status < 300:
                await call.transport.send(call.dialog.ack(request.cseq), call.peer)

        async def on_timeout() -> None:
            done.set()

        await self._start_client(request, call.peer, call.transport, on_response, on_timeout,
                                 on_timeout)
        await done.wait()
        return result[0] if result else None

    def _forget_call(self, call: Call) -> None:
        self._dialogs.pop((call.call_id, call.local_tag), None)
        if call.trunk is not None and call.direction == "outbound":
            call.trunk.release()
            call.trunk.record(call)

    def _add_dialog(self, call: Call) -> None:
        self._dialogs[(call.call_id, call.local_tag)] = call

    # --- receiving -------------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        transport = self.transport
        timers = self._timers
        handle = self._handle
        while True:
            message, address = await transport.receive()  # waits; a checkpoint
            # Linger timers may fire late, but never after a message that could meet their
            # transaction.
            timers.fire_lingers_due(self._timer_error)
            await handle(message, address)
            # Every datagram already waiting is taken in this wake-up, but at most
            # RECEIVE_SLICE before the next `receive()` lets the timers and calls run.
            # Nothing is read ahead: a datagram is read only when it is handled next.
            # (Usually none is waiting: that is found out here, without another coroutine.)
            got = transport.receive_nowait()
            if got is not None:
                await handle(*got)
                await self._receive_queued(RECEIVE_SLICE - 2)
            # The usual moment timers become moot (an answer stops Timer A): drop them
            # now rather than wake for them.
            timers.settle()

    async def _handle_stream(self, message, address: Address, transport) -> None:
        """One message from a stream (TCP) connection."""
        self._timers.fire_lingers_due(self._timer_error)
        await self._handle(message, address, transport)

    async def _receive_queued(self, limit: int) -> None:
        """Handle up to `limit` datagrams already waiting in the socket, without waiting."""
        transport = self.transport
        for _ in range(limit):
            got = transport.receive_nowait()
            if got is None:
                return
            await self._handle(*got)

    async def _handle(self, message, address: Address, transport=None) -> None:
        """One message from `address`, received over `transport` (default: UDP). Callers
        first fire the linger timers due (`TimerQueue.fire_lingers_due`), once per instant."""
        try:
            if isinstance(message, Response):
                # (`_on_response` inline: half of all messages, one coroutine less each)
                entry = self._clients.get((message.branch or "", message.cseq_method))
                if entry is None:
                    self.stats["dropped"] += 1
                else:
                    await self._client_events(entry, entry.tx.receive_response(message))
            elif isinstance(message, Request):
                await self._on_request(message, address, transport or self.transport)
            else:
                self.stats["dropped"] += 1  # unparseable: nothing safe to answer to
        except (SipParseError, DialogError, SdpError, LocalProtocolError, ValueError) as exc:
            self.stats["dropped"] += 1
            log.debug("dropped a message from %s: %s", address, exc)
        except Exception:  # the peer must never crash the endpoint
            self.stats["internal_errors"] += 1
            log.exception("SIP message handling failed")

    async def _on_request(self, request: Request, address: Address, transport) -> None:
        method = request.method
        if self.allow is not None and not self.allow(address):
            self.stats["refused_sources"] += 1
            if method != "ACK":
                await transport.send(make_response(request, 403), address)
            return
        key = (request.branch or "", "INVITE" if method == "ACK" else method)
        server = self._servers.get(key)
        if server is not None and not (method == "ACK" and server.tx.state == "accepted"):
            # A retransmission, or the ACK for our non-2xx: the transaction absorbs it.
            # (An ACK for our 2xx that reuses the INVITE's branch goes on to its dialog.)
            await self._server_events(server, server.tx.receive_request(request))
            return
        if method == "ACK":
            call = self._dialogs.get((request.call_id, request.to_tag or ""))
            if call is not None and not call._acked:
                call._acked = True
                if request.body:
                    call.remote_sdp = request.body
            return
        if method == "CANCEL":
            await self._on_cancel(request, address, transport)
            return
        if request.to_tag:
            await self._in_dialog(request, address, transport)
            return
        if method == "INVITE":
            await self._on_invite(request, address, transport)
        elif method == "OPTIONS":
            await self._reply(request, address, transport, 200,
                              headers=[("Allow", ALLOW), ("Accept", "application/sdp")])
        else:
            response = self.on_request(request, address) if self.on_request else None
            if response is None:
                response = make_response(request, 405 if method != "BYE" else 481,
                                         headers=[("Allow", ALLOW)])
            await self._reply_with(request, address, transport, response)

    async def _reply(self, request: Request, address: Address, transport, status: int,
                     **kwargs) -> None:
        await self._reply_with(request, address, transport,
                               make_response(request, status, **kwargs))

    async def _reply_with(self, request: Request, address: Address, transport,
                          response: Response) -> None:
        tx = server_transaction_for(request, reliable=transport.reliable, timers=self.timers)
        entry = _ServerEntry(tx, address, transport)
        self._servers[(tx.branch or "", request.method)] = entry
        await self._server_events(entry, tx.send_response(response))

    async def _respond(self, entry: _ServerEntry, response: Response, address: Address) -> None:
        await self._server_events(entry, entry.tx.send_response(response))

    async def _server_events(self, entry: _ServerEntry, events: list) -> None:
        for event in events:
            if isinstance(event, Send):
                await entry.transport.send(event.message, entry.address)
            elif isinstance(event, StartTimer):
                self._start_timer(event, self._server_timer, entry, self._server_linger_over)
            elif isinstance(event, Terminated):
                self._forget_server(entry)
            elif isinstance(event, TimedOut) and entry.call is not None:
                pass  # no ACK for our non-2xx final response: the call already ended

    async def _server_timer(self, arg) -> None:
        entry, name = arg
        await self._server_events(entry, entry.tx.timer_fired(name))

    def _make_response(self, request: Request, status: int, to_tag: str, *, body: bytes = b"",
                       reason: str = "", contact: bool = False,
                       headers: list[tuple[str, str]] = (), transport=None) -> Response:
        headers = list(headers)
        if contact or 100 < status < 300:
            headers.append(("Contact", self.contact_for(transport or self.transport)))
        if body:
            headers.append(("Content-Type", "application/sdp"))
        return make_response(request, status, reason, to_tag=to_tag, headers=headers, body=body)

    async def _on_invite(self, request: Request, address: Address, transport) -> None:
        if self.handler is None and self.on_invite is None:
            await self._reply(request, address, transport, 403, reason="Calls Not Accepted")
            return
        contacts = request.headers.get_all("Contact")
        if not contacts:
            await self._reply(request, address, transport, 400, reason="Missing Contact")
            return
        if plain_uri_text(contacts[0]) is None:  # a plain one is certainly valid
            parse_name_addr(contacts[0])  # a bad Contact is a 400-worthy drop
        tx = server_transaction_for(request, reliable=transport.reliable, timers=self.timers)
        call = Call(self, "inbound", address, transport)
        call.invite, call.call_id, call.local_tag = request, request.call_id, new_tag()
        call.remote_sdp = request.body or None
        call.local_sdp = b""
        call._server_tx = entry = _ServerEntry(tx, address, transport, call)
        self._servers[(tx.branch or "", "INVITE")] = entry
        self._dialogs[(call.call_id, call.local_tag)] = call
        self.stats["calls_in"] += 1
        # RFC 3261 §17.2.1: the server transaction sends 100 Trying only if the TU will not
        # answer within 200 ms; a provisional or final response stops the caller's Timer A
        # just as well, and a 100 sent before it is a message per call for nothing.
        if self.on_invite is not None:
            # It acts at once or schedules what comes later: if it sent nothing, its answer
            # comes from a timer, so the 100 goes now.
            await self._run_on_invite(call)
            if _trying_needed(entry):
                await self._send_trying(entry)
        else:
            # A task: we cannot know when it will answer. The 100 goes if it has not by then
            # (dropped unfired if it has).
            self._schedule(trying_delay(self.timers), self._send_trying, entry, _trying_needed)
            self._nursery.start_soon(self._run_handler, call)

    async def _send_trying(self, entry: _ServerEntry) -> None:
        if _trying_needed(entry):
            await self._server_events(entry, entry.tx.send_response(
                make_response(entry.tx.request, 100)))

    async def _run_on_invite(self, call: Call) -> None:
        try:
            await self.on_invite(call)
        except Exception:
            self.stats["internal_errors"] += 1
            log.exception("SIP call handler failed")
            if call.state not in (ANSWERED, ENDED):
                await call.reject(500)

    async def _run_handler(self, call: Call) -> None:
        try:
            await self.handler(call)
        except CallError:
            if call.state != ENDED:
                raise
            return  # the caller CANCELled while the handler was about to ring or answer
        except Exception:
            self.stats["internal_errors"] += 1
            log.exception("SIP call handler failed")
            if call.state not in (ANSWERED, ENDED):
                await call.reject(500)
            return
        if call.state not in (ANSWERED, ENDED):
            await call.reject(480)

    async def _on_cancel(self, request: Request, address: Address, transport) -> None:
        server = self._servers.get((request.branch or "", "INVITE"))
        if server is None or server.call is None:
            await self._reply(request, address, transport, 481)
            return
        await self._reply(request, address, transport, 200)
        call = server.call
        if call.state not in (ANSWERED, ENDED):
            call.cancelled = True
            response = self._make_response(call.invite, 487, call.local_tag)
            call._end(outcomes.NO_ANSWER, 487, "cancelled by caller", by="remote")
            await self._server_events(server, server.tx.send_response(response))

    async def _in_dialog(self, request: Request, address: Address, transport) -> None:
        call = self._dialogs.get((request.call_id, request.to_tag or ""))
        if call is None or call.dialog is None:
            self.stats["unknown_dialog"] += 1
            await self._reply(request, address, transport, 481)
            return
        try:
            call.dialog.check_request(request)
        except DialogError as exc:
            await self._reply(request, address, transport, exc.status, reason=str(exc))
            return
        method = request.method
        if method == "BYE":
            await self._reply(request, address, transport, 200)
            call._end(outcomes.ANSWERED, call.sip_status, "BYE received", by="remote")
        elif method == "INVITE":
            answer = call.local_sdp
            if call.on_reinvite is not None and request.body:
                answer = call.on_reinvite(call, request.body)
            if request.body:
                call.remote_sdp = request.body
            response = self._make_response(request, 200, call.local_tag, body=answer, contact=True,
                                           transport=transport)
            call.local_sdp = answer
            # The re-INVITE's 2xx is retransmitted until the ACK like the first one.
            call._ok, call._acked = response, False
            call._ok_interval = self.timers.t1
            await self._reply_with(request, address, transport, response)
            self._schedule(call._ok_interval, call._ok_timer, response, call._ok_needed)
        elif method in ("INFO", "UPDATE", "NOTIFY"):
            await self._reply(request, address, transport, 200)
        else:
            await self._reply(request, address, transport, 501)


Call._ack_then_bye = False  # class default; set on calls we gave up on before their 200
