"""The campaign runner: hopper → pacer → calls → outcome + the lead's next state.

One runner per active campaign, each in the engine's nursery:

    loop:  snapshot ─▶ pacer.decide ─▶ k ─▶ hopper.take(k) ─▶ attempt rows (ONE unit of work)
           ─▶ k INVITEs, sent from the round (each only after its row is stored)
    call:  dial ─▶ ringing ─▶ ended without answer ─▶ outcome
                          └─▶ answered ─▶ machine? hang up
                                        └─▶ live: reserve the longest-idle ready operator within
                                            2 s of the answer ─▶ bridge ─▶ talk ─▶ operator wraps
                                            none in time ─▶ hang up, `abandoned`
           each ending is queued to the journal, which stores batches (attempt closed + lead moved
           on in one transaction).

A call is not a task: the placer tells its `_Live` (a `Watch`) the call's fate synchronously
(the SIP call's `on_fate` hook, from the endpoint's receive loop), and most calls, never
answered, are recorded right there. A task runs only what must wait: an answered call's
bridge and talk (or a machine's hang-up), and an INVITE held back by a full trunk.

The runner wakes on every change that may free a line or an operator (a call resolved, an
operator ready) and at least every `pacer.tick` seconds. `stop()` stops new dials; `run`
then waits for live calls up to `drain_timeout`, hangs up the rest and records them
(calls cut while still ringing are recorded `unknown`: the number did nothing wrong, and a
cut ring is not a no-answer).

Everything here takes time from trio (and the injected `Clock` for datetimes), so it runs
under MockClock with the simulator's in-memory network.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Awaitable, Callable, Protocol

import trio

from .compat import (AttemptEnd, AttemptStart, CallResolved, LiveAnswerSettled, Snapshot, TalkEnded,
                     WrapEnded)
from dialer.store.launch import recheck_and_start
from dialer.store.leases import release_leads

from .desk_counts import DeskCounts
from .operators import CallInfo, OperatorDesk, OperatorState
from .round_wake import RoundWake

log = logging.getLogger("dialer.engine")

ABANDON_AFTER = 2.0
# SIP outcomes the attempt table does not know map to ones it does.
OUTCOME_ALIASES = {"codec_mismatch": "failed"}
PACER_RESULTS = {"busy", "no_answer", "invalid", "failed", "rejected"}


class PlacedCall(Protocol):
    state: str                        # "answered" once answered (until it ends)
    outcome: str | None
    sip_status: int | None

    async def wait_answered(self) -> bool: ...
    async def wait_ended(self) -> str: ...
    async def hangup(self) -> None: ...


class Watch(Protocol):
    """What a placer tells of one call (the runner's `_Live`; `dialer.sip.trunk.Watch`)."""

    call: PlacedCall | None           # each leg as its INVITE leaves (what a cut hangs up)

    def fated(self, call: PlacedCall) -> None: ...      # answered or ended: once, synchronously
    def spawn(self, fn: Callable[[], Awaitable[None]]) -> None: ...   # what must wait, in a task


class CallPlacer(Protocol):
    async def place(self, number: str, watch: Watch, *, caller_id: str | None, ring_timeout: float,
                    headers: list[tuple[str, str]]) -> None: ...


class DialingPlacer:
    """A placer with only `async dial(...) -> PlacedCall` (the scripted placers of the tests) as a
    `CallPlacer`: a task dials and waits for the fate, as every call did before `place`."""

    def __init__(self, placer):
        self.placer = placer

    async def place(self, number, watch, **kwargs) -> None:
        async def dial_and_wait() -> None:
            call = watch.call = await self.placer.dial(number, **kwargs)
            await call.wait_answered()
            watch.fated(call)

        watch.spawn(dial_and_wait)


class DeskBridge:
    """Bridging when operators have no phone leg (desk-only simulated operators, benches):
    the operator is 'connected' on reservation and the talk lasts until the called party
    hangs up. The SIP bridge (`dialer/engine/bridge.py`) has the same two methods."""

    async def connect(self, call, operator, deadline: float):
        return call

    async def talk(self, call, leg) -> None:
        await call.wait_ended()


@dataclasses.dataclass
class RunnerSettings:
    node: str
    ring_timeout: float = 25.0
    abandon_after: float = ABANDON_AFTER
    caller_id: str | None = None
    hangup_answered: bool = False     # bench mode: answered calls hang up at once, no operators
    drain_timeout: float = 30.0
    max_launch: int = 200             # calls launched in one round at most
    max_in_flight: int = 2000         # calls in flight at most (bench mode's only limit)
    round_gap: float = 0.02           # seconds between launch rounds at least (batching)
    preview_timeout: float = 60.0     # seconds an operator may look at a previewed lead
    preview_timeout_action: str = "skip"   # "skip" (nothing dialed without a decision) or "dial"


@dataclasses.dataclass(slots=True)
class _Live:
    """One call in flight, and the placer's `Watch` of it."""
    runner: "CampaignRunner"
    nursery: trio.Nursery             # where its tasks run (the calls' nursery: the drain cuts it)
    lead: Any
    attempt_id: int
    launched: float
    call: Any = None
    answered: float | None = None
    answered_at: Any = None           # the clock's datetime of the answer
    outcome: str = "failed"           # what is recorded if its task fails (a machine's hang-up)
    operator: Any = None              # preview: the operator who chose to dial; callback: its owner
    owned: bool = False               # an owned callback (a machine is not put through to the owner)
    tasks: int = 0                    # its tasks running (placing it, talking): they record on a cut
    cut: bool = False                 # the drain is cutting it: its fate is the cut's to record
    done: bool = False                # forgotten (recorded, or dropped by a teardown)
    over: trio.Event | None = None    # set when forgotten, for a task that holds its nursery open

    def fated(self, call) -> None:
        self.runner._fated(self, call)

    def spawn(self, fn: Callable[[], Awaitable[None]]) -> None:
        if self.cut or self.done:    # e.g. a failover after the cut's CANCEL: nothing more to do
            return
        self.tasks += 1
        self.nursery.start_soon(self.runner._in_task, self, fn)


@dataclasses.dataclass
class _Preview:
    lead: Any
    operator: Any
    timer: trio.CancelScope


class CampaignRunner:
    def __init__(self, campaign: dict, *, clock, journal, hopper, pacer, placer: CallPlacer,
                 desk: OperatorDesk, settings: RunnerSettings, metrics=None, bridge=None,
                 classify: Callable[[Any], str] | None = None):
        self.campaign = campaign
        self.campaign_id = campaign["id"]
        self.name = campaign["name"]
        self.clock, self.journal, self.hopper, self.pacer = clock, journal, hopper, pacer
        self.placer = placer if placer is None or hasattr(placer, "place") else DialingPlacer(placer)
        self.desk, self.settings = desk, settings
        self.metrics, self.bridge = metrics, bridge or DeskBridge()
        self.classify = classify or (lambda call: "live")
        self.stats: dict[str, int] = {}
        self._live: dict[int, _Live] = {}
        self._leads_in_flight: set[int] = set()
        self._ringing: dict[int, float] = {}
        self._waiting = 0
        self._machines = 0
        self._stopping = False
        self._wake = RoundWake(settings.round_gap)
        self._nursery: trio.Nursery | None = None     # lease upkeep and preview timers
        self._calls: trio.Nursery | None = None       # the call tasks, and only them
        self._cutting = False                         # the drain ran out: live calls are cut
        self._previews: dict[int, _Preview] = {}
        self._counts = DeskCounts(desk, self.campaign_id)
        self._gauges: dict[str, Any] = {}     # this campaign's labelled gauges, by metric name
        desk.listeners.append(self._counts.moved)
        desk.listeners.append(self._operator_moved)

    # ---- control ------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop launching; live calls finish (up to the drain timeout)."""
        self._stopping = True
        self._wake.set()

    def in_flight(self) -> int:
        return len(self._live)

    def wake(self) -> None:
        self._wake.set()

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as side:
            self._nursery = side
            upkeep = trio.CancelScope()
            if hasattr(self.hopper, "run"):
                # Lease renewal for leads waiting or in calls: a long call never loses its lease.
                async def keep_hopper():
                    with upkeep:
                        await self.hopper.run()
                side.start_soon(keep_hopper)
            try:
                # The calls have a nursery of their own, so that the drain's cut is one
                # cancellation of it (not a cancel scope entered and left by every call).
                async with trio.open_nursery() as calls:
                    self._calls = calls
                    task_status.started()
                    while not self._stopping:
                        await self._dial_round(calls)
                        # Until the first event, or the pacer's tick, and then `round_gap` more:
                        # the events of the next few ms gather, and one round (two crossings)
                        # launches many calls instead of one round per ended call. One wake-up
                        # a round.
                        await self._wake.next_round(getattr(self.pacer, "tick", 0.5))
                    await self._drain(calls)
            except BaseException:
                # A teardown (not a drain): the calls' fates are unknown. Their attempts stay
                # open, exactly as after a crash, and the next start closes them as `unknown`
                # (store/recovery.py). Recording a guess would be a lie: forget them.
                for live in list(self._live.values()):
                    self._forget(live)
                raise
            finally:
                self._calls = None
                upkeep.cancel()
                with trio.CancelScope(shield=True):
                    await self.hopper.release_all()

    async def _drain(self, calls: trio.Nursery) -> None:
        with trio.move_on_after(self.settings.drain_timeout):
            while self._live:
                await self._wake.next_event()
        if self._live:
            # Cut what is left: a call in a task (talking, or its INVITE waiting for a trunk)
            # sees the cancellation, hangs up and records what is known (`_in_task`); a call
            # that is not a task (ringing) is hung up and recorded here. `_cutting` tells them
            # from a teardown, which records nothing.
            self._cutting = True
            ringing = [live for live in self._live.values() if not live.tasks]
            for live in ringing:
                live.cut = True      # from now on its fate is the cut's to record
            calls.cancel_scope.cancel()
            with trio.CancelScope(shield=True):
                async with trio.open_nursery() as cuts:
                    for live in ringing:
                        cuts.start_soon(self._cut_and_record, live)

    # ---- pacing ---------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        counts = self._counts        # follows the desk's moves: no walk over every operator
        talking, wrapping = counts.times()
        return Snapshot(trio.current_time(), counts.ready, talking, wrapping,
                        tuple(self._ringing.values()), self._waiting, self._machines, counts.reserved)

    async def _dial_round(self, calls: trio.Nursery) -> None:
        if self.settings.hangup_answered:
            want = min(self.settings.max_launch, self.settings.max_in_flight - len(self._live))
        else:
            decision = self.pacer.decide(self.snapshot())
            want = min(decision.launch, self.settings.max_launch)
            if self.metrics is not None and decision.dial_level is not None:
                self._gauge("dial_level").set(decision.dial_level)
        if want <= 0:
            return
        # Every ready operator on the desk, kept by the desk counts (no walk over the desk); a
        # copy, as owners reserved inside the crossing leave the live set.
        ready_ids = frozenset(self._counts.ready_ids)
        launched: list[tuple[list, list[int]]] = []
        owners: dict[int, Any] = {}          # lead id -> the operator reserved for its callback
        not_now: list[int] = []              # owned callbacks whose owner is no longer ready

        async def start(conn, check, leads):
            # Inside the hopper's take crossing (asyncio side: no other task runs in between).
            # Hold back what must not be dialed now, then ONE statement re-checks the picked
            # leads, stores the attempt rows of those that pass and hands back the leases of
            # those that fail or are held back. No INVITE leaves before it has returned.
            what, ids, release = check
            # Belt and braces: a lead already in a call is never dialed again, whatever the
            # lease says (it is re-checked, and neither dialed nor released).
            fresh = [lead for lead in leads if lead.id not in self._leads_in_flight]
            held: list[int] = []
            dial = self._reserve_owners(fresh, owners, held)
            not_now.extend(held)
            passed = await recheck_and_start(conn, what, ids, [*release, *held], self._starts(dial))
            for lead in dial:
                if lead.id not in passed and lead.id in owners:
                    self.desk.release(owners.pop(lead.id))
            started = [lead for lead in dial if lead.id in passed]
            if started:
                launched.append((started, [passed[lead.id] for lead in started]))
            await ride(conn)    # the queued endings ride this crossing (journal.riding)
            return list(passed)

        try:
            async with self.journal.riding() as ride:
                await self.hopper.take(want, ready_ids, start=start)
                ride.committed()
        except BaseException:
            for op in owners.values():
                if op.state is OperatorState.RESERVED:
                    self.desk.release(op)
            raise
        for lead_id in not_now:
            self.hopper.done(lead_id)
        if self.metrics is not None:
            self._gauge("hopper_depth").set(self.hopper.buffered())
        for leads, ids in launched:
            await self._started(calls, leads, ids, owners=owners)

    def _gauge(self, metric: str):
        gauge = self._gauges.get(metric)
        if gauge is None:    # `labels()` validates and locks at each lookup: once a campaign
            gauge = self._gauges[metric] = getattr(self.metrics, metric).labels(self.name)
        return gauge

    def _reserve_owners(self, leads: list, owners: dict, not_now: list) -> list:
        """An owned callback (the hopper hands it out only while its owner is ready) is dialed
        with its owner reserved for it, as a preview call is: the owner takes it when it is
        answered, nobody else does. If the owner was taken meanwhile (by another call's
        answer during this crossing), the lead is not dialed now: its lease goes back and it
        stays first in line for the owner. Synchronous: no other task runs in between."""
        kept = []
        for lead in leads:
            owner_id = getattr(lead, "callback_operator", None)
            if owner_id is None:
                kept.append(lead)
                continue
            op = self.desk.operators.get(owner_id)
            if op is not None and op.state is OperatorState.READY and op.serves(self.campaign_id):
                self.desk.reserve_this(op)
                owners[lead.id] = op
                kept.append(lead)
            else:
                not_now.append(lead.id)
        return kept

    def _starts(self, leads: list) -> list:
        now = self.clock.now()
        return [AttemptStart(lead_id=lead.id, campaign_id=self.campaign_id, called_number=lead.phone,
                             started_at=now, list_id=lead.list_id, node=self.settings.node,
                             caller_number=self.settings.caller_id, lead_timezone=lead.timezone,
                             lead_region=lead.region, call_mode=lead.call_mode)
                for lead in leads]

    async def _launch(self, calls: trio.Nursery, leads: list, operator=None) -> list[int]:
        self._leads_in_flight.update(lead.id for lead in leads)
        # The attempt rows are stored before any INVITE leaves: a crash leaves evidence.
        try:
            ids = await self.journal.start(self._starts(leads))
        except BaseException:
            self._leads_in_flight.difference_update(lead.id for lead in leads)
            raise
        await self._started(calls, leads, ids, operator)
        return ids

    async def _started(self, calls: trio.Nursery, leads: list, ids: list[int], operator=None, *,
                       owners: dict | None = None) -> None:
        """The attempt rows are stored: the INVITEs leave, from here when a trunk can take them
        at once (no task per call: the placer tells `_fated` what became of each)."""
        self._leads_in_flight.update(lead.id for lead in leads)
        now = trio.current_time()        # no checkpoint in this loop: one instant for all
        live_calls, ringing, metrics = self._live, self._ringing, self.metrics
        lives = []
        for lead, attempt_id in zip(leads, ids):
            owner = owners.get(lead.id) if owners else None
            live = _Live(self, calls, lead, attempt_id, now, operator=operator or owner,
                         owned=owner is not None)
            live_calls[attempt_id] = live
            if operator is None:
                ringing[attempt_id] = now
            if metrics is not None:
                metrics.call_started(self.name)
            lives.append(live)
            if calls is not self._calls:
                # Placed after the drain (a preview timer's "dial"): nothing else keeps the
                # runner's other nursery open until this call is over, as its task once did.
                live.over = trio.Event()
                calls.start_soon(live.over.wait)
        settings, place = self.settings, self.placer.place
        for live in lives:
            try:
                await place(live.lead.phone, live, caller_id=settings.caller_id,
                            ring_timeout=settings.ring_timeout,
                            headers=[("X-Dialer-Attempt", str(live.attempt_id))])
            except Exception as exc:  # a peer or transport problem, no trunk: the call failed
                self._failed(live, exc)

    # ---- one call ---------------------------------------------------------------------------------
    def _fated(self, live: _Live, call) -> None:
        """The call was answered or ended (synchronously, in the task that learnt it: the
        SIP endpoint's). Unanswered, it is recorded here; answered, it goes on in a task."""
        if live.cut or live.done:
            return
        try:
            live.call = call
            self._ringing.pop(live.attempt_id, None)
            if call.state != "answered":
                outcome = OUTCOME_ALIASES.get(call.outcome, call.outcome or "failed")
                self._observe(CallResolved(live.launched, trio.current_time(),
                                           outcome if outcome in PACER_RESULTS else "failed"))
                self._finish(live, outcome)
                return
            live.answered = trio.current_time()
            live.answered_at = self.clock.now()
            kind = self.classify(call)
            if live.operator is None:
                self._observe(CallResolved(live.launched, live.answered, kind))
            live.spawn(lambda: self._answered(live, call, kind))
        except Exception as exc:
            self._failed(live, exc)

    async def _answered(self, live: _Live, call, kind: str):
        """An answered call: put through to an operator, or hung up. What to record."""
        if live.operator is not None and not (live.owned and kind == "machine"):
            return await self._talk_preview(live, call)
        if kind == "machine":
            live.outcome = "machine"
            self._machines += 1
            try:
                await call.hangup()
            finally:
                self._machines -= 1
            return "machine", None, None
        if self.settings.hangup_answered:
            live.outcome = "answered"
            await call.hangup()
            return "answered", None, None
        return await self._bridge(live, call)

    async def _in_task(self, live: _Live, fn: Callable[[], Awaitable[Any]]) -> None:
        """One of a call's tasks (its INVITE waiting for a trunk, its talk): a failure is
        recorded, a cut by the drain hangs up and records what is known."""
        try:
            result = await fn()
        except Exception as exc:  # a peer or transport problem: the call failed, the engine goes on
            self._failed(live, exc)
        except trio.Cancelled:
            if self._cutting and not live.done:
                # The drain ran out (the calls' nursery is cancelled): hang up, record what we know.
                live.cut = True
                await self._cut_and_record(live)
            else:                    # a teardown: record nothing (see `run`)
                self._forget(live)
            raise
        else:
            if result is not None:   # the talk is over (a placing task's fate comes to `_fated`)
                self._finish(live, *result)
        finally:
            live.tasks -= 1

    async def _cut_and_record(self, live: _Live) -> None:
        """The drain's cut of one call (ringing, or in a task): hang up, record what is known."""
        try:
            outcome = await self._cut(live, live.call)
        except Exception as exc:
            self._failed(live, exc)
        else:
            self._finish(live, outcome)

    def _failed(self, live: _Live, exc: Exception) -> None:
        """The call failed (a peer or transport problem): log it and record what is known
        (`failed`, or what its task had found: a machine's hang-up that failed is `machine`)."""
        log.warning("call for attempt %s failed: %r", live.attempt_id, exc)
        self._finish(live, live.outcome)

    def _forget(self, live: _Live) -> bool:
        """The call is no longer in flight; False if it was already forgotten."""
        if live.done:
            return False
        live.done = True
        if live.over is not None:
            live.over.set()
        self._ringing.pop(live.attempt_id, None)
        self._live.pop(live.attempt_id, None)
        self._leads_in_flight.discard(live.lead.id)
        if live.operator is not None and live.operator.state is OperatorState.RESERVED:
            # preview call not answered (or an owned callback's machine): operator free again
            self.desk.release(live.operator)
        return True

    def _finish(self, live: _Live, outcome: str, operator=None, bridged_at=None) -> None:
        if self._forget(live):
            self._record(live, live.call, outcome, live.answered_at, bridged_at, operator)

    def _record(self, live: _Live, call, outcome: str, answered_at, bridged_at, operator) -> None:
        status = getattr(call, "sip_status", None)
        self.journal.finish(AttemptEnd(
            attempt_id=live.attempt_id, outcome=outcome, ended_at=self.clock.now(), sip_status=status,
            answered_at=answered_at, bridged_at=bridged_at,
            operator_id=operator.id if operator is not None else None),
            touches=(live.lead.id, getattr(live.lead, "phone", None)))
        self.hopper.done(live.lead.id)
        self.stats[outcome] = self.stats.get(outcome, 0) + 1
        if self.metrics is not None:
            self.metrics.call_ended(self.name, outcome, status)
        self._wake.set()

    async def _cut(self, live: _Live, call) -> str:
        """The drain timeout ran out: hang up cleanly and say what we know."""
        with trio.CancelScope(shield=True), trio.move_on_after(5):
            if call is not None:
                await call.hangup()
        return "answered" if live.answered is not None else "unknown"

    async def _bridge(self, live: _Live, call):
        """Reserve an operator within the abandon limit and join them to the call."""
        deadline = live.answered + self.settings.abandon_after
        self._waiting += 1
        operator = leg = None
        tried: set[int] = set()
        try:
            while leg is None:
                remaining = deadline - trio.current_time()
                if remaining <= 0:
                    break
                operator = await self.desk.reserve(self.campaign_id, timeout=remaining, exclude=tried)
                if operator is None:
                    break
                leg = await self.bridge.connect(call, operator, deadline)
                if leg is None:           # no phone, or it did not answer in time: next operator
                    tried.add(operator.id)
                    self.desk.release(operator)
                    operator = None
        finally:
            self._waiting -= 1
        if leg is None:
            self._observe(LiveAnswerSettled(trio.current_time(), True))
            await call.hangup()
            return "abandoned", None, None
        bridged_at = self.clock.now()
        self._observe(LiveAnswerSettled(trio.current_time(), False))
        self.desk.connect(operator, CallInfo(live.attempt_id, live.lead.id, self.campaign_id,
                                                 number=getattr(live.lead, "phone", None)))
        try:
            await self.bridge.talk(call, leg)
        finally:
            if operator.state is OperatorState.ON_CALL:
                self.desk.hangup(operator)
        return "answered", operator, bridged_at

    # ---- preview mode ---------------------------------------------------------------------------------
    async def preview_next(self, operator_ref):
        """Preview: a ready operator asks for the next lead; they are reserved while they look.

        Returns the lead (already leased, checked at take time) or None when nothing is callable.
        Within `preview_timeout` they `preview_dial` or `preview_skip`; after it, the configured
        action happens (default: skip, so nothing is dialed without a person's decision)."""
        op = self.desk.get(operator_ref)
        if op.id in self._previews:
            return self._previews[op.id].lead
        if self._stopping or self._nursery is None:
            return None
        self.desk.reserve_this(op)
        try:
            leads = await self.hopper.take(1, [op.id])
        except BaseException:
            self.desk.release(op)
            raise
        if not leads:
            self.desk.release(op)
            return None
        preview = _Preview(leads[0], op, trio.CancelScope())
        self._previews[op.id] = preview
        self._nursery.start_soon(self._preview_timer, preview)
        return preview.lead

    async def preview_dial(self, operator_ref) -> int:
        """Dial the previewed lead; the operator is connected when it answers. The attempt id."""
        preview = self._pop_preview(operator_ref)
        # Into the calls' nursery (cut by the drain); once it is closed (a preview timer's
        # "dial" after the drain), into the runner's other one, as before the split.
        ids = await self._launch(self._calls or self._nursery, [preview.lead], operator=preview.operator)
        return ids[0]

    async def preview_skip(self, operator_ref) -> None:
        """Do not dial the previewed lead: its lease goes back, the operator is ready again."""
        preview = self._pop_preview(operator_ref)
        self.hopper.done(preview.lead.id)
        with trio.CancelScope(shield=True):
            await self.journal.store.run(release_leads, self.settings.node, [preview.lead.id])
        self.desk.release(preview.operator)

    def _pop_preview(self, operator_ref) -> _Preview:
        op = self.desk.get(operator_ref)
        preview = self._previews.pop(op.id, None)
        if preview is None:
            from .operators import OperatorError
            raise OperatorError(f"operator {op.name} has no lead in preview")
        preview.timer.cancel()
        return preview

    async def _preview_timer(self, preview: _Preview) -> None:
        with preview.timer:
            await trio.sleep(self.settings.preview_timeout)
        # Act outside the timer's scope: dial/skip cancel the timer, which must not cancel them.
        if self._previews.get(preview.operator.id) is preview:
            if self.settings.preview_timeout_action == "dial":
                await self.preview_dial(preview.operator.id)
            else:
                await self.preview_skip(preview.operator.id)

    async def _talk_preview(self, live: _Live, call):
        """A previewed call answered: its operator is already waiting on it."""
        operator = live.operator
        leg = await self.bridge.connect(call, operator, trio.current_time() + self.settings.abandon_after)
        if leg is None:
            await call.hangup()
            return "abandoned", None, None
        bridged_at = self.clock.now()
        self.desk.connect(operator, CallInfo(live.attempt_id, live.lead.id, self.campaign_id,
                                                 number=getattr(live.lead, "phone", None)))
        try:
            await self.bridge.talk(call, leg)
        finally:
            if operator.state is OperatorState.ON_CALL:
                self.desk.hangup(operator)
        return "answered", operator, bridged_at

    # ---- events -----------------------------------------------------------------------------------
    def _observe(self, event) -> None:
        self.pacer.observe(event)
        self._wake.set()

    def _operator_moved(self, op, old, new) -> None:
        call = op.call
        mine = call is not None and call.campaign_id == self.campaign_id
        if old is OperatorState.ON_CALL and new is OperatorState.WRAP_UP and mine:
            self.pacer.observe(TalkEnded(op.talk_started, trio.current_time()))
        if old is OperatorState.WRAP_UP and op.last_campaign_id == self.campaign_id:
            self.pacer.observe(WrapEnded(op.wrap_started, trio.current_time()))
        if new is OperatorState.READY:
            self._wake.set()
