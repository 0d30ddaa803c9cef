"""Files that hold codenames, evidence and password hashes are private (0600) like the key
and backups, whatever the umask; the crawl process, which never needs a secret, gets none."""

from __future__ import annotations

import logging
import os
import stat
import sys

import pytest

from leaksentry import jobs
from leaksentry.config import load_config
from leaksentry.storage import open_store

from conftest import write_config


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """The usual umask (022): files created without a mode of their own come out 0644."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def test_database_wal_and_log_file_are_created_0600(site, tmp_path, open_umask):
    sources = [{"name": "main", "kind": "feed", "url": site.url + "/feeds/main.rss"}]
    config = load_config(write_config(tmp_path, sources, log_file="ls.log"))
    with open_store(config.database) as store:
        store.set_meta("probe", "x")  # a write: the WAL and its shared memory exist now
        files = [config.database, *(tmp_path / f"ls.db-{s}" for s in ("wal", "shm"))]
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}

    # the service's log file, also when logrotate moved it away and it is made again
    from leaksentry.logfile import private_log_handler

    handler = private_log_handler(config.log_file)
    record = logging.LogRecord("leaksentry", logging.INFO, __file__, 1, "a line", None, None)
    handler.emit(record)
    assert mode(config.log_file) == 0o600
    config.log_file.rename(tmp_path / "ls.log.1")
    handler.emit(record)
    handler.close()
    assert mode(config.log_file) == 0o600

    # the crawl process writes to the same log file, and may be the one to create it
    config.log_file.unlink()
    report = jobs.crawl(
        config, config.sources, open_store(config.database), log_file=config.log_file
    )
    assert report.counts["stored"] > 0, report
    assert config.log_file.exists() and mode(config.log_file) == 0o600

    # a database made before (0644) is made private when opened
    old = tmp_path / "old.db"
    open_store(old).close()
    old.chmod(0o644)
    with open_store(old) as store:
        store.set_meta("probe", "x")
        assert mode(old) == 0o600 and mode(tmp_path / "old.db-wal") == 0o600


@pytest.mark.parametrize("started", ["for the crawl", "ahead, on standby"])
def test_the_crawl_process_gets_no_key_and_no_secret(monkeypatch, tmp_path, started):
    """The crawl child inherits the environment minus leaksentry's secrets: the key, the SMTP
    login and the chat channels' URLs. It keeps what it needs (the configuration's path).
    The same holds for a crawl process started ahead of time (jobs.Standby)."""
    secrets = {
        "LEAKSENTRY_KEY": "a2V5LWZvci10aGUtdGVzdC1vbmx5LW5vdC1hLXJlYWwta2V5",
        "LEAKSENTRY_SMTP_USER": "relay-user",
        "LEAKSENTRY_SMTP_PASSWORD": "relay-password",
        "LEAKSENTRY_CHANNEL_OPS": "json://127.0.0.1:9/hook",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LEAKSENTRY_CONFIG", "leaksentry.toml")
    # the crawl module replaced by a probe: it reads its arguments (as a standby does when
    # it has them on stdin) and prints the names in its environment
    show = (
        "import os, sys, json\n"
        "if '--standby' in sys.argv: sys.stdin.readline()\n"
        "print(json.dumps(sorted(os.environ)))"
    )
    monkeypatch.setattr(jobs, "CRAWL_MODULE", [sys.executable, "-c", show])
    standby = None
    if started == "ahead, on standby":
        standby = jobs.Standby(load_config(write_config(tmp_path)))
        standby.prepare()
    output, status, _stopped = jobs._run_child([], lambda: False, standby=standby)
    assert status == 0
    seen = set(__import__("json").loads(output))
    assert not seen & set(secrets), sorted(seen & set(secrets))
    assert {"LEAKSENTRY_CONFIG", "LEAKSENTRY_CRAWL_PARENT"} <= seen
