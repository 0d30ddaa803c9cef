"""What the cluster's tasks do, as plain functions over a store: crawl one source, match
claimed batches, send claimed outbox rows. They reuse the one-process steps (leaksentry.jobs)
and differ only in how they take their work (see claims.py), so both modes decide alike.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from datetime import datetime

from leaksentry import clock, jobs
from leaksentry.alerts.mailer import Mailer
from leaksentry.cluster import claims
from leaksentry.config import Config
from leaksentry.errors import SmtpUnavailable
from leaksentry.storage import Store, open_store
from leaksentry.vault import Vault

log = logging.getLogger("leaksentry.cluster")


def crawl_source(config: Config, store: Store, name: str) -> jobs.StepReport | None:
    """Crawl one source in a child process (Scrapy, as `leaksentry crawl` does); None when
    another worker is crawling it now. Items are unique by URL, so a crawl repeated after a
    crash stores only what the first did not."""
    source = config.source(name)
    if not claims.try_lock_source(store, name):
        log.info("crawl %s: another worker is crawling it; skipped", name)
        return None
    try:
        return jobs.crawl(config, [source], store, log_file=config.log_file, terse=True)
    finally:
        claims.unlock_source(store, name)


@contextlib.contextmanager
def vector_cache(database: str):
    """The matcher's cache of passage vectors on a store connection of its own, each write
    committed at once. On the batch's connection a vector would stay uncommitted, and its
    key locked, until the batch is recorded: another worker embedding the same passage (a
    copied story, a boilerplate line) would wait for that whole batch, and two batches
    writing two shared passages in opposite orders would deadlock (PostgreSQL then aborts
    one). The vectors are a cache: kept when the batch rolls back, they are simply found."""
    with open_store(database) as store:
        yield jobs.StoreVectorCache(store)


def has_unmatched(store: Store) -> bool:
    return store.sql.scalar("select count(*) from items where matched_at is null") > 0


def match_claimed(
    config: Config, store: Store, vault: Vault, matcher, batch_size: int = jobs.MATCH_BATCH
) -> jobs.StepReport:
    """Claim batches of unmatched items and match each in the transaction that claimed it;
    then queue the mail the new alerts call for. A batch is matched once: a crash rolls it
    back (unclaimed again), a second task skips it while it is held and finds it marked after.
    """
    report = jobs.StepReport({"items": 0, "matches": 0, "alerts": 0, "queued": 0})
    if not has_unmatched(store):  # a repeated task: nothing to do, not even the briefs
        return report
    run_id = store.start_run("match")
    context = jobs.prepare_match(config, store, vault, matcher)
    alerts_before = store.count("alerts")
    while match_one_batch(store, matcher, context, batch_size, report):
        pass
    report.counts["alerts"] = store.count("alerts") - alerts_before
    with store.immediate():  # one notifier at a time: an alert's mail is queued once
        report.counts["queued"] = jobs.notify_alerts(config, store)
    store.finish_run(run_id, "ok", report.counts["alerts"])
    return report


def match_one_batch(store: Store, matcher, context, batch_size: int, report) -> bool:
    """Claim one batch, score it beside other workers, record it one worker at a time (the
    store's write lock: an item finds the alert of its story as in one process, where two
    workers recording items of one story at once would each open one); False when no batch
    was left to claim."""
    with store.atomic():
        batch = claims.claim_unmatched(store, batch_size)
        if not batch:
            return False
        matches = jobs.score_batch(matcher, context, batch)
        with store.immediate():
            jobs.record_batch(store, context, batch, matches, report)
    return True


def send_claimed(config: Config, store: Store, at: datetime | None = None) -> jobs.StepReport:
    """Send due outbox rows one by one, each claimed, sent and marked in one transaction.

    A message is marked sent in the transaction that claimed it, so a duplicated task never
    sends it twice. A worker killed after the server accepted a message and before the
    commit leaves it queued: it is sent again under the same Message-ID (at least once, never
    lost). Mail server unreachable: the mail stays queued (why is noted on it) and chat
    messages still go out.
    """
    at = at or clock.now()
    stamp = at.isoformat(timespec="seconds")
    report = jobs.StepReport({"sent": 0, "failed": 0})
    if not store.due_messages(stamp):  # a repeated task: nothing to do
        return report
    run_id = store.start_run("send")
    mail_down = None
    with contextlib.ExitStack() as stack:
        mailer = None
        while True:
            try:
                with store.atomic():
                    row = claims.claim_message(store, stamp, chats_only=mail_down is not None)
                    if row is None:
                        break
                    if row.get("transport") == "apprise":
                        send = functools.partial(jobs._chat, config)
                    else:
                        mailer = mailer or stack.enter_context(Mailer(config.smtp))
                        send = functools.partial(jobs._mail, mailer, config)
                    jobs._deliver(store, row, report, at, send)
            except SmtpUnavailable as exc:  # rolled back: the row is queued as it was
                mail_down = exc
    if mail_down is not None:
        store.note_delivery_problem(str(mail_down))
        report.errors.append(str(mail_down))
    report.counts["queued"] = len(store.message_rows("queued"))
    status = "ok" if not report.errors else "error"
    store.finish_run(run_id, status, report.counts["sent"], "; ".join(report.errors) or None)
    return report
