"""A crawl process on standby (issue 12): started ahead, its imports done, it runs the next
crawl at once; one that died is replaced by a fresh process; stopping ends it.

Real crawl processes (Scrapy), a real Mastodon-compatible timeline over HTTP, a real SQLite
file. Processes are found in /proc, as an operator's `ps` would show them.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from leaksentry import jobs
from leaksentry.config import load_config
from leaksentry.localservers import MastodonServer
from leaksentry.storage import open_store

from conftest import cli_run, mastodon_statuses, write_config

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

POSTS = 60


def standby_processes() -> list[int]:
    """Pids of this process's children waiting as crawl processes on standby."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == os.getpid() and b"spiders.crawl" in cmdline and b"--standby" in cmdline:
            pids.append(int(entry))
    return pids


def started_standby(standby: jobs.Standby, seconds: float = 10) -> list[int]:
    """The standby processes once one shows in /proc: a scan made the instant after the
    start found none once in CI, so look again for a while (and say how it ended if none)."""
    deadline = time.monotonic() + seconds
    while not (found := standby_processes()) and time.monotonic() < deadline:
        time.sleep(0.05)
    child = standby._waiting
    assert found, f"no process on standby (exit status {child.poll() if child else 'none'})"
    return found


def gone(pid: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":  # exited, not yet reaped
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def timeline_config(tmp_path):
    texts = [f"Allotment diary {n}: the leeks in row {n % 9} are doing well." for n in range(POSTS)]
    with MastodonServer(mastodon_statuses(texts)) as timeline:
        config = write_config(tmp_path)
        with config.open("a", encoding="utf-8") as toml:
            toml.write(
                f'[[source]]\nname = "toots"\nkind = "mastodon"\nurl = "{timeline.url}"\n'
                'local_timeline = true\nlookback = "2d"\n'
            )
        cli_run("init", "--config", str(config))
        yield load_config(config)


def test_the_crawl_runs_in_the_process_on_standby_and_stores_everything(timeline_config):
    config = timeline_config
    standby = jobs.Standby(config)
    try:
        standby.prepare()
        standby.prepare()  # one waits, never two
        (waiting,) = started_standby(standby)
        cmdline = Path(f"/proc/{waiting}/cmdline").read_bytes()
        assert str(config.path).encode() in cmdline  # `ps` tells whose crawl it is
        with open_store(config.database) as store:
            report = jobs.crawl(config, config.sources, store, standby=standby)
        assert report.counts["stored"] == POSTS and not report.errors, report
        assert gone(waiting), "the process on standby was not the one that crawled"
        assert standby_processes() == []
        standby.prepare()
        (following,) = started_standby(standby)
        assert following != waiting
    finally:
        standby.close()
    assert gone(following), "close() left the process on standby running"


def test_a_standby_that_died_is_replaced_by_a_fresh_crawl(timeline_config):
    config = timeline_config
    standby = jobs.Standby(config)
    try:
        standby.prepare()
        (waiting,) = started_standby(standby)
        os.kill(waiting, signal.SIGKILL)
        assert gone(waiting)
        with open_store(config.database) as store:
            report = jobs.crawl(config, config.sources, store, standby=standby)
        assert report.counts["stored"] == POSTS and not report.errors, report
    finally:
        standby.close()


def test_a_standby_whose_parent_closes_its_stdin_exits_without_crawling(timeline_config):
    config = timeline_config
    standby = jobs.Standby(config)
    standby.prepare()
    (waiting,) = started_standby(standby)
    standby.close()
    assert gone(waiting)
    with open_store(config.database) as store:
        assert store.count("items") == 0
        assert store.count("runs") == 0
