"""`leaksentry store migrate`: copy a SQLite installation into an empty PostgreSQL database.

Every table is copied as it is, row by row, column by column: sealed briefs and sealed vectors
are copied as their encrypted bytes (the same key file opens them; nothing is decrypted here).
The source is read in one SQLite read transaction (one consistent moment); the target is
written in one PostgreSQL transaction that also checks each table's row count before it
commits, so a copy that fails half-way leaves the target as empty as it was, never a
half-copied database that looks complete. The target's schema is the PostgreSQL migrations'.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from leaksentry.errors import LeaksentryError
from leaksentry.storage import describe, is_postgres

BATCH_ROWS = 2000
# SQLite's own tables, the FTS5 index (PostgreSQL's is an expression index on items) and the
# migrations bookkeeping (each backend keeps its own) are not copied.
NOT_COPIED = ("_migrations", "items_fts")


@dataclass
class CopyReport:
    target: str  # the URL without its password
    counts: dict[str, int] = field(default_factory=dict)  # table -> rows (same in both)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


def without_password(url: str) -> str:
    """`url` for the configuration file: the password is left out (libpq reads it from
    PGPASSWORD or ~/.pgpass)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}@{host}"))


def _copied_table(name: str) -> bool:
    return not name.startswith("sqlite_") and not name.startswith(NOT_COPIED)


def copy_to_postgres(
    database: str | Path,
    url: str,
    batch_rows: int = BATCH_ROWS,
    progress: Callable[[str], None] = lambda line: None,
) -> CopyReport:
    """Copy the SQLite store at `database` into the empty PostgreSQL database at `url`."""
    from leaksentry.storage.postgres import PostgresStore
    from leaksentry.storage.sqlite import SqliteStore

    if is_postgres(database):
        raise LeaksentryError(
            f"store migrate copies a SQLite installation, but the configured database is "
            f"already PostgreSQL ({describe(database)}); point --config at the SQLite "
            "installation's configuration"
        )
    if not is_postgres(url):
        raise LeaksentryError(
            f"--to must be a PostgreSQL URL (postgresql://user@host/db), not {describe(url)}"
        )
    if not Path(database).is_file():
        raise LeaksentryError(
            f"the configured database {database} does not exist; check `database` in the "
            "configuration (store migrate copies an existing SQLite installation)"
        )

    source = SqliteStore(database)  # applies pending SQLite migrations: same columns as target
    try:
        target = PostgresStore(url)
        try:
            return _copy(source, target, batch_rows, progress)
        finally:
            target.close()
    finally:
        source.close()


def _columns_sqlite(source, table: str) -> list[str]:
    return [row[1] for row in source.sql.iterate(f'pragma table_info("{table}")')]


def _columns_postgres(target, table: str) -> list[str]:
    rows = target.sql.iterate(
        "select column_name from information_schema.columns "
        "where table_schema = current_schema() and table_name = ? order by ordinal_position",
        [table],
    )
    return [row[0] for row in rows]


def _copy(source, target, batch_rows: int, progress) -> CopyReport:
    where = describe(target.url)
    target_tables = [t for t in target.sql.table_names() if _copied_table(t)]
    filled = {t: n for t in target_tables if (n := target.sql.count(t))}
    if filled:
        some = ", ".join(f"{t}: {n}" for t, n in sorted(filled.items())[:3])
        raise LeaksentryError(
            f"the target {where} is not empty ({some} rows); store migrate copies only into "
            "an empty database: create a new one (createdb) and pass its URL to --to"
        )

    report = CopyReport(target=where)
    conn = source.db.conn
    conn.execute("begin")  # one read transaction: every table at the same moment
    try:
        tables = [
            row[0]
            for row in conn.execute(
                "select name from sqlite_master where type = 'table' order by name"
            )
            if _copied_table(row[0])
        ]
        missing = sorted(set(tables) - set(target_tables))
        if missing:
            raise LeaksentryError(
                f"the target {where} has no table {', '.join(missing)}: its schema is older "
                "than this SQLite database's; run the same leaksentry version on both"
            )
        with target.immediate():  # one transaction: all of it, or nothing
            for table in tables:
                columns = _columns_sqlite(source, table)
                absent = [c for c in columns if c not in _columns_postgres(target, table)]
                if absent:
                    raise LeaksentryError(
                        f"the target {where} has no column {table}.{', '.join(absent)}; "
                        "run the same leaksentry version on both"
                    )
                try:
                    report.counts[table] = _copy_table(
                        conn, target, table, columns, batch_rows, progress
                    )
                except psycopg.Error as exc:
                    raise LeaksentryError(
                        f"copying table {table} into {where} failed, nothing was committed: "
                        f"{_first_line(exc)}; fix that row in SQLite and run store migrate "
                        "again (the target is still empty)"
                    ) from None
            _restart_identities(target, tables)
            for table, expected in report.counts.items():
                copied = target.sql.count(table)
                if copied != expected:
                    raise LeaksentryError(
                        f"copy check failed: {table} has {expected} rows in SQLite and "
                        f"{copied} in {where}; nothing was committed"
                    )
    except psycopg.Error as exc:
        raise LeaksentryError(
            f"copying into {where} failed, nothing was committed: {_first_line(exc)}"
        ) from None
    finally:
        conn.execute("rollback")
    return report


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _copy_table(conn, target, table: str, columns: list[str], batch_rows: int, progress) -> int:
    total = conn.execute(f'select count(*) from "{table}"').fetchone()[0]
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = conn.execute(f'select {names} from "{table}"')
    done = 0
    progress(f"{table}: {total} rows")
    while rows := cursor.fetchmany(batch_rows):
        with target.sql.conn.cursor() as pg, pg.copy(f'copy "{table}" ({names}) from stdin') as cp:
            for row in rows:
                cp.write_row(row)
        done += len(rows)
        if total > batch_rows:
            progress(f"{table}: {done}/{total}")
    return done


def _restart_identities(target, tables: list[str]) -> None:
    """Identity columns continue after the copied ids (explicit ids do not move them)."""
    rows = target.sql.iterate(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = current_schema() and is_identity = 'YES'"
    )
    for table, column in rows:
        if table in tables:
            target.sql.execute(
                f"select setval(pg_get_serial_sequence('\"{table}\"', '{column}'), "
                f'coalesce(max("{column}"), 0) + 1, false) from "{table}"'
            )
