"""Retro-check time: `leaksentry brief add` on a store holding N items (default 1,000,000).

The store is what a running service holds after ten days at 100,000 items a day: the ECB+,
leak-dev and background texts, repeated under new ids and URLs, one in sixteen a news article
and the rest posts (a social stream brings about fifteen posts for each article), fetched over
the last ten days (each keeps its own publication time) and all already matched. It is
written in bulk (plain INSERTs, many rows a statement, the full-text index built once at the
end: about a minute), not through the crawl; signatures and raw captures are left out (the
retro-check reads neither).

What the service would have cached, and only that: the vectors of its background sample
(`[matcher] background_items`, 5,000 recent items, embedded whole once a day and kept), so the
bench draws the sample as the service does and embeds it (a few minutes). Nothing else: with
the cascade on, the service embeds only items naming a watched brief's names or numbers, and
the candidates of a *new* brief are items naming *its* terms, which no earlier match had reason
to embed; so the candidates are embedded cold, as they would be.

Then the real command runs in a child process, model load included, and is timed (the median
of --runs, each on a fresh copy of the store). What grows with the store was measured at
1,000,000 items: the full-text search (40,000 items hold one of the brief's terms; ranked, the
best 400 read) takes 0.2-0.6 s, counting the week's items 0.1 s; the rest is the model load,
the calibration on the background sample (the new brief changes it) and embedding the 400
candidates, none of which grows with the store.

    .venv/bin/python bench/retro.py [--items 1000000] [--runs 3] [--eval ../shared/eval]
    .venv/bin/python bench/retro.py --keep /tmp/retro-store   # build once, reuse afterwards
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from leaksentry import clock, jobs  # noqa: E402
from leaksentry.storage import open_store  # noqa: E402
from matcher import Matcher, MatcherSettings, load_embedder  # noqa: E402
from matcher.backtest import read_items  # noqa: E402

MODEL = "all-MiniLM-L6-v2"
DAYS = 10  # the store's items were fetched over this many days, up to now
NEWS_EVERY = 16  # one item in this many is a news article, the others posts
BATCH = 10_000  # rows a transaction while building


def originals(eval_dir: Path) -> tuple[list, list]:
    """(articles, posts) to repeat: every text of the evaluation sets."""
    found = [
        item
        for name in ("ecb/items", "ecb/posts", "leak-dev/items", "background/items")
        for item in read_items(eval_dir / f"{name}.jsonl")
        if item.text or item.title
    ]
    return [i for i in found if i.kind == "news"], [i for i in found if i.kind != "news"]


def build_store(folder: Path, count: int, eval_dir: Path) -> None:
    """``count`` matched items in ``folder``/ls.db, in bulk; the configuration beside it."""
    (folder / "leaksentry.toml").write_text('database = "ls.db"\nkey_file = "ls.key"\n')
    news, posts = originals(eval_dir)
    cycle_news, cycle_posts = itertools.cycle(news), itertools.cycle(posts)
    end = clock.now()
    step = timedelta(days=DAYS) / max(count, 1)
    started = time.perf_counter()
    with open_store(folder / "ls.db") as store:
        conn = store.db.conn
        conn.execute("PRAGMA synchronous = OFF")
        # the full-text index is filled once at the end ("rebuild"): twice as fast as its
        # trigger row by row; the trigger is put back as it was
        trigger = "select sql from sqlite_master where type = 'trigger' and name = 'items_ai'"
        fill_index = conn.execute(trigger).fetchone()[0]
        conn.execute("drop trigger items_ai")
        columns = (
            "id, url, canonical_url, kind, source, published, title, text, lang, story, "
            "content_hash, fetched_at, matched_at"
        )
        sql = f"insert into items ({columns}) values ({', '.join('?' * 13)})"
        for start in range(0, count, BATCH):
            rows = []
            for n in range(start, min(count, start + BATCH)):
                item = next(cycle_news) if n % NEWS_EVERY == 0 else next(cycle_posts)
                when = (end - step * (count - n)).isoformat(timespec="seconds")
                url = f"https://{item.source or 'example'}.example/{n}/{item.id}"
                item_id = f"r{n:07d}"
                title, text = item.title, item.text
                if n >= len(news) + len(posts):  # a repeat: new words, so not the same text
                    text = f"Update {n}. {text}"
                published = item.published or when  # (its own: a leak inside its brief's window)
                rows.append(
                    (item_id, url, url, item.kind, item.source, published, title, text, item.lang)
                    + (item_id, f"h{n}", when, when)
                )
            with store.atomic():
                conn.executemany(sql, rows)
        with store.atomic():
            conn.execute("insert into items_fts (items_fts) values ('rebuild')")
            conn.execute(fill_index)
        print(f"store: {count:,} items written in {time.perf_counter() - started:.1f} s")


def warm_background(folder: Path) -> None:
    """What the service keeps: its background sample drawn, and its vectors embedded whole."""
    started = time.perf_counter()
    with open_store(folder / "ls.db") as store:
        settings = MatcherSettings()
        sample = jobs.background_sample(store, settings)
        matcher = Matcher(load_embedder(MODEL), settings, cache=jobs.StoreVectorCache(store))
        for start in range(0, len(sample), 256):
            matcher.prepare_items(sample[start : start + 256], full=True)
    print(
        f"background sample: {len(sample):,} items drawn and embedded whole (as the service "
        f"keeps them) in {time.perf_counter() - started:.1f} s"
    )


def add_brief(built: Path, folder: Path, eval_dir: Path) -> tuple[float, str]:
    """`leaksentry brief add` of the first leak-dev brief on a copy of the built store: its
    wall time and output."""
    shutil.copytree(built, folder)
    config = folder / "leaksentry.toml"
    cli = [sys.executable, "-m", "leaksentry"]
    subprocess.run([*cli, "init", "--config", str(config)], check=True, capture_output=True)
    brief = folder / "brief.jsonl"
    brief.write_text((eval_dir / "leak-dev" / "briefs.jsonl").read_text().splitlines()[0] + "\n")
    started = time.perf_counter()
    result = subprocess.run(
        [*cli, "brief", "add", str(brief), "--config", str(config)],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - started
    shutil.rmtree(folder)
    return seconds, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--eval", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--keep", type=Path, help="build the store here once, reuse it after")
    parser.add_argument(
        "--runs",
        type=int,
        default=3,
        help="runs; the time is their median (0: only build the store)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leaksentry-retro-") as scratch:
        built = args.keep or Path(scratch) / "built"
        marker = built / f"built-{args.items}"
        if not marker.exists():
            if built.exists() and any(built.iterdir()):
                raise SystemExit(f"{built} is not empty and holds no store of {args.items} items")
            built.mkdir(parents=True, exist_ok=True)
            build_store(built, args.items, args.eval)
            warm_background(built)
            marker.touch()
        else:
            print(f"store: reusing {built} ({args.items:,} items)")
        times = []
        for run in range(args.runs):
            seconds, stdout = add_brief(built, Path(scratch) / f"run{run}", args.eval)
            times.append(seconds)
            print(f"run {run + 1} of {args.runs}: {seconds:.1f} s")
        if not times:
            return
        print(
            f"\nleaksentry brief add on {args.items:,} items (retro-check, model load "
            f"included): median {statistics.median(times):.1f} s of {len(times)} run(s)"
        )
        print("  " + "\n  ".join(stdout.strip().splitlines()))
    print("target: 30 s or less on 2 cores")


if __name__ == "__main__":
    main()
