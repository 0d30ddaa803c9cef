"""One scheduler at a time. Several `leaksentry run` processes may be started (on several
machines, for availability); the one holding a PostgreSQL advisory lock schedules, the others
stand by and try again every few seconds.

The lock belongs to a database session: when the scheduling process dies, or its machine or
network does, the server ends the session and frees the lock, and a standby takes over
within POLL_SECONDS (plus about 25 s of TCP keepalive, for a machine that vanished). A scheduler
that loses its session stops (exit 1, for systemd to restart it as a standby), so two never
schedule at once for longer than one check.
"""

from __future__ import annotations

import logging
import threading

import psycopg

from leaksentry.storage import describe

log = logging.getLogger("leaksentry.scheduler")
SCHEDULER_LOCK = 0x6C73_0020  # advisory lock key: "the scheduler" (see storage/postgres.py)
POLL_SECONDS = 5
# TCP keepalive both ways: we notice a vanished server, and the server notices a vanished
# scheduler (its own settings, set for this session only; the default is the OS's 2 hours)
SERVER_KEEPALIVE = (
    "-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3"
)
KEEPALIVE = {
    "options": SERVER_KEEPALIVE,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}


class SchedulerLock:
    """``if lock.acquire(stopping): schedule, checking lock.held() now and then``."""

    def __init__(self, url: str):
        self.url = url
        self.conn: psycopg.Connection | None = None

    def acquire(self, stopping: threading.Event) -> bool:
        """Wait until this process holds the lock (True), or is told to stop (False)."""
        standing_by = False
        while not stopping.is_set():
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = psycopg.connect(
                        self.url, autocommit=True, connect_timeout=10, **KEEPALIVE
                    )
                row = self.conn.execute("select pg_try_advisory_lock(%s)", [SCHEDULER_LOCK])
                if row.fetchone()[0]:
                    return True
                if not standing_by:
                    log.info(
                        "another `leaksentry run` is scheduling; standing by (taking over "
                        "within %d s if it stops)",
                        POLL_SECONDS,
                    )
                    standing_by = True
            except psycopg.OperationalError as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreachable"
                log.warning("scheduler lock: %s: %s; trying again", describe(self.url), first)
                self.close()
            stopping.wait(POLL_SECONDS)
        return False

    def held(self) -> bool:
        """Whether the lock is still ours: its session is alive."""
        try:
            self.conn.execute("select 1")
            return True
        except (psycopg.Error, AttributeError):
            return False

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
