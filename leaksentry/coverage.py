"""Coverage health: can leaksentry see each source? "No alert" must never hide "no data"."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from leaksentry import clock
from leaksentry.config import Config
from leaksentry.records import parse_iso_datetime
from leaksentry.storage import Store

STALE_AFTER_INTERVALS = 3  # no success for this many intervals: the source is not being seen


@dataclass
class SourceHealth:
    name: str
    kind: str
    enabled: bool
    health: str  # ok | never crawled | failing | stale | disabled
    last_success: str | None
    last_error: str | None
    statuses: dict
    items_last_run: int
    items_per_run: float
    robots_blocked: int
    truncated: int
    items_stored: int


def source_health(config: Config, store: Store, now: datetime | None = None) -> list[SourceHealth]:
    """One line of health per configured source, from its recorded runs."""
    now = now or clock.now()
    rows = {row["name"]: row for row in store.source_rows()}
    stored = store.item_counts_by_source()
    report = []
    for source in config.sources:
        row = rows.get(source.name, {})
        runs = store.source_runs(source.name, limit=10)
        last = runs[0] if runs else {}
        success = parse_iso_datetime(row.get("last_success_at"))
        if not source.enabled:
            health = "disabled"
        elif not runs:
            health = "never crawled"
        elif not last.get("ok"):
            health = "failing"
        elif success and (now - success).total_seconds() > STALE_AFTER_INTERVALS * source.every:
            health = "stale"
        else:
            health = "ok"
        report.append(
            SourceHealth(
                name=source.name,
                kind=source.kind,
                enabled=source.enabled,
                health=health,
                last_success=row.get("last_success_at"),
                last_error=row.get("last_error"),
                statuses=json.loads(last.get("statuses") or "{}"),
                items_last_run=last.get("stored", 0) or 0,
                items_per_run=sum(r["stored"] or 0 for r in runs) / len(runs) if runs else 0.0,
                robots_blocked=last.get("robots_blocked", 0) or 0,
                truncated=last.get("truncated", 0) or 0,
                items_stored=stored.get(source.name, 0),
            )
        )
    return report
