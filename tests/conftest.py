"""Shared fixtures: an isolated home per test, real local servers, one model per session."""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from leaksentry.localservers import MailCatcher, StaticSite

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent
MODEL = "all-MiniLM-L6-v2"
OLDEST_FIXTURE_DAYS = 36500  # sources' lookback in tests: the fixtures' dates never fall out


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path):
    """No test sees the user's configuration, key or database; nothing leaves 127.0.0.1."""
    for name in list(os.environ):
        if name.startswith("LEAKSENTRY_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def postgres_server():
    """One real PostgreSQL server (Debian's binaries) for the session, on 127.0.0.1 in a
    temporary folder; each test that uses it gets a database of its own. Not installed is a
    failure, never a skip: the tests of the PostgreSQL store must run (.ci/run installs it)."""
    from leaksentry.localpostgres import LocalPostgres, PostgresMissing

    try:
        server = LocalPostgres().start()
    except PostgresMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server():
    """One real Redis server (Debian's redis-server) for the session, on 127.0.0.1 in a
    temporary folder, without persistence: the broker of the distributed workers' tests. Not
    installed is a failure, never a skip (.ci/run installs it)."""
    from leaksentry.localredis import LocalRedis, RedisMissing

    try:
        server = LocalRedis().start()
    except RedisMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


_databases = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """Where a store lives, once per backend: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "ls.db"
    return request.getfixturevalue("postgres_server").create_database(f"t{next(_databases)}")


@pytest.fixture
def site():
    """The saved test site (feeds, articles, robots.txt) on a real HTTP server."""
    with StaticSite(FIXTURES / "site") as server:
        yield server


@pytest.fixture
def mail(tmp_path):
    with MailCatcher(tmp_path / "mail") as catcher:
        yield catcher


def write_config(
    folder: Path, sources: list[dict] | None = None, smtp_port: int = 1, **extra
) -> Path:
    """A configuration file in `folder` with relative paths and the given sources.

    The test sites hold a handful of items: far too few to measure a stream, so the matcher
    would ask `small_stream_margin` more of every leak. These tests are about the plumbing
    (crawl, match, alert, mail, health), so the margin is 0 here; tests/test_small_stream.py
    tests the caution itself."""
    extra = {"database": "ls.db"} | {k: str(v) if k == "database" else v for k, v in extra.items()}
    lines = ['key_file = "ls.key"']
    lines += [f"{key} = {value!r}".replace("'", '"') for key, value in extra.items()]
    lines += ["[matcher]", "small_stream_margin = 0"]
    lines += ["[smtp]", 'host = "127.0.0.1"', f"port = {smtp_port}", "timeout = 5"]
    for source in sources or []:
        # the saved pages are dated November 2026: a first crawl reaches back to them
        source = {"lookback": f"{OLDEST_FIXTURE_DAYS}d"} | source
        lines.append("[[source]]")
        lines += [f'{key} = "{value}"' for key, value in source.items()]
    path = folder / "leaksentry.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def cli_run(*args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the installed `leaksentry` command in a real process."""
    completed = subprocess.run(
        [sys.executable, "-m", "leaksentry", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=600,
    )
    if check and completed.returncode != 0:
        raise AssertionError(
            f"leaksentry {' '.join(args)} exited {completed.returncode}\n{completed.stderr}"
        )
    return completed


def six_word_runs(text: str) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i : i + 6]) for i in range(len(words) - 5)}


def sealed_runs(briefs) -> set[str]:
    """Every run of six words of any brief's summary or of any detail."""
    runs: set[str] = set()
    for brief in briefs:
        runs |= six_word_runs(brief.summary)
        for detail in brief.details:
            runs |= six_word_runs(detail)
    return runs


def assert_no_sealed_text(text: str, briefs, where: str = "the text") -> None:
    """No six-word run of sealed text in `text`. A failure says how many and where, never
    what: a plain `assert` would print the sealed words in the test's output (pytest shows
    the values it compared)."""
    leaked = six_word_runs(text) & sealed_runs(briefs)
    if leaked:
        raise AssertionError(f"{len(leaked)} six-word run(s) of sealed text in {where}")


def assert_no_sealed_wording(text: str, briefs, where: str = "the text") -> None:
    """Neither a brief's opening nor any detail whole in `text` (said without quoting it)."""
    for brief in briefs:
        if brief.summary[:40] in text or any(detail in text for detail in brief.details):
            raise AssertionError(f"sealed wording of {brief.codename} in {where}")


@pytest.fixture(scope="session")
def embedder():
    from matcher import load_embedder

    return load_embedder(MODEL)


def mastodon_statuses(texts: list[str]) -> list[dict]:
    """Mastodon statuses of `texts`, a second apart, oldest first, the last a minute ago."""
    start = datetime.now(UTC) - timedelta(seconds=len(texts) + 60)
    out = []
    for n, text in enumerate(texts):
        when = start + timedelta(seconds=n)
        snowflake = str((int(when.timestamp() * 1000) << 16) | n)
        out.append(
            {
                "id": snowflake,
                "created_at": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "url": f"https://social.example/statuses/{snowflake}",
                "uri": f"https://social.example/statuses/{snowflake}",
                "language": "en",
                "content": f"<p>{text}</p>",
                "reblog": None,
            }
        )
    return out
