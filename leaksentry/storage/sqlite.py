"""The SQLite backend (the default): one file beside the service, via sqlite-utils.

WAL and a busy time-out let the CLI read and write while the service runs. Every transaction
takes the write lock when it begins (BEGIN IMMEDIATE, see ImmediateDatabase): in WAL mode a
deferred transaction that reads, then writes, fails at once with "database is locked" when
another process committed in between (the busy time-out does not apply to that case).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import sqlite3
from pathlib import Path

from sqlite_utils import Database

from leaksentry.records import Item
from leaksentry.storage import sqlite_schema
from leaksentry.storage.base import Store
from leaksentry.storage.migrate import migrate
from leaksentry.storage.sql import Sql

BUSY_TIMEOUT_MS = 30_000


class ImmediateDatabase(Database):
    """sqlite-utils' Database whose transactions take the write lock at BEGIN.

    A writer then waits its turn (the busy time-out) instead of failing when its snapshot
    went stale; nested blocks stay savepoints."""

    _savepoints = itertools.count()

    @contextlib.contextmanager
    def atomic(self):
        if self.conn.in_transaction:  # a savepoint (named by a counter: sqlite-utils asks the
            name = f"ls_{next(self._savepoints)}"  # system for 16 random bytes each time)
            self.conn.execute(f"SAVEPOINT {name}")
            try:
                yield self
            except BaseException:
                if self.conn.in_transaction:  # (an error may have ended the transaction)
                    self.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                    self.conn.execute(f"RELEASE SAVEPOINT {name}")
                raise
            self.conn.execute(f"RELEASE SAVEPOINT {name}")
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                self.rollback()
                raise


def make_private(path: Path) -> None:
    """The database file, created 0600 or made so (it holds codenames, evidence and password
    hashes). SQLite gives its WAL and shared-memory files the database file's mode."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        for file in (path, *(path.with_name(f"{path.name}-{s}") for s in ("wal", "shm"))):
            try:
                if file.stat().st_mode & 0o077:
                    file.chmod(0o600)
            except OSError:
                pass  # gone, or not this user's file: SQLite says what it can do with it
    except OSError:
        pass  # a full disk, a read-only folder: SQLite's own error says so


class SqliteSql(Sql):
    """The shared queries on one sqlite-utils connection."""

    dialect = "sqlite"

    def __init__(self, db: ImmediateDatabase):
        self.db = db

    def execute(self, sql, params=()):
        return self.db.execute(sql, list(params))

    def executemany(self, sql, rows):
        """In one transaction (the driver's implicit one would stay open: sqlite-utils
        commits only what its own ``execute`` opened)."""
        with self.db.atomic():
            self.db.conn.executemany(sql, [list(row) for row in rows])

    def query(self, sql, params=()):
        return list(self.db.query(sql, list(params)))

    def atomic(self):
        return self.db.atomic()

    def table_names(self):
        return self.db.table_names()

    def close(self):
        self.db.close()

    def _insert_id(self, sql, params):
        cursor = self.db.execute(sql, params)
        return cursor.lastrowid if cursor.rowcount == 1 else None


class SqliteStore(Store):
    """One SQLite file (created 0600). Opening it applies pending migrations."""

    backend = "sqlite"

    def another_connection(self) -> SqliteStore:
        return SqliteStore(self.path)

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.location = str(self.path)
        self.identity = str(self.path.resolve())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        make_private(self.path)
        self.db = ImmediateDatabase(self.path)
        self.sql = SqliteSql(self.db)
        try:
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.db.enable_wal()
            migrate(self.sql, sqlite_schema.MIGRATIONS, self.db)
        except sqlite3.OperationalError as exc:
            self.db.close()
            # On a full disk a WAL database fails to open with a bare "disk I/O error"
            # (its shared-memory file cannot grow); say what it is.
            if (
                "disk i/o error" in str(exc).lower()
                and shutil.disk_usage(self.path.parent).free < 2**20
            ):
                raise sqlite3.OperationalError(
                    f"database or disk is full: {self.path} cannot be opened"
                ) from exc
            raise

    @contextlib.contextmanager
    def immediate(self):
        """Every transaction of this store takes the write lock at BEGIN (BEGIN IMMEDIATE)."""
        with self.db.atomic():
            yield

    def fast_commits(self) -> None:
        """``PRAGMA synchronous = NORMAL`` (WAL): a commit is not fsynced; a commit of
        another connection at the default (FULL) makes every frame before it durable too."""
        self.db.execute("PRAGMA synchronous = NORMAL")

    def search_items(self, terms: list[str], limit: int) -> list[Item]:
        """Items holding any of `terms`, best first (FTS5, bm25)."""
        if not terms:
            return []
        query = " OR ".join('"' + term.replace('"', "") + '"' for term in terms)
        rows = self.db.query(
            "select items.* from items join items_fts on items_fts.rowid = items.rowid "
            "where items_fts match ? order by items_fts.rank limit ?",
            [query, limit],
        )
        return [Item.from_dict(row) for row in rows]
