"""Applying a backend's numbered migrations, once each, in order.

Each backend has its list (``sqlite_schema``, ``postgres_schema``). SQLite's starts at m001;
PostgreSQL's starts with one migration, ``m009_create_tables``, that makes the schema SQLite's
m001..m009 had made. Every later schema change is one migration of the same name in both
lists (m010_..., tests/test_store.py checks it), so two databases of either backend at the
same last migration have the same tables and columns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from leaksentry.storage import stamp
from leaksentry.storage.sql import Sql

Migrations = list[tuple[str, Callable[[Any], None]]]


def registry() -> tuple[Migrations, Callable]:
    """A list of migrations and the decorator that adds to it (the name fixes the order)."""
    migrations: Migrations = []

    def migration(function):
        migrations.append((function.__name__, function))
        return function

    return migrations, migration


def migrate(sql: Sql, migrations: Migrations, handle: Any) -> list[str]:
    """Apply every migration not yet recorded in `_migrations`; return the names applied.
    Each migration function is given `handle` (what that backend's migrations work on)."""
    sql.execute('create table if not exists "_migrations" (name text primary key, applied_at text)')
    done = {row[0] for row in sql.iterate('select name from "_migrations"')}
    applied = []
    for name, function in sorted(migrations):
        if name in done:
            continue
        with sql.atomic():
            function(handle)
            sql.insert("_migrations", {"name": name, "applied_at": stamp.now()})
        applied.append(name)
    return applied
