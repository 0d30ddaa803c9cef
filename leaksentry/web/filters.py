"""Jinja filters: readable times and scores."""

from __future__ import annotations

from datetime import UTC

from leaksentry.records import parse_iso_datetime


def when(value: str | None) -> str:
    """'2026-11-04 06:45 UTC' from an ISO time; the text as given when it is not one."""
    if not value:
        return "-"
    parsed = parse_iso_datetime(value)
    if parsed is None:
        return str(value)
    return parsed.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def register(app) -> None:
    app.add_template_filter(when, "when")
    app.add_template_filter(lambda score: f"{score:.2f}" if score is not None else "-", "score")
