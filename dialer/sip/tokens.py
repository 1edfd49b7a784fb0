"""Random tokens for tags, branches and Call-IDs, from the OS's CSPRNG read in blocks.

RFC 3261 wants tags and Call-IDs cryptographically random and branches unique.
`secrets.token_hex` gives that with one getrandom() system call per token, and a
call needs about ten tokens (branches for each transaction, tags, a Call-ID). The
same bytes read 4 KB at a time cost one system call per ~500 tokens. A forked
child starts a fresh block, so parent and child never hand out the same bytes.
"""

from __future__ import annotations

import os

BLOCK_BYTES = 4096

_block = b""
_used = 0


def token_bytes(nbytes: int) -> bytes:
    global _block, _used
    end = _used + nbytes
    if end > len(_block):
        _block = os.urandom(max(BLOCK_BYTES, nbytes))
        _used, end = 0, nbytes
    chunk = _block[_used:end]
    _used = end
    return chunk


def token_hex(nbytes: int) -> str:
    return token_bytes(nbytes).hex()


def _forget_block() -> None:
    global _block, _used
    _block, _used = b"", 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_block)
