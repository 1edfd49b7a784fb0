"""A minimal in-memory datagram network for SIP tests in virtual time.

Real UDP cannot run under MockClock(autojump_threshold=0): the clock jumps while
a datagram is still in the kernel. This network delivers through trio memory
channels, with optional loss and delay, so timers and retransmissions are exact. It
implements the `dialer.net.Network` interface (the simulator's MemoryNetwork
does too, with latency and loss models).
"""

import itertools

import trio


class MemorySocket:
    def __init__(self, net, address):
        self.net = net
        self.local_address = address
        self._send, self._receive = trio.open_memory_channel(float("inf"))

    async def send(self, data, address):
        await trio.lowlevel.checkpoint()
        target = self.net.sockets.get(tuple(address))
        if target is None or self.net.drop(data, self.local_address, tuple(address)):
            return
        delay = self.net.delay(data, self.local_address, tuple(address))
        if delay:
            async def later(item=(bytes(data), self.local_address)):
                await trio.sleep(delay)
                target._send.send_nowait(item)
            trio.lowlevel.spawn_system_task(later)
            return
        target._send.send_nowait((bytes(data), self.local_address))

    async def receive(self):
        return await self._receive.receive()

    def close(self):
        self.net.sockets.pop(self.local_address, None)


class MemoryNetwork:
    def __init__(self, drop=None, delay=None):
        self.sockets = {}
        self._ports = itertools.count(40000)
        self.drop = drop or (lambda data, source, destination: False)
        # seconds to hold a datagram back (0: at once), e.g. a late answer
        self.delay = delay or (lambda data, source, destination: 0)

    async def bind(self, host="127.0.0.1", port=0):
        await trio.lowlevel.checkpoint()
        address = (host, port or next(self._ports))
        sock = MemorySocket(self, address)
        self.sockets[address] = sock
        return sock
