"""The endpoint's receive loop over real UDP: queued datagrams are all handled, and before
the timers that they make moot.

A burst of queued datagrams is handled in full.
The loop takes every datagram already waiting in the kernel per wake-up and yields every
64 of them. It once read the next datagram ahead and, on the 64th, threw that read-ahead
away to wait for a new one: one datagram in 64 of a busy burst was lost without a trace
(a lost 200 for a BYE or INVITE then cost a retransmission, and a retransmitted INVITE
crossing sipp's 200 made sipp abort the call: the benchmark's failure).

After a stall of the whole process, responses that were queued before their
retransmission timer was due are handled before that timer fires.
"""

import socket
import time

import trio

from dialer.net import UdpNetwork
from dialer.sip.endpoint import open_endpoint
from dialer.sip.message import Response, make_response, parse_message
from dialer.sip.transaction import TimerValues

BURST = 300  # several times the loop's 64-datagram slice


def options(port: int, sender_port: int, n: int) -> bytes:
    return (
        f"OPTIONS sip:dialer@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{sender_port};branch=z9hG4bKburst{n}\r\n"
        f"Max-Forwards: 70\r\n"
        f"From: <sip:probe@127.0.0.1>;tag=probe{n}\r\n"
        f"To: <sip:dialer@127.0.0.1>\r\n"
        f"Call-ID: burst-{n}@127.0.0.1\r\n"
        f"CSeq: 1 OPTIONS\r\n"
        f"Content-Length: 0\r\n\r\n").encode()


async def test_every_datagram_of_a_queued_burst_is_answered():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        sender.bind(("127.0.0.1", 0))
        sender_port = sender.getsockname()[1]
        async with open_endpoint(UdpNetwork(), "127.0.0.1", 0) as endpoint:
            port = endpoint.local_address[1]
            # All sent without yielding: the endpoint finds them queued in one wake-up.
            for n in range(BURST):
                sender.sendto(options(port, sender_port, n), ("127.0.0.1", port))
            answered = set()
            sender.setblocking(False)
            with trio.move_on_after(10):
                while len(answered) < BURST:
                    await trio.lowlevel.wait_readable(sender)
                    response = parse_message(sender.recv(65535))
                    assert isinstance(response, Response) and response.status == 200
                    answered.add(response.call_id)
            assert endpoint.stats["dropped"] == 0
            assert endpoint.transport.stats.received == BURST
    assert len(answered) == BURST, f"{BURST - len(answered)} requests of the burst went unanswered"


async def test_responses_queued_during_a_stall_are_handled_before_retransmit_timers():
    timers = TimerValues(t1=0.1, t2=0.4, t4=0.5)
    probes = 20
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        peer.bind(("127.0.0.1", 0))
        peer.setblocking(False)
        peer_address = peer.getsockname()
        async with open_endpoint(UdpNetwork(), "127.0.0.1", 0, timers=timers) as endpoint:
            statuses = []

            async def probe():
                statuses.append(await endpoint.options(peer_address))

            async with trio.open_nursery() as nursery:
                for _ in range(probes):
                    nursery.start_soon(probe)
                requests = []
                with trio.fail_after(5):
                    while len(requests) < probes:
                        await trio.lowlevel.wait_readable(peer)
                        requests.append(parse_message(peer.recv(65535)))
                for request in requests:
                    peer.sendto(make_response(request, 200).to_bytes(), endpoint.local_address)
                # The process stalls past Timer E (T1) with every 200 already queued.
                time.sleep(3 * timers.t1)
            assert statuses == [200] * probes
            await trio.sleep(2 * timers.t1)
            retransmitted = []
            while True:
                try:
                    retransmitted.append(parse_message(peer.recv(65535)))
                except BlockingIOError:
                    break
            assert retransmitted == [], "requests were retransmitted though their 200 was queued"
