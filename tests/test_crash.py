"""Crash safety: SIGKILL in the middle of a crawl, of matching and of sending, with real
processes; the next run loses nothing and duplicates nothing."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from test_alerts import World, item

from leaksentry.jobs import MATCH_BATCH
from leaksentry.localservers import MailCatcher, StaticSite
from leaksentry.records import Item

from conftest import FIXTURES, cli_run, write_config

ARTICLES = 24
PAGE = """<!doctype html><html lang="en"><head><title>Notice {n}</title>
<meta property="article:published_time" content="2026-11-{day:02d}T08:00:00Z"></head><body>
<article><h1>Parish notice number {n}</h1><p>{body}</p></article></body></html>"""
TOPICS = ["allotments", "bus timetable", "library hours", "bin collection", "choir", "cricket"]


def count(database, sql: str) -> int:
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            return db.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def run_and_kill(args: list[str], until, timeout: float = 120) -> None:
    """Start `leaksentry ARGS` in its own process group; SIGKILL the group once until() holds."""
    process = subprocess.Popen(
        [sys.executable, "-m", "leaksentry", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while not until():
        assert process.poll() is None, "finished before it could be killed"
        assert time.monotonic() < deadline, "never reached the point to kill it"
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def make_site(root) -> None:
    (root / "articles").mkdir(parents=True)
    entries = []
    for n in range(ARTICLES):
        body = (
            f"The parish council has published notice {n} about the {TOPICS[n % 6]} for the "
            f"coming winter, asking residents in ward {n} to comment before the deadline. "
        ) * 3
        page = PAGE.format(n=n, day=1 + n % 28, body=body)
        (root / "articles" / f"n{n}.html").write_text(page)
        entries.append(
            f"<item><title>Notice {n}</title><link>{{{{SITE}}}}/articles/n{n}.html</link>"
            f"<guid>n{n}</guid></item>"
        )
    (root / "feed.rss").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Parish</title>'
        "<link>{{SITE}}/</link><description>notices</description>"
        + "".join(entries)
        + "</channel></rss>"
    )


@pytest.mark.parametrize("kill_after", [1, 6, 15])
def test_crawl_killed_half_way_resumes_without_loss_or_duplicates(tmp_path, kill_after):
    make_site(tmp_path / "site")
    with StaticSite(tmp_path / "site", delay=0.05) as site:
        config = write_config(
            tmp_path, [{"name": "parish", "kind": "feed", "url": site.url + "/feed.rss"}]
        )
        database = tmp_path / "ls.db"
        run_and_kill(
            ["crawl", "--config", str(config)],
            lambda: count(database, "select count(*) from items") >= kill_after,
        )
        killed_at = count(database, "select count(*) from items")
        assert killed_at < ARTICLES, "the crawl was not interrupted"
        cli_run("crawl", "--config", str(config))
        again = cli_run("crawl", "--config", str(config))
    assert "stored 0" in again.stdout
    out = tmp_path / "items.jsonl"
    cli_run("export", "items", "--out", str(out), "--config", str(config))
    urls = [json.loads(line)["url"] for line in out.read_text().splitlines()]
    assert len(urls) == len(set(urls)) == ARTICLES
    assert (
        count(database, "select count(*) from pragma_integrity_check where integrity_check != 'ok'")
        == 0
    )


# Four batches of matching: killed once the first is stored, three remain. (With two, the
# second could finish between the check and the kill: seen once in CI.)
POSTS = 4 * MATCH_BATCH


@pytest.mark.slow
@pytest.mark.parametrize("kill_when_matched", [0, 1])
def test_matching_killed_half_way_resumes_without_loss_or_duplicates(tmp_path, kill_when_matched):
    from leaksentry.storage import open_store

    config = write_config(tmp_path)
    cli_run("init", "--config", str(config))
    cli_run("brief", "add", str(FIXTURES / "briefs" / "tidewater.toml"), "--config", str(config))
    database = tmp_path / "ls.db"
    with open_store(database) as store:
        for n in range(POSTS):
            post = Item(
                f"p{n}",
                f"https://social.example/p/{n}",
                "social",
                "social.example",
                "2026-11-04T08:00:00Z",
                "",
                f"Post {n}: customs vans at the Fernwick dock east gate again, queue number {n}"
                if n % 50 == 0
                else f"Post {n}: lovely walk by the {TOPICS[n % 6]} this morning, {n} steps",
            )
            store.add_item(post, post.url, f"h{n}")
    matched = "select count(*) from items where matched_at is not null"
    run_and_kill(
        ["match", "--config", str(config)],
        lambda: (
            count(database, matched) >= kill_when_matched
            and count(database, "select count(*) from runs where job = 'match'") > 0
        ),
    )
    assert count(database, matched) < POSTS, "matching was not interrupted"
    cli_run("match", "--config", str(config))
    assert count(database, matched) == POSTS
    pairs = count(database, "select count(*) from matches")
    assert pairs == count(database, "select count(distinct brief_id || item_id) from matches")
    assert count(database, "select count(*) from matches where alert = 1 and alert_id is null") == 0
    assert (
        count(database, "select count(*) from pragma_integrity_check where integrity_check != 'ok'")
        == 0
    )


def test_sending_killed_half_way_sends_each_mail_once(tmp_path):
    port_catcher = MailCatcher(delay=0.25).start()
    try:
        world = World(tmp_path, port_catcher.port, immediate="all")
        for n in range(10):  # ten stories, far apart in time: ten alerts, ten mails
            world.match_run(
                (
                    item(n, f"site{n}.example", published=f"2026-0{1 + n % 9}-1{n % 9}T08:00:00Z"),
                    0.8,
                    [n % 5],
                    True,
                )
            )
        world.store.close()
        queued = [row["message_id"] for row in world.rows()]
        assert len(queued) == 10
        config = str(tmp_path / "leaksentry.toml")
        run_and_kill(["send", "--config", config], lambda: len(port_catcher.messages) >= 4)
        port_catcher.delay = 0
        cli_run("send", "--config", config)
        cli_run("send", "--config", config)
        received = Counter(m["Message-ID"] for m in port_catcher.messages)
    finally:
        port_catcher.stop()
    assert set(received) == set(queued)  # nothing lost
    # At most the one message in flight when the process died can arrive twice, with the same
    # Message-ID (mail clients show it once); no message is ever sent under two identities.
    assert sum(n - 1 for n in received.values()) <= 1
    assert [row["state"] for row in world.rows()] == ["sent"] * 10


def crawl_processes(config) -> list[int]:
    """Pids of crawl processes started for this configuration (from /proc)."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if b"spiders.crawl" in cmdline and str(config).encode() in cmdline:
            pids.append(int(entry))
    return pids


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; prctl is Linux")
def test_service_killed_mid_crawl_leaves_no_orphan_and_resumes_without_loss(tmp_path):
    """SIGKILL to `leaksentry run` alone (as the OOM killer or `kill -9 PID` would do, not its
    process group): its crawl process stops too, and the restarted service collects the rest."""
    make_site(tmp_path / "site")
    with StaticSite(tmp_path / "site", delay=0.3) as site:
        sources = [{"name": "parish", "kind": "feed", "url": site.url + "/feed.rss", "every": "1m"}]
        config = write_config(tmp_path, sources)
        cli_run("init", "--config", str(config))
        database = tmp_path / "ls.db"
        command = [sys.executable, "-m", "leaksentry", "run", "--config", str(config)]
        service = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while count(database, "select count(*) from items") < 3:
                assert service.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
            (crawler,) = crawl_processes(config)
            service.kill()
            service.wait()
            deadline = time.monotonic() + 30
            while crawl_processes(config):
                assert time.monotonic() < deadline, "the crawl outlived the killed service"
                time.sleep(0.1)
            killed_at = count(database, "select count(*) from items")
            assert killed_at < ARTICLES, "the crawl was not interrupted"
            service = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            deadline = time.monotonic() + 180
            while (
                count(database, "select count(*) from items where matched_at is not null")
                < ARTICLES
            ):
                assert service.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
            service.send_signal(signal.SIGTERM)
            assert service.wait(timeout=60) == 0
        finally:
            if service.poll() is None:
                service.kill()
    assert crawler not in crawl_processes(config)
    assert count(database, "select count(*) from items") == ARTICLES  # each once
    assert count(database, "select count(distinct canonical_url) from items") == ARTICLES
    assert (
        count(database, "select count(*) from pragma_integrity_check where integrity_check != 'ok'")
        == 0
    )


@pytest.mark.parametrize("stop_after", ["the feed", "two articles"])
def test_stopping_the_service_between_the_feed_and_its_articles_loses_no_article(
    tmp_path, stop_after
):
    """SIGTERM to `leaksentry run` after the feed was fetched and before all of its articles
    were: the feed's Last-Modified is not kept as a success (the next crawl reads the feed in
    full, not a 304, and collects the rest), and the log says how many items were stored."""
    make_site(tmp_path / "site")
    with StaticSite(tmp_path / "site", delay=0.3, conditional=True) as site:
        sources = [{"name": "parish", "kind": "feed", "url": site.url + "/feed.rss", "every": "1h"}]
        config = write_config(tmp_path, sources, log_file="service.log")
        cli_run("init", "--config", str(config))
        database = tmp_path / "ls.db"
        command = [sys.executable, "-m", "leaksentry", "run", "--config", str(config)]
        service = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while (
                "/feed.rss" not in site.requests
                if stop_after == "the feed"
                else count(database, "select count(*) from items") < 2
            ):
                assert service.poll() is None and time.monotonic() < deadline
                time.sleep(0.01)
            service.send_signal(signal.SIGTERM)
            assert service.wait(timeout=60) == 0
        finally:
            if service.poll() is None:
                service.kill()
        stopped_at = count(database, "select count(*) from items")
        assert stopped_at < ARTICLES, "the crawl was not interrupted"
        log = (tmp_path / "service.log").read_text()
        cli_run("crawl", "--config", str(config))
    assert f"crawl parish: {stopped_at} new item(s)" in log, log[-2000:]
    assert count(database, "select count(*) from items") == ARTICLES
