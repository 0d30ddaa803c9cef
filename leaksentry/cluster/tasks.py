"""The cluster's work as Celery tasks, and what a worker process keeps between them.

Each task opens the store, does its work (work.py) and enqueues what follows: a crawl the
match, a match that queued mail the send. The model is loaded once per worker process, on
its first match task. A task that fails (the database or the network away) is retried with
exponential back-off; a configuration error is not (it would fail the same way again).
"""

from __future__ import annotations

import logging

from celery import Celery

from leaksentry import jobs
from leaksentry.cluster import work
from leaksentry.cluster.app import CRAWL, MATCH, SEND, TASKS, enqueue
from leaksentry.config import Config
from leaksentry.errors import ConfigError
from leaksentry.storage import open_store
from leaksentry.vault import open_vault

log = logging.getLogger("leaksentry.cluster")
RETRIES = {
    "autoretry_for": (Exception,),
    "dont_autoretry_for": (ConfigError,),
    "retry_backoff": 5,  # seconds: 5, 10, 20, ... (jittered)
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}
_matcher = None  # this worker process's matcher (the model, loaded once)


def worker_matcher(config: Config):
    global _matcher
    if _matcher is None:
        _matcher = jobs.make_matcher(config)
        log.info("model %s loaded", config.model)
    return _matcher


def register(app: Celery, config: Config) -> None:
    """Define the three tasks on `app`, working with `config` (read once, at worker start)."""

    @app.task(name=TASKS[CRAWL], **RETRIES)
    def crawl(name: str) -> None:
        with open_store(config.database) as store:
            report = work.crawl_source(config, store, name)
        if report is None:
            return
        for error in report.errors:
            log.error("crawl %s: %s", name, error)
        if not report.counts.get("paused"):
            log.info("crawl %s: %s new item(s)", name, report.counts["stored"])
        enqueue(app, MATCH)

    @app.task(name=TASKS[MATCH], **RETRIES)
    def match() -> None:
        with open_store(config.database) as store:
            if not work.has_unmatched(store):  # a repeated task: no model to load for nothing
                return
            vault = open_vault(config, store)
            matcher = worker_matcher(config)
            with work.vector_cache(config.database) as cache:  # its own connection (see there)
                matcher.cache = cache
                try:
                    report = work.match_claimed(config, store, vault, matcher)
                finally:
                    matcher.cache = None
        if report.counts["items"] or report.counts["queued"]:
            log.info("match: %s", report)
        if report.counts["queued"]:
            enqueue(app, SEND)

    @app.task(name=TASKS[SEND], **RETRIES)
    def send() -> None:
        with open_store(config.database) as store:
            report = work.send_claimed(config, store)
        if report.counts["sent"] or report.counts["failed"]:
            log.info("send: %s", report)
        for error in report.errors:  # the server down: the scheduler's mail retry comes back
            log.warning("send: %s", error)
