"""Detection quality on the shared development sets, beside the three baselines, in one run.

For each set (ecb: news and posts together, no windows; leak-dev: fictional leaks with
windows) this runs the backtest exactly as `leaksentry backtest` does, scores the alerts with
the set's labels, and holds keyword alerts, BM25 and plain cosine of the same model to the
same number of false alerts (../shared/eval/score.py and baselines.py do the counting, so the
figures are the ones the issue's acceptance quotes). Prints figures only; asserts nothing.

    .venv/bin/python bench/quality.py [--sets ecb leak-dev] [--eval-dir ../shared/eval]
        [--first-stage N]   # measure the cheap first stage (issue 3 point 8): see docs/MATCHER.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SETS = {
    # name: (item files, acceptance note)
    "leak-dev": (["items.jsonl"], "recall >= 0.85 with <= 1 false alert per brief"),
    "ecb": (["items.jsonl", "posts.jsonl"], "news >= 0.95, posts >= 0.30, <= 2 FA per brief"),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", default=str(REPO.parent / "shared" / "eval"))
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--work-dir", help="keep alert and baseline files here (default: temp)")
    parser.add_argument("--no-baselines", action="store_true", help="skip the baselines")
    parser.add_argument(
        "--first-stage",
        type=int,
        default=0,
        metavar="N",
        help="embed only passages sharing N terms with a brief (default 0: every passage)",
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    eval_dir = Path(args.eval_dir)
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="leaksentry-quality-"))
    work.mkdir(parents=True, exist_ok=True)
    summaries = []
    for name in args.sets:
        summaries.append(
            run_set(
                name, eval_dir / name, work, args.model, not args.no_baselines, args.first_stage
            )
        )
    print("\n== summary")
    for line in summaries:
        print(line)
    return 0


def run_set(
    name: str, folder: Path, work: Path, model: str, baselines: bool, first_stage: int = 0
) -> str:
    from leaksentry.backtest import run_backtest
    from matcher.scoring import MatcherSettings

    item_files, goal = SETS[name]
    briefs = folder / "briefs.jsonl"
    items = [str(folder / f) for f in item_files]
    alerts = work / f"{name}-alerts.jsonl"
    print(f"\n== {name}: backtest ({goal})", flush=True)
    started = time.perf_counter()
    settings = MatcherSettings(first_stage=first_stage)
    summary = run_backtest(briefs, items, alerts, model, settings=settings, progress=False)
    wall = time.perf_counter() - started
    print(
        f"backtest: {summary.briefs} briefs x {summary.items} items, {summary.alerts} alerts, "
        f"{wall:.1f} s wall (model load {summary.load_seconds:.1f} s)"
        + (f", first stage {first_stage}" if first_stage else ""),
        flush=True,
    )
    command = [
        sys.executable,
        str(folder.parent / "score.py"),
        "--labels",
        str(folder / "labels.jsonl"),
        "--briefs",
        str(briefs),
        "--items",
        *items,
        "--alerts",
        str(alerts),
        "--name",
        name,
        "--json",
        str(work / f"{name}-figures.json"),
    ]
    if baselines:
        command += ["--baselines", str(baseline_scores(name, folder, items, work, model))]
    report = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    print(report, end="")
    figures = json.loads((work / f"{name}-figures.json").read_text())
    per_brief = (figures["fa_hard"] + figures["fa_easy"]) / max(1, figures["briefs"])
    print(
        f"  false alerts per brief: {per_brief:.2f} "
        f"(hard {figures['fa_hard'] / figures['briefs']:.2f}, "
        f"easy {figures['fa_easy'] / figures['briefs']:.2f})"
    )
    kinds = figures["by"].get("kind", {})
    kind_text = ", ".join(f"{k} {h / n:.3f}" for k, (h, n) in sorted(kinds.items()))
    best = max(figures.get("baselines", {}).values(), default=0.0)
    return (
        f"{name}: recall {figures['recall']:.3f} ({kind_text}); FA/brief {per_brief:.2f}; "
        f"best baseline {best:.3f} (+{100 * (figures['recall'] - best):.1f} points); "
        f"wall {wall:.0f} s"
    )


def baseline_scores(name: str, folder: Path, items: list[str], work: Path, model: str) -> Path:
    """Keyword, BM25 and plain-cosine scores for every pair (kept between runs)."""
    from matcher.embedder import resolve_model_path

    out = work / f"{name}-baselines.jsonl"
    if not out.exists():
        print("baselines: scoring every pair (keyword, BM25, cosine)...", flush=True)
        command = [
            sys.executable,
            str(folder.parent / "baselines.py"),
            "--briefs",
            str(folder / "briefs.jsonl"),
            "--items",
            *items,
            "--out",
            str(out),
            "--model",
            resolve_model_path(model),
        ]
        subprocess.run(command, check=True, capture_output=True)
    return out


if __name__ == "__main__":
    sys.exit(main())
