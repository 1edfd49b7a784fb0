"""The runner's round timing: event + gap, tick + gap, and an event during a round counts."""

import pytest
import trio

from dialer.engine.round_wake import RoundWake


async def test_rounds_start_at_the_first_event_plus_the_gap(autojump_clock):
    wake = RoundWake(0.25)
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        async def events():
            await trio.sleep(0.1)
            wake.set()            # the first event fixes the round: 0.1 + 0.25
            await trio.sleep(0.1)
            wake.set()            # later ones change nothing
        nursery.start_soon(events)
        await wake.next_round(tick=0.5)
    assert trio.current_time() - start == pytest.approx(0.1 + 0.25, abs=1e-9)


async def test_without_events_a_round_comes_after_tick_plus_gap(autojump_clock):
    wake = RoundWake(0.25)
    start = trio.current_time()
    await wake.next_round(tick=0.5)
    assert trio.current_time() - start == pytest.approx(0.75, abs=1e-9)


async def test_an_event_during_the_round_counts_as_one_at_its_end(autojump_clock):
    wake = RoundWake(0.25)
    wake.set()                    # e.g. a call ended while the round's crossing ran
    start = trio.current_time()
    await wake.next_round(tick=0.5)
    assert trio.current_time() - start == pytest.approx(0.25, abs=1e-9)
    start = trio.current_time()   # ... and only for that round
    await wake.next_round(tick=0.5)
    assert trio.current_time() - start == pytest.approx(0.75, abs=1e-9)


async def test_next_event_wakes_on_the_next_set(autojump_clock):
    wake = RoundWake(0.25)
    async with trio.open_nursery() as nursery:
        async def later():
            await trio.sleep(3)
            wake.set()
        nursery.start_soon(later)
        start = trio.current_time()
        await wake.next_event()
        assert trio.current_time() - start == pytest.approx(3, abs=1e-9)



async def test_each_sleep_takes_its_own_first_event(autojump_clock):
    # Events after a sleep's first one are skipped (they can only come later); the next sleep
    # must still take its own first event.
    wake = RoundWake(0.25)

    async def events():
        await trio.sleep(0.1)
        wake.set()
        await trio.sleep(0.05)
        wake.set()

    async with trio.open_nursery() as nursery:
        for _ in range(3):
            nursery.start_soon(events)
            start = trio.current_time()
            await wake.next_round(tick=5)
            assert trio.current_time() - start == pytest.approx(0.1 + 0.25, abs=1e-9)


async def test_the_round_sleep_ends_with_a_plain_return_and_obeys_outer_cancellation(autojump_clock):
    """Its own deadline wakes the runner without a Cancelled raised and caught (the scope
    catches nothing), at the same instant; a stop from outside still raises Cancelled."""
    wake, seen = RoundWake(0.25), []
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        async def look():
            await trio.sleep(0.1)
            seen.append(wake._sleep)
        nursery.start_soon(look)
        await wake.next_round(tick=0.5)
    assert trio.current_time() - start == pytest.approx(0.75, abs=1e-9)
    assert seen[0] is not None and seen[0].cancel_called and not seen[0].cancelled_caught
    with trio.move_on_after(0.3) as outer:
        await wake.next_round(tick=0.5)
        pytest.fail("the outer cancellation did not reach the round's sleep")
    assert outer.cancelled_caught and wake._sleep is None
