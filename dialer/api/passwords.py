"""Password hashing: argon2id (argon2-cffi).

Hashing costs tens of milliseconds of CPU on purpose. The dialer's event loop
also drives SIP timers, so the hash runs in a worker thread that the calling
task awaits (trio.to_thread: structured, cancellable from our side) instead of
stalling every call in flight.
"""

from __future__ import annotations

import argon2
import trio

# Tests swap in cheaper parameters; production uses argon2-cffi's RFC 9106 defaults.
HASHER = argon2.PasswordHasher()

MIN_LENGTH = 8


class WeakPassword(ValueError):
    pass


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"password: at least {MIN_LENGTH} characters")


async def hash_password(password: str) -> str:
    check_strength(password)
    return await trio.to_thread.run_sync(HASHER.hash, password)


def hash_password_sync(password: str) -> str:
    """For the CLI, which has nothing else to run meanwhile."""
    check_strength(password)
    return HASHER.hash(password)


async def verify_password(stored: str, password: str) -> tuple[bool, str | None]:
    """(matches?, new hash when the stored one used weaker parameters)."""

    def verify() -> tuple[bool, str | None]:
        try:
            HASHER.verify(stored, password)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False, None
        return True, HASHER.hash(password) if HASHER.check_needs_rehash(stored) else None

    return await trio.to_thread.run_sync(verify)
