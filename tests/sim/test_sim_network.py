"""The in-memory network: delivery, loss, latency, ordering, ports, determinism."""

from __future__ import annotations

import errno

import pytest
import trio
import trio.testing

from sim.network import MemoryNetwork


async def test_datagram_arrives_with_source_address():
    net = MemoryNetwork()
    a = await net.bind("127.0.0.1", 0)
    b = await net.bind("127.0.0.1", 5070)
    assert b.local_address == ("127.0.0.1", 5070)
    assert a.local_address[1] != 0
    await a.send(b"hello", b.local_address)
    data, source = await b.receive()
    assert data == b"hello"
    assert source == a.local_address
    assert net.stats.delivered == 1


async def test_port_zero_allocates_distinct_free_ports_and_busy_port_is_refused():
    net = MemoryNetwork()
    socks = [await net.bind("127.0.0.1", 0) for _ in range(50)]
    assert len({s.local_address for s in socks}) == 50
    with pytest.raises(OSError) as info:
        await net.bind("127.0.0.1", socks[0].local_address[1])
    assert info.value.errno == errno.EADDRINUSE
    socks[0].close()
    again = await net.bind("127.0.0.1", socks[0].local_address[1])
    assert again.local_address == socks[0].local_address


async def test_latency_delays_delivery_in_virtual_time(autojump_clock):
    net = MemoryNetwork(latency=0.25)
    a = await net.bind()
    b = await net.bind()
    start = trio.current_time()
    await a.send(b"x", b.local_address)
    await b.receive()
    assert trio.current_time() - start == pytest.approx(0.25)


async def test_jitter_can_reorder_but_every_datagram_arrives(autojump_clock):
    net = MemoryNetwork(latency=0.01, jitter=0.05, seed=3)
    a = await net.bind()
    b = await net.bind()
    for i in range(200):
        await a.send(str(i).encode(), b.local_address)
    got = [int((await b.receive())[0]) for _ in range(200)]
    assert sorted(got) == list(range(200))
    assert got != list(range(200))  # some were overtaken


async def test_loss_drops_about_the_configured_fraction(autojump_clock):
    net = MemoryNetwork(loss=0.2, seed=11)
    a = await net.bind()
    b = await net.bind()
    n = 10_000
    for i in range(n):
        await a.send(b"d", b.local_address)
    # 0.2 * 10000 = 2000, sd = 40: 5 sd bounds
    assert 1800 <= net.stats.lost <= 2200
    assert net.stats.lost + net.stats.delivered == n
    received = 0
    with trio.move_on_after(1):
        while True:
            await b.receive()
            received += 1
    assert received == net.stats.delivered


async def test_per_destination_link_overrides_default(autojump_clock):
    net = MemoryNetwork()
    a = await net.bind()
    b = await net.bind()
    c = await net.bind()
    net.set_link(b.local_address, loss=1.0)
    await a.send(b"to-b", b.local_address)
    await a.send(b"to-c", c.local_address)
    assert (await c.receive())[0] == b"to-c"
    with trio.move_on_after(5) as scope:
        await b.receive()
    assert scope.cancelled_caught
    assert net.stats.lost == 1


async def test_unbound_destination_and_queue_limit_are_counted(autojump_clock):
    net = MemoryNetwork(queue_limit=2)
    a = await net.bind()
    b = await net.bind()
    await a.send(b"nobody", ("127.0.0.1", 9))
    for _ in range(3):
        await a.send(b"q", b.local_address)
    assert net.stats.unroutable == 1
    assert net.stats.overflowed == 1


async def test_wildcard_bind_receives_for_any_host():
    net = MemoryNetwork()
    server = await net.bind("0.0.0.0", 5060)
    client = await net.bind("10.0.0.1", 0)
    await client.send(b"x", ("10.0.0.2", 5060))
    assert (await server.receive())[0] == b"x"


async def test_close_wakes_a_waiting_receiver(autojump_clock):
    net = MemoryNetwork()
    sock = await net.bind()

    async def close_soon():
        await trio.sleep(1)
        sock.close()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(close_soon)
        with pytest.raises(trio.ClosedResourceError):
            await sock.receive()
    with pytest.raises(trio.ClosedResourceError):
        await sock.send(b"x", ("127.0.0.1", 1))


async def test_earlier_datagram_arriving_while_waiting_wakes_receiver(autojump_clock):
    net = MemoryNetwork()
    a = await net.bind()
    b = await net.bind()
    net.set_link(b.local_address, latency=10)
    await a.send(b"slow", b.local_address)
    net.set_link(b.local_address, latency=1)
    got = []

    async def send_fast_later():
        await trio.sleep(0.5)
        await a.send(b"fast", b.local_address)

    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(send_fast_later)
        got.append(((await b.receive())[0], trio.current_time() - start))
        got.append(((await b.receive())[0], trio.current_time() - start))
    assert got == [(b"fast", pytest.approx(1.5)), (b"slow", pytest.approx(10))]


def _run_exchange(seed: int) -> list:
    async def main():
        net = MemoryNetwork(loss=0.3, latency=0.02, jitter=0.03, seed=seed)
        a = await net.bind()
        b = await net.bind()
        log = []

        async def echo():
            while True:
                data, src = await b.receive()
                log.append(("b", data, round(trio.current_time(), 9)))
                await b.send(data, src)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(echo)
            for i in range(100):
                await a.send(b"%d" % i, b.local_address)
            with trio.move_on_after(2):
                while True:
                    data, _ = await a.receive()
                    log.append(("a", data, round(trio.current_time(), 9)))
            nursery.cancel_scope.cancel()
        return log, net.stats.as_dict()

    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def test_same_seed_same_history_and_different_seed_differs():
    first = _run_exchange(7)
    assert first == _run_exchange(7)
    assert first != _run_exchange(8)
    assert first[1]["lost"] > 0


async def test_lossy_wrapper_drops_both_ways_over_real_udp():
    from dialer.net import UdpNetwork
    from sim.network import LossyNetwork

    lossy = LossyNetwork(UdpNetwork(), loss=0.5, seed=2)
    plain = UdpNetwork()
    a = await lossy.bind("127.0.0.1", 0)
    b = await plain.bind("127.0.0.1", 0)
    try:
        for i in range(200):
            await a.send(b"%d" % i, b.local_address)
        got = 0
        with trio.move_on_after(0.5):
            while True:
                await b.receive()
                got += 1
        assert got == 200 - lossy.stats.lost and 60 <= got <= 140
        lost_before = lossy.stats.lost
        for i in range(200):
            await b.send(b"x", a.local_address)
        back = 0
        with trio.move_on_after(0.5):
            while True:
                await a.receive()
                back += 1
        assert back == 200 - (lossy.stats.lost - lost_before) and 60 <= back <= 140
    finally:
        a.close()
        b.close()


def test_network_from_a_profile():
    from sim.profile import parse_profile

    profile = parse_profile("[network]\nloss = 0.1\nlatency = 0.05\njitter = 0.01\n")
    net = MemoryNetwork.from_config(profile.network, seed=3)
    assert (net.default_link.loss, net.default_link.latency, net.default_link.jitter) == (0.1, 0.05, 0.01)
