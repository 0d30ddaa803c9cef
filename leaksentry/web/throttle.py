"""Login throttling: too many wrong passwords for a name from one address, or from one
address for any names, and that address waits a while.

argon2 already makes each guess slow; this caps guesses against one account. By (name,
address), not by name alone: anyone can type a name, and a limit by name would let anyone
lock the real operator out for fifteen minutes by failing ten times; the operator logging
in from its own address is not held back by someone else's guesses. A guess is counted
before its password is checked (``attempt``, under one lock), so parallel guesses cannot
slip past the limit between the check and the count. Names are cut to what an operator name
can be and the table holds at most MAX_ENTRIES keys (the oldest go first), so names typed by
the thousand, 60 KB each, cannot grow it. Kept in memory: a restart forgets it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque

MAX_FAILURES = 10  # per (name, address) and window
MAX_ADDRESS_FAILURES = 100  # per address, whatever the names
WINDOW_SECONDS = 15 * 60
MAX_ENTRIES = 10_000  # keys kept, at most
NAME_CHARS = 65  # an operator name has at most 64: longer ones are all the same non-name


class Throttle:
    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window: float = WINDOW_SECONDS,
        max_address_failures: int = MAX_ADDRESS_FAILURES,
        max_entries: int | None = None,
    ):
        self.max_failures, self.window = max_failures, window
        self.max_address_failures = max_address_failures
        self.max_entries = MAX_ENTRIES if max_entries is None else max_entries
        self._failures: OrderedDict[tuple, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _keys(name: str, address: str) -> tuple[tuple, tuple]:
        return ("name", name[:NAME_CHARS], address[:64]), ("address", address[:64])

    def __len__(self) -> int:
        with self._lock:
            return len(self._failures)

    def entries(self) -> list[tuple]:
        with self._lock:
            return list(self._failures)

    def _count(self, key: tuple, at: float) -> int:
        stamps = self._failures.get(key)
        if stamps is None:
            return 0
        while stamps and at - stamps[0] >= self.window:
            stamps.popleft()
        if not stamps:
            del self._failures[key]
        return len(stamps)

    def _add(self, key: tuple, at: float) -> None:
        if key not in self._failures:
            if len(self._failures) >= self.max_entries:
                for old in list(self._failures):  # expired ones first
                    self._count(old, at)
            while len(self._failures) >= self.max_entries:
                self._failures.popitem(last=False)  # then the least recently failed
            self._failures[key] = deque()
        self._failures[key].append(at)
        self._failures.move_to_end(key)

    def attempt(self, name: str, address: str) -> bool:
        """Take one guess for (name, address), atomically: False when the name from this
        address, or this address, is at its limit. A guess taken counts as a failure until
        ``succeeded`` says otherwise."""
        at = time.monotonic()
        pair, by_address = self._keys(name, address)
        with self._lock:
            if (
                self._count(pair, at) >= self.max_failures
                or self._count(by_address, at) >= self.max_address_failures
            ):
                return False
            self._add(pair, at)
            self._add(by_address, at)
            return True

    def succeeded(self, name: str, address: str) -> None:
        """The password was right: the name's failures from this address are forgotten and
        the guess is given back to the address."""
        pair, by_address = self._keys(name, address)
        with self._lock:
            self._failures.pop(pair, None)
            stamps = self._failures.get(by_address)
            if stamps:
                stamps.pop()
                if not stamps:
                    del self._failures[by_address]


FAILED_LOGIN_ROWS = 200  # audit rows of failed logins per window, at most


class AuditBudget:
    """At most `limit` audit rows of failed logins per window.

    Why: each failed login writes a row, and a throttled name costs an attacker nothing to
    retry, so a spray could grow the database until the disk floor pauses crawling: blinding
    the watcher through its own audit log. Beyond the limit one row says so, and the rest are
    only counted in the service log.
    """

    def __init__(self, limit: int = FAILED_LOGIN_ROWS, window: float = WINDOW_SECONDS):
        self.limit, self.window = limit, window
        self._stamps: list[float] = []
        self._noted = False
        self._lock = threading.Lock()

    def take(self) -> str:
        """'record' (write the row), 'note' (write the one row saying rows stop), or 'skip'."""
        at = time.monotonic()
        with self._lock:
            self._stamps = [t for t in self._stamps if at - t < self.window]
            if len(self._stamps) < self.limit:
                self._stamps.append(at)
                self._noted = False
                return "record"
            if not self._noted:
                self._noted = True
                return "note"
            return "skip"
