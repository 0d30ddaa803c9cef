"""The Celery app, built from the configuration's ``[cluster] broker`` (Redis).

Why these settings: a task is acknowledged only after it ran (``acks_late``), so a worker
that dies mid-task leaves it on the broker for another; each worker process reserves one
task at a time (``prefetch_multiplier = 1``), so a long crawl does not hold back the matches
queued behind it; results are not kept (the store is the record of what was done).
"""

from __future__ import annotations

from celery import Celery

from leaksentry.config import Config
from leaksentry.errors import ConfigError

CRAWL, MATCH, SEND = "crawl", "match", "send"
QUEUES = (CRAWL, MATCH, SEND)
TASKS = {CRAWL: "leaksentry.crawl", MATCH: "leaksentry.match", SEND: "leaksentry.send"}
# a task unacknowledged this long is handed to another worker (Redis has no heartbeat):
# longer than the longest task (a crawl is stopped after jobs.CRAWL_TIMEOUT_SECONDS);
# `[cluster] visibility_timeout` sets it (config.visibility_timeout, default 2 h)


def make_app(config: Config) -> Celery:
    """The app for this configuration; ConfigError when it has no ``[cluster] broker``."""
    if not config.broker:
        raise ConfigError(
            'no [cluster] broker in the configuration: set broker = "redis://host:6379/0" '
            "(docs/SCALING.md) to run workers"
        )
    app = Celery("leaksentry", broker=config.broker, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,  # a worker process killed mid-task: redelivered
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_routes={name: {"queue": queue} for queue, name in TASKS.items()},
        task_default_queue=MATCH,
        broker_transport_options={"visibility_timeout": config.visibility_timeout},
        broker_connection_retry_on_startup=True,
        timezone="UTC",
    )
    return app


def enqueue(app: Celery, queue: str, *args) -> None:
    """Put one task on its queue, by name (the scheduler needs no task code)."""
    app.send_task(TASKS[queue], args=list(args), queue=queue)
