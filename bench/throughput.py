"""Throughput, wall time and peak memory of the matcher, on the demo corpus and on ECB+.

Prints, per corpus: items and passages embedded per second (ours: passages; beside it the
plain-cosine baseline's work: one vector per whole item), then `leaksentry backtest` wall time
and peak memory measured on the real command in a child process.

    .venv/bin/python bench/throughput.py [--eval ../shared/eval] [--skip-ecb]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from leaksentry.localservers import StaticSite  # noqa: E402
from leaksentry.records import Item  # noqa: E402
from matcher.backtest import read_items  # noqa: E402
from matcher.text import passages  # noqa: E402

MODEL = "all-MiniLM-L6-v2"


def demo_corpus(work: Path) -> tuple[list[Path], list[Path]]:
    """Crawl the demo site into a fresh database and export its items (real crawl)."""
    demo = REPO / "data" / "demo"
    with StaticSite(demo / "site") as site:
        sources = (demo / "sources.toml").read_text().replace("{{SITE}}", site.url)
        (work / "sources.toml").write_text(sources)
        config = work / "leaksentry.toml"
        config.write_text(
            'database = "bench.db"\nkey_file = "bench.key"\nsources = "sources.toml"\n'
        )
        leaksentry("crawl", "--config", str(config))
        leaksentry(
            "export", "items", "--out", str(work / "demo-items.jsonl"), "--config", str(config)
        )
    return sorted((demo / "briefs").glob("*.*")), [work / "demo-items.jsonl"]


def leaksentry(*args: str) -> tuple[float, int, str]:
    """Run the CLI; return wall seconds, peak RSS in MiB and stdout."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "leaksentry", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    stdout, stderr = child.stdout.read().decode(), child.stderr.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"leaksentry {' '.join(args)} failed:\n{stderr}")
    return seconds, usage.ru_maxrss // 1024, stdout


def embedding_rates(items: list[Item]) -> dict:
    """Items/s and passages/s for our passages, and for whole items (the cosine baseline)."""
    from matcher import load_embedder

    embedder = load_embedder(MODEL)
    split = [p for item in items for p in (passages(item.title, item.text) or [item.title])]
    whole = [f"{item.title}\n{item.text}" for item in items]
    embedder._encode(split[:32])  # warm up
    started = time.perf_counter()
    embedder._encode(split)
    ours = time.perf_counter() - started
    started = time.perf_counter()
    embedder._encode(whole)
    baseline = time.perf_counter() - started
    return {
        "items": len(items),
        "passages": len(split),
        "passages_per_s": len(split) / ours,
        "items_per_s": len(items) / ours,
        "baseline_items_per_s": len(items) / baseline,
    }


def bench(name: str, briefs: list[Path], items: list[Path], work: Path) -> None:
    corpus = [item for path in items for item in read_items(path)]
    rates = embedding_rates(corpus)
    args = ["backtest", "--out", str(work / f"{name}-alerts.jsonl")]
    for path in briefs:
        args += ["--briefs", str(path)]
    for path in items:
        args += ["--items", str(path)]
    seconds, peak_mib, stdout = leaksentry(*args)
    print(f"\n== {name}: {rates['items']} items, {rates['passages']} passages")
    print(
        f"  embedding (ours, passages)   {rates['items_per_s']:8.1f} items/s "
        f"{rates['passages_per_s']:8.1f} passages/s"
    )
    print(f"  embedding (baseline, whole)  {rates['baseline_items_per_s']:8.1f} items/s")
    print(f"  backtest wall time           {seconds:8.1f} s   (model load included)")
    print(f"  backtest peak memory         {peak_mib:8d} MiB")
    print(f"  {stdout.strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--skip-ecb", action="store_true")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; model {MODEL}; python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        bench("demo", *demo_corpus(work), work)
        ecb = args.eval / "ecb"
        if not args.skip_ecb and ecb.is_dir():
            bench("ecb", [ecb / "briefs.jsonl"], [ecb / "items.jsonl", ecb / "posts.jsonl"], work)
        elif not args.skip_ecb:
            print(f"\n(ecb skipped: {ecb} not found)")


if __name__ == "__main__":
    main()
