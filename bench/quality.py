"""Detection quality on the shared evaluation sets, beside the three baselines, in one run.

The runs that count are the realistic streams of ../shared/eval/README.md: a handful of
briefs against a stream that is almost entirely unrelated to any of them.

  leak-dev            leak-dev briefs x leak-dev items (labelled only)
  leak-dev+bg         leak-dev briefs x leak-dev items + background/items.jsonl
  ecb-sparse+bg       ecb/briefs_sparse.jsonl x ECB+ items and posts + background/items.jsonl
  ecb-rest+bg         the 44 ECB+ briefs of the 22 topics briefs_sparse.jsonl leaves out x the
                      same stream: the matcher's rules and constants were set looking at
                      leak-dev and the sparse set, so this run tells whether they carry over

Every run calibrates its background model on background/items.jsonl (`backtest
--background`), as the service calibrates on a fixed, refreshed sample of its stream. The
bench also prints the *stability* figure: the share of leak-dev's alerts on its own items
that change when the background items are added to the stream (the same pair should get the
same decision whatever else is in the batch).

For each run: the backtest exactly as `leaksentry backtest` does it, scored by
../shared/eval/score.py (with --background: false alerts on the unrelated stream per brief
per 10,000 items), and keyword alerts, BM25 and plain cosine of the same model held to the
same number of false alerts (../shared/eval/baselines.py), with wall times. Prints figures
only; asserts nothing.

    .venv/bin/python bench/quality.py [--runs leak-dev leak-dev+bg ecb-sparse+bg]
        [--eval-dir ../shared/eval] [--work-dir DIR] [--no-baselines]

Vectors are kept in WORK_DIR/vectors.pkl between runs of this bench (the first run embeds
about 60,000 passages: 10-15 minutes on 2 cores; later runs reuse them).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

RUNS = {
    # name: (briefs file, item files, background?, goal)
    "leak-dev": ("leak-dev/briefs.jsonl", ["leak-dev/items.jsonl"], False, "labelled only"),
    "leak-dev+bg": (
        "leak-dev/briefs.jsonl",
        ["leak-dev/items.jsonl", "background/items.jsonl"],
        True,
        "recall >= 0.85; <= 1 FA per brief (none after the window); bg <= 0.05 /brief/10k",
    ),
    "ecb-sparse+bg": (
        "ecb/briefs_sparse.jsonl",
        ["ecb/items.jsonl", "ecb/posts.jsonl", "background/items.jsonl"],
        True,
        "news >= 0.90, posts >= 0.40; <= 1 FA per brief; bg <= 0.05 /brief/10k",
    ),
    "ecb-rest+bg": (
        "ecb/briefs.jsonl",  # less the sparse set's topics (rest_briefs)
        ["ecb/items.jsonl", "ecb/posts.jsonl", "background/items.jsonl"],
        True,
        "the topics the sparse set leaves out: not looked at while setting the rules",
    ),
}
LABELS = {"leak-dev": "leak-dev/labels.jsonl", "ecb": "ecb/labels.jsonl"}
BACKGROUND = "background/items.jsonl"


class PickleCache:
    """A VectorCache kept in one pickle file between runs of the bench."""

    def __init__(self, path: Path):
        self.path = path
        self.vectors = pickle.loads(path.read_bytes()) if path.exists() else {}
        self.dirty = False

    def get_vectors(self, keys):
        return {k: self.vectors[k] for k in keys if k in self.vectors}

    def put_vectors(self, vectors):
        self.vectors.update(vectors)
        self.dirty = True

    def save(self):
        if self.dirty:
            self.path.write_bytes(pickle.dumps(self.vectors))
            self.dirty = False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", default=str(REPO.parent / "shared" / "eval"))
    parser.add_argument("--runs", nargs="+", default=list(RUNS), choices=list(RUNS))
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--work-dir", help="alert, baseline and vector files (default: temp)")
    parser.add_argument("--no-baselines", action="store_true", help="skip the baselines")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    eval_dir = Path(args.eval_dir)
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="leaksentry-quality-"))
    work.mkdir(parents=True, exist_ok=True)
    cache = PickleCache(work / "vectors.pkl")
    summaries, alerts = [], {}
    for name in args.runs:
        line, alerts[name] = run(name, eval_dir, work, args.model, not args.no_baselines, cache)
        summaries.append(line)
        cache.save()
    if "leak-dev" in alerts and "leak-dev+bg" in alerts:
        summaries.append(stability(alerts["leak-dev"], alerts["leak-dev+bg"], eval_dir))
    print("\n== summary")
    for line in summaries:
        print(line)
    return 0


def run(name: str, eval_dir: Path, work: Path, model: str, baselines: bool, cache):
    from leaksentry.backtest import run_backtest

    briefs_file, item_files, with_background, goal = RUNS[name]
    briefs = eval_dir / briefs_file
    if name == "ecb-rest+bg":
        briefs = rest_briefs(eval_dir, work)
    items = [str(eval_dir / f) for f in item_files]
    background = [str(eval_dir / BACKGROUND)]
    out = work / f"{name}-alerts.jsonl"
    print(f"\n== {name}: backtest ({goal})", flush=True)
    started = time.perf_counter()
    summary = run_backtest(
        briefs, items, out, model, progress=False, background_paths=background, cache=cache
    )
    wall = time.perf_counter() - started
    print(
        f"backtest: {summary.briefs} briefs x {summary.items} items, {summary.alerts} alerts, "
        f"{wall:.1f} s wall (model load {summary.load_seconds:.1f} s; calibrated on "
        f"{BACKGROUND})",
        flush=True,
    )
    set_name = "ecb" if briefs_file.startswith("ecb") else "leak-dev"
    command = [
        sys.executable,
        str(eval_dir / "score.py"),
        "--labels",
        str(eval_dir / LABELS[set_name]),
        "--briefs",
        str(briefs),
        "--items",
        *[i for i in items if not i.endswith(BACKGROUND)],
        "--alerts",
        str(out),
        "--name",
        name,
        "--json",
        str(work / f"{name}-figures.json"),
    ]
    if with_background:
        command += ["--background", *background]
    if baselines:
        scores = baseline_scores(name, briefs, items, work, model, eval_dir)
        command += ["--baselines", str(scores)]
    report = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    print(report, end="")
    figures = json.loads((work / f"{name}-figures.json").read_text())
    n_briefs = max(1, figures["briefs"])
    labelled = figures.get("fa_labelled", figures["fa_hard"] + figures["fa_easy"])
    kinds = figures["by"].get("kind", {})
    kind_text = ", ".join(f"{k} {h / n:.3f}" for k, (h, n) in sorted(kinds.items()))
    late = figures["by"].get("negative", {}).get("post_event", [0, 0])[0]
    best = max(figures.get("baselines", {}).values(), default=0.0)
    line = (
        f"{name}: recall {figures['recall']:.3f} ({kind_text}); labelled FA/brief "
        f"{labelled / n_briefs:.2f} (after the window {late})"
    )
    if with_background:
        line += f"; background FA/brief/10k {figures['fa_bg_per_brief_per_10k']:.3f}"
    line += f"; best baseline {best:.3f} at the same FA; wall {wall:.0f} s"
    return line, read_alerts(out)


def rest_briefs(eval_dir: Path, work: Path) -> Path:
    """ECB+'s briefs of the topics ecb/briefs_sparse.jsonl does not watch ("12ecbplus" is
    topic 12), written to the work folder."""

    def topic(line: str) -> str:
        return json.loads(line)["id"].split("ecb")[0]

    sparse = {topic(line) for line in (eval_dir / "ecb/briefs_sparse.jsonl").open()}
    out = work / "ecb-rest-briefs.jsonl"
    with out.open("w", encoding="utf-8") as handle:
        for line in (eval_dir / "ecb/briefs.jsonl").open(encoding="utf-8"):
            if line.strip() and topic(line) not in sparse:
                handle.write(line)
    return out


def read_alerts(path: Path) -> set[tuple[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return {(row["brief_id"], row["item_id"]) for row in map(json.loads, handle)}


def stability(alone: set, mixed: set, eval_dir: Path) -> str:
    """Share of leak-dev's alerts on its own items that differ once the background is added."""
    own = {json.loads(line)["id"] for line in (eval_dir / "leak-dev/items.jsonl").open()}
    mixed_own = {pair for pair in mixed if pair[1] in own}
    changed = alone ^ mixed_own
    union = alone | mixed_own
    return (
        f"stability: {len(changed)} of {len(union)} leak-dev alerts change when the "
        f"background is added ({100 * len(changed) / max(1, len(union)):.1f} %)"
    )


def baseline_scores(
    name: str, briefs: Path, items: list[str], work: Path, model: str, eval_dir: Path
) -> Path:
    """Keyword, BM25 and plain-cosine scores for every pair (kept between runs)."""
    from matcher.embedder import resolve_model_path

    out = work / f"{name}-baselines.jsonl"
    if not out.exists():
        print("baselines: scoring every pair (keyword, BM25, cosine)...", flush=True)
        started = time.perf_counter()
        command = [
            sys.executable,
            str(eval_dir / "baselines.py"),
            "--briefs",
            str(briefs),
            "--items",
            *items,
            "--out",
            str(out),
            "--model",
            resolve_model_path(model),
        ]
        subprocess.run(command, check=True, capture_output=True)
        print(f"baselines: {time.perf_counter() - started:.0f} s", flush=True)
    return out


if __name__ == "__main__":
    sys.exit(main())
