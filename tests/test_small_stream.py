"""Issue 11 point 11: a stream too small to measure is said so (log, health, digest) and
treated cautiously (a higher floor), never silently scored on built-in defaults."""

from __future__ import annotations

import logging

import pytest

from leaksentry import jobs
from leaksentry.alerts import digest
from leaksentry.config import load_config
from leaksentry.health import check
from leaksentry.storage import open_store
from matcher import Matcher, MemoryCache
from matcher.records import Brief, Item

from conftest import write_config

pytestmark = pytest.mark.slow
BRIEF = Brief(
    id="T-DOCK",
    codename="AMBER KESTREL",
    summary="Border Revenue Unit operation at the Fernwick dock east gate on Friday 6 November.",
    details=["Place: Fernwick dock, east gate", "42 officers and 2 scanner vans"],
)


def chatter(n: int) -> list[Item]:
    return [
        Item(
            id=f"c{n}-{i}",
            url=f"https://news.example/{n}/{i}",
            kind="news",
            source="s",
            published="2026-11-02T09:00:00Z",
            title=f"Harbour notes {i}",
            text=f"The harbour choir sang {i} songs at the town hall on a quiet evening.",
        )  # fmt: skip
        for i in range(n)
    ]


def test_a_small_stream_gets_a_higher_floor_and_a_measured_one_does_not(embedder):
    matcher = Matcher(embedder, cache=MemoryCache())
    brief = matcher.prepare_brief(BRIEF)
    floor = matcher.settings.min_evidence
    assert matcher.threshold(BRIEF.id) == floor  # never calibrated: tests and library use
    matcher.calibrate([brief], matcher.prepare_items(chatter(20), full=True))
    assert matcher.threshold(BRIEF.id) == floor + matcher.settings.small_stream_margin
    background = matcher.prepare_items(chatter(matcher.settings.min_background), full=True)
    matcher.calibrate([brief], background)
    assert matcher.threshold(BRIEF.id) == floor


def test_the_log_health_and_digest_say_the_stream_is_too_small(embedder, tmp_path, caplog):
    config = load_config(write_config(tmp_path))
    matcher = Matcher(embedder, cache=MemoryCache())
    with open_store(config.database) as store:
        for item in chatter(18):
            store.add_item(item, item.url, item.id)
        assert "not calibrated yet" in jobs.calibration_note(store)[0]
        with caplog.at_level(logging.INFO, logger="leaksentry"):
            jobs.calibrate(store, matcher, [matcher.prepare_brief(BRIEF)])
        assert "too few news and social items to measure" in caplog.text
        note, small = jobs.calibration_note(store)
        assert small and "on 18 item(s)" in note and "floor raised by 3" in note
        assert any(topic == "matcher" and "too few items" in text for topic, text in check(
            config, store).lines)  # fmt: skip
        assert "too few items to measure the stream" in digest.build(config, store)[0].body_text
