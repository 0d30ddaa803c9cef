"""Run configured sources once, in this process: ``python -m spiders.crawl [--config F] [--source N]``.

Prints one JSON line on stdout, the result per source, and records each source's outcome in the
store (last success, last error, items stored), so "no alert" can be told from "no data".
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import logging
import os
import signal
import sys

# Imported here, near the top of the stack: at import this module's deprecated aliases
# call inspect.stack(), which reads every frame's source; imported deep inside the engine's
# start (as Scrapy would) that took 0.4 s of every crawl process, here 0.1 s.
import scrapy.core.downloader.handlers.http11  # noqa: F401
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from scrapy.utils.misc import load_object

from leaksentry.config import Config, Source, load_config
from leaksentry.errors import LeaksentryError
from leaksentry.storage import now, open_store
from spiders import settings as project_settings
from spiders.kinds import SPIDERS


def project_crawl_settings() -> Settings:
    """Scrapy's defaults with the project's settings (spiders/settings.py) over them."""
    settings = Settings()
    settings.setmodule(project_settings, priority="project")
    return settings


def crawl_settings(config: Config, log_level: str = "INFO") -> Settings:
    settings = project_crawl_settings()
    settings.set("LEAKSENTRY_DATABASE", str(config.database), priority="project")
    settings.set("DOWNLOAD_TIMEOUT", config.download_timeout, priority="project")
    # a source's own host is allowed for that source and port only (spiders.guard)
    settings.set("LEAKSENTRY_ALLOW_HOSTS", sorted(config.allow_hosts), "project")
    settings.set("LOG_LEVEL", log_level, priority="cmdline")
    return settings


def run_sources(
    config: Config,
    sources: list[Source],
    log_level: str = "INFO",
    log_file: str | None = None,
    terse: bool = False,
) -> dict:
    """Crawl every given source concurrently in one reactor; return results per source.

    terse: Scrapy's own messages (a download error per retry, with its traceback) are left
    out and no record carries a traceback; each source's result names its error once."""
    settings = crawl_settings(config, log_level)
    if log_file:  # the service's log file: one place to read what happened
        settings.set("LOG_FILE", log_file, priority="cmdline")
    process = CrawlerProcess(settings)
    crawlers = {}
    with open_store(config.database) as store:
        states = {source.name: store.source_state(source.name) for source in sources}
    for source in sources:
        crawler = process.create_crawler(SPIDERS[source.kind])
        crawlers[source.name] = crawler
        process.crawl(
            crawler,
            source=source.name,
            url=source.url,
            options=source.options,
            state=states[source.name],
            lookback=source.lookback,
        )
    if terse:  # after process.crawl(): each crawler installs Scrapy's root handler anew
        _terse_logging()
    started = now()
    process.start()
    results = {}
    with open_store(config.database) as store:
        for source in sources:
            crawler = crawlers[source.name]
            result = source_result(crawler.stats.get_stats())
            if result["ok"] and crawler.spider is not None:
                store.save_source_state(source.name, source.kind, source.url, crawler.spider.state)
            store.record_source_result(
                source.name,
                source.kind,
                source.url,
                result["ok"],
                result["stored"],
                result["error"],
            )
            store.record_source_run(
                {"source": source.name, "started_at": started, "finished_at": now()}
                | {key: result[key] for key in RUN_FIELDS}
            )
            results[source.name] = result
    return results


RUN_FIELDS = (
    "ok",
    "stored",
    "linked",
    "duplicates",
    "statuses",
    "robots_blocked",
    "truncated",
    "failed_pages",
    "error",
)


def source_result(stats: dict) -> dict:
    """One source's figures from its crawler's stats."""
    error = stats.get("leaksentry/error")
    if error is None and stats.get("downloader/response_count", 0) == 0:
        error = "no response from the source (unreachable, refused or blocked by robots.txt)"
    reason = stats.get("finish_reason")
    if error is None and reason != "finished":
        # stopped (SIGTERM) before every page it listed was fetched and stored: the state
        # (ETag, Last-Modified, cursors) is not advanced, so the next run reads it all again
        error = f"stopped before the end ({reason or 'interrupted'}); read again next run"
    prefix = "downloader/response_status_count/"
    return {
        "ok": error is None,
        "stored": stats.get("leaksentry/stored", 0),
        "linked": stats.get("leaksentry/linked", 0),
        "duplicates": stats.get("leaksentry/duplicates", 0),
        "already_stored": stats.get("leaksentry/already_stored", 0),
        "malformed": stats.get("leaksentry/malformed_entries", 0),
        "failed_pages": stats.get("leaksentry/failed_pages", 0)
        + stats.get("leaksentry/unreadable_pages", 0),
        "robots_blocked": stats.get("robotstxt/forbidden", 0),
        "truncated": stats.get("leaksentry/truncated", 0),
        "statuses": {k.removeprefix(prefix): v for k, v in stats.items() if k.startswith(prefix)},
        "error": error,
    }


PARENT_ENV = "LEAKSENTRY_CRAWL_PARENT"  # set by leaksentry.jobs when it starts a crawl
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Linux: SIGTERM this crawl when the leaksentry process that started it dies, even by
    SIGKILL, so no orphaned crawl runs on beside a restarted service (Scrapy stops cleanly on
    SIGTERM). The parent passes its pid; one already gone means stop now."""
    parent = os.environ.get(PARENT_ENV)
    if not parent or not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != int(parent):
        sys.exit(3)


class _NoTraceback(logging.Filter):
    """No traceback, and no source error: the command prints one line per source itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return not getattr(record, "source_error", False)


def _terse_logging() -> None:
    for name in ("scrapy", "twisted", "py.warnings"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_NoTraceback())


STANDBY = "--standby"


def wait_on_standby() -> list[str] | None:
    """``--standby``: import what a crawl will load, then wait for the crawl's own arguments
    (one JSON list on stdin); None when stdin closes first (the service stopped or no longer
    needs it).

    Why: a crawl process spends about half a second importing Scrapy, Twisted, its
    components and trafilatura before its first request. The service starts the next crawl
    process when the last one ends, so a scheduled crawl begins at once (``jobs.Standby``)."""
    settings = project_crawl_settings()
    for name in (
        "DOWNLOAD_HANDLERS_BASE",
        "DOWNLOAD_HANDLERS",
        "DOWNLOADER_MIDDLEWARES_BASE",
        "DOWNLOADER_MIDDLEWARES",
        "SPIDER_MIDDLEWARES_BASE",
        "SPIDER_MIDDLEWARES",
        "EXTENSIONS_BASE",
        "EXTENSIONS",
        "ITEM_PIPELINES",
    ):
        for path, order in settings.getdict(name).items():
            if isinstance(path, str) and order is not None:
                with contextlib.suppress(Exception):  # the crawl itself will say what is wrong
                    load_object(path)
    import trafilatura  # noqa: F401 (spiders.article imports it when a page is read)

    line = sys.stdin.readline()
    return json.loads(line) if line.strip() else None


def main(argv: list[str] | None = None) -> int:
    die_with_parent()
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [STANDBY]:  # what follows it only names the configuration for `ps`
        argv = wait_on_standby()
        if argv is None:
            return 0
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", help="leaksentry TOML configuration")
    parser.add_argument("--source", action="append", default=[], help="source name (repeatable)")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--log-file", help="append the crawl's log here (default: stderr)")
    parser.add_argument(
        "--terse",
        action="store_true",
        help="no Scrapy internals and no tracebacks in the log: each source's result says it",
    )
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        names = args.source or [s.name for s in config.sources if s.enabled]
        sources = [config.source(name) for name in names]
    except LeaksentryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    results = (
        run_sources(config, sources, args.log_level, args.log_file, args.terse) if sources else {}
    )
    logging.shutdown()
    print(json.dumps({"sources": results}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
