"""Login throttling: after too many wrong passwords for a name, that name waits a while.

argon2 already makes each guess slow; this caps guesses against one account. By name, not
by address: behind a reverse proxy every request comes from 127.0.0.1, and one careless
client must not lock everybody out. Kept in memory: a restart forgets it.
"""

from __future__ import annotations

import threading
import time

MAX_FAILURES = 10
WINDOW_SECONDS = 15 * 60


class Throttle:
    def __init__(self, max_failures: int = MAX_FAILURES, window: float = WINDOW_SECONDS):
        self.max_failures, self.window = max_failures, window
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, at: float) -> list[float]:
        stamps = [t for t in self._failures.get(key, []) if at - t < self.window]
        self._failures[key] = stamps
        return stamps

    def blocked(self, *keys: str) -> bool:
        at = time.monotonic()
        with self._lock:
            return any(len(self._recent(k, at)) >= self.max_failures for k in keys)

    def fail(self, *keys: str) -> None:
        at = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, at).append(at)

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


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
