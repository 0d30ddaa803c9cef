"""Distributed work (issue 13): Celery workers with a Redis broker over a PostgreSQL store.

With ``[cluster] broker`` set, ``leaksentry run`` keeps the clock (APScheduler) and enqueues
tasks; ``leaksentry worker`` runs them, on as many machines as needed. Modules:

- ``app``: the Celery app from the configuration (queues, late acks, retries);
- ``claims``: the rows a task takes for itself (``FOR UPDATE SKIP LOCKED``);
- ``work``: what a task does, as plain functions over a store (crawl, match, send);
- ``tasks``: those functions as Celery tasks, with the worker process's state;
- ``enqueue``: the scheduler's side: jobs that enqueue instead of working.

Nothing secret crosses the broker: a task carries a source's name at most, never a brief.
"""
