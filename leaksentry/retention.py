"""Retention: how long what is not evidence is kept (the ``[retention]`` table).

Items that matched a brief (a row in ``matches``), the item an alert's story is named after,
alerts, the outbox and the audit log are never purged. What goes, in bounded batches (each its
own short transaction, so the service's other steps and the CLI wait at most one batch):

- items fetched more than ``items_days`` ago that the matcher has scored and that matched no
  brief, with their story signatures, raw captures and full-text rows (the FTS triggers);
- raw captures of unmatched items older than ``raw_days`` (the top-level ``keep_raw_days``
  is the older name of it);
- vectors of the public embeddings cache written more than ``vectors_days`` ago (the cache is
  keyed by passage text, not by item: a vector needed again is computed again);
- job runs and per-source crawl figures older than ``runs_days`` (the latest of each job and
  source stays).

SQLite reuses the freed pages for new rows; the file itself does not shrink unless
``VACUUM`` is run (with the service stopped, it rewrites the whole file).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from leaksentry import clock
from leaksentry.errors import ConfigError

PAUSE_SECONDS = 0.05  # between batches: a writer waiting on the lock gets its turn


@dataclass(frozen=True)
class RetentionSettings:
    items_days: int = 30  # unmatched items (and their signatures, search rows) kept this long
    raw_days: int = 30  # raw responses of unmatched items (default: keep_raw_days)
    vectors_days: int = 14  # cached passage vectors (the matcher calibrates on the last 7 days)
    runs_days: int = 90  # job runs and per-source crawl figures
    batch_size: int = 2000  # rows deleted per transaction

    @classmethod
    def from_config(cls, config) -> RetentionSettings:
        """The [retention] table, checked; ``raw_days`` falls back to ``keep_raw_days``."""
        table = dict(getattr(config, "retention", None) or {})
        known = {f.name for f in fields(cls)}
        unknown = set(table) - known
        if unknown:
            raise ConfigError(
                f"[retention] unknown key(s) {sorted(unknown)}; known: {sorted(known)}"
            )
        table.setdefault("raw_days", getattr(config, "keep_raw_days", cls.raw_days))
        for key, value in table.items():
            least = 1 if key == "batch_size" else 0
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ConfigError(
                    f"[retention] {key!r} must be a whole number ({least} or more), not {value!r}"
                )
        return cls(**table)


def cutoff(days: int, at: datetime | None = None) -> str:
    """The ISO time `days` before `at` (default now), comparable with the store's stamps."""
    return ((at or clock.now()) - timedelta(days=days)).isoformat(timespec="seconds")


def purge(
    store,
    settings: RetentionSettings,
    at: datetime | None = None,
    dry_run: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
    progress: Callable[[dict], None] | None = None,
    pause: float = PAUSE_SECONDS,
) -> dict[str, int]:
    """Delete what the settings no longer keep; returns rows deleted (or, dry, to delete)
    per kind. Stops between batches when `should_stop` says so (the rest goes next time)."""
    steps = {
        "items": (store.purge_items, cutoff(settings.items_days, at)),
        "raw_captures": (store.purge_raw_captures, cutoff(settings.raw_days, at)),
        "vectors": (store.purge_vectors, cutoff(settings.vectors_days, at)),
        "runs": (store.purge_runs, cutoff(settings.runs_days, at)),
    }
    counts = dict.fromkeys(steps, 0)
    for kind, (step, older_than) in steps.items():
        if dry_run:
            counts[kind] = step(older_than, limit=None, dry_run=True)
            continue
        while not should_stop():
            done = step(older_than, limit=settings.batch_size)
            counts[kind] += done
            if progress is not None and done:
                progress({kind: done})
            if done < settings.batch_size:
                break
            if pause:
                time.sleep(pause)
    return counts
