"""The scheduler: jobs repeat, a failing job does not stop the others, SIGTERM stops cleanly."""

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from types import SimpleNamespace

import pytest

from leaksentry.config import Source
from scheduler import build_scheduler

from conftest import FIXTURES, cli_run, write_config


class CountingService:
    """Stands in for leaksentry.service.Service: counts calls; one source always fails."""

    def __init__(self):
        self.config = SimpleNamespace(
            sources=[
                Source("good", "feed", "http://127.0.0.1:9/good", every=1),
                Source("bad", "feed", "http://127.0.0.1:9/bad", every=1),
                Source("off", "feed", "http://127.0.0.1:9/off", every=1, enabled=False),
            ],
            alerts={},
        )
        self.calls: dict[str, int] = {}

    def crawl_source(self, name):
        self.calls[name] = self.calls.get(name, 0) + 1
        if name == "bad":
            raise RuntimeError("source exploded")

    def retry_mail(self):
        pass

    def digest(self):
        pass


def test_jobs_repeat_and_a_failing_job_keeps_its_schedule(caplog):
    service = CountingService()
    scheduler = build_scheduler(service)
    thread = threading.Thread(target=scheduler.start, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and min(service.calls.get(n, 0) for n in ("good", "bad")) < 3:
        time.sleep(0.1)
    scheduler.shutdown(wait=True)
    thread.join(5)
    assert service.calls.get("good", 0) >= 3
    assert service.calls.get("bad", 0) >= 3  # raised every time, ran again every time
    assert "off" not in service.calls
    assert "job crawl:bad failed: source exploded" in caplog.text


@pytest.mark.slow
def test_run_completes_cycles_and_exits_zero_on_sigterm(site, tmp_path):
    """Also: the log file is reopened after logrotate moves it (WatchedFileHandler)."""
    sources = [{"name": "main", "kind": "feed", "url": site.url + "/feeds/main.rss", "every": "2s"}]
    config = write_config(tmp_path, sources, log_file="ls.log")
    log, rotated = tmp_path / "ls.log", tmp_path / "ls.log.1"
    with running_service(config) as service:
        wait_for_runs(service, tmp_path / "ls.db", "match", 1)
        log.rename(rotated)  # what logrotate does (without copytruncate)
        wait_for_runs(service, tmp_path / "ls.db", "match", 2)
        assert finished_runs(tmp_path / "ls.db", "crawl") >= 2
        output = stop(service)
    assert service.returncode == 0, output
    assert "leaksentry running" in rotated.read_text()
    assert "match: items" in log.read_text()  # a new file, written after the move
    assert "stopping after the current step" in log.read_text()
    crawl_lines = rotated.read_text() + log.read_text()
    assert "entry 5: no link; skipped" in crawl_lines  # the crawl process logs there too
    db = sqlite3.connect(tmp_path / "ls.db")
    assert db.execute("select count(*) from items where matched_at is not null").fetchone()[0] >= 3
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"


@contextmanager
def running_service(config):
    """A database with the test brief, and `leaksentry run` on it as a real process."""
    cli_run("init", "--config", str(config))
    cli_run("brief", "add", str(FIXTURES / "briefs" / "tidewater.toml"), "--config", str(config))
    service = subprocess.Popen(
        [sys.executable, "-m", "leaksentry", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield service
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()


def wait_for_runs(service, database, job: str, count: int, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while finished_runs(database, job) < count:
        assert service.poll() is None, service.stdout.read()
        assert time.monotonic() < deadline, f"fewer than {count} {job} runs in {seconds} s"
        time.sleep(0.5)


def stop(service) -> str:
    """SIGTERM, as a service manager would; the output of the whole run."""
    service.send_signal(signal.SIGTERM)
    return service.communicate(timeout=60)[0]


def finished_runs(database, job: str) -> int:
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(database) as db:
            query = "select count(*) from runs where job = ? and finished_at is not null"
            return db.execute(query, [job]).fetchone()[0]
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_the_cli_reads_and_writes_while_the_service_runs(site, tmp_path):
    """WAL and the busy time-out: operators use the CLI while the service crawls, matches and
    writes; no command fails on a locked database and the store stays consistent."""
    sources = [{"name": "main", "kind": "feed", "url": site.url + "/feeds/main.rss", "every": "1s"}]
    config = write_config(tmp_path, sources)
    database = tmp_path / "ls.db"
    with running_service(config) as service:
        wait_for_runs(service, database, "match", 1)
        crawls_at_start = finished_runs(database, "crawl")
        commands = [
            ("brief", "add", str(FIXTURES / "briefs" / "others.jsonl")),  # writes + retro-check
            ("alerts",),
            ("sources", "status"),
            ("export", "items", "--out", str(tmp_path / "items.jsonl")),
            ("brief", "retire", "T-OPEN"),
            ("digest",),
            ("brief", "list"),
        ]
        for command in commands:  # each while the service keeps crawling every second
            done = cli_run(*command, "--config", str(config), check=False)
            assert done.returncode in (0, 3), f"{command}: {done.stderr}"  # 3: a source unseen
            assert "locked" not in done.stderr
        assert finished_runs(database, "crawl") > crawls_at_start  # crawled meanwhile
        wait_for_runs(service, database, "crawl", finished_runs(database, "crawl") + 1)
        output = stop(service)  # and the service went on crawling
    assert service.returncode == 0, output
    assert "locked" not in output and "Traceback" not in output
    db = sqlite3.connect(database)
    assert db.execute("select count(*) from briefs").fetchone()[0] == 3
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"


class BusyService(CountingService):
    """Six sources whose crawls wait on a lock held elsewhere (as matching holds it)."""

    def __init__(self):
        super().__init__()
        self.config.sources = [
            Source(f"s{n}", "feed", f"http://127.0.0.1:9/{n}", every=3600) for n in range(6)
        ]
        self.release = threading.Event()
        self.digests: list[float] = []

    def crawl_source(self, name):
        self.release.wait(20)

    def digest(self):
        self.digests.append(time.monotonic())


def test_the_daily_digest_is_never_skipped_while_crawls_wait_it_runs_late_and_says_so(caplog):
    """All worker threads taken by crawls waiting on a lock; the digest's time came 400 s
    ago (past the misfire grace): it still runs, at once, and the log says it is late."""
    from datetime import UTC, datetime, timedelta

    service = BusyService()
    scheduler = build_scheduler(service)
    due = datetime.now(UTC) - timedelta(seconds=400)
    scheduler.modify_job("digest", next_run_time=due)
    thread = threading.Thread(target=scheduler.start, daemon=True)
    caplog.set_level("INFO")
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (service.digests and "runs late" in caplog.text):
            time.sleep(0.1)
        assert service.digests, "the digest was skipped"
        assert not service.release.is_set()  # it did not wait for the crawls
        assert "job digest runs late" in caplog.text
    finally:
        service.release.set()
        scheduler.shutdown(wait=True)
        thread.join(5)


def test_a_digest_missed_while_the_service_was_down_is_sent_at_start(caplog):
    service = CountingService()
    calls = []
    service.digest = lambda: calls.append(1)
    service.digest_missed = lambda scheduled: True  # the last digest is older than its time
    scheduler = build_scheduler(service)
    thread = threading.Thread(target=scheduler.start, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        # until it ran and its one-off job is gone (stopping before that races APScheduler's
        # own removal of the job against the store's shutdown: a JobLookupError in its thread)
        while (not calls or scheduler.get_job("digest-late")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert calls == [1]
        assert scheduler.get_job("digest-late") is None  # sent once, not again
        assert "digest due at" in caplog.text and "sent late" in caplog.text
    finally:
        scheduler.shutdown(wait=True)
        thread.join(5)


def test_the_service_tells_a_missed_digest_from_a_sent_one(tmp_path):
    from datetime import UTC, datetime, timedelta

    from leaksentry.alerts.digest import LAST_DIGEST_META
    from leaksentry.config import load_config
    from leaksentry.service import Service
    from leaksentry.storage import open_store

    service = Service(load_config(write_config(tmp_path)))
    due = datetime.now(UTC) - timedelta(hours=1)
    assert not service.digest_missed(due)  # no digest ever: nothing missed
    with open_store(tmp_path / "ls.db") as store:
        store.set_meta(LAST_DIGEST_META, (due - timedelta(days=1)).isoformat(timespec="seconds"))
    assert service.digest_missed(due)
    with open_store(tmp_path / "ls.db") as store:
        store.set_meta(LAST_DIGEST_META, (due + timedelta(minutes=1)).isoformat())
    assert not service.digest_missed(due)
