"""The service's timing (APScheduler 3.x): each source at its interval, then match and send;
the mail retry every minute; the digest daily at `[alerts] digest_time` (UTC).

Only wiring lives here; the work is in leaksentry.service. No job overlaps itself
(max_instances=1, missed runs coalesced); a job that raises is logged and runs again at its
next time; SIGTERM or Ctrl-C stops the scheduler, lets the current step finish or abandon
cleanly (crawls are stopped, matching stops between committed batches), and exits 0.
"""

from __future__ import annotations

import logging
import signal
from datetime import UTC, datetime

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from leaksentry.config import Config
from leaksentry.exposures import AlertSettings
from leaksentry.service import Service

log = logging.getLogger("leaksentry.scheduler")
MAIL_RETRY_SECONDS = 60


def build_scheduler(service: Service) -> BlockingScheduler:
    """One crawl job per enabled source, plus a mail retry job."""
    scheduler = BlockingScheduler(
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 300},
        timezone=UTC,
    )
    start = datetime.now(UTC)
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
    hour, minute = digest_time(service.config)
    scheduler.add_job(service.digest, CronTrigger(hour=hour, minute=minute), id="digest")
    scheduler.add_listener(_log_event, EVENT_JOB_ERROR | EVENT_JOB_MAX_INSTANCES)
    return scheduler


def digest_time(config) -> tuple[int, int]:
    text = AlertSettings.from_dict(config.alerts).digest_time
    hour, minute = text.split(":")
    return int(hour), int(minute)


def _log_event(event) -> None:
    if event.code == EVENT_JOB_ERROR:
        log.error(
            "job %s failed: %s; it runs again at its next time", event.job_id, event.exception
        )
    else:
        log.warning("job %s still running; this run is skipped", event.job_id)


def serve(config: Config) -> None:
    """Run until SIGTERM or Ctrl-C."""
    service = Service(config)
    service.check()
    service.load_model()
    scheduler = build_scheduler(service)

    def stop(signum, frame):
        log.info("signal %s: stopping after the current step", signal.Signals(signum).name)
        service.stopping.set()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    enabled = [s.name for s in config.sources if s.enabled]
    log.info("leaksentry running: %d source(s): %s", len(enabled), ", ".join(enabled) or "none")
    scheduler.start()
    log.info("leaksentry stopped")
