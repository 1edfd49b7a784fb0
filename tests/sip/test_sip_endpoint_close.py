"""A stopped endpoint leaves no reference cycle: its calls are freed by reference counting.

Pending timers and transactions hold calls and calls hold their endpoint; left in place,
a stopped endpoint and every recent call were one cycle that only a full collection
could free, in one long pause (1.4 s measured in bench/sip_cps.py)."""

import gc
import weakref

import pytest
import trio
import trio.testing

from dialer.sip.endpoint import open_endpoint
from sim.network import MemoryNetwork


@pytest.fixture
def mock_clock():
    return trio.testing.MockClock(autojump_threshold=0)


async def answer(call):
    await call.answer(call.remote_sdp)


async def test_calls_of_a_stopped_endpoint_are_freed_without_the_collector(mock_clock):
    net = MemoryNetwork()
    gc.collect()
    gc.disable()
    try:
        async with open_endpoint(net, "127.0.0.1", 0, handler=answer) as uas:
            async with open_endpoint(net, "127.0.0.1", 0) as uac:
                ended = await uac.dial(uas.local_address, "100")
                assert await ended.wait_answered()
                await ended.hangup()
                still_up = await uac.dial(uas.local_address, "200")   # up when we stop
                assert await still_up.wait_answered()
                refs = [weakref.ref(x) for x in (ended, still_up, uac, uas)]
        del ended, still_up, uac, uas
        assert [r() is None for r in refs] == [True] * 4
    finally:
        gc.enable()
