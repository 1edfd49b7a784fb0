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
