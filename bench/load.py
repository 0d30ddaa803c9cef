"""Load: one match run on a store of 200,000 items with 500 active briefs.

Builds the store (ECB+ and leak-dev texts repeated under new ids and URLs; all but the newest
NEW items already matched, as a running service would leave them) and 500 sealed briefs (the
development briefs repeated under new ids), then runs the real `leaksentry match` in a child
process and prints its wall time and peak memory (target: under 2 GiB), and the store size.

    .venv/bin/python bench/load.py [--items 200000] [--briefs 500] [--new 1000]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from leaksentry.jobs import StoreVectorCache  # noqa: E402
from leaksentry.records import Item  # noqa: E402
from leaksentry.storage import open_store  # noqa: E402
from matcher import Matcher, load_embedder  # noqa: E402
from matcher.backtest import read_items  # noqa: E402

MODEL = "all-MiniLM-L6-v2"


def build(folder: Path, n_items: int, n_briefs: int, n_new: int, eval_dir: Path) -> Path:
    config = folder / "leaksentry.toml"
    config.write_text('database = "ls.db"\nkey_file = "ls.key"\n[smtp]\nport = 9\n')
    subprocess.run(
        [sys.executable, "-m", "leaksentry", "init", "--config", str(config)],
        check=True,
        capture_output=True,
    )
    texts = [
        item
        for path in ("ecb/items.jsonl", "ecb/posts.jsonl", "leak-dev/items.jsonl")
        for item in read_items(eval_dir / path)
        if item.text or item.title
    ]
    started = time.perf_counter()
    with open_store(folder / "ls.db") as store:
        rows = zip(range(n_items), itertools.cycle(texts), strict=False)
        with store.atomic():
            for n, item in rows:
                copy = Item.from_dict(item.to_dict() | {"id": f"x{n}"})
                copy.url = f"https://news.example/{n}/{item.id}"
                copy.published = None
                if n >= n_items - n_new:  # new items are new text: the model reads them
                    copy.title = f"{copy.title} (update {n})"
                store.add_item(copy, copy.url, f"h{n}")
            store.db.execute(
                "update items set matched_at = fetched_at where rowid <= ?", [n_items - n_new]
            )
        print(
            f"store: {store.count('items')} items ({n_new} new) in {time.perf_counter() - started:.0f}s"
        )
        started = time.perf_counter()
        matcher = Matcher(load_embedder(MODEL), cache=StoreVectorCache(store))
        for start in range(0, len(texts), 256):  # what matching them once left in the cache
            matcher.embed(matcher.prepare_items(texts[start : start + 256]))
        print(
            f"embedding cache warmed ({len(texts)} texts) in {time.perf_counter() - started:.0f}s"
        )
    briefs = [
        json.loads(line)
        for path in ("ecb/briefs.jsonl", "leak-dev/briefs.jsonl")
        for line in (eval_dir / path).read_text().splitlines()
    ]
    brief_file = folder / "briefs.jsonl"
    with brief_file.open("w") as out:
        for n, brief in zip(range(n_briefs), itertools.cycle(briefs), strict=False):
            fields = {k: brief[k] for k in ("codename", "summary", "details") if k in brief}
            out.write(json.dumps(fields | {"id": f"B{n:03d}"}) + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "leaksentry",
            "brief",
            "add",
            str(brief_file),
            "--no-retro",
            "--config",
            str(config),
        ],
        check=True,
        capture_output=True,
    )
    print(f"briefs: {n_briefs} sealed")
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--briefs", type=int, default=500)
    parser.add_argument("--new", type=int, default=1000)
    parser.add_argument("--eval", type=Path, default=REPO.parent / "shared" / "eval")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        config = build(folder, args.items, args.briefs, args.new, args.eval)
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "leaksentry", "match", "--config", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        output = child.stdout.read().decode().strip()
        if os.waitstatus_to_exitcode(status):
            raise SystemExit(child.stderr.read().decode())
        size = sum(p.stat().st_size for p in folder.glob("ls.db*")) / 2**20
        print(
            f"\nleaksentry match ({args.new} new items x {args.briefs} briefs, first run: "
            f"brief vectors embedded and sealed, calibration on the recent stream)"
        )
        print(f"  wall time    {seconds:8.1f} s")
        print(f"  peak memory  {usage.ru_maxrss / 1024:8.0f} MiB   (target: under 2048)")
        print(f"  database     {size:8.0f} MiB")
        print(f"  {output}")


if __name__ == "__main__":
    main()
