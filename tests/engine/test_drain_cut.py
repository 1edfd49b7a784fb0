"""The drain's cut: calls still live when the drain timeout runs out are hung up and recorded
with what is known (a ringing call `unknown`, a talking one `answered`); a teardown of the
engine records nothing (the attempts stay open for crash recovery). No database: fakes for
the hopper, the journal and the calls (preview mode, so the operators choose what is dialed).

Each test runs with both kinds of placer: one with only `dial` (a task waits for each call's
fate) and one with `place` (a ringing call is no task: its fate comes through a hook, as the SIP
placer's calls do)."""

import datetime as dt

import pytest
import trio

from dialer.clock import Clock
from dialer.engine.operators import OperatorDesk
from dialer.engine.runner import CampaignRunner, RunnerSettings
from dialer.pacing.baselines import PreviewPacer


class Lead:
    def __init__(self, id):
        self.id, self.phone, self.list_id = id, f"+1555000{id:04d}", 1
        self.timezone, self.region, self.call_mode = "America/New_York", "NY", None


class Hopper:
    def __init__(self):
        self.next_id = 0
        self.done_ids = []

    async def take(self, n, ready_operators=None, *, start=None):
        self.next_id += 1
        return [Lead(self.next_id)]

    def done(self, lead_id):
        self.done_ids.append(lead_id)

    async def release_all(self):
        return 0


class Journal:
    def __init__(self):
        self.ends = []
        self.next_id = 100

    async def start(self, starts):
        ids = list(range(self.next_id, self.next_id + len(starts)))
        self.next_id += len(starts)
        return ids

    def finish(self, end, touches=None):
        self.ends.append(end)


class ForeverCall:
    """Rings forever, or is answered at once and talks forever, until hung up."""

    def __init__(self, answered: bool):
        self.state = "answered" if answered else "ringing"
        self.outcome = None
        self.sip_status = 200 if answered else None
        self.hung_up = False
        self.on_fate = None
        self._ended = trio.Event()

    async def wait_answered(self):
        if self.state == "ringing":
            await self._ended.wait()
        return self.state == "answered"

    async def wait_ended(self):
        await self._ended.wait()
        return self.outcome

    async def hangup(self):
        self.hung_up = True
        await trio.sleep(0.1)                # a CANCEL or BYE and its answer on the way
        self.end(self.outcome or ("answered" if self.state == "answered" else "cancelled"))

    def end(self, outcome):
        """The call ends (whoever ended it): its fate hook, as the SIP endpoint's calls have."""
        self.outcome, self.state = outcome, "ended"
        self._ended.set()
        hook, self.on_fate = self.on_fate, None
        if hook is not None:
            hook(self)


class Placer:
    """Only `dial`: the runner waits for each call's fate in a task."""

    def __init__(self):
        self.answer = []       # whether each next call is answered
        self.calls = []

    async def dial(self, number, **kw):
        call = ForeverCall(self.answer.pop(0))
        self.calls.append(call)
        await trio.lowlevel.checkpoint()
        return call


class HookPlacer(Placer):
    """`place`: the call's fate is told through its hook, no task waits for it."""

    async def place(self, number, watch, **kw):
        call = watch.call = await self.dial(number, **kw)
        if call.state == "answered":
            watch.fated(call)
        else:
            call.on_fate = watch.fated


@pytest.fixture(params=[Placer, HookPlacer])
def placer_kind(request):
    return request.param


def _runner(drain_timeout, placer_kind=Placer):
    desk = OperatorDesk()
    for i in (1, 2):
        desk.add(i, f"op{i}")
        desk.login(i, ready=True)
    journal, hopper, placer = Journal(), Hopper(), placer_kind()
    runner = CampaignRunner({"id": 1, "name": "cut"}, clock=Clock(dt.datetime(2026, 3, 3, 17, tzinfo=dt.timezone.utc)),
                            journal=journal, hopper=hopper, pacer=PreviewPacer(), placer=placer, desk=desk,
                            settings=RunnerSettings(node="n", drain_timeout=drain_timeout))
    return runner, journal, placer, desk


async def _two_calls(runner, placer):
    placer.answer = [False, True]
    for op in ("op1", "op2"):        # op1's call rings forever, op2's is answered and talks
        await runner.preview_next(op)
        await runner.preview_dial(op)
    await trio.sleep(1)
    assert runner.in_flight() == 2


async def test_drain_timeout_cuts_live_calls_and_records_what_is_known(autojump_clock, placer_kind):
    runner, journal, placer, desk = _runner(drain_timeout=30, placer_kind=placer_kind)
    async with trio.open_nursery() as nursery:
        await nursery.start(runner.run)
        await _two_calls(runner, placer)
        stopped = trio.current_time()
        runner.stop()
    assert trio.current_time() - stopped >= 30, "the drain waits its timeout before cutting"
    assert all(call.hung_up for call in placer.calls)
    # Recorded once each, after the hang-up (the ringing call's hook, fired by its CANCEL's
    # answer, does not record it a second time as `cancelled`).
    assert sorted(end.outcome for end in journal.ends) == ["answered", "unknown"]
    assert runner.in_flight() == 0
    assert {op.state.value for op in desk.operators.values()} == {"ready", "wrap_up"}


async def test_teardown_records_nothing(autojump_clock, placer_kind):
    runner, journal, placer, desk = _runner(drain_timeout=30, placer_kind=placer_kind)
    async with trio.open_nursery() as nursery:
        await nursery.start(runner.run)
        await _two_calls(runner, placer)
        nursery.cancel_scope.cancel()        # a crash: no drain, no guesses
    assert journal.ends == []
    assert runner.in_flight() == 0
    for call in placer.calls:                # a fate told after the teardown records nothing
        call.end("no_answer")
    assert journal.ends == []


async def test_calls_that_end_within_the_drain_are_not_cut(autojump_clock, placer_kind):
    runner, journal, placer, desk = _runner(drain_timeout=30, placer_kind=placer_kind)
    async with trio.open_nursery() as nursery:
        await nursery.start(runner.run)
        await _two_calls(runner, placer)
        runner.stop()
        await trio.sleep(5)
        for call in placer.calls:            # both sides hang up on their own, in time
            call.end("no_answer" if call.state == "ringing" else "answered")
    assert sorted(end.outcome for end in journal.ends) == ["answered", "no_answer"]
    assert not any(call.hung_up for call in placer.calls)


async def test_a_preview_dialed_after_the_drain_is_waited_for(autojump_clock, placer_kind):
    """A preview timer's "dial" after the drain places a call outside the calls' nursery: the
    runner does not return before that call is over and recorded."""
    runner, journal, placer, desk = _runner(drain_timeout=1, placer_kind=placer_kind)
    runner.settings.preview_timeout, runner.settings.preview_timeout_action = 10, "dial"
    placer.answer = [False]
    async with trio.open_nursery() as nursery:
        async def run():
            await runner.run()
            returned.append(trio.current_time())

        returned = []
        start = trio.current_time()
        nursery.start_soon(run)
        await trio.sleep(0.1)
        await runner.preview_next("op1")
        runner.stop()                        # the drain has nothing to wait for
        await trio.sleep(15)                 # the timer dialed at 10 s
        assert len(placer.calls) == 1 and not returned
        placer.calls[0].end("no_answer")
    assert [end.outcome for end in journal.ends] == ["no_answer"]
    assert returned[0] - start >= 15
