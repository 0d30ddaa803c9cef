"""``leaksentry worker``: a Celery worker over the configured broker and store."""

from __future__ import annotations

import os
import socket

from leaksentry.cluster import tasks
from leaksentry.cluster.app import QUEUES, make_app
from leaksentry.config import Config
from leaksentry.errors import ConfigError
from leaksentry.storage import open_store
from leaksentry.vault import open_vault


def parse_queues(text: str) -> list[str]:
    queues = [q.strip() for q in text.split(",") if q.strip()]
    unknown = sorted(set(queues) - set(QUEUES))
    if unknown or not queues:
        raise ConfigError(
            f"--queues: unknown queue(s) {', '.join(unknown) or '(none given)'}; "
            f"known: {','.join(QUEUES)}"
        )
    return queues


def run_worker(config: Config, queues: list[str], concurrency: int | None, verbose: bool) -> None:
    """Check the store and the key first (fail at start, not at the first task), then work
    until SIGTERM (Celery's warm shutdown: the current tasks finish)."""
    app = make_app(config)
    with open_store(config.database) as store:
        open_vault(config, store)
    tasks.register(app, config)
    argv = [
        "worker",
        "--queues", ",".join(queues),
        "--loglevel", "DEBUG" if verbose else "INFO",
        "--hostname", f"leaksentry-{os.getpid()}@{socket.gethostname()}",
        "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    app.worker_main(argv)
