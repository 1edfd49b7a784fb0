"""The datagram transport under the endpoint: bytes on a `dialer.net` socket ⇄ SIP messages.

It owns no state machine; it serialises (once per message, so a
retransmission costs a syscall and nothing else), sends, receives, parses
and counts. A datagram that does not parse is counted and handed back as a
`SipParseError`, so the endpoint can answer 400 or drop it.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialer.net import Address, DatagramSocket

from .message import Request, Response, SipParseError, parse_message


@dataclass
class TransportStats:
    sent: int = 0
    received: int = 0
    parse_errors: int = 0


class DatagramTransport:
    reliable = False
    name = "UDP"

    def __init__(self, sock: DatagramSocket):
        self.sock = sock
        self.stats = TransportStats()
        self._nowait = getattr(sock, "receive_nowait", None)

    @property
    def local_address(self) -> Address:
        return self.sock.local_address

    async def send(self, message: Request | Response, address: Address) -> bool:
        """Send; always True: a datagram lost on the way is the transaction timers' business
        (a stream transport returns False when it could not send)."""
        wire = getattr(message, "_wire", None)
        if wire is None:
            wire = message.to_bytes()
            message._wire = wire  # messages are not changed once sent
        self.stats.sent += 1
        await self.sock.send(wire, address)
        return True

    async def receive(self) -> tuple[Request | Response | SipParseError, Address]:
        data, address = await self.sock.receive()
        return self._parse(data, address)

    def receive_nowait(self) -> tuple[Request | Response | SipParseError, Address] | None:
        """The next datagram if one is already waiting (sockets that can tell), else None."""
        if self._nowait is None:
            return None
        got = self._nowait()
        return None if got is None else self._parse(*got)

    def _parse(self, data: bytes, address: Address):
        self.stats.received += 1
        try:
            return parse_message(data), address
        except SipParseError as exc:
            self.stats.parse_errors += 1
            return exc, address

    def close(self) -> None:
        self.sock.close()
