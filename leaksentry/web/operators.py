"""Adding operators of the triage page (the CLI's ``operator add``), with checks."""

from __future__ import annotations

import re

from leaksentry.errors import LeaksentryError
from leaksentry.store import Store
from leaksentry.web import passwords

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def add_operator(store: Store, name: str, password: str, replace: bool = False) -> bool:
    """Store the operator with an argon2 hash; True when new. A new password for a known
    operator (``replace``) ends its earlier sessions."""
    if not NAME.match(name):
        raise LeaksentryError(
            f"operator name {name!r}: use 1 to 64 letters, digits, '.', '_', '@' or '-'"
        )
    if store.operator_row(name) is not None and not replace:
        raise LeaksentryError(f"operator {name!r} exists; use --replace to give it a new password")
    problem = passwords.check_new_password(password)
    if problem:
        raise LeaksentryError(problem)
    return store.set_operator_password(
        name, passwords.hash_password(password), passwords.new_session_nonce()
    )
