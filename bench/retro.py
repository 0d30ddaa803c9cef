"""Retro-check time: `leaksentry brief add` on a store holding 20,000 items.

Builds a store of N items (the ECB+ and leak-dev texts, repeated under new ids and URLs), warms
the embedding cache as the running service would have (every stored item was matched once),
then times the real command in a child process, model load included. The first stage (the
store's full-text index) hands the matcher at most 400 candidates, so the time does not grow
with the store beyond the index lookup.

    .venv/bin/python bench/retro.py [--items 20000] [--eval ../shared/eval]
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from leaksentry import jobs  # noqa: E402
from leaksentry.records import Item  # noqa: E402
from leaksentry.storage import open_store  # noqa: E402
from matcher import Matcher, load_embedder  # noqa: E402
from matcher.backtest import read_items  # noqa: E402

MODEL = "all-MiniLM-L6-v2"


def build_store(folder: Path, count: int, eval_dir: Path) -> Path:
    sources = [
        eval_dir / "ecb" / "items.jsonl",
        eval_dir / "ecb" / "posts.jsonl",
        eval_dir / "leak-dev" / "items.jsonl",
    ]
    originals = [item for path in sources for item in read_items(path) if item.text or item.title]
    config = folder / "leaksentry.toml"
    config.write_text('database = "ls.db"\nkey_file = "ls.key"\n')
    started = time.perf_counter()
    with open_store(folder / "ls.db") as store:
        with store.atomic():
            for n, item in zip(range(count), itertools.cycle(originals), strict=False):
                copy = Item.from_dict(item.to_dict() | {"id": f"{item.id}~{n}"})
                copy.url = f"https://news.example/{n}/{item.id}"
                store.add_item(copy, copy.url, f"h{n}")
            store.mark_matched(
                f"{item.id}~{n}"
                for n, item in zip(range(count), itertools.cycle(originals), strict=False)
            )
        print(
            f"store: {store.count('items')} items written in {time.perf_counter() - started:.1f}s"
        )
        started = time.perf_counter()
        matcher = Matcher(load_embedder(MODEL), cache=jobs.StoreVectorCache(store))
        for start in range(0, len(originals), 256):  # what matching them once left in the cache
            matcher.embed(matcher.prepare_items(originals[start : start + 256]))
        print(
            f"embedding cache warmed ({len(originals)} distinct texts) in {time.perf_counter() - started:.1f}s"
        )
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--eval", type=Path, default=REPO.parent / "shared" / "eval")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        config = build_store(folder, args.items, args.eval)
        cli = [sys.executable, "-m", "leaksentry"]
        subprocess.run([*cli, "init", "--config", str(config)], check=True, capture_output=True)
        brief = folder / "brief.jsonl"
        brief.write_text(
            (args.eval / "leak-dev" / "briefs.jsonl").read_text().splitlines()[0] + "\n"
        )
        started = time.perf_counter()
        result = subprocess.run(
            [*cli, "brief", "add", str(brief), "--config", str(config)],
            capture_output=True,
            text=True,
            check=True,
        )
        seconds = time.perf_counter() - started
        print(f"\nleaksentry brief add (retro-check, model load included): {seconds:.1f}s")
        print("  " + "\n  ".join(result.stdout.strip().splitlines()))
    print("target: under 30 s on 2 cores")


if __name__ == "__main__":
    main()
