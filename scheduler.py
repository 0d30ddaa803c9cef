"""The service's timing (APScheduler 3.x): each source at its interval, then match and send;
the mail retry every minute; the retention purge daily; the digest daily at `[alerts] digest_time` (UTC).

Only wiring lives here; the work is in leaksentry.service. No job overlaps itself
(max_instances=1, missed runs coalesced); a job that raises is logged and runs again at its
next time; a run that misses its time is logged. The digest is never lost: it has a thread of
its own (crawls waiting on a lock cannot hold it up), no misfire grace (it runs however late,
and the log says so), and a digest missed while the service was down is sent at start; SIGTERM or Ctrl-C stops the scheduler, lets the current step finish or abandon
cleanly (crawls are stopped, matching stops between committed batches), and exits 0.
"""

from __future__ import annotations

import logging
import signal
from datetime import UTC, datetime, timedelta

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from leaksentry import clock
from leaksentry.alerts.exposures import AlertSettings
from leaksentry.config import Config
from leaksentry.errors import LeaksentryError
from leaksentry.service import Service

log = logging.getLogger("leaksentry.scheduler")
MAIL_RETRY_SECONDS = 60
MISFIRE_GRACE_SECONDS = 300  # crawls and the mail retry: a run this late is skipped (logged)
PURGE_AFTER_START_SECONDS = 600  # the daily purge first runs this long after start
LATE_SECONDS = 60  # a digest that starts this late says so in the log
LOCK_CHECK_SECONDS = 15  # cluster mode: how often the scheduler checks it still holds its lock


def build_scheduler(service: Service) -> BlockingScheduler:
    """One crawl job per enabled source, plus a mail retry job."""
    scheduler = BlockingScheduler(
        executors={
            "default": ThreadPoolExecutor(max_workers=4),
            "digest": ThreadPoolExecutor(max_workers=1),  # never queued behind crawls
        },
        job_defaults={
            "max_instances": 1,
            "coalesce": True,
            "misfire_grace_time": MISFIRE_GRACE_SECONDS,
        },
        timezone=UTC,
    )
    start = datetime.now(UTC)  # APScheduler runs on the real clock
    for source in service.config.sources:
        if source.enabled:
            scheduler.add_job(
                service.crawl_source,
                IntervalTrigger(seconds=source.every),
                args=[source.name],
                id=f"crawl:{source.name}",
                next_run_time=start,
            )
    scheduler.add_job(
        service.retry_mail, IntervalTrigger(seconds=MAIL_RETRY_SECONDS), id="mail-retry"
    )
    purge = getattr(service, "purge", None)
    if purge is not None:  # retention: daily, first soon after start (a service restarted
        scheduler.add_job(  # every night still purges)
            purge,
            IntervalTrigger(days=1),
            id="purge",
            next_run_time=start + timedelta(seconds=PURGE_AFTER_START_SECONDS),
        )
    hour, minute = digest_time(service.config)
    trigger = CronTrigger(hour=hour, minute=minute, timezone=UTC)
    scheduler.add_job(
        service.digest,
        trigger,
        id="digest",
        executor="digest",
        misfire_grace_time=None,  # run however late: a digest is never lost
    )
    previous = _previous_fire(hour, minute, clock.now())  # the digest's own clock
    missed = getattr(service, "digest_missed", None)
    if missed is not None and missed(previous):
        log.warning(
            "digest due at %s was not sent (the service was not running); sent late now",
            previous.isoformat(timespec="minutes"),
        )
        scheduler.add_job(
            service.digest,
            id="digest-late",
            executor="digest",
            next_run_time=start,
            misfire_grace_time=None,
        )
    scheduler.add_listener(
        _log_event,
        EVENT_JOB_ERROR | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED | EVENT_JOB_SUBMITTED,
    )
    return scheduler


def _previous_fire(hour: int, minute: int, now: datetime) -> datetime:
    """The last time the daily digest was due, at or before `now`."""
    today = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return today if today <= now else today - timedelta(days=1)


def digest_time(config) -> tuple[int, int]:
    text = AlertSettings.from_dict(config.alerts).digest_time
    hour, minute = text.split(":")
    return int(hour), int(minute)


def _log_event(event) -> None:
    if event.code == EVENT_JOB_ERROR:
        log.error(
            "job %s failed: %s; it runs again at its next time", event.job_id, event.exception
        )
    elif event.code == EVENT_JOB_MISSED:
        log.warning(
            "job %s missed its time (%s) by more than %d s; it runs again at its next time",
            event.job_id,
            event.scheduled_run_time.isoformat(timespec="seconds"),
            MISFIRE_GRACE_SECONDS,
        )
    elif event.code == EVENT_JOB_SUBMITTED:
        due = max(event.scheduled_run_times)
        late = (datetime.now(UTC) - due).total_seconds()
        if late > LATE_SECONDS:
            log.warning(
                "job %s runs late: due at %s, %d s ago",
                event.job_id,
                due.isoformat(timespec="seconds"),
                late,
            )
    else:
        log.warning("job %s still running; this run is skipped", event.job_id)


def serve(config: Config, verbose: bool = False) -> None:
    """Run until SIGTERM or Ctrl-C (verbose: the crawls log Scrapy's own messages too).

    In cluster mode only the process holding the scheduler lock schedules; others stand by
    (leaksentry.cluster.leader)."""
    lock = None
    if config.broker:  # cluster mode: the jobs enqueue tasks for `leaksentry worker`
        from leaksentry.cluster.enqueue import ClusterService
        from leaksentry.cluster.leader import SchedulerLock

        service = ClusterService(config, verbose=verbose)
        lock = SchedulerLock(config.database)
    else:
        service = Service(config, verbose=verbose)
    try:
        _serve(config, service, lock)
    finally:
        service.close()  # the crawl process on standby ends with the service


def _serve(config: Config, service, lock) -> None:
    service.check()
    service.load_model()
    running: list[BlockingScheduler] = []

    def stop(signum, frame):
        log.info("signal %s: stopping after the current step", signal.Signals(signum).name)
        service.stopping.set()
        for scheduler in running:
            if scheduler.running:
                scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if lock is not None and not lock.acquire(service.stopping):
        log.info("leaksentry stopped")
        return
    scheduler = build_scheduler(service)
    lost = []
    if lock is not None:
        log.info("this process schedules (it holds the scheduler lock)")

        def check_lock() -> None:
            if not lock.held():
                lost.append(True)
                log.error("the scheduler lock is lost (its database session ended); stopping")
                service.stopping.set()
                scheduler.shutdown(wait=False)

        scheduler.add_job(check_lock, IntervalTrigger(seconds=LOCK_CHECK_SECONDS), id="lock")
    running.append(scheduler)
    if service.stopping.is_set():  # a signal came while the lock was being taken
        return
    enabled = [s.name for s in config.sources if s.enabled]
    log.info("leaksentry running: %d source(s): %s", len(enabled), ", ".join(enabled) or "none")
    scheduler.start()
    if lock is not None:
        lock.close()
    if lost:
        raise LeaksentryError(
            "the scheduler lock was lost (the database connection broke): another "
            "`leaksentry run` may schedule now; start this one again to stand by"
        )
    log.info("leaksentry stopped")
