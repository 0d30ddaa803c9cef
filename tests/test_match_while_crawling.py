"""The service matches what a crawl stores while the crawl goes on (issue 12).

A slow Mastodon-compatible timeline (real HTTP, a pause before every page) holds a leak of a
fictional brief on its newest post and 480 unrelated posts behind it; the real service, with
the real model loaded, crawls it in a real Scrapy child process and sends mail to a real SMTP
server. The leak's mail must leave before the crawl ends, and nothing may be matched twice or
left unmatched.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from leaksentry import jobs
from leaksentry.config import load_config
from leaksentry.localservers import MastodonServer
from leaksentry.records import Item
from leaksentry.service import Service
from leaksentry.storage import open_store
from leaksentry.vault import open_vault

from conftest import cli_run, mastodon_statuses, write_config

pytestmark = pytest.mark.slow

FILLERS = 480  # two full match batches and a part batch behind the leak
PAGE_DELAY = 0.4  # seconds before each page of 40: the crawl lasts about five seconds


def brief(day: datetime) -> dict:
    """A fictional police operation three days from now."""
    return {
        "id": "T-MARINA",
        "codename": "GREY HERON",
        "summary": (
            "Fernwick harbour police will search the Saltmere marina boat sheds for stolen "
            f"outboard engines at 06:00 on {day:%A} {day.day} {day:%B %Y}. Twelve officers "
            "and a dog unit take part; the marina office is told that morning."
        ),
        "details": [
            "Place: Saltmere marina boat sheds",
            f"Start 06:00 on {day.day} {day:%B %Y}",
            "12 officers and a dog unit",
            "Target: stolen outboard engines",
        ],
        "active_from": (day - timedelta(days=10)).date().isoformat(),
        "active_until": (day + timedelta(days=1)).date().isoformat(),
        "recipients": ["duty@example.org"],
    }


def with_timeline(config: Path, url: str) -> Path:
    """The configuration with a Mastodon local timeline source, "toots"."""
    with config.open("a", encoding="utf-8") as toml:
        toml.write(
            f'[[source]]\nname = "toots"\nkind = "mastodon"\nurl = "{url}"\n'
            'local_timeline = true\nlookback = "2d"\n'
        )
    return config


def statuses(day: datetime) -> list[dict]:
    """The leak as the newest post, unrelated posts before it (oldest first)."""
    texts = [
        f"Allotment diary {n}: the leeks in row {n % 9} are doing well." for n in range(FILLERS)
    ]
    texts.append(
        "Word at the club: police are raiding the Saltmere marina boat sheds at 6am on "
        f"{day:%A} {day.day} {day:%B}, hunting stolen outboard engines. Twelve officers plus dogs."
    )
    return mastodon_statuses(texts)


def test_a_leak_early_in_a_long_crawl_is_mailed_before_the_crawl_ends(tmp_path, mail):
    day = datetime.now(UTC) + timedelta(days=3)
    with MastodonServer(statuses(day), delay=PAGE_DELAY) as timeline:
        config = with_timeline(write_config(tmp_path, [], mail.port), timeline.url)
        cli_run("init", "--config", str(config))
        (tmp_path / "brief.jsonl").write_text(json.dumps(brief(day)) + "\n", encoding="utf-8")
        cli_run("brief", "add", str(tmp_path / "brief.jsonl"), "--config", str(config))
        service = Service(load_config(config))
        service.load_model()
        service.crawl_source("toots")

    with sqlite3.connect(tmp_path / "ls.db") as db:
        runs = db.execute("select job, started_at, finished_at from runs order by id").fetchall()
        sent = db.execute("select sent_at from outbox where sent_at is not null").fetchall()
        stored = db.execute("select count(*) from items").fetchone()[0]
        matched = db.execute("select count(*) from items where matched_at is not null").fetchone()
    crawl_finished = next(finished for job, _, finished in runs if job == "crawl")
    assert stored == FILLERS + 1
    assert matched[0] == stored, "an item was left unmatched"
    assert any(job == "match" and started < crawl_finished for job, started, _ in runs), runs
    assert len(mail.messages) == 1, [m["Subject"] for m in mail.messages]
    assert sent and sent[0][0] < crawl_finished, (sent, crawl_finished)


def test_match_run_leaves_a_part_batch_for_later(tmp_path):
    """`step(whole=False)` matches only full batches (a crawl is still storing); `step()`
    the rest; the model is asked for once, when the first batch is matched."""
    config_path = write_config(tmp_path)
    cli_run("init", "--config", str(config_path))
    config = load_config(config_path)
    asked = []

    def matcher():
        asked.append(1)
        return jobs.make_matcher(config)

    with open_store(config.database) as store:
        for n in range(jobs.MATCH_BATCH + 10):
            url = f"https://social.example/statuses/{n}"
            text = f"Allotment diary {n}: the leeks in row {n % 9} are doing well."
            item = Item(f"p{n}", url, "social", "s", None, "", text)
            store.add_item(item, url, f"hash{n}")
        run = jobs.MatchRun(config, store, lambda: open_vault(config, store), matcher)
        assert not asked, "the model was loaded before anything was to be matched"
        assert run.step(whole=False)
        assert len(store.unmatched_items(1000)) == 10
        assert not run.step(whole=False), "a part batch was matched while more may come"
        assert run.step()
        assert store.unmatched_items(1000) == []
        assert asked == [1]
        assert run.finish().counts["items"] == jobs.MATCH_BATCH + 10


def test_a_failing_match_while_crawling_stops_itself_not_the_crawl(tmp_path, caplog):
    """The crawl stores everything; the failing step is tried once and said in the log."""
    texts = [f"Allotment diary {n}: the leeks in row {n % 9} are doing well." for n in range(80)]
    calls = []

    def failing():
        calls.append(1)
        raise OSError("no room for the model")

    with MastodonServer(mastodon_statuses(texts), delay=PAGE_DELAY) as timeline:
        config_path = with_timeline(write_config(tmp_path), timeline.url)
        cli_run("init", "--config", str(config_path))
        config = load_config(config_path)
        with open_store(config.database) as store, caplog.at_level("ERROR", "leaksentry"):
            report = jobs.crawl(config, config.sources, store, meanwhile=failing)
    assert report.counts["stored"] == 80 and not report.errors, report
    assert calls == [1]
    assert "match while crawling stopped: no room for the model" in caplog.text
