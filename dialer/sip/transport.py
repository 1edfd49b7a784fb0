"""The datagram transport under the endpoint: bytes on a `dialer.net` socket ⇄ SIP messages.

It owns no state machine; it serialises (once per message, so a
retransmission costs a syscall and nothing else), sends, receives, parses
and counts. A datagram that does not parse is counted and handed back as a
`SipParseError`, so the endpoint can answer 400 or drop it.

A socket of an in-process network may carry the sender's message beside its
bytes (`carries_messages`: the simulator's in-memory network). The bytes are
still made and sent; the receiver then takes a copy of the message
(`received_copy`: what parsing the bytes gives, without parsing them), and
with the socket's `check_carried` checks it against the bytes parsed.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialer.net import Address, DatagramSocket

from .message import (Request, Response, SipParseError, parse_message, parsed_differences,
                      received_copy)


@dataclass
class TransportStats:
    sent: int = 0
    received: int = 0
    parse_errors: int = 0


class CarriedMessageMismatch(AssertionError):
    """A message carried beside its bytes is not what parsing the bytes gives: a bug in
    building or copying messages (never the peer's doing); it stops the endpoint."""


class DatagramTransport:
    reliable = False
    name = "UDP"

    def __init__(self, sock: DatagramSocket):
        self.sock = sock
        self.stats = TransportStats()
        self._carried = bool(getattr(sock, "carries_messages", False))
        self._check = self._carried and bool(getattr(sock, "check_carried", False))
        if self._carried:
            self._nowait = sock.receive_nowait_carried
        else:
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
        if self._carried:
            await self.sock.send(wire, address, message)
        else:
            await self.sock.send(wire, address)
        return True

    async def receive(self) -> tuple[Request | Response | SipParseError, Address]:
        if self._carried:
            return self._take(*await self.sock.receive_carried())
        data, address = await self.sock.receive()
        return self._parse(data, address)

    def receive_nowait(self) -> tuple[Request | Response | SipParseError, Address] | None:
        """The next datagram if one is already waiting (sockets that can tell), else None."""
        if self._nowait is None:
            return None
        got = self._nowait()
        if got is None:
            return None
        return self._take(*got) if self._carried else self._parse(*got)

    def _parse(self, data: bytes, address: Address):
        self.stats.received += 1
        try:
            return parse_message(data), address
        except SipParseError as exc:
            self.stats.parse_errors += 1
            return exc, address

    def _take(self, data: bytes, address: Address, message):
        """A datagram from a socket that carries messages: the copy of the carried message,
        or the bytes parsed if none was carried (a sender that sends bytes only)."""
        if message is None:
            return self._parse(data, address)
        self.stats.received += 1
        copy = received_copy(message)
        if self._check:
            differences = parsed_differences(copy, data)
            if differences:
                raise CarriedMessageMismatch(
                    f"carried {message!r} from {address} differs from its bytes: "
                    + "; ".join(differences))
        return copy, address

    def close(self) -> None:
        self.sock.close()
