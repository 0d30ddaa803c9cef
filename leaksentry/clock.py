"""The current time, for every decision that depends on it (stamps, windows, severity, the
digest's day, retries, the crawl's lookback and cursors).

``LEAKSENTRY_TIME_OFFSET`` (seconds, may be negative) shifts this clock: a test that lives
through a simulated week sets it in each process it starts, so the service, its crawl child
and the command line all read the same simulated time, and time still runs. Unset (always,
outside tests) it is the system clock. What talks to other machines keeps the real time:
APScheduler's timers, Retry-After, signed links and sessions.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

OFFSET_VARIABLE = "LEAKSENTRY_TIME_OFFSET"


def now() -> datetime:
    """The current time (UTC, aware), shifted by LEAKSENTRY_TIME_OFFSET when it is set."""
    offset = os.environ.get(OFFSET_VARIABLE)
    current = datetime.now(UTC)
    return current + timedelta(seconds=float(offset)) if offset else current


def offset_to(instant: datetime) -> str:
    """The LEAKSENTRY_TIME_OFFSET value that makes now() read `instant` at this moment."""
    return repr((instant - datetime.now(UTC)).total_seconds())
