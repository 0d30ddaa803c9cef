"""Operator passwords: argon2id (argon2-cffi's defaults, RFC 9106), never stored in clear.

An unknown name is checked against a dummy hash, so a login takes as long whether or not the
operator exists.
"""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 1024  # argon2 takes any length; a cap keeps a login request cheap
_hasher = PasswordHasher()


def check_new_password(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_LENGTH:
        return f"the password must have at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"the password must have at most {MAX_LENGTH} characters"
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def new_session_nonce() -> str:
    return secrets.token_urlsafe(16)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def verify(stored_hash: str | None, password: str) -> tuple[bool, str | None]:
    """(password right, a new hash to store when the parameters have been raised)."""
    if len(password) > MAX_LENGTH:
        return False, None
    try:
        _hasher.verify(stored_hash or _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    if stored_hash is None:
        return False, None
    return True, hash_password(password) if _hasher.check_needs_rehash(stored_hash) else None
