"""The long-running service's work: one matcher for the life of the process, steps in order.

scheduler.py decides when; this module decides nothing about timing.
"""

from __future__ import annotations

import logging
import threading

from leaksentry import jobs
from leaksentry.config import Config
from leaksentry.store import Store
from leaksentry.vault import open_vault

log = logging.getLogger("leaksentry.service")


class Service:
    """Crawl a source, then match and send; matching and sending never overlap."""

    def __init__(self, config: Config):
        self.config = config
        self.stopping = threading.Event()
        self._process_lock = threading.Lock()
        self._matcher = None

    def load_model(self) -> None:
        """Load the embedding model once, before the first job needs it."""
        self._matcher = jobs.make_matcher(self.config)
        log.info("model %s loaded", self.config.model)

    def check(self) -> None:
        """Fail fast at start-up: the database opens and the key opens it."""
        with Store(self.config.database) as store:
            open_vault(self.config, store)

    def crawl_source(self, name: str) -> None:
        source = self.config.source(name)
        with Store(self.config.database) as store:
            report = jobs.crawl(self.config, [source], store, self.stopping.is_set)
        for error in report.errors:
            log.error("crawl %s: %s", name, error)
        log.info("crawl %s: %s new item(s)", name, report.counts["stored"])
        self.process()

    def process(self) -> None:
        """Match what is new, then send what is queued."""
        if self.stopping.is_set():
            return
        with self._process_lock, Store(self.config.database) as store:
            vault = open_vault(self.config, store)
            self._matcher.cache = jobs.StoreVectorCache(store)
            matched = jobs.match_new(self.config, store, vault, self._matcher, self.stopping.is_set)
            log.info("match: %s", matched)
            jobs.notify_alerts(self.config, store)
            self._send(store)
            jobs.purge_raw_captures(self.config, store)

    def retry_mail(self) -> None:
        """Send what is still queued (the SMTP server may be back)."""
        if self.stopping.is_set():
            return
        with self._process_lock, Store(self.config.database) as store:
            self._send(store)

    def digest(self) -> None:
        """Queue and send the daily digest."""
        if self.stopping.is_set():
            return
        from leaksentry import digest

        with self._process_lock, Store(self.config.database) as store:
            log.info("digest: %d queued", digest.queue(self.config, store))
            self._send(store)

    def _send(self, store: Store) -> None:
        report = jobs.send_queued(self.config, store)
        if report.counts["due"]:
            log.info("send: %s", report)
        for error in report.errors:
            log.warning("send: %s", error)
