"""Retention (see leaksentry/retention.py): each call one short transaction, oldest first."""

from __future__ import annotations

import functools

from leaksentry.storage.items import chunks
from leaksentry.storage.sql import Sql

# kept for ever: items that matched a brief, and the item each alert's story is named after
PURGEABLE_ITEMS = (
    "from items where fetched_at < ? and matched_at is not null "
    "and not exists (select 1 from matches m where m.item_id = items.id) "
    "and not exists (select 1 from alerts a where a.story = items.id)"
)


class PurgeStore:
    sql: Sql

    def _purge(self, select: str, params: list, delete, limit: int | None, dry_run: bool) -> int:
        """Delete the keys `select` finds (at most `limit`), in one transaction; or count them."""
        if dry_run:
            return self.sql.scalar(f"select count(*) from ({select}) as doomed", params)
        with self.sql.atomic():
            if limit is not None:
                select, params = select + " limit ?", [*params, limit]
            keys = [row[0] for row in self.sql.iterate(select, params)]
            for chunk in chunks(keys):
                delete(chunk)
        return len(keys)

    def _delete_where_in(self, table: str, column: str, keys: list) -> None:
        marks = ",".join("?" * len(keys))
        self.sql.execute(f"delete from {table} where {column} in ({marks})", keys)

    def _deleter(self, table: str, column: str):
        return functools.partial(self._delete_where_in, table, column)

    def purge_items(self, older_than: str, limit: int | None = None, dry_run=False) -> int:
        """Drop scored items fetched before `older_than` that matched no brief, oldest first,
        with their signatures and raw captures (their full-text entries go with them)."""

        def delete(ids: list[str]) -> None:
            for table in ("item_signatures", "raw_captures"):
                self._delete_where_in(table, "item_id", ids)
            self._delete_where_in("items", "id", ids)

        select = f"select id {PURGEABLE_ITEMS} order by fetched_at"
        return self._purge(select, [older_than], delete, limit, dry_run)

    def purge_raw_captures(self, older_than: str, limit: int | None = None, dry_run=False) -> int:
        """Drop raw captures fetched before `older_than`, except those of matched items."""
        select = (
            "select item_id from raw_captures r where fetched_at < ? "
            "and not exists (select 1 from matches m where m.item_id = r.item_id)"
        )
        delete = self._deleter("raw_captures", "item_id")
        return self._purge(select, [older_than], delete, limit, dry_run)

    def purge_vectors(self, older_than: str, limit: int | None = None, dry_run=False) -> int:
        """Drop cached passage vectors written before `older_than` (computed again if needed)."""
        select = "select key from embeddings where created_at < ?"
        delete = self._deleter("embeddings", "key")
        return self._purge(select, [older_than], delete, limit, dry_run)

    def purge_runs(self, older_than: str, limit: int | None = None, dry_run=False) -> int:
        """Drop finished job runs and per-source crawl figures started before `older_than`;
        the latest of each job and of each source stays."""
        runs = (
            "select id from runs where started_at < ? and finished_at is not null "
            "and id not in (select max(id) from runs group by job)"
        )
        source_runs = (
            "select id from source_runs where started_at < ? "
            "and id not in (select max(id) from source_runs group by source)"
        )
        return sum(
            self._purge(select, [older_than], self._deleter(table, "id"), limit, dry_run)
            for table, select in (("runs", runs), ("source_runs", source_runs))
        )
