"""The store interface: every query leaksentry makes, written once for both backends.

A backend (``sqlite.SqliteStore``, ``postgres.PostgresStore``) supplies the connection
(``sql``), opens and migrates the database, and adds what only it can say: full-text search,
its write lock, its commit durability. Everything else lives in the mixins, one per kind of
thing kept.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from leaksentry.records import Item
from leaksentry.storage.alerts import AlertStore
from leaksentry.storage.briefs import BriefStore
from leaksentry.storage.items import ItemStore
from leaksentry.storage.meta import MetaStore
from leaksentry.storage.operators import OperatorStore
from leaksentry.storage.purge import PurgeStore
from leaksentry.storage.sql import Sql


class Store(ItemStore, PurgeStore, BriefStore, AlertStore, OperatorStore, MetaStore):
    """One database. Opening it applies pending migrations; use it as a context manager."""

    sql: Sql
    backend: str  # "sqlite" | "postgresql"
    location: str  # for messages: the file, or the URL without its password
    identity: str  # the same for every connection to this database (a key for caches)

    def close(self) -> None:
        self.sql.close()

    def another_connection(self) -> Store:
        """The same database on a new connection (a connection belongs to one thread)."""
        raise NotImplementedError

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def atomic(self) -> AbstractContextManager:
        """Several store calls in one transaction (nested: a savepoint)."""
        return self.sql.atomic()

    def immediate(self) -> AbstractContextManager:
        """A transaction that holds the store's write lock from its start: what it reads stays
        true until it commits, no other such writer comes between (nested: a savepoint)."""
        raise NotImplementedError

    def fast_commits(self) -> None:
        """Commits on this connection stop waiting for the disk: a killed process loses
        nothing committed, a power cut may lose the last commits (the crawl's item writer)."""
        raise NotImplementedError

    def search_items(self, terms: list[str], limit: int) -> list[Item]:
        """Items holding any of `terms` (each a word or phrase), best first."""
        raise NotImplementedError

    def count(self, table: str) -> int:
        return self.sql.count(table)

    def table_names(self) -> list[str]:
        return self.sql.table_names()

    def applied_migrations(self) -> list[str]:
        return [row[0] for row in self.sql.iterate('select name from "_migrations" order by name')]
