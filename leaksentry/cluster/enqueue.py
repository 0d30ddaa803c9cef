"""The scheduler's side of cluster mode: `leaksentry run` keeps its clock (APScheduler) and
its jobs, but the crawl, match and send jobs put a task on the broker instead of working.

The retention purge and the daily digest stay with the scheduler (one a day, one process);
the digest's mail goes out through the send queue.
"""

from __future__ import annotations

import logging

from leaksentry.cluster.app import CRAWL, MATCH, SEND, enqueue, make_app
from leaksentry.config import Config
from leaksentry.service import Service
from leaksentry.storage import Store

log = logging.getLogger("leaksentry.service")


class ClusterService(Service):
    """A Service whose steps are enqueued for the workers (`leaksentry worker`)."""

    def __init__(self, config: Config, verbose: bool = False):
        super().__init__(config, verbose)
        self.app = make_app(config)

    def load_model(self) -> None:
        """The workers load the model; the scheduler needs none."""

    def crawl_source(self, name: str) -> None:
        if not self.stopping.is_set():
            enqueue(self.app, CRAWL, name)
            log.info("crawl %s: enqueued", name)

    def process(self) -> None:
        if not self.stopping.is_set():
            enqueue(self.app, MATCH)

    def retry_mail(self) -> None:
        if not self.stopping.is_set():
            enqueue(self.app, SEND)

    def _send(self, store: Store) -> None:
        enqueue(self.app, SEND)
