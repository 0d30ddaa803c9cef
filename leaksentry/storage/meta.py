"""Bookkeeping: settings kept in the database, each source's crawl state, and job runs."""

from __future__ import annotations

import json

from leaksentry.storage import stamp
from leaksentry.storage.sql import Sql


class MetaStore:
    sql: Sql

    def get_meta(self, key: str) -> str | None:
        return self.sql.scalar("select value from meta where key = ?", [key])

    def set_meta(self, key: str, value: str) -> None:
        self.sql.upsert("meta", {"key": key, "value": value}, pk=("key",))

    def delete_meta(self, key: str) -> None:
        self.sql.execute("delete from meta where key = ?", [key])

    # -- sources ----------------------------------------------------------------------------
    def source_state(self, name: str) -> dict:
        state = self.sql.scalar("select state from sources where name = ?", [name])
        return json.loads(state) if state else {}

    def save_source_state(self, name: str, kind: str, url: str, state: dict) -> None:
        """Keep a source's crawl state (cursor, since-id, ETag, ...) for its next run."""
        row = {"name": name, "kind": kind, "url": url, "state": json.dumps(state)}
        self.sql.upsert("sources", row, pk=("name",))

    def record_source_result(
        self, name: str, kind: str, url: str, ok: bool, items: int, error: str | None = None
    ) -> None:
        moment = stamp.now()
        row = {"name": name, "kind": kind, "url": url, "last_run_at": moment, "last_items": items}
        if ok:
            row |= {"last_success_at": moment, "last_error": None}
        else:
            row |= {"last_error": error}
        self.sql.upsert("sources", row, pk=("name",))

    def source_rows(self) -> list[dict]:
        return self.sql.query("select * from sources order by name")

    def record_source_run(self, row: dict) -> None:
        """One source's figures for one crawl: statuses, stored, blocked, truncated, error."""
        self.sql.insert_id("source_runs", row | {"statuses": json.dumps(row.get("statuses", {}))})

    def source_runs(self, source: str, limit: int = 10) -> list[dict]:
        return self.sql.query(
            "select * from source_runs where source = ? order by id desc limit ?", [source, limit]
        )

    # -- job runs ---------------------------------------------------------------------------
    def start_run(self, job: str, source: str | None = None) -> int:
        row = {"job": job, "source": source, "started_at": stamp.now(), "status": "running"}
        return self.sql.insert_id("runs", row)

    def finish_run(self, run_id: int, status: str, count: int = 0, error: str | None = None):
        row = {"finished_at": stamp.now(), "status": status, "count": count, "error": error}
        self.sql.update("runs", {"id": run_id}, row)

    def last_finished_run(self, job: str) -> dict | None:
        return self.sql.first(
            "select * from runs where job = ? and finished_at is not null order by id desc limit 1",
            [job],
        )
