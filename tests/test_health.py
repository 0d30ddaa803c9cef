"""`leaksentry health`: what a monitoring system asks. Exit 3 names each problem; 0 means a
crawl, a match and a send happened recently and nothing waits on a person."""

from __future__ import annotations

import pytest

from leaksentry.localservers import MailCatcher, free_port
from leaksentry.storage import open_store

from conftest import FIXTURES, cli_run, write_config

pytestmark = pytest.mark.slow


def health(config) -> tuple[int, str]:
    done = cli_run("health", "--config", str(config), check=False)
    assert "Traceback" not in done.stderr
    return done.returncode, done.stdout


def test_health_follows_the_service_from_nothing_to_ok_and_names_each_problem(
    site, tmp_path, database
):
    """On each backend: init, brief add, a whole cycle (crawl, match, send) and health."""
    port = free_port()  # the mail server comes later: first it is down
    sources = [{"name": "main", "kind": "feed", "url": site.url + "/feeds/main.rss"}]
    config = write_config(tmp_path, sources, smtp_port=port, database=database)
    cli_run("init", "--config", str(config))
    cli_run("brief", "add", str(FIXTURES / "briefs" / "tidewater.toml"), "--config", str(config))

    status, out = health(config)
    assert status == 3
    assert "0 of 1 read; not read: main (never crawled)" in out
    assert "never crawled: is `leaksentry run` running?" in out

    cli_run("cycle", "--config", str(config))  # crawl, match (one alert), send: server down
    status, out = health(config)
    assert status == 3 and "1 of 1 read" in out
    assert "1 mail(s) waiting on a delivery problem" in out and "Connection refused" in out

    with MailCatcher(port=port) as mail:
        cli_run("send", "--config", str(config))
    assert len(mail.messages) == 1
    status, out = health(config)
    assert status == 0, out
    assert out.splitlines()[-1] == "health: ok"
    # the fixture brief's window (November 2026) may be past on the day the tests run
    assert "last send 20" in out
    assert "1 active; 1 open alert(s)" in out or "1 ended (window past); 1 open alert(s)" in out

    with open_store(database) as store:  # the service stopped a day ago
        store.sql.execute("update runs set finished_at = '2026-01-01T00:00:00+00:00'")
        store.sql.execute("update sources set last_success_at = '2026-01-01T00:00:00+00:00'")
    status, out = health(config)
    assert status == 3 and "no crawl for " in out and "main (stale)" in out

    low_disk = write_config(
        tmp_path, sources, smtp_port=port, min_free_disk_mb=2**40, database=database
    )
    status, out = health(low_disk)
    assert status == 3 and "disk nearly full: crawling is paused" in out
