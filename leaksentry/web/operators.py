"""Operators of the triage page (the CLI's ``operator add|grant|revoke``), with checks, and
their rights: which briefs each one may see.

Rights live in ``operators.briefs``: ``"*"`` for every brief (also briefs added later), or a
JSON list of brief ids. Anything else reads as no brief at all (fail closed). A new operator
gets no brief unless told otherwise. Every change is written to the audit log.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from leaksentry.errors import LeaksentryError
from leaksentry.storage import Store
from leaksentry.web import passwords

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
ALL_BRIEFS = "*"
CLI = "cli"  # `who` in the audit log for changes made with the CLI


@dataclass(frozen=True)
class Rights:
    """The briefs one operator may see: every brief, or the listed brief ids."""

    every: bool = False
    brief_ids: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, value: str | None) -> Rights:
        """From the ``operators.briefs`` column; a missing or damaged value gives none."""
        if value == ALL_BRIEFS:
            return cls(every=True)
        try:
            ids = json.loads(value or "[]")
        except ValueError:
            return NO_BRIEFS
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return NO_BRIEFS
        return cls(brief_ids=frozenset(ids))

    def column(self) -> str:
        return ALL_BRIEFS if self.every else json.dumps(sorted(self.brief_ids))

    def allows(self, brief_id: str | None) -> bool:
        return self.every or brief_id in self.brief_ids

    def granted(self, more: Rights) -> Rights:
        if self.every or more.every:
            return EVERY_BRIEF
        return Rights(brief_ids=self.brief_ids | more.brief_ids)

    def describe(self, codenames: dict[str, str]) -> str:
        """'all', 'none', or the codenames (the id of a brief no longer stored)."""
        if self.every:
            return "all"
        if not self.brief_ids:
            return "none"
        return ", ".join(sorted(codenames.get(i, i) for i in self.brief_ids))


EVERY_BRIEF = Rights(every=True)
NO_BRIEFS = Rights()


def resolve_briefs(store: Store, refs: Iterable[str]) -> list[str]:
    """Brief ids for ids or codenames (codenames in any case); names every unknown one."""
    rows = store.brief_rows()
    ids = {row["id"] for row in rows}
    found, unknown = [], []
    for ref in refs:
        if ref in ids:
            found.append(ref)
            continue
        named = [row["id"] for row in rows if row["codename"].casefold() == ref.casefold().strip()]
        if len(named) > 1:
            raise LeaksentryError(
                f"codename {ref!r} names several briefs ({', '.join(named)}); give the id"
            )
        if named:
            found.append(named[0])
        else:
            unknown.append(ref)
    if unknown:
        listed = ", ".join(repr(u) for u in unknown)
        raise LeaksentryError(
            f"no brief with id or codename {listed} (see `leaksentry brief list --all`)"
        )
    return list(dict.fromkeys(found))


def codenames(store: Store) -> dict[str, str]:
    return {row["id"]: row["codename"] for row in store.brief_rows()}


def _what(rights: Rights, names: dict[str, str]) -> str:
    if rights.every:
        return "all briefs"
    if not rights.brief_ids:
        return "no briefs"
    return ", ".join(f"{i} ({names[i]})" if i in names else i for i in sorted(rights.brief_ids))


def add_operator(
    store: Store,
    name: str,
    password: str,
    replace: bool = False,
    rights: Rights | None = None,
    who: str = CLI,
) -> bool:
    """Store the operator with an argon2 hash; True when new. A new operator gets `rights`
    (default: no brief). A new password for a known operator (``replace``) ends its earlier
    sessions and leaves its rights as they are."""
    if not NAME.match(name):
        raise LeaksentryError(
            f"operator name {name!r}: use 1 to 64 letters, digits, '.', '_', '@' or '-'"
        )
    known = store.operator_row(name) is not None
    if known and not replace:
        raise LeaksentryError(f"operator {name!r} exists; use --replace to give it a new password")
    if known and rights is not None:
        raise LeaksentryError(
            f"operator {name!r} exists; change its briefs with `leaksentry operator grant|revoke`"
        )
    problem = passwords.check_new_password(password)
    if problem:
        raise LeaksentryError(problem)
    if rights is None:
        rights = NO_BRIEFS
    with store.atomic():
        new = store.set_operator_password(
            name,
            passwords.hash_password(password),
            passwords.new_session_nonce(),
            briefs=rights.column(),
        )
        if new:
            note = f"{name}: {_what(rights, codenames(store))}"
            store.record_audit("operator added", who, note)
        else:
            store.record_audit("new password", who, name)
    return new


def operator_rights(store: Store, name: str) -> Rights:
    """The operator's rights as stored now; none for an unknown operator."""
    row = store.operator_row(name)
    return Rights.parse(row["briefs"]) if row else NO_BRIEFS


def _known(store: Store, name: str) -> Rights:
    row = store.operator_row(name)
    if row is None:
        raise LeaksentryError(f"no operator {name!r} (see `leaksentry operator list`)")
    return Rights.parse(row["briefs"])


def grant(store: Store, name: str, more: Rights, who: str = CLI) -> tuple[Rights, bool]:
    """Let the operator see more briefs: (its rights now, whether they changed)."""
    with store.atomic():
        before = _known(store, name)
        after = before.granted(more)
        if after != before:
            store.set_operator_briefs(name, after.column())
            names = codenames(store)
            note = f"{name}: {_what(more, names)}; now {_what(after, names)}"
            store.record_audit("grant", who, note)
    return after, after != before


def revoke(store: Store, name: str, fewer: Rights, who: str = CLI) -> tuple[Rights, bool]:
    """Take briefs away from the operator (``fewer.every``: every brief it had): (its rights
    now, whether they changed). Effective on the operator's next request."""
    with store.atomic():
        before = _known(store, name)
        if fewer.every:
            after = NO_BRIEFS
        elif before.every:
            raise LeaksentryError(
                f"operator {name!r} may see every brief: revoke --all-briefs, "
                "then grant the briefs it keeps"
            )
        else:
            after = Rights(brief_ids=before.brief_ids - fewer.brief_ids)
        if after != before:
            store.set_operator_briefs(name, after.column())
            names = codenames(store)
            what = "every brief" if fewer.every else _what(fewer, names)
            store.record_audit("revoke", who, f"{name}: {what}; now {_what(after, names)}")
    return after, after != before
