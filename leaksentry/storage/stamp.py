"""The time stamped on stored rows: ISO text, so both backends compare and sort it alike."""

from __future__ import annotations

from leaksentry import clock


def now() -> str:
    return clock.now().isoformat(timespec="seconds")
