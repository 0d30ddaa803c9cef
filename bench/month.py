"""A month of the store at 100,000 items a day, with the daily purge: size and step times.

Each simulated day writes N synthetic items through the store's own add path (with a story
signature and a compressed raw capture, in transactions of --batch items, the full-text index
kept by its triggers), caches one synthetic passage vector per item, records a few matches
(one alerting), marks the day's items scored, and runs the daily purge with the default
[retention] settings. The store's clock is the simulated one, so "30 days ago" means what it
will in service. Timed each day: the insert, the vector cache, the matcher's queue query
(500 unscored items, with the day's items all unscored), a retro-check-like full-text search
(400 best of a few terms), the calibration background query, and the purge. At the end: a
table per day and the database file's size (freed pages are reused; the file never shrinks
without VACUUM). Prints figures, asserts nothing.

    .venv/bin/python bench/month.py [--items-per-day 100000] [--days 30] [--folder DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import leaksentry.storage.stamp as stamp_module  # noqa: E402
from leaksentry.records import Item  # noqa: E402
from leaksentry.retention import RetentionSettings, purge  # noqa: E402
from leaksentry.storage import Store, open_store  # noqa: E402

DIMENSION = 384  # all-MiniLM-L6-v2
START = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    """The store's `now()`, moved by the simulation."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> str:
        return self.at.isoformat(timespec="seconds")


def vocabulary(size: int, rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choices(letters, k=rng.randint(3, 10))) for _ in range(size)]


def synthetic_item(day: int, n: int, words: list[str], rng: random.Random, length: int) -> Item:
    text = " ".join(rng.choices(words, k=rng.randint(length // 2, length * 3 // 2)))
    return Item(
        id=f"d{day}-{n}",
        url=f"https://news{n % 97}.example/{day}/{n}.html",
        kind="news" if n % 3 else "social",
        source=f"source-{n % 40}",
        published=None,
        title=" ".join(rng.choices(words, k=8)),
        text=text,
    )


def file_size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - started


def simulate_day(store: Store, clock: Clock, day: int, args, words, rng) -> dict:
    figures: dict = {"day": day + 1}
    ids: list[str] = []
    np_rng = np.random.default_rng(day)
    step = timedelta(days=1) / args.items_per_day

    def insert() -> None:
        for start in range(0, args.items_per_day, args.batch):
            with store.atomic():
                for n in range(start, min(start + args.batch, args.items_per_day)):
                    clock.at = START + timedelta(days=day) + step * n
                    item = synthetic_item(day, n, words, rng, args.words)
                    raw = f"<html><body><p>{item.text}</p></body></html>".encode()
                    signature = np_rng.integers(0, 2**32, 128, dtype=np.uint64).tobytes()
                    store.add_item(item, item.url, f"h{item.id}", signature, ("text/html", raw))
                    ids.append(item.id)

    def vectors() -> None:
        for start in range(0, len(ids), args.batch):
            chunk = ids[start : start + args.batch]
            block = np_rng.standard_normal((len(chunk), DIMENSION), dtype=np.float32)
            block /= np.linalg.norm(block, axis=1, keepdims=True)
            store.put_vectors({f"v-{i}": v for i, v in zip(chunk, block, strict=True)})

    _, figures["insert_s"] = timed(insert)
    _, figures["vectors_s"] = timed(vectors)
    queue, figures["queue_ms"] = timed(store.unmatched_items, 500)
    figures["queue_ms"] *= 1000
    terms = rng.sample(words, 4)
    found, figures["fts_ms"] = timed(store.search_items, terms, 400)
    figures["fts_ms"] *= 1000
    figures["fts_hits"] = len(found)
    since = (clock.at - timedelta(days=7)).isoformat(timespec="seconds")
    _, figures["background_ms"] = timed(store.recent_items, since, 2000)
    figures["background_ms"] *= 1000

    def scored() -> None:
        with store.atomic():
            for n, item_id in enumerate(rng.sample(ids, args.matches_per_day)):
                store.record_match(
                    {
                        "brief_id": "B1",
                        "item_id": item_id,
                        "score": 0.5,
                        "details_matched": "[0]",
                        "evidence": '["a sentence"]',
                        "alert": int(n == 0),
                    }
                )
            for start in range(0, len(ids), args.batch):
                store.mark_matched(ids[start : start + args.batch])

    _, figures["mark_s"] = timed(scored)
    clock.at = START + timedelta(days=day + 1)  # the purge runs at the day's end
    counts, figures["purge_s"] = timed(
        purge, store, RetentionSettings(), at=clock.at, pause=args.pause
    )
    figures["purged_items"] = counts["items"]
    figures["purged_vectors"] = counts["vectors"]
    figures["items"] = store.count("items")
    figures["size_mb"] = file_size(store.path) / 2**20
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items-per-day", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--batch", type=int, default=1000, help="items per transaction")
    parser.add_argument("--words", type=int, default=150, help="mean words per item text")
    parser.add_argument("--matches-per-day", type=int, default=5)
    parser.add_argument("--pause", type=float, default=0.0, help="seconds between purge batches")
    parser.add_argument("--folder", type=Path, help="where the database goes (default: a temp dir)")
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.mkdtemp(prefix="leaksentry-month-"))
    folder.mkdir(parents=True, exist_ok=True)
    clock = Clock(START)
    stamp_module.now = clock  # the store stamps rows with the simulated time
    rng = random.Random(11)
    words = vocabulary(20_000, rng)
    print(
        f"month: {args.days} days x {args.items_per_day} items, ~{args.words} words each, "
        f"database in {folder}",
        flush=True,
    )
    header = (
        f"{'day':>3} {'items':>9} {'size MB':>8} {'insert s':>8} {'vectors s':>9} {'mark s':>7} "
        f"{'purge s':>7} {'purged':>7} {'queue ms':>8} {'fts ms':>7} {'bg ms':>7}"
    )
    print(header, flush=True)
    rows = []
    started = time.perf_counter()
    with open_store(folder / "ls.db") as store:
        for day in range(args.days):
            f = simulate_day(store, clock, day, args, words, rng)
            rows.append(f)
            print(
                f"{f['day']:>3} {f['items']:>9} {f['size_mb']:>8.0f} {f['insert_s']:>8.1f} "
                f"{f['vectors_s']:>9.1f} {f['mark_s']:>7.1f} {f['purge_s']:>7.1f} "
                f"{f['purged_items']:>7} {f['queue_ms']:>8.1f} {f['fts_ms']:>7.1f} "
                f"{f['background_ms']:>7.1f}",
                flush=True,
            )
        pages = store.db.execute("pragma page_count").fetchone()[0]
        free = store.db.execute("pragma freelist_count").fetchone()[0]
        page_size = store.db.execute("pragma page_size").fetchone()[0]
        tables = {t: store.count(t) for t in ("items", "embeddings", "raw_captures", "matches")}
    total = time.perf_counter() - started
    print(f"\nwall time {total / 60:.1f} min for {args.days} days")
    for key, label in (
        ("insert_s", "insert per day (s)"),
        ("vectors_s", "vectors per day (s)"),
        ("mark_s", "mark scored per day (s)"),
        ("purge_s", "purge per day (s)"),
        ("queue_ms", "matcher queue query (ms)"),
        ("fts_ms", "retro-check FTS search (ms)"),
        ("background_ms", "calibration background (ms)"),
    ):
        values = sorted(r[key] for r in rows)
        print(
            f"{label:<30} median {values[len(values) // 2]:8.2f}  max {values[-1]:8.2f}  "
            f"last {rows[-1][key]:8.2f}"
        )
    print(
        f"database: {file_size(folder / 'ls.db') / 2**20:.0f} MB on disk "
        f"({pages * page_size / 2**20:.0f} MB of pages, {free * page_size / 2**20:.0f} MB free "
        f"for reuse); rows: " + ", ".join(f"{t} {n}" for t, n in tables.items())
    )


if __name__ == "__main__":
    main()
