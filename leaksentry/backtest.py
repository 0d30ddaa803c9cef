"""`leaksentry backtest`'s files: read and check the brief and item files, then hand the
records to the matcher's backtest (matcher.backtest), which knows no brief files."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from leaksentry.briefs import read_brief_file
from matcher.backtest import BacktestSummary, backtest_records, read_items
from matcher.scoring import MatcherSettings


def run_backtest(
    briefs_paths: str | Path | list[str | Path],
    item_paths: list[str | Path],
    out_path: str | Path,
    model: str,
    settings: MatcherSettings | None = None,
    all_scores: bool = False,
    progress: bool = True,
    background_paths: list[str | Path] | None = None,
    cache=None,
) -> BacktestSummary:
    """Write one JSON line per (brief, item) the service would alert on (all_scores: every pair
    above the floor, with an "alert" field). Brief files are read leniently (strict=False:
    evaluation files carry extra keys); an error names the file and the line."""
    started = time.perf_counter()
    if isinstance(briefs_paths, (str, Path)):
        briefs_paths = [briefs_paths]
    briefs = [brief for path in briefs_paths for brief in read_brief_file(path, strict=False)]
    items = [item for path in item_paths for item in read_items(path)]
    background = (
        [item for path in background_paths for item in read_items(path)]
        if background_paths
        else None
    )
    reading = time.perf_counter() - started
    summary = backtest_records(
        briefs, items, out_path, model, settings, all_scores, progress, background, cache
    )
    # The times count from the start, reading the files included, as they always have.
    return replace(
        summary, seconds=summary.seconds + reading, load_seconds=summary.load_seconds + reading
    )
