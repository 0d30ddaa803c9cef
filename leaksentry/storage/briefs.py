"""Briefs: sealed rows (summary and details encrypted, see vault.py) and their sealed vectors.

The store only moves the sealed bytes; it never sees the text."""

from __future__ import annotations

from leaksentry.storage import stamp
from leaksentry.storage.sql import Sql

SEALED_KEYS = {"briefs": ("id",), "brief_vectors": ("brief_id", "model")}


class BriefStore:
    sql: Sql

    def add_briefs(self, rows: list[dict]) -> None:
        """Insert or replace sealed brief rows, all or nothing."""
        with self.sql.atomic():
            for row in rows:
                self.sql.upsert("briefs", row, pk=("id",))
                self.sql.execute("delete from brief_vectors where brief_id = ?", [row["id"]])

    def brief_rows(self, status: str | None = None) -> list[dict]:
        sql, params = "select * from briefs", []
        if status:
            sql, params = sql + " where status = ?", [status]
        return self.sql.query(sql + " order by added_at, id", params)

    def brief_row(self, brief_id: str) -> dict | None:
        return self.sql.first("select * from briefs where id = ?", [brief_id])

    def retire_brief(self, brief_id: str) -> bool:
        cursor = self.sql.execute(
            "update briefs set status = 'retired', retired_at = ? where id = ? and status != 'retired'",
            [stamp.now(), brief_id],
        )
        return cursor.rowcount > 0

    def sealed_brief_vectors(self, brief_id: str, model: str) -> bytes | None:
        return self.sql.scalar(
            "select sealed from brief_vectors where brief_id = ? and model = ?", [brief_id, model]
        )

    def put_sealed_brief_vectors(self, brief_id: str, model: str, sealed: bytes) -> None:
        self.sql.upsert(
            "brief_vectors",
            {"brief_id": brief_id, "model": model, "sealed": sealed, "created_at": stamp.now()},
            pk=SEALED_KEYS["brief_vectors"],
        )

    def sealed_values(self) -> list[tuple[str, tuple, bytes]]:
        """Every sealed value: (table, primary key, blob), for key rotation."""
        values = [
            ("briefs", (row[0],), bytes(row[1]))
            for row in self.sql.iterate("select id, sealed from briefs")
        ]
        values += [
            ("brief_vectors", (row[0], row[1]), bytes(row[2]))
            for row in self.sql.iterate("select brief_id, model, sealed from brief_vectors")
        ]
        return values

    def replace_sealed(self, table: str, key: tuple, blob: bytes) -> None:
        self.sql.update(table, dict(zip(SEALED_KEYS[table], key, strict=True)), {"sealed": blob})
