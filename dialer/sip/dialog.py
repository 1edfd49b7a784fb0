"""SIP dialogs (RFC 3261 §12), sans-IO.

A `Dialog` holds what requests inside a call need: Call-ID, local and remote
tags and URIs, our CSeq counter, the remote target (the peer's Contact) and
the route set (Record-Route, reversed for the caller). It builds in-dialog
requests (BYE, re-INVITE, the end-to-end ACK for a 2xx) and checks the
peer's in-dialog requests. It never touches the network: the caller wraps
the requests it builds in client transactions.
"""

from __future__ import annotations

from .message import (_TAG_RE, Headers, NameAddr, Request, Response, parse_name_addr,
                      parse_uri, plain_uri_text)
from .tokens import token_bytes, token_hex
from .transaction import new_branch


def new_tag() -> str:
    return token_hex(6)


def new_call_id(host: str) -> str:
    return f"{token_hex(10)}@{host}"


class DialogError(ValueError):
    """An in-dialog request the dialog cannot accept; `status` is the response to send."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


class Dialog:
    """One dialog. Build with `Dialog.from_uac()` (we sent the INVITE) or
    `Dialog.from_uas()` (we received it)."""

    def __init__(self, *, call_id: str, local_tag: str, remote_tag: str | None, local_uri: str,
                 remote_uri: str, local_seq: int, remote_seq: int | None, remote_target: str,
                 route_set: list[str], local_contact: str, via_host: str, via_transport: str = "UDP"):
        self.call_id = call_id
        self.local_tag = local_tag
        self.remote_tag = remote_tag
        self.local_uri = local_uri          # the From (ours) / To (theirs) name-addr, without tag
        self.remote_uri = remote_uri
        self.local_seq = local_seq
        self.remote_seq = remote_seq
        self.remote_target = remote_target
        self.route_set = route_set
        self.local_contact = local_contact
        self.via_host = via_host            # "host:port" for our Via sent-by
        self.via_transport = via_transport
        self.state = "early" if remote_tag is None else "confirmed"
        self.terminated = False

    @property
    def id(self) -> tuple[str, str, str | None]:
        return (self.call_id, self.local_tag, self.remote_tag)

    @classmethod
    def from_uac(cls, invite: Request, response: Response, *, via_host: str) -> "Dialog":
        """The dialog a 1xx-with-tag or 2xx creates on the caller's side (§12.1.2)."""
        contacts = response.headers.get_all("Contact")
        route_set = list(reversed(response.headers.get_all("Record-Route")))
        dialog = cls(
            call_id=invite.call_id, local_tag=invite.from_tag or "", remote_tag=response.to_tag,
            local_uri=_strip_tag(invite.headers.get("From")),
            remote_uri=_strip_tag(response.headers.get("To")),
            local_seq=invite.cseq, remote_seq=None,
            remote_target=_target(contacts[0]) if contacts else invite.uri, route_set=route_set,
            local_contact=invite.headers.get("Contact") or "", via_host=via_host,
            via_transport=invite.via_transport)
        if response.status >= 200:
            dialog.state = "confirmed"
        return dialog

    @classmethod
    def from_uas(cls, invite: Request, *, local_tag: str, local_contact: str,
                 via_host: str) -> "Dialog":
        """The dialog our 2xx (or 1xx) to an INVITE creates on the callee's side (§12.1.1)."""
        contacts = invite.headers.get_all("Contact")
        if not contacts:
            raise DialogError(400, "INVITE without Contact")
        h = invite.headers
        return cls(
            call_id=invite.call_id, local_tag=local_tag, remote_tag=invite.from_tag,
            local_uri=_uri_without_tag(h.get("To"), invite, "to_addr"),
            remote_uri=_uri_without_tag(h.get("From"), invite, "from_addr"),
            local_seq=int.from_bytes(token_bytes(4), "big") % 10000 + 1, remote_seq=invite.cseq,
            remote_target=_target(contacts[0]), route_set=h.get_all("Record-Route"),
            local_contact=local_contact, via_host=via_host, via_transport=invite.via_transport)

    def confirm(self, response: Response) -> None:
        """A 2xx confirmed the dialog: take its remote tag, target and route set (§12.1.2)."""
        self.remote_tag = response.to_tag
        contacts = response.headers.get_all("Contact")
        if contacts:
            self.remote_target = _target(contacts[0])
        self.route_set = list(reversed(response.headers.get_all("Record-Route")))
        self.state = "confirmed"

    # --- requests we send --------------------------------------------------------------

    def create_request(self, method: str, *, body: bytes = b"", content_type: str | None = None,
                       extra_headers: list[tuple[str, str]] = (), cseq: int | None = None) -> Request:
        """An in-dialog request (§12.2.1.1). CSeq is incremented, except for ACK (`cseq`)."""
        if method == "ACK":
            seq = cseq if cseq is not None else self.local_seq
        else:
            self.local_seq += 1
            seq = self.local_seq
        uri = self.remote_target
        routes = list(self.route_set)
        if routes and ";lr" not in routes[0]:
            # Strict router (§12.2.1.1): it becomes the Request-URI, the target goes last.
            uri = str(parse_name_addr(routes[0]).uri)
            routes = routes[1:] + [f"<{self.remote_target}>"]
        h = Headers()
        branch = new_branch()
        h.add("Via", f"SIP/2.0/{self.via_transport} {self.via_host};branch={branch};rport")
        h.add("Max-Forwards", "70")
        for route in routes:
            h.add("Route", route)
        h.add("From", f"{self.local_uri};tag={self.local_tag}")
        h.add("To", self.remote_uri + (f";tag={self.remote_tag}" if self.remote_tag else ""))
        h.add("Call-ID", self.call_id)
        h.add("CSeq", f"{seq} {method}")
        if self.local_contact and method in ("INVITE", "UPDATE"):
            h.add("Contact", self.local_contact)
        for name, value in extra_headers:
            h.add(name, value)
        if body:
            h.add("Content-Type", content_type or "application/sdp")
        request = Request(method, uri, h, body, index=False)
        request._known_index(self.call_id, seq, self.local_tag or None, self.remote_tag or None,
                             branch)
        return request

    def ack(self, invite_cseq: int, body: bytes = b"") -> Request:
        """The end-to-end ACK for a 2xx (§13.2.2.4): its own branch, the INVITE's CSeq."""
        return self.create_request("ACK", cseq=invite_cseq, body=body)

    # --- requests we receive -----------------------------------------------------------

    def check_request(self, request: Request) -> None:
        """Accept an in-dialog request from the peer or raise DialogError (§12.2.2)."""
        if request.method in ("ACK", "CANCEL"):
            return  # ACK and CANCEL reuse the INVITE's CSeq number
        if self.remote_seq is not None and request.cseq < self.remote_seq:
            raise DialogError(500, "CSeq lower than the last one")
        self.remote_seq = request.cseq
        if request.method == "INVITE":
            contacts = request.headers.get_all("Contact")
            if contacts:
                self.remote_target = str(parse_name_addr(contacts[0]).uri)


def _strip_tag(value: str) -> str:
    """A From/To header value without its tag parameter (no full parse: the hot path)."""
    gt = value.rfind(">")
    match = _TAG_RE.search(value, gt + 1 if gt != -1 else 0)
    if match is None:
        return value.strip()
    return (value[:match.start()] + value[match.end():]).strip()


def _target(contact: str) -> str:
    """The remote target from a Contact element: its URI as `parse_uri` writes it."""
    plain = plain_uri_text(contact)
    return plain if plain is not None else str(parse_name_addr(contact).uri)


def _uri_without_tag(value: str, message, field: str) -> str:
    """A From/To value as the dialog keeps it (`_without_tag` of the parsed address): for a
    plain, canonical value that is the value up to its '>'."""
    if plain_uri_text(value) is not None:
        return value[:value.index(">") + 1]
    return _without_tag(getattr(message, field))


def _without_tag(addr: NameAddr) -> str:
    params = {k: v for k, v in addr.params.items() if k != "tag"}
    return str(NameAddr(uri=addr.uri, display=addr.display, params=params))


def dialog_key_for_request(request: Request) -> tuple[str, str, str | None]:
    """The dialog a request from the peer belongs to: (Call-ID, our tag = To tag, their tag)."""
    return (request.call_id, request.to_tag or "", request.from_tag)


__all__ = ["Dialog", "DialogError", "new_tag", "new_call_id", "dialog_key_for_request", "parse_uri"]
