"""The rows a task takes for itself, so two workers never do the same work.

Each claim is ``SELECT ... FOR UPDATE SKIP LOCKED`` inside the caller's transaction: the rows
stay locked until it commits (the work done and marked) or rolls back (a crash, a lost
connection: the rows are free again for the retry). A worker skips rows another holds, and a
retried or duplicated task finds its rows already marked done and claims nothing.
"""

from __future__ import annotations

from leaksentry.records import Item
from leaksentry.storage import Store

CRAWL_LOCK = 0x6C73_0010  # advisory lock class of "a source being crawled" (with its name)


def claim_unmatched(store: Store, limit: int) -> list[Item]:
    """Up to `limit` items not yet matched and not held by another worker, oldest first."""
    rows = store.sql.query(
        "select * from items where matched_at is null order by fetched_at, id limit ? "
        "for update skip locked",
        [limit],
    )
    return [Item.from_dict(row) for row in rows]


def claim_message(store: Store, at: str, chats_only: bool = False) -> dict | None:
    """The oldest queued message due at `at` that no other worker is sending."""
    chats = "and transport = 'apprise' " if chats_only else ""
    return store.sql.first(
        "select * from outbox where state = 'queued' "
        f"and (next_attempt_at is null or next_attempt_at <= ?) {chats}"
        "order by id limit 1 for update skip locked",
        [at],
    )


def try_lock_source(store: Store, name: str) -> bool:
    """Take the source's crawl lock for this connection's session; False when another
    worker crawls it now (a duplicated task: stored once anyway, but crawled once too)."""
    return bool(
        store.sql.scalar("select pg_try_advisory_lock(?::int, hashtext(?))", [CRAWL_LOCK, name])
    )


def unlock_source(store: Store, name: str) -> None:
    store.sql.execute("select pg_advisory_unlock(?::int, hashtext(?))", [CRAWL_LOCK, name])
