"""The store: every query leaksentry makes, on SQLite (the default) or PostgreSQL.

``open_store(database)`` picks the backend from the configured ``database``: a path is a
SQLite file, a ``postgresql://`` URL a PostgreSQL database. Both implement ``Store``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from leaksentry.storage.stamp import now

if TYPE_CHECKING:
    from leaksentry.storage.base import Store

__all__ = ["Store", "describe", "is_postgres", "now", "open_store"]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def __getattr__(name: str):
    """``Store`` on first use: the configuration asks only `is_postgres`, and loading the
    store (numpy, the queries) would slow every command's start."""
    if name == "Store":
        from leaksentry.storage.base import Store

        return Store
    raise AttributeError(name)


def is_postgres(database: str | Path) -> bool:
    return isinstance(database, str) and database.startswith(POSTGRES_SCHEMES)


def open_store(database: str | Path) -> Store:
    """The store at `database`: a SQLite file path or a PostgreSQL URL."""
    if is_postgres(database):
        from leaksentry.storage.postgres import PostgresStore

        return PostgresStore(str(database))
    from leaksentry.storage.sqlite import SqliteStore

    return SqliteStore(database)


def describe(database: str | Path) -> str:
    """The database for messages and logs: a URL without its password."""
    if not is_postgres(database):
        return str(database)
    parts = urlsplit(str(database))
    if parts.password is None:
        return str(database)
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))
