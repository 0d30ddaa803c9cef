"""Outages: a disk nearly full or full, a source down. The service keeps running, says what is
wrong in its log and in the digest, and catches up when the fault ends.

The small disk is a real tmpfs of a few MiB, filled with a ballast file. Mounting one needs
root (CI runs as root); elsewhere these tests are skipped and say why.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from leaksentry.config import load_config
from leaksentry.localservers import StaticSite, free_port
from leaksentry.service import Service

from conftest import FIXTURES, cli_run, write_config

BRIEF = FIXTURES / "briefs" / "tidewater.toml"
FEED_ARTICLES = {"mill-lane-bridge.html", "library-hours.html", "dock-checks.html"}
MIB = 1024 * 1024


@pytest.fixture
def small_disk(tmp_path):
    """A 24 MiB file system of its own (tmpfs), unmounted afterwards."""
    folder = tmp_path / "disk"
    folder.mkdir()
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(folder)],
            capture_output=True,
            text=True,
        )
    except FileNotFoundError:
        pytest.skip("no mount command here: a small disk cannot be made")
    if mounted.returncode != 0:
        pytest.skip(f"a small disk needs a tmpfs mount (root): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path, leave: int) -> Path:
    """Write a ballast file until only `leave` bytes are free on folder's file system."""
    ballast = folder / "ballast"
    chunk = b"\0" * 65536
    with ballast.open("ab") as out:
        try:
            while (room := shutil.disk_usage(folder).free - leave) > 0:
                out.write(chunk[:room])
                out.flush()
        except OSError:  # ENOSPC: full, which is what leave=0 asks for
            pass
    return ballast


def with_recipients(config: Path, address: str) -> None:
    """Give the configuration's [smtp] table default recipients."""
    text = config.read_text().replace("[smtp]\n", f'[smtp]\nrecipients = ["{address}"]\n')
    config.write_text(text)


def stored_names(database: Path) -> list[str]:
    with sqlite3.connect(database) as db:
        urls = [row[0] for row in db.execute("select url from items")]
    return sorted(url.rsplit("/", 1)[-1] for url in urls)


def query(database: Path, sql: str) -> int:
    try:
        with sqlite3.connect(database, timeout=10) as db:
            return db.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def wait_for(condition, what: str, service=None, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if service is not None:
            assert service.poll() is None, f"the service stopped while waiting for {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


@pytest.mark.slow
def test_disk_nearly_full_pauses_crawling_says_so_and_catches_up(small_disk, site, mail, tmp_path):
    sources = [{"name": "main", "kind": "feed", "url": site.url + "/feeds/main.rss", "every": "2s"}]
    config = write_config(small_disk, sources, smtp_port=mail.port, min_free_disk_mb=8)
    cli_run("init", "--config", str(config))
    cli_run("brief", "add", str(BRIEF), "--config", str(config))
    database = small_disk / "ls.db"
    ballast = fill(small_disk, leave=3 * MIB)
    log_path = tmp_path / "service.log"
    with log_path.open("w") as log_file:
        service = subprocess.Popen(
            [sys.executable, "-m", "leaksentry", "run", "--config", str(config)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(
            lambda: log_path.read_text().count("disk nearly full") >= 2,
            "two crawls paused",
            service,
        )
        assert query(database, "select count(*) from items") == 0
        assert "crawling is paused until space is freed" in log_path.read_text()

        cli_run("digest", "--send", "--config", str(config))  # what the daily digest job runs
        (digest,) = [m for m in mail.messages if "digest" in str(m["Subject"])]
        assert "disk nearly full" in str(digest["Subject"])
        text = digest.get_body(("plain",)).get_content()
        assert "Disk:" in text and "crawling is paused" in text and "min_free_disk_mb" in text

        ballast.unlink()  # the fault ends
        wait_for(
            lambda: (
                query(database, "select count(*) from items where matched_at is not null")
                >= len(FEED_ARTICLES)
            ),
            "the crawl to catch up and match",
            service,
        )
        wait_for(lambda: query(database, "select count(*) from alerts") >= 1, "an alert", service)
        assert service.poll() is None
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=60)
    finally:
        if service.poll() is None:
            service.kill()
    log = log_path.read_text()
    assert service.returncode == 0, log
    assert "Traceback" not in log
    assert set(stored_names(database)) == FEED_ARTICLES
    assert (
        query(database, "select count(*) from pragma_integrity_check where integrity_check != 'ok'")
        == 0
    )


@pytest.mark.slow
@pytest.mark.parametrize("leave", [0, 96 * 1024], ids=["full", "almost-full"])
def test_full_disk_is_a_clear_error_loses_nothing_and_the_next_run_collects_all(
    small_disk, site, tmp_path, leave
):
    """No floor (min_free_disk_mb = 0): the writes themselves meet the full disk."""
    sources = [{"name": "main", "kind": "feed", "url": site.url + "/feeds/main.rss"}]
    config = write_config(small_disk, sources, min_free_disk_mb=0)
    cli_run("init", "--config", str(config))
    cli_run("brief", "add", str(BRIEF), "--config", str(config))
    database = small_disk / "ls.db"
    ballast = fill(small_disk, leave=leave)

    for command in (["crawl"], ["match"]):
        done = cli_run(*command, "--config", str(config), check=False)
        assert "Traceback" not in done.stderr
        if leave == 0:  # the database cannot even be opened
            assert done.returncode == 1, done.stdout + done.stderr
            assert "the disk is full" in done.stderr
        elif command == ["crawl"]:  # opened; the items' writes fail: a source error, no state
            assert done.returncode == 3, done.stdout + done.stderr
            assert "not stored: database or disk is full" in done.stdout

    ballast.unlink()
    cli_run("crawl", "--config", str(config))
    cli_run("match", "--config", str(config))
    assert stored_names(database) == sorted(FEED_ARTICLES)  # each once, none lost
    assert query(database, "select count(*) from items where matched_at is null") == 0
    assert (
        query(database, "select count(*) from pragma_integrity_check where integrity_check != 'ok'")
        == 0
    )


@pytest.mark.parametrize("leave", [0, 160 * 1024], ids=["full", "almost-full"])
def test_the_daily_digest_still_goes_out_on_a_full_disk(small_disk, mail, leave):
    config_path = write_config(small_disk, [], smtp_port=mail.port, min_free_disk_mb=8)
    with_recipients(config_path, "desk@example.org")
    cli_run("init", "--config", str(config_path))
    cli_run("brief", "add", str(BRIEF), "--config", str(config_path))
    ballast = fill(small_disk, leave=leave)
    Service(load_config(config_path)).digest()  # what the scheduler's daily job calls
    assert mail.messages, "no digest reached the mail server"
    for message in mail.messages:
        assert "disk" in str(message["Subject"])
        assert "MiB free" in message.get_body(("plain",)).get_content()
    if leave == 0:  # the database cannot be opened: a notice to the default recipients
        (message,) = mail.messages
        assert message["To"] == "desk@example.org"
        assert "cannot be opened" in str(message["Subject"])
    ballast.unlink()
    assert query(small_disk / "ls.db", "select count(*) from items") == 0


@pytest.mark.slow
def test_source_down_for_runs_is_reported_then_caught_up(tmp_path, mail):
    port = free_port()
    url = f"http://127.0.0.1:{port}/feeds/main.rss"
    config = write_config(tmp_path, [{"name": "main", "kind": "feed", "url": url}], mail.port)
    with_recipients(config, "desk@example.org")
    cli_run("init", "--config", str(config))
    for _ in range(2):  # the source is down: two runs, each reported; nothing else stops
        done = cli_run("crawl", "--config", str(config), check=False)
        assert done.returncode == 3 and "main" in done.stdout + done.stderr
    status = cli_run("sources", "status", "--config", str(config), check=False)
    assert status.returncode == 3 and "FAILING" in status.stdout
    cli_run("digest", "--send", "--config", str(config))
    text = mail.messages[-1].get_body(("plain",)).get_content()
    assert "main (feed): failing" in text and "Connection refused" in text

    with StaticSite(FIXTURES / "site", port=port):  # back, at the same address
        cli_run("crawl", "--config", str(config))
    assert stored_names(tmp_path / "ls.db") == sorted(FEED_ARTICLES)
    status = cli_run("sources", "status", "--config", str(config))
    assert "FAILING" not in status.stdout


def test_free_disk_floor_must_be_a_whole_number(tmp_path):
    config = write_config(tmp_path, min_free_disk_mb="lots")
    done = cli_run("init", "--config", str(config), check=False)
    assert done.returncode == 1
    assert "'min_free_disk_mb' must be a whole number of MiB" in done.stderr
    assert os.path.exists(tmp_path / "leaksentry.toml")


def test_service_steps_on_a_full_disk_say_so_and_return(small_disk, caplog):
    """The scheduler's jobs meet a full disk: one clear log line each, no exception, so the
    scheduler keeps its timetable; the database is intact once space is back."""
    config_path = write_config(small_disk, [], min_free_disk_mb=0)
    cli_run("init", "--config", str(config_path))
    ballast = fill(small_disk, leave=0)
    service = Service(load_config(config_path))
    with caplog.at_level("ERROR", logger="leaksentry.service"):
        service.process()  # opening the store already fails: no model needed to get there
        service.retry_mail()
    messages = [r.getMessage() for r in caplog.records]
    assert [m.split(":")[0] for m in messages] == ["process", "retry_mail"]
    assert all("the disk is full" in m and "runs again at its next time" in m for m in messages)
    ballast.unlink()
    assert (
        query(
            small_disk / "ls.db",
            "select count(*) from pragma_integrity_check where integrity_check != 'ok'",
        )
        == 0
    )
