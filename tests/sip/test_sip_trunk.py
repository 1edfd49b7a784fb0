"""Trunk pool: channels, CPS bucket, number rewriting, circuit breaker, failover (virtual time)."""

import pytest
import trio
import trio.testing

from dialer.config import TrunkConfig
from dialer.sip.endpoint import open_endpoint
from dialer.sip.trunk import CircuitBreaker, NoTrunkAvailable, TokenBucket, Trunk, TrunkPool
from sim.network import MemoryNetwork


@pytest.fixture
def mock_clock():
    return trio.testing.MockClock(autojump_threshold=0)


def test_from_config_reads_password_from_environment(monkeypatch):
    monkeypatch.setenv("TRUNK_PW", "s3cret")
    cfg = TrunkConfig(name="a", host="10.0.0.1", port=5070, username="u", password_env="TRUNK_PW",
                      dial_prefix="9", caller_id="15550001111", max_channels=3, max_cps=2)
    trunk = Trunk.from_config(cfg)
    assert trunk.credentials == ("u", "s3cret")
    assert trunk.request_uri("+15551234567") == "sip:915551234567@10.0.0.1:5070"
    assert Trunk("b", "h", strip_plus=False).format_number("+1555") == "+1555"


async def test_token_bucket_paces_calls(mock_clock):
    bucket = TokenBucket(rate=5)
    start = trio.current_time()
    for _ in range(25):
        await bucket.take()
    # 5 saved tokens, then 20 more at 5 per second
    assert trio.current_time() - start == pytest.approx(4.0, abs=0.01)


async def test_circuit_breaker_opens_then_half_open_probe(mock_clock):
    breaker = CircuitBreaker(failures=3, seconds=30)
    for _ in range(3):
        assert breaker.allow()
        breaker.record(trunk_failure=True)
    assert breaker.state == "open" and not breaker.allow()
    await trio.sleep(30)
    assert breaker.state == "half_open"
    assert breaker.allow() and not breaker.allow()  # one probe at a time
    breaker.record(trunk_failure=True)
    assert breaker.state == "open"
    await trio.sleep(30)
    assert breaker.allow()
    breaker.record(trunk_failure=False)
    assert breaker.state == "closed" and breaker.allow()


async def _carrier(net, status, task_status=trio.TASK_STATUS_IGNORED):
    async def handler(call):
        if status == 200:
            await call.answer(b"")
        else:
            await call.reject(status)

    async with open_endpoint(net, "127.0.0.1", 0, handler=handler) as endpoint:
        task_status.started(endpoint)
        await trio.sleep_forever()


async def test_pool_fails_over_on_503_and_breaker_takes_trunk_out(mock_clock):
    net = MemoryNetwork()
    async with trio.open_nursery() as nursery:
        bad = await nursery.start(_carrier, net, 503)
        good = await nursery.start(_carrier, net, 200)
        pool = TrunkPool([Trunk("second", *good.local_address, order=2),
                          Trunk("first", *bad.local_address, order=1, breaker_failures=2,
                                breaker_seconds=60)])
        async with open_endpoint(net, "127.0.0.1", 0) as uac:
            for _ in range(3):
                call = await pool.dial(uac, "100", ring_timeout=20)
                assert call.outcome == "answered" and call.trunk.name == "second"
                await call.hangup()
            assert bad.stats["calls_in"] == 2  # the breaker opened after two 503s
            assert good.stats["calls_in"] == 3
        nursery.cancel_scope.cancel()


async def test_pool_returns_number_failures_without_failover(mock_clock):
    net = MemoryNetwork()
    async with trio.open_nursery() as nursery:
        busy = await nursery.start(_carrier, net, 486)
        good = await nursery.start(_carrier, net, 200)
        pool = TrunkPool([Trunk("a", *busy.local_address, order=1),
                          Trunk("b", *good.local_address, order=2)])
        async with open_endpoint(net, "127.0.0.1", 0) as uac:
            call = await pool.dial(uac, "100", ring_timeout=20)
            assert call.outcome == "busy" and good.stats["calls_in"] == 0
            with pytest.raises(NoTrunkAvailable):
                await TrunkPool([]).dial(uac, "100")
        nursery.cancel_scope.cancel()


async def test_channel_limit_holds_calls_back(mock_clock):
    net = MemoryNetwork()
    async with trio.open_nursery() as nursery:
        carrier = await nursery.start(_carrier, net, 200)
        trunk = Trunk("t", *carrier.local_address, max_channels=2)
        async with open_endpoint(net, "127.0.0.1", 0) as uac:
            calls = [await uac.dial(trunk, "1"), await uac.dial(trunk, "2")]
            with trio.move_on_after(5) as scope:
                await uac.dial(trunk, "3")
            assert scope.cancelled_caught and trunk.in_use == 2
            await calls[0].wait_answered()
            await calls[0].hangup()
            third = await uac.dial(trunk, "3")
            assert trunk.in_use == 2
            for call in (calls[1], third):
                await call.wait_answered()
                await call.hangup()
            assert trunk.in_use == 0
        nursery.cancel_scope.cancel()


async def test_options_keepalive_marks_dead_trunk(mock_clock):
    net = MemoryNetwork()
    async with trio.open_nursery() as nursery:
        carrier = await nursery.start(_carrier, net, 200)
        alive = Trunk("alive", *carrier.local_address, options_interval=10)
        dead = Trunk("dead", "127.0.0.1", 9, options_interval=10)
        pool = TrunkPool([alive, dead])
        async with open_endpoint(net, "127.0.0.1", 0) as uac:
            nursery.start_soon(pool.keep_alive, uac)
            await trio.sleep(60)
            assert alive.alive and not dead.alive
            assert pool.candidates() == [alive]
        nursery.cancel_scope.cancel()


def test_pool_allows_only_trunk_hosts():
    pool = TrunkPool([Trunk("a", "10.0.0.1", 5060), Trunk("b", "10.0.0.2", 5080)])
    assert pool.allows(("10.0.0.1", 5999)) and pool.allows(("10.0.0.2", 5080))
    assert not pool.allows(("10.0.0.3", 5060))


async def test_register_answers_a_challenge(mock_clock):
    from dialer.sip.auth import DigestServer
    from dialer.sip.message import make_response

    server = DigestServer(realm="reg", users={"u": "p"})
    seen = []

    def on_request(request, address):
        seen.append(request.method)
        if request.method != "REGISTER":
            return None
        if server.check(request) != "ok":
            return make_response(request, 401, headers=[server.challenge_header()])
        return make_response(request, 200, headers=[("Contact", request.headers.get("Contact"))])

    net = MemoryNetwork()
    async with open_endpoint(net, "127.0.0.1", 0, on_request=on_request) as registrar:
        async with open_endpoint(net, "127.0.0.1", 0) as uac:
            trunk = Trunk("r", *registrar.local_address, username="u", password="p")
            assert await uac.register(trunk) == 200
            wrong = Trunk("r", *registrar.local_address, username="u", password="x")
            assert await uac.register(wrong) == 401
    assert seen == ["REGISTER"] * 4


class Watch:
    """What `TrunkPool.place` tells of one call, kept for the tests; spawned work runs in a
    nursery of the test's."""

    def __init__(self, nursery):
        self.call, self.fates, self.spawned, self.nursery = None, [], 0, nursery

    def fated(self, call):
        self.fates.append((call, trio.current_time()))

    def spawn(self, fn):
        self.spawned += 1
        self.nursery.start_soon(fn)


async def test_place_sends_at_once_and_tells_the_fate_without_a_waiting_task(mock_clock):
    net = MemoryNetwork()
    async with trio.open_nursery() as nursery:
        busy = await nursery.start(_carrier, net, 486)
        pool = TrunkPool([Trunk("a", *busy.local_address)])
        async with open_endpoint(net, "127.0.0.1", 0) as uac:
            watch = Watch(nursery)
            before = trio.current_time()
            await pool.place(uac, "100", watch, ring_timeout=20)
            assert trio.current_time() == before and watch.call is not None   # sent, not waited for
            assert watch.call.state == "calling" and not watch.fates
            await trio.sleep(1)
            assert [call for call, _ in watch.fates] == [watch.call]
            assert watch.call.outcome == "busy" and watch.spawned == 0
            with pytest.raises(NoTrunkAvailable):
                await TrunkPool([]).place(uac, "100", Watch(nursery))
        nursery.cancel_scope.cancel()


async def test_place_fails_over_on_503_and_tells_only_the_deciding_call(mock_clock):
    net = MemoryNetwork()
    async with trio.open_nursery() as nursery:
        bad = await nursery.start(_carrier, net, 503)
        good = await nursery.start(_carrier, net, 200)
        pool = TrunkPool([Trunk("second", *good.local_address, order=2),
                          Trunk("first", *bad.local_address, order=1)])
        async with open_endpoint(net, "127.0.0.1", 0) as uac:
            watch = Watch(nursery)
            await pool.place(uac, "100", watch, ring_timeout=20)
            assert watch.call.trunk.name == "first"
            await trio.sleep(1)
            (call, _), = watch.fates
            assert call is watch.call and call.trunk.name == "second" and call.state == "answered"
            assert watch.spawned == 1          # the next trunk's INVITE, from the failed call's fate
            assert bad.stats["calls_in"] == good.stats["calls_in"] == 1
            assert [t.placed for t in pool.trunks] == [1, 1]
            await call.hangup()
        nursery.cancel_scope.cancel()


async def test_place_tells_the_last_trunk_failure_when_no_trunk_is_left(mock_clock):
    net = MemoryNetwork()
    async with trio.open_nursery() as nursery:
        bad = await nursery.start(_carrier, net, 503)
        worse = await nursery.start(_carrier, net, 502)
        pool = TrunkPool([Trunk("a", *bad.local_address, order=1), Trunk("b", *worse.local_address, order=2)])
        async with open_endpoint(net, "127.0.0.1", 0) as uac:
            watch = Watch(nursery)
            await pool.place(uac, "100", watch, ring_timeout=20)
            await trio.sleep(1)
            (call, _), = watch.fates
            assert call.trunk.name == "b" and call.sip_status == 502
        nursery.cancel_scope.cancel()


async def test_place_on_a_full_trunk_waits_for_its_channel_in_a_spawned_task(mock_clock):
    net = MemoryNetwork()
    async with trio.open_nursery() as nursery:
        carrier = await nursery.start(_carrier, net, 200)
        trunk = Trunk("t", *carrier.local_address, max_channels=1)
        pool = TrunkPool([trunk])
        async with open_endpoint(net, "127.0.0.1", 0) as uac:
            first, second = Watch(nursery), Watch(nursery)
            await pool.place(uac, "1", first, ring_timeout=20)
            await pool.place(uac, "2", second, ring_timeout=20)     # does not wait here
            assert first.spawned == 0 and second.spawned == 1 and second.call is None
            await trio.sleep(5)
            assert first.fates and not second.fates and trunk.in_use == 1
            hung_up = trio.current_time()
            await first.call.hangup()
            await trio.sleep(1)
            (call, at), = second.fates
            assert call is second.call and call.state == "answered" and at >= hung_up
            await call.hangup()
        nursery.cancel_scope.cancel()


async def test_place_with_a_cps_limit_sends_what_a_token_allows_and_spawns_the_rest(mock_clock):
    net = MemoryNetwork()
    async with trio.open_nursery() as nursery:
        carrier = await nursery.start(_carrier, net, 486)
        trunk = Trunk("t", *carrier.local_address, max_cps=1)
        pool = TrunkPool([trunk])
        async with open_endpoint(net, "127.0.0.1", 0) as uac:
            watches = [Watch(nursery) for _ in range(3)]
            for watch in watches:
                await pool.place(uac, "1", watch, ring_timeout=20)
            assert [w.spawned for w in watches] == [0, 1, 1]
            await trio.sleep(5)
            assert [len(w.fates) for w in watches] == [1, 1, 1]
            # The first leaves at once, the two spawned one a second apart (which of those two
            # goes first is the order trio starts their tasks in: not specified).
            sent = [w.call.started_at for w in watches]
            assert sorted(t - sent[0] for t in sent[1:]) == [pytest.approx(1, abs=0.01), pytest.approx(2, abs=0.01)]
        nursery.cancel_scope.cancel()


async def test_token_bucket_hands_out_tokens_in_the_order_they_were_asked_for(mock_clock):
    # Waiters that come later, while the bucket refills, would sleep to the same deadline
    # as the first and could wake before it; they queue instead.
    bucket = TokenBucket(1)
    assert bucket.try_take()
    got = []

    async def wait(name):
        await bucket.take()
        got.append((name, trio.current_time()))

    async with trio.open_nursery() as nursery:
        for name in "abcde":
            nursery.start_soon(wait, name)
            await trio.sleep(0.1)
    assert [name for name, _ in got] == list("abcde")
    assert [round(at) for _, at in got] == [1, 2, 3, 4, 5]
