"""The long-running service's work: one matcher for the life of the process, steps in order.

scheduler.py decides when; this module decides nothing about timing.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import threading

from leaksentry import diskspace, jobs
from leaksentry.config import Config
from leaksentry.storage import Store, open_store
from leaksentry.storage.errors import DatabaseError
from leaksentry.vault import open_vault

log = logging.getLogger("leaksentry.service")


def survives_full_disk(step):
    """A step that meets a full disk says so and returns; it runs again at its next time.

    What was committed before stays; the write that failed is redone by the next run (items
    are matched again, mail left in the outbox is sent again under the same Message-ID).
    """

    @functools.wraps(step)
    def guarded(self, *args):
        try:
            return step(self, *args)
        except Exception as exc:
            if not diskspace.is_disk_full(exc):
                raise
            space = diskspace.measure(self.config)
            log.error(
                "%s: the disk is full (%s; %s); nothing already stored is lost, "
                "the step runs again at its next time",
                step.__name__,
                exc,
                space.describe(),
            )

    return guarded


class Service:
    """Crawl a source, then match and send; matching and sending never overlap."""

    def __init__(self, config: Config, verbose: bool = False):
        """verbose (`run -v`): the crawls log Scrapy's own messages, tracebacks included.

        Otherwise they are terse, as `leaksentry crawl` is: a source that is down is an
        ordinary event of a long-running service, worth one line in its log (our spiders'
        warnings and the step's error), not two of Scrapy's tracebacks at every interval.
        """
        self.config = config
        self.verbose = verbose
        self.stopping = threading.Event()
        self._process_lock = threading.Lock()
        self._matcher = None
        self.standby = jobs.Standby(config)

    def load_model(self) -> None:
        """Load the embedding model once, before the first job needs it; and start the first
        crawl process on standby (jobs.Standby)."""
        self._matcher = jobs.make_matcher(self.config)
        log.info("model %s loaded", self.config.model)
        self.standby.prepare()

    def close(self) -> None:
        """End the crawl process on standby."""
        self.standby.close()

    def check(self) -> None:
        """Fail fast at start-up: the database opens and the key opens it."""
        with open_store(self.config.database) as store:
            open_vault(self.config, store)

    @survives_full_disk
    def crawl_source(self, name: str) -> None:
        """Crawl one source, matching what it stores as it comes (see `match_meanwhile`),
        then match the rest and send."""
        source = self.config.source(name)
        with open_store(self.config.database) as store:
            early = jobs.MatchRun(
                self.config,
                store,
                lambda: open_vault(self.config, store),
                lambda: self._matcher,
                self.stopping.is_set,
            )
            report = jobs.crawl(
                self.config,
                [source],
                store,
                self.stopping.is_set,
                log_file=self.config.log_file,
                terse=not self.verbose,
                meanwhile=lambda: self.match_meanwhile(store, early),
                standby=self.standby,
            )
            if early.context is not None:
                log.info("match while crawling %s: %s", name, early.finish())
        for error in report.errors:
            log.error("crawl %s: %s", name, error)
        if not report.counts.get("paused"):
            log.info("crawl %s: %s new item(s)", name, report.counts["stored"])
        self.process()
        if not self.stopping.is_set():
            self.standby.prepare()  # for the next crawl, once this one's work is done

    def match_meanwhile(self, store: Store, early: jobs.MatchRun) -> None:
        """While a crawl runs: match the full batches it stored so far and send what they
        raised. The model works while the crawl downloads (two cores, two jobs), and a leak
        on the first page of a long crawl is mailed before the crawl ends. Skipped while
        another step matches or sends: that step takes these items too."""
        if not self._process_lock.acquire(blocking=False):
            return
        try:
            self._matcher.cache = jobs.StoreVectorCache(store)
            if early.step(whole=False):
                jobs.notify_alerts(self.config, store)
                self._send(store)
        finally:
            self._process_lock.release()

    @survives_full_disk
    def process(self) -> None:
        """Match what is new, then send what is queued."""
        if self.stopping.is_set():
            return
        with self._process_lock, open_store(self.config.database) as store:
            vault = open_vault(self.config, store)
            self._matcher.cache = jobs.StoreVectorCache(store)
            matched = jobs.match_new(self.config, store, vault, self._matcher, self.stopping.is_set)
            log.info("match: %s", matched)
            jobs.notify_alerts(self.config, store)
            self._send(store)

    @survives_full_disk
    def purge(self) -> None:
        """The daily purge (retention), in short batches between which other steps write."""
        if self.stopping.is_set():
            return
        with open_store(self.config.database) as store:
            counts = jobs.purge(self.config, store, should_stop=self.stopping.is_set)
        log.info("purge: %s", ", ".join(f"{kind} {n}" for kind, n in counts.items()))

    @survives_full_disk
    def retry_mail(self) -> None:
        """Send what is still queued (the SMTP server may be back)."""
        if self.stopping.is_set():
            return
        with self._process_lock, open_store(self.config.database) as store:
            self._send(store)

    def digest_missed(self, due) -> bool:
        """Whether the digest due at `due` (an aware datetime) was never sent: the last one
        went out before it. A database without any digest yet has missed none."""
        from leaksentry.alerts.digest import LAST_DIGEST_META
        from leaksentry.records import parse_iso_datetime

        try:
            with open_store(self.config.database) as store:
                last = parse_iso_datetime(store.get_meta(LAST_DIGEST_META))
        except DatabaseError as exc:
            log.error("digest: cannot tell whether one was missed (%s)", exc)
            return False
        return last is not None and last < due

    def digest(self) -> None:
        """Queue and send the daily digest. On a full disk it goes out without the outbox;
        when the database cannot even be opened, a short notice says why instead."""
        if self.stopping.is_set():
            return
        from leaksentry.alerts import digest

        with self._process_lock:
            try:
                store = open_store(self.config.database)
            except sqlite3.OperationalError as exc:
                if not diskspace.is_disk_full(exc):
                    raise
                log.error("digest: the database cannot be opened (%s); sending a notice", exc)
                log.info("digest: %d notice(s) sent", digest.send_notice(self.config, str(exc)))
                return
            with store:
                try:
                    queued = digest.queue(self.config, store)
                except Exception as exc:
                    if not diskspace.is_disk_full(exc):
                        raise
                    log.error("digest: the outbox cannot be written (%s); sending directly", exc)
                    log.info("digest: %d sent directly", digest.send_directly(self.config, store))
                    return
                log.info("digest: %d queued", queued)
                self._send(store)

    def _send(self, store: Store) -> None:
        report = jobs.send_queued(self.config, store)
        if report.counts["due"]:
            log.info("send: %s", report)
        for error in report.errors:
            log.warning("send: %s", error)
