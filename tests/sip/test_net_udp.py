"""dialer.net.UdpNetwork on loopback: the send fast path and the name fallback."""

import trio

from dialer.net import UdpNetwork


async def test_send_by_ip_and_by_name_and_to_nobody():
    net = UdpNetwork()
    a, b = await net.bind("127.0.0.1", 0), await net.bind("127.0.0.1", 0)
    try:
        port = b.local_address[1]
        await a.send(b"by ip", ("127.0.0.1", port))
        await a.send(b"by name", ("localhost", port))  # resolved by trio, not blocking
        with trio.fail_after(5):
            got = {(await b.receive())[0] for _ in range(2)}
        assert got == {b"by ip", b"by name"}
        # a datagram to a closed port is a loss, never an exception
        nobody = await net.bind("127.0.0.1", 0)
        dead = nobody.local_address
        nobody.close()
        await a.send(b"lost", dead)
        await a.send(b"lost again", dead)
        await a.send(b"still works", ("127.0.0.1", port))
        with trio.fail_after(5):
            assert (await b.receive()) == (b"still works", a.local_address)
    finally:
        a.close()
        b.close()


async def test_buffer_size_is_asked_for_and_reported():
    small = await UdpNetwork(buffer_bytes=64 * 1024).bind("127.0.0.1", 0)
    large = await UdpNetwork().bind("127.0.0.1", 0)
    try:
        receive, send = small.buffer_bytes()
        assert 64 * 1024 <= receive <= 2 * 64 * 1024 and send >= 64 * 1024  # Linux doubles it
        # The default asks for more; what is granted depends on net.core.rmem_max.
        assert large.buffer_bytes()[0] >= receive
    finally:
        small.close()
        large.close()
