"""Quality gates for the matcher, on calibrated paths, with figures pinned in the repository.

1. tests/fixtures/matcher/: 4 invented briefs and 40 invented items (leaks at three
   difficulties, hard negatives, chatter), calibrated on the background sample below;
   floors.json pins what the matcher reaches there.
2. The realistic stream in small: the fictional leak-dev set of ../shared/eval (CC0) beside a
   fixed sample of its real unrelated background stream, calibrated on that sample as the
   service calibrates on its own stream. Pinned: recall, false alerts on labelled items and
   on the background, none after a brief's window; and *stability*: adding the background
   items to the stream changes no alert on leak-dev's own items (the decision of a pair must
   not depend on what else is in the batch).

The shared evaluation folder sits beside the repository (as in CI); LEAKSENTRY_EVAL_DIR
names another. Without it the realistic gates skip, unless LEAKSENTRY_REQUIRE_EVAL=1 (set by
.ci/run), where they fail: CI must never pass by skipping them.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from leaksentry.backtest import run_backtest
from matcher.embedder import MemoryCache

from conftest import FIXTURES, MODEL, REPO

FOLDER = FIXTURES / "matcher"
FLOORS = FOLDER / "floors.json"
HIGHER_IS_BETTER = ("recall", "recall_social", "recall_hard")
LOWER_IS_BETTER = ("false_alerts", "false_alerts_hard", "alerts_after_window")
EVAL = Path(os.environ.get("LEAKSENTRY_EVAL_DIR", REPO.parent / "shared" / "eval"))
BACKGROUND_SAMPLE = 1500  # items of the real unrelated stream, a fixed random sample
# Pinned figures of the realistic gate (leak-dev + the sample, calibrated on the sample).
# Bounds a little looser than what matcher v4 reached when they were pinned (2026-12-04:
# recall 0.896 and 12 labelled false alerts, 0 on the background; before the "plan has a
# time", "another day is not the brief's time" and "names fit another brief better" rules
# it was 0.958 and 36: three leaks traded for two thirds of the false alerts, see
# docs/MATCHER.md). Tighten them as the matcher improves, never loosen them to let a
# regression pass.
REALISTIC = {"recall_min": 0.87, "labelled_fa_max": 14, "background_fa_max": 0}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def figures(alerts_path, folder=FOLDER, items_file="items.jsonl") -> dict:
    labels = read_jsonl(folder / "labels.jsonl")
    items = {row["id"]: row for row in read_jsonl(folder / items_file)}
    briefs = {row["id"]: row for row in read_jsonl(folder / "briefs.jsonl")}
    alerts = {(row["brief_id"], row["item_id"]) for row in read_jsonl(alerts_path)}
    pos = {(r["brief_id"], r["item_id"]): r for r in labels if r["label"] == "pos"}
    hard = {(r["brief_id"], r["item_id"]) for r in labels if r["label"] == "hard"}

    def recall(pairs):
        return sum(p in alerts for p in pairs) / max(1, len(pairs))

    late = [
        (b, i)
        for b, i in alerts
        if i in items and (items[i]["published"] or "")[:10] > briefs[b]["active_until"]
    ]
    return {
        "recall": recall(pos),
        "recall_social": recall([p for p, r in pos.items() if r["kind"] == "social"]),
        "recall_hard": recall([p for p, r in pos.items() if r["difficulty"] == "hard"]),
        "false_alerts": len({a for a in alerts if a[1] in items} - set(pos)),
        "false_alerts_hard": len(alerts & hard),
        "alerts_after_window": len(late),
        "alerts": alerts,
    }


@pytest.mark.slow
def test_matcher_meets_the_pinned_floors(tmp_path, realistic):
    """The invented fixture, calibrated on the background sample (a calibrated path)."""
    out = tmp_path / "alerts.jsonl"
    run_backtest(
        FOLDER / "briefs.jsonl",
        [FOLDER / "items.jsonl"],
        out,
        MODEL,
        progress=False,
        background_paths=[realistic[2]],
        cache=realistic[3],
    )
    got = figures(out)
    floors = json.loads(FLOORS.read_text())
    failures = [
        f"{k} {got[k]:.3f} < floor {floors[k]}" for k in HIGHER_IS_BETTER if got[k] < floors[k]
    ]
    failures += [
        f"{k} {got[k]} > ceiling {floors[k]}" for k in LOWER_IS_BETTER if got[k] > floors[k]
    ]
    assert not failures, f"matcher quality regressed: {failures}"


@pytest.fixture(scope="module")
def realistic(tmp_path_factory):
    """leak-dev alone and leak-dev + a background sample, both calibrated on the sample."""
    if not (EVAL / "leak-dev" / "items.jsonl").is_file():
        if os.environ.get("LEAKSENTRY_REQUIRE_EVAL"):
            pytest.fail(f"the shared evaluation sets are missing: {EVAL}")
        pytest.skip(f"no shared evaluation sets at {EVAL} (set LEAKSENTRY_EVAL_DIR)")
    work = tmp_path_factory.mktemp("realistic")
    rows = read_jsonl(EVAL / "background" / "items.jsonl")
    sample = random.Random(20281).sample(rows, BACKGROUND_SAMPLE)
    background = work / "background.jsonl"
    background.write_text("".join(json.dumps(r) + "\n" for r in sample), encoding="utf-8")
    cache = MemoryCache()
    runs = {}
    for name, items in {
        "alone": [EVAL / "leak-dev" / "items.jsonl"],
        "mixed": [EVAL / "leak-dev" / "items.jsonl", background],
    }.items():
        out = work / f"{name}.jsonl"
        run_backtest(
            EVAL / "leak-dev" / "briefs.jsonl",
            items,
            out,
            MODEL,
            progress=False,
            background_paths=[background],
            cache=cache,
        )
        runs[name] = out
    return runs, {row["id"] for row in sample}, background, cache


@pytest.mark.slow
def test_a_realistic_stream_stays_quiet_on_unrelated_items_and_finds_the_leaks(realistic):
    runs, background_ids, *_ = realistic
    got = figures(runs["mixed"], EVAL / "leak-dev")
    on_background = [a for a in read_jsonl(runs["mixed"]) if a["item_id"] in background_ids]
    assert got["alerts_after_window"] == 0
    assert len(on_background) <= REALISTIC["background_fa_max"], on_background[:3]
    assert got["false_alerts"] <= REALISTIC["labelled_fa_max"], got["false_alerts"]
    assert got["recall"] >= REALISTIC["recall_min"], got["recall"]


@pytest.mark.slow
def test_adding_unrelated_items_changes_no_alert_on_the_labelled_items(realistic):
    runs, background_ids, *_ = realistic
    alone = {(a["brief_id"], a["item_id"]) for a in read_jsonl(runs["alone"])}
    mixed = {
        (a["brief_id"], a["item_id"])
        for a in read_jsonl(runs["mixed"])
        if a["item_id"] not in background_ids
    }
    assert alone, "no alert at all on leak-dev: the comparison would say nothing"
    assert alone == mixed, f"changed: {sorted(alone ^ mixed)}"
