"""The matcher with the real model: ranking, the active window, caching, the backtest format."""

import json

import numpy as np
import pytest

from leaksentry.briefs import read_brief_file
from matcher import Matcher, MemoryCache
from matcher.backtest import read_items

from conftest import FIXTURES, MODEL, cli_run

pytestmark = pytest.mark.slow
BRIEFS = FIXTURES / "backtest" / "briefs.jsonl"
ITEMS = FIXTURES / "backtest" / "items.jsonl"


@pytest.fixture(scope="module")
def scored(embedder):
    matcher = Matcher(embedder, cache=MemoryCache())
    briefs = [matcher.prepare_brief(b) for b in read_brief_file(BRIEFS, strict=False)]
    items = matcher.prepare_items(list(read_items(ITEMS)))
    return {(m.brief_id, m.item_id): m for m in matcher.score(briefs, items, all_scores=True)}


def score_of(scored, brief_id, item_id) -> float:
    match = scored.get((brief_id, item_id))
    return match.score if match else 0.0


def test_exposing_post_ranks_above_same_topic_item_elsewhere(scored):
    assert score_of(scored, "T-DOCK", "B1") > score_of(scored, "T-DOCK", "B2") + 0.05
    assert scored[("T-DOCK", "B1")].alert
    assert not scored.get(("T-DOCK", "B2")) or not scored[("T-DOCK", "B2")].alert


def test_report_after_the_window_never_alerts(scored):
    report = scored.get(("T-DOCK", "B3"))
    assert report is not None and report.score > score_of(scored, "T-DOCK", "B2")
    assert not report.alert


def test_item_without_date_and_brief_without_window_can_alert(scored):
    assert scored[("T-OPEN", "B4")].alert
    assert not any(m.alert for (b, i), m in scored.items() if i == "B5")


def test_embeddings_are_cached_by_content(embedder):
    cache = MemoryCache()
    first = embedder.encode(["one passage", "another passage"], cache=cache)
    calls = []
    original = embedder._encode
    embedder._encode = lambda texts: calls.append(texts) or original(texts)
    try:
        again = embedder.encode(["another passage", "one passage", "a new one"], cache=cache)
    finally:
        embedder._encode = original
    assert calls == [["a new one"]]
    np.testing.assert_allclose(again[1], first[0])


PLUMBING = "[matcher]\nsmall_stream_margin = 0  # a 5-item stream: no extra caution here\n"


def test_backtest_command_writes_alert_lines(tmp_path):
    out = tmp_path / "alerts.jsonl"
    config = tmp_path / "plumbing.toml"
    config.write_text(PLUMBING, encoding="utf-8")
    cli_run(
        "backtest", "--briefs", str(BRIEFS), "--items", str(ITEMS), "--out", str(out),
        "--config", str(config),
    )  # fmt: skip
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert lines, "the fixture's exposing items must alert"
    for line in lines:
        assert set(line) == {"brief_id", "item_id", "score", "details_matched", "evidence"}
        assert isinstance(line["score"], float) and 0 <= line["score"] <= 1
        assert all(isinstance(n, int) and n >= 0 for n in line["details_matched"])
        assert line["evidence"] and all(isinstance(e, str) for e in line["evidence"])
    pairs = {(line["brief_id"], line["item_id"]) for line in lines}
    assert {("T-DOCK", "B1"), ("T-OPEN", "B4")} <= pairs
    assert ("T-DOCK", "B3") not in pairs


def test_backtest_all_scores_writes_every_candidate_with_its_decision(tmp_path):
    """`--all-scores`: the alerts and the pairs below the threshold, each with "alert" a
    JSON true or false (what a script reading the file tests)."""
    out = tmp_path / "scores.jsonl"
    config = tmp_path / "plumbing.toml"
    config.write_text(PLUMBING, encoding="utf-8")
    cli_run(
        "backtest", "--briefs", str(BRIEFS), "--items", str(ITEMS), "--out", str(out),
        "--all-scores", "--config", str(config),
    )  # fmt: skip
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert {type(line["alert"]) for line in lines} == {bool}
    decided = {(line["brief_id"], line["item_id"]): line["alert"] for line in lines}
    assert decided[("T-DOCK", "B1")] is True
    assert False in decided.values()  # a candidate below the threshold is written too


def test_model_is_a_setting_and_unknown_models_are_refused(tmp_path):
    result = cli_run(
        "backtest",
        "--briefs",
        str(BRIEFS),
        "--items",
        str(ITEMS),
        "--out",
        str(tmp_path / "a.jsonl"),
        "--model",
        "no-such-model",
        check=False,
    )
    assert result.returncode == 1
    assert "model 'no-such-model' is neither a packaged model" in result.stderr
    assert MODEL in result.stderr


def test_operator_feedback_moves_a_briefs_threshold(embedder, tmp_path):
    from leaksentry.jobs import feedback_offsets
    from leaksentry.storage import open_store

    matcher = Matcher(embedder, cache=MemoryCache())
    briefs = [matcher.prepare_brief(b) for b in read_brief_file(BRIEFS, strict=False)]
    items = matcher.prepare_items(list(read_items(ITEMS)))
    before = {(m.brief_id, m.item_id): m for m in matcher.score(briefs, items)}
    assert before[("T-DOCK", "B1")].alert
    with open_store(tmp_path / "ls.db") as store:
        for n in range(3):
            alert_id = store.insert_alert(
                {"brief_id": "T-DOCK", "status": "open", "story": f"s{n}"}
            )
            store.set_verdict(alert_id, "dismissed", "ana", None)
        store.set_verdict(
            store.insert_alert({"brief_id": "T-LIB", "status": "open"}), "confirmed", "bo", None
        )
        offsets = feedback_offsets(store)
    assert offsets == {"T-DOCK": 0.75, "T-LIB": -0.1}  # evidence units (log10)
    matcher.brief_offsets = {"T-OPEN": 4.0}
    after = {(m.brief_id, m.item_id) for m in matcher.score(briefs, items) if m.alert}
    assert ("T-OPEN", "B4") not in after  # a borderline match of a much-dismissed brief
    assert ("T-DOCK", "B1") in after  # other briefs keep their threshold


def test_adding_a_brief_reports_a_leak_already_in_the_backlog(tmp_path, embedder):
    from click.testing import CliRunner

    from leaksentry.cli import cli
    from leaksentry.storage import open_store

    from conftest import write_config

    config = write_config(tmp_path)  # small_stream_margin = 0, as PLUMBING
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--config", str(config)]).exit_code == 0
    with open_store(tmp_path / "ls.db") as store:
        for item in read_items(ITEMS):
            store.add_item(item, item.url or item.id, item.id)
    result = runner.invoke(
        cli, ["brief", "add", str(FIXTURES / "briefs" / "tidewater.toml"), "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    assert "retro-check:" in result.output and "1 alert(s)" in result.output
    with open_store(tmp_path / "ls.db") as store:
        (alert,) = store.alert_rows()
        assert alert["retro"] == 1 and alert["brief_id"] == "T-DOCK"
        assert [row["item_id"] for row in store.alert_items(alert["id"])] == ["B1"]
        (message,) = store.message_rows()
        assert "retro-check" in message["body_text"]
    again = runner.invoke(
        cli, ["brief", "add", str(FIXTURES / "briefs" / "tidewater.toml"), "--config", str(config)]
    )
    assert "0 alert(s)" in again.output  # pairs already scored are not reported twice
