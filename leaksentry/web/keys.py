"""Secrets of the triage page, derived from the vault key with HKDF.

One key to guard instead of three: the session cookie, CSRF tokens and mail links each get
their own derived secret, so none can stand in for another, and none can be turned back into
the vault key. Rotating the vault key therefore signs every operator out and voids the links
of earlier mails (they still lead to the login page, then to the alert list).
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PURPOSES = ("web-session", "mail-links")


def derive(vault_key: bytes, purpose: str) -> bytes:
    """32 bytes for one purpose; the same key and purpose always give the same bytes."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    info = f"leaksentry/{purpose}/v1".encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(vault_key)
