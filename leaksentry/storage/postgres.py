"""The PostgreSQL backend (``database = "postgresql://..."``), via psycopg 3.

For installations that outgrow one file and one machine (see docs/SCALING.md). The queries
are the shared ones; this module runs them on one connection in autocommit mode, where
``atomic()`` opens a transaction (nested: a savepoint). ``immediate()`` adds a store-wide
advisory lock, the counterpart of SQLite's write lock, for the few steps that must read and
write with no other such writer between (sealing with the current key, key rotation).
"""

from __future__ import annotations

import contextlib
import functools
import re

import psycopg
from psycopg.rows import dict_row

from leaksentry.errors import LeaksentryError
from leaksentry.records import Item
from leaksentry.storage import describe, postgres_schema
from leaksentry.storage.base import Store
from leaksentry.storage.migrate import migrate
from leaksentry.storage.sql import Sql

# advisory lock keys (any bigint, fixed): the store's write lock and its migrations
WRITE_LOCK = 0x6C73_0001
MIGRATION_LOCK = 0x6C73_0002
CONNECT_TIMEOUT_S = 10

_LITERAL = re.compile(r"('(?:[^']|'')*')")


@functools.lru_cache(maxsize=512)
def placeholders(sql: str) -> str:
    """The shared SQL's ``?`` marks as psycopg's ``%s`` (a literal ``%`` doubled); quoted
    strings are left as they are."""
    parts = _LITERAL.split(sql)
    for n, part in enumerate(parts):
        part = part.replace("%", "%%")
        parts[n] = part if n % 2 else part.replace("?", "%s")
    return "".join(parts)


class PostgresSql(Sql):
    """The shared queries on one psycopg connection (autocommit; transactions by block)."""

    dialect = "postgresql"

    def __init__(self, url: str):
        try:
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.OperationalError as exc:  # (its message never holds the password)
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise LeaksentryError(f"cannot open the database {describe(url)}: {message}") from None

    def execute(self, sql, params=()):
        params = list(params)
        cursor = self.conn.cursor()
        if params:
            cursor.execute(placeholders(sql), params)
        else:
            cursor.execute(sql)
        return cursor

    def executemany(self, sql, rows):
        rows = [list(row) for row in rows]
        if rows:
            with self.conn.cursor() as cursor:
                cursor.executemany(placeholders(sql), rows)

    def query(self, sql, params=()):
        params = list(params)
        with self.conn.cursor(row_factory=dict_row) as cursor:
            cursor.execute(placeholders(sql) if params else sql, params or None)
            return cursor.fetchall()

    def atomic(self):
        return self.conn.transaction()

    def table_names(self):
        rows = self.iterate(
            "select table_name from information_schema.tables "
            "where table_schema = current_schema() order by table_name"
        )
        return [row[0] for row in rows]

    def close(self):
        self.conn.close()

    def _insert_id(self, sql, params):
        row = self.execute(sql + " returning id", params).fetchone()
        return row[0] if row else None


class PostgresStore(Store):
    """One PostgreSQL database. Opening it applies pending migrations (one opener at a time)."""

    backend = "postgresql"

    def another_connection(self) -> PostgresStore:
        return PostgresStore(self.url)

    def __init__(self, url: str):
        self.url = url
        self.location = self.identity = describe(url)
        self.sql = PostgresSql(url)
        try:
            self.sql.execute("select pg_advisory_lock(?)", [MIGRATION_LOCK])
            try:
                migrate(self.sql, postgres_schema.MIGRATIONS, self.sql)
            finally:
                self.sql.execute("select pg_advisory_unlock(?)", [MIGRATION_LOCK])
        except BaseException:
            self.sql.close()
            raise

    @contextlib.contextmanager
    def immediate(self):
        with self.sql.atomic():
            self.sql.execute("select pg_advisory_xact_lock(?)", [WRITE_LOCK])
            yield

    def fast_commits(self) -> None:
        """``synchronous_commit = off`` for this connection: a commit does not wait for the
        WAL flush; a later commit of another connection (default: on) flushes it too."""
        self.sql.execute("set synchronous_commit = off")

    def search_items(self, terms: list[str], limit: int) -> list[Item]:
        """Items holding any of `terms` (each a phrase), best first (tsvector, ts_rank)."""
        if not terms:
            return []
        query = " || ".join(["phraseto_tsquery('simple', ?)"] * len(terms))
        document = postgres_schema.ITEM_DOCUMENT
        rows = self.sql.query(
            f"select items.* from items, ({'select ' + query} as q) as search "
            f"where {document} @@ search.q order by ts_rank({document}, search.q) desc, "
            "items.fetched_at, items.id limit ?",
            [*terms, limit],
        )
        return [Item.from_dict(row) for row in rows]
