"""The live decision over records: briefs and items in, alert lines out. No database, no network.

The matcher takes plain records: reading and validating brief files is the caller's part
(leaksentry.backtest reads them for `leaksentry backtest`). Items in JSON Lines are read here,
since an Item needs nothing but its record type.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from matcher.embedder import MemoryCache, VectorCache, load_embedder
from matcher.errors import InputError
from matcher.records import Brief, Item
from matcher.scoring import Matcher, MatcherSettings

CHUNK = 256


@dataclass
class BacktestSummary:
    briefs: int
    items: int
    alerts: int
    lines: int
    seconds: float
    load_seconds: float


def read_items(path: str | Path) -> Iterator[Item]:
    """Items from a JSON Lines file; an InputError (a MatcherError) names file and line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    # surrogateescape: a byte that is not UTF-8 is reported with its line, not as a traceback
    with path.open(encoding="utf-8", errors="surrogateescape") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                line.encode("utf-8")
                row = json.loads(line)
            except UnicodeEncodeError:
                raise InputError(f"{path} line {number}: not UTF-8 text") from None
            except json.JSONDecodeError as exc:
                raise InputError(f"{path} line {number}: not valid JSON: {exc.msg}") from None
            if not isinstance(row, dict) or not row.get("id"):
                raise InputError(f"{path} line {number}: an item needs at least an 'id'")
            yield Item.from_dict(row)


def backtest_records(
    briefs: list[Brief],
    items: list[Item],
    out_path: str | Path,
    model: str,
    settings: MatcherSettings | None = None,
    all_scores: bool = False,
    progress: bool = True,
    background: list[Item] | None = None,
    cache: VectorCache | None = None,
) -> BacktestSummary:
    """Score `items` against `briefs` as the service would and write one JSON line per (brief,
    item) it would alert on (all_scores: every pair above the floor, with an "alert" field).

    The background model is measured on `background` when given (a sample of unrelated
    items: the same pair then gets the same decision whatever else `items` holds), else on
    `items` themselves, as the service measures its own recent stream. `cache` keeps
    vectors between runs (default: this run only)."""
    started = time.perf_counter()
    embedder = load_embedder(model)
    load_seconds = time.perf_counter() - started
    matcher = Matcher(embedder, settings, cache=cache if cache is not None else MemoryCache())
    prepared_briefs = [matcher.prepare_brief(b) for b in briefs]
    alerts = lines = 0
    sample = items if background is None else background
    bar = _progress(len(items) + len(sample), progress)
    # The background is measured whole; the items are scored through the cascade, as the
    # service does (vectors shared through the cache: nothing is embedded twice).
    calibration = _prepare(matcher, sample, bar, full=True)
    prepared_items = _prepare(matcher, items, bar)
    bar.close()
    matcher.calibrate(prepared_briefs, calibration)
    with Path(out_path).open("w", encoding="utf-8") as out:
        for start in range(0, len(prepared_items), CHUNK):
            chunk = prepared_items[start : start + CHUNK]
            for match in matcher.score(prepared_briefs, chunk, all_scores=all_scores):
                line = match.to_alert_line()
                if all_scores:
                    line["alert"] = match.alert
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
                lines += 1
                alerts += match.alert
    return BacktestSummary(
        briefs=len(briefs),
        items=len(items),
        alerts=alerts,
        lines=lines,
        seconds=time.perf_counter() - started,
        load_seconds=load_seconds,
    )


def _prepare(matcher: Matcher, items: list[Item], bar, full: bool = False) -> list:
    prepared = []
    for start in range(0, len(items), CHUNK):
        prepared += matcher.prepare_items(items[start : start + CHUNK], full=full)
        bar.update(min(CHUNK, len(items) - start))
    return prepared


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(
        total=total, unit="item", desc="backtest", file=sys.stderr, disable=not enabled, leave=False
    )
