"""What the store asks of a database connection, once for both backends.

The queries are written once, in the SQL both SQLite and PostgreSQL speak (``?`` marks,
``"quoted"`` names, ``ON CONFLICT``); a backend's connection only runs them. Values are
adapted the way sqlite-utils did (lists and dicts as JSON, times as ISO text), so a row
reads back the same from either.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any


def adapt(value: Any) -> Any:
    """A Python value as the store keeps it."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=repr, ensure_ascii=False)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, bytes | str):  # a numpy scalar
        return value.item()
    return value


def names(columns: Iterable[str]) -> str:
    return ", ".join(f'"{name}"' for name in columns)


def marks(count: int) -> str:
    return ", ".join("?" * count)


class Sql:
    """One connection: statements, rows as dicts, and transactions (nested: savepoints)."""

    dialect: str

    def execute(self, sql: str, params: Iterable = ()) -> Any:
        """Run one statement; a cursor (iterate it for tuples; ``rowcount``, ``fetchone``)."""
        raise NotImplementedError

    def executemany(self, sql: str, rows: Iterable[Iterable]) -> None:
        raise NotImplementedError

    def query(self, sql: str, params: Iterable = ()) -> list[dict]:
        raise NotImplementedError

    def atomic(self) -> AbstractContextManager:
        raise NotImplementedError

    def table_names(self) -> list[str]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _insert_id(self, sql: str, params: list) -> int | None:
        raise NotImplementedError

    # -- built on the above ---------------------------------------------------------------
    def one(self, sql: str, params: Iterable = ()) -> tuple | None:
        return self.execute(sql, params).fetchone()

    def first(self, sql: str, params: Iterable = ()) -> dict | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Iterable = ()) -> Any:
        row = self.one(sql, params)
        return row[0] if row else None

    def iterate(self, sql: str, params: Iterable = ()) -> Iterator[tuple]:
        yield from self.execute(sql, params)

    @staticmethod
    def _insert_sql(table: str, row: dict, on_conflict: str) -> tuple[str, list]:
        sql = f'insert into "{table}" ({names(row)}) values ({marks(len(row))})'
        if on_conflict:
            sql += f" on conflict {on_conflict}"
        return sql, [adapt(value) for value in row.values()]

    def insert(self, table: str, row: dict, on_conflict: str = "") -> bool:
        """One INSERT; False when `on_conflict` (e.g. ``(url) do nothing``) left it out."""
        return self.execute(*self._insert_sql(table, row, on_conflict)).rowcount == 1

    def insert_many(self, table: str, rows: list[dict], on_conflict: str = "") -> None:
        """INSERTs of rows with the same columns, one statement run for all."""
        if not rows:
            return
        sql, _ = self._insert_sql(table, rows[0], on_conflict)
        self.executemany(sql, ([adapt(value) for value in row.values()] for row in rows))

    def insert_id(self, table: str, row: dict, on_conflict: str = "") -> int | None:
        """One INSERT into a table keyed by a generated ``id``: the new id, or None when
        `on_conflict` left the row out."""
        return self._insert_id(*self._insert_sql(table, row, on_conflict))

    @staticmethod
    def _upsert_sql(table: str, columns: list[str], pk: tuple[str, ...]) -> str:
        rest = [c for c in columns if c not in pk]
        action = (
            "do update set " + ", ".join(f'"{c}" = excluded."{c}"' for c in rest)
            if rest
            else "do nothing"
        )
        return (
            f'insert into "{table}" ({names(columns)}) values ({marks(len(columns))}) '
            f"on conflict ({names(pk)}) {action}"
        )

    def upsert(self, table: str, row: dict, pk: tuple[str, ...]) -> None:
        """Insert the row, or update the columns it names (others keep their values)."""
        sql = self._upsert_sql(table, list(row), pk)
        self.execute(sql, [adapt(value) for value in row.values()])

    def upsert_all(self, table: str, rows: list[dict], pk: tuple[str, ...]) -> None:
        if rows:
            sql = self._upsert_sql(table, list(rows[0]), pk)
            self.executemany(sql, [[adapt(v) for v in row.values()] for row in rows])

    def update(self, table: str, key: dict, row: dict) -> int:
        """Set the row's columns where the key's columns match; how many rows changed."""
        sets = ", ".join(f'"{c}" = ?' for c in row)
        where = " and ".join(f'"{c}" = ?' for c in key)
        params = [adapt(v) for v in row.values()] + [adapt(v) for v in key.values()]
        return self.execute(f'update "{table}" set {sets} where {where}', params).rowcount

    def count(self, table: str) -> int:
        return self.scalar(f'select count(*) from "{table}"')
