"""The SQLite store: every query leaksentry makes lives here (via sqlite-utils).

WAL and a busy time-out let the CLI read and write while the service runs. Every transaction
takes the write lock when it begins (BEGIN IMMEDIATE, see ImmediateDatabase): in WAL mode a
deferred transaction that reads, then writes, fails at once with "database is locked" when
another process committed in between (the busy time-out does not apply to that case).
Items are written before anything acts on them; the matcher's queue is simply
the items whose ``matched_at`` is still NULL, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import itertools
import json
import os
import shutil
import sqlite3
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from sqlite_utils import Database

from leaksentry import clock
from leaksentry.migrations import migrate
from leaksentry.records import Item

BUSY_TIMEOUT_MS = 30_000
ITEM_FIELDS = tuple(field.name for field in dataclasses.fields(Item))


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


def now() -> str:
    return clock.now().isoformat(timespec="seconds")


class Store:
    """One SQLite file. Opening it applies pending migrations."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        make_private(self.path)
        self.db = ImmediateDatabase(self.path)
        try:
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.db.enable_wal()
            migrate(self.db)
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

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- meta ---------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("select value from meta where key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db["meta"].upsert({"key": key, "value": value}, pk="key")

    def delete_meta(self, key: str) -> None:
        self.db.execute("delete from meta where key = ?", [key])

    # -- items --------------------------------------------------------------
    def has_url(self, canonical_url: str) -> bool:
        return self._exists("select 1 from items where canonical_url = ?", canonical_url)

    def stored_urls(self, canonical_urls: Iterable[str]) -> set[str]:
        """Those of these canonical URLs that are stored."""
        urls, found = list(canonical_urls), set()
        for start in range(0, len(urls), 500):
            chunk = urls[start : start + 500]
            marks = ",".join("?" * len(chunk))
            sql = f"select canonical_url from items where canonical_url in ({marks})"
            found.update(row[0] for row in self.db.execute(sql, chunk))
        return found

    def add_item(
        self,
        item: Item,
        canonical_url: str,
        content_hash: str,
        signature: bytes | None = None,
        raw: tuple[str, bytes] | None = None,
    ) -> bool:
        """Store a new item with its story signature and raw capture, all or nothing.

        False (and nothing written) when the canonical URL is already stored. The same text
        at another URL is stored: it is a copy, linked through ``item.story``.
        """
        stamp = now()
        with self.db.atomic():
            if self.has_url(canonical_url):
                return False
            row = {name: getattr(item, name) for name in ITEM_FIELDS} | {  # (no deep copy)
                "story": item.story or item.id,
                "canonical_url": canonical_url,
                "content_hash": content_hash,
                "fetched_at": stamp,
                "matched_at": None,
            }
            self._insert("items", row)
            if signature is not None:
                self._insert(
                    "item_signatures",
                    {"item_id": item.id, "signature": signature, "created_at": stamp},
                )
            if raw is not None:
                content_type, body = raw
                self._insert(
                    "raw_captures",
                    {
                        "item_id": item.id,
                        "url": item.url,
                        "content_type": content_type,
                        "body": zlib.compress(body, 6),
                        "fetched_at": stamp,
                    },
                )
        return True

    def add_items(
        self, entries: list[tuple[Item, str, str, bytes | None, tuple[str, bytes] | None]]
    ) -> list[bool]:
        """``add_item`` for a batch: each entry is (item, canonical URL, content hash,
        signature, raw), all written in one transaction (or the caller's) by three statements.
        An entry whose canonical URL is stored, or came earlier in the batch, is not written
        (False)."""
        stamp = now()
        added, items, signatures, raws = [], [], [], []
        with self.db.atomic():
            stored = self.stored_urls(entry[1] for entry in entries)
            for item, canonical_url, content_hash, signature, raw in entries:
                added.append(canonical_url not in stored)
                if not added[-1]:
                    continue
                stored.add(canonical_url)
                items.append(
                    {name: getattr(item, name) for name in ITEM_FIELDS}
                    | {
                        "story": item.story or item.id,
                        "canonical_url": canonical_url,
                        "content_hash": content_hash,
                        "fetched_at": stamp,
                        "matched_at": None,
                    }
                )
                if signature is not None:
                    signatures.append(
                        {"item_id": item.id, "signature": signature, "created_at": stamp}
                    )
                if raw is not None:
                    raws.append(
                        {
                            "item_id": item.id,
                            "url": item.url,
                            "content_type": raw[0],
                            "body": zlib.compress(raw[1], 6),
                            "fetched_at": stamp,
                        }
                    )
            for table, rows in (
                ("items", items),
                ("item_signatures", signatures),
                ("raw_captures", raws),
            ):
                self._insert_many(table, rows)
        return added

    def _insert_many(self, table: str, rows: list[dict]) -> None:
        """Plain INSERTs of rows with the same columns, one statement."""
        if not rows:
            return
        columns = ", ".join(f"[{name}]" for name in rows[0])
        marks = ", ".join("?" * len(rows[0]))
        self.db.conn.executemany(
            f"insert into [{table}] ({columns}) values ({marks})",
            [list(row.values()) for row in rows],
        )

    def stories_of_contents(self, content_hashes: Iterable[str]) -> dict[str, str]:
        """``story_of_content`` for many texts: content hash -> the story of the first item
        stored with it, for those stored."""
        hashes, found = list(content_hashes), {}
        for start in range(0, len(hashes), 500):
            chunk = hashes[start : start + 500]
            marks = ",".join("?" * len(chunk))
            sql = (
                f"select content_hash, story from items where content_hash in ({marks}) "
                "order by fetched_at"
            )
            for content_hash, story in self.db.execute(sql, chunk):
                found.setdefault(content_hash, story)
        return found

    def _insert(self, table: str, row: dict) -> None:
        """One plain INSERT (sqlite-utils' ``insert`` reads the table's schema every call)."""
        columns = ", ".join(f"[{name}]" for name in row)
        marks = ", ".join("?" * len(row))
        self.db.execute(f"insert into [{table}] ({columns}) values ({marks})", list(row.values()))

    def items_stored_since(self, sources: list[str], since: str) -> int:
        """How many items these sources stored since ``since`` (an ISO time from ``now()``)."""
        marks = ",".join("?" * len(sources))
        row = self.db.execute(
            f"select count(*) from items where source in ({marks}) and fetched_at >= ?",
            [*sources, since],
        ).fetchone()
        return row[0]

    def story_of_content(self, content_hash: str) -> str | None:
        """The story of an item with exactly this text, if one is stored."""
        row = self.db.execute(
            "select story from items where content_hash = ? order by fetched_at limit 1",
            [content_hash],
        ).fetchone()
        return row[0] if row else None

    def recent_signatures(self, since: str) -> Iterator[tuple[str, str, bytes]]:
        """(item id, story, signature) of items stored since `since`, for near-copy detection."""
        yield from self.db.execute(
            "select s.item_id, i.story, s.signature from item_signatures s "
            "join items i on i.id = s.item_id where s.created_at >= ?",
            [since],
        )

    def item_texts(self, item_ids: Iterable[str]) -> dict[str, str]:
        """item id -> its text (or title when it has none), for telling copies exactly."""
        ids = list(item_ids)
        found: dict[str, str] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                self.db.execute(
                    f"select id, coalesce(nullif(text, ''), title) from items where id in ({marks})",
                    chunk,
                )
            )
        return found

    def raw_capture(self, item_id: str) -> tuple[str, bytes] | None:
        """(content type, body) as fetched, or None when not kept."""
        row = self.db.execute(
            "select content_type, body from raw_captures where item_id = ?", [item_id]
        ).fetchone()
        return (row[0], zlib.decompress(row[1])) if row else None

    # -- retention (see leaksentry/retention.py): each call one short transaction ----------
    # kept for ever: items that matched a brief, and the item each alert's story is named after
    _PURGEABLE_ITEMS = (
        "from items where fetched_at < ? and matched_at is not null "
        "and not exists (select 1 from matches m where m.item_id = items.id) "
        "and not exists (select 1 from alerts a where a.story = items.id)"
    )

    def _purge(self, select: str, params: list, delete, limit: int | None, dry_run: bool) -> int:
        """Delete the keys `select` finds (at most `limit`), in one transaction; or count them."""
        if dry_run:
            return self.db.execute(f"select count(*) from ({select})", params).fetchone()[0]
        with self.db.atomic():
            if limit is not None:
                select, params = select + " limit ?", [*params, limit]
            keys = [row[0] for row in self.db.execute(select, params)]
            for start in range(0, len(keys), 500):
                delete(keys[start : start + 500])
        return len(keys)

    def _delete_where_in(self, table: str, column: str, keys: list) -> None:
        marks = ",".join("?" * len(keys))
        self.db.execute(f"delete from {table} where {column} in ({marks})", keys)

    def _deleter(self, table: str, column: str):
        return functools.partial(self._delete_where_in, table, column)

    def purge_items(self, older_than: str, limit: int | None = None, dry_run=False) -> int:
        """Drop scored items fetched before `older_than` that matched no brief, oldest first,
        with their signatures and raw captures (their full-text rows go by trigger)."""

        def delete(ids: list[str]) -> None:
            for table in ("item_signatures", "raw_captures"):
                self._delete_where_in(table, "item_id", ids)
            self._delete_where_in("items", "id", ids)

        select = f"select id {self._PURGEABLE_ITEMS} order by fetched_at"
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

    def unmatched_items(self, limit: int = 500) -> list[Item]:
        rows = self.db.query(
            "select * from items where matched_at is null order by fetched_at, id limit ?", [limit]
        )
        return [Item.from_dict(row) for row in rows]

    def search_items(self, terms: list[str], limit: int) -> list[Item]:
        """Items holding any of `terms`, best first (SQLite FTS5, bm25)."""
        if not terms:
            return []
        query = " OR ".join('"' + term.replace('"', "") + '"' for term in terms)
        rows = self.db.query(
            "select items.* from items join items_fts on items_fts.rowid = items.rowid "
            "where items_fts match ? order by items_fts.rank limit ?",
            [query, limit],
        )
        return [Item.from_dict(row) for row in rows]

    def matched_pairs(self, brief_id: str) -> set[str]:
        """Items already scored against this brief (not to be reported again)."""
        return {
            row[0]
            for row in self.db.execute("select item_id from matches where brief_id = ?", [brief_id])
        }

    def recent_items(self, since: str, limit: int) -> list[Item]:
        """The most recently fetched items since `since` (the matcher's background stream)."""
        rows = self.db.query(
            "select * from items where fetched_at >= ? order by fetched_at desc, id limit ?",
            [since, limit],
        )
        return [Item.from_dict(row) for row in rows]

    def items_by_ids(self, ids: list[str]) -> list[Item]:
        """These items, in the order given; ids no longer stored are left out."""
        found = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.query(f"select * from items where id in ({marks})", chunk):
                found[row["id"]] = Item.from_dict(row)
        return [found[i] for i in ids if i in found]

    def count_items_since(self, since: str) -> int:
        """How many items were stored since `since` (the stream's volume)."""
        return self.db.execute(
            "select count(*) from items where fetched_at >= ?", [since]
        ).fetchone()[0]

    def items(self) -> Iterator[Item]:
        for row in self.db.query("select * from items order by fetched_at, id"):
            yield Item.from_dict(row)

    def item_counts_by_source(self) -> dict[str, int]:
        return dict(self.db.execute("select source, count(*) from items group by source"))

    def count(self, table: str) -> int:
        return self.db[table].count

    # -- briefs -------------------------------------------------------------
    def add_briefs(self, rows: list[dict]) -> None:
        """Insert or replace sealed brief rows, all or nothing."""
        with self.db.atomic():
            for row in rows:
                self.db["briefs"].upsert(row, pk="id")
                self.db.execute("delete from brief_vectors where brief_id = ?", [row["id"]])

    def brief_rows(self, status: str | None = None) -> list[dict]:
        sql, params = "select * from briefs", []
        if status:
            sql, params = sql + " where status = ?", [status]
        return list(self.db.query(sql + " order by added_at, id", params))

    def brief_row(self, brief_id: str) -> dict | None:
        rows = list(self.db.query("select * from briefs where id = ?", [brief_id]))
        return rows[0] if rows else None

    def retire_brief(self, brief_id: str) -> bool:
        cursor = self.db.execute(
            "update briefs set status = 'retired', retired_at = ? where id = ? and status != 'retired'",
            [now(), brief_id],
        )
        return cursor.rowcount > 0

    def sealed_brief_vectors(self, brief_id: str, model: str) -> bytes | None:
        row = self.db.execute(
            "select sealed from brief_vectors where brief_id = ? and model = ?", [brief_id, model]
        ).fetchone()
        return row[0] if row else None

    def put_sealed_brief_vectors(self, brief_id: str, model: str, sealed: bytes) -> None:
        self.db["brief_vectors"].upsert(
            {"brief_id": brief_id, "model": model, "sealed": sealed, "created_at": now()},
            pk=("brief_id", "model"),
        )

    def sealed_values(self) -> list[tuple[str, tuple, bytes]]:
        """Every sealed value: (table, primary key, blob), for key rotation."""
        values = [
            ("briefs", (row[0],), row[1])
            for row in self.db.execute("select id, sealed from briefs")
        ]
        values += [
            ("brief_vectors", (row[0], row[1]), row[2])
            for row in self.db.execute("select brief_id, model, sealed from brief_vectors")
        ]
        return values

    def replace_sealed(self, table: str, key: tuple, blob: bytes) -> None:
        self.db[table].update(key if len(key) > 1 else key[0], {"sealed": blob})

    # -- public embeddings cache (item passages only; brief vectors are sealed) --
    def get_vectors(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, blob in self.db.execute(
                f"select key, vector from embeddings where key in ({marks})", chunk
            ):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_vectors(self, vectors: dict[str, np.ndarray]) -> None:
        stamp = now()
        rows = [
            {"key": key, "vector": np.asarray(v, dtype=np.float32).tobytes(), "created_at": stamp}
            for key, v in vectors.items()
        ]
        with self.db.atomic():
            self.db["embeddings"].upsert_all(rows, pk="key")

    # -- matches, alerts (one per story) and the outbox ----------------------------------
    def record_match(self, match: dict) -> int | None:
        """Insert a match; None when this (brief, item) pair was already recorded.

        One statement (no read before the write): safe beside another writer."""
        row = match | {"created_at": now()}
        columns = ", ".join(f"[{key}]" for key in row)
        cursor = self.db.execute(
            f"insert or ignore into matches ({columns}) values ({', '.join('?' * len(row))})",
            list(row.values()),
        )
        return cursor.lastrowid if cursor.rowcount == 1 else None

    def mark_matched(self, item_ids: Iterable[str]) -> None:
        stamp = now()
        for item_id in item_ids:
            self.db.execute("update items set matched_at = ? where id = ?", [stamp, item_id])

    def alerts_for_brief(self, brief_id: str) -> list[dict]:
        return list(
            self.db.query("select * from alerts where brief_id = ? order by id", [brief_id])
        )

    def alert_has_story(self, alert_id: int, story: str) -> bool:
        return self._exists(
            "select 1 from matches m join items i on i.id = m.item_id "
            "where m.alert_id = ? and i.story = ?",
            alert_id,
            story,
        )

    def alert_texts(self, alert_id: int) -> list[str]:
        """The text (or title) of each item of an alert, to tell a retelling from news."""
        return [
            row[0]
            for row in self.db.execute(
                "select coalesce(nullif(i.text, ''), i.title) from matches m "
                "join items i on i.id = m.item_id where m.alert_id = ?",
                [alert_id],
            )
        ]

    def insert_alert(self, row: dict) -> int:
        return self.db["alerts"].insert(row).last_pk

    def update_alert(self, alert_id: int, row: dict) -> None:
        self.db["alerts"].update(alert_id, {k: v for k, v in row.items() if k != "id"})

    def link_match(self, match_id: int, alert_id: int) -> None:
        self.db.execute("update matches set alert_id = ? where id = ?", [alert_id, match_id])

    def alert_row(self, alert_id: int) -> dict | None:
        rows = list(self.db.query("select * from alerts where id = ?", [alert_id]))
        return rows[0] if rows else None

    def alert_rows(self, status: str | None = None) -> list[dict]:
        sql, params = "select * from alerts", []
        if status:
            sql, params = sql + " where status = ?", [status]
        return list(self.db.query(sql + " order by id", params))

    def story_urls(self) -> dict[int, str]:
        """Each alert's public URL: that of its story's first item (the item the story is
        named after), else of its oldest matched item with one."""
        urls = {}
        for row in self.db.query(
            "select a.id, s.url as story_url, (select i.url from matches m join items i "
            "on i.id = m.item_id where m.alert_id = a.id and i.url is not null and i.url != '' "
            "order by coalesce(datetime(i.published), datetime(m.created_at)), m.id limit 1) "
            "as first_url from alerts a left join items s on s.id = a.story"
        ):
            if url := row["story_url"] or row["first_url"]:
                urls[row["id"]] = url
        return urls

    def alert_items(self, alert_id: int) -> list[dict]:
        """The matches of an alert with their public items, oldest first."""
        return list(
            self.db.query(
                "select m.id as match_id, m.score, m.details_matched, m.evidence, m.created_at, "
                "i.id as item_id, i.url, i.source, i.kind, i.title, i.published, i.story "
                "from matches m join items i on i.id = m.item_id where m.alert_id = ? "
                "order by coalesce(datetime(i.published), datetime(m.created_at)), m.id",
                [alert_id],
            )
        )

    def set_verdict(self, alert_id: int, status: str, who: str, note: str | None) -> None:
        """Record an operator's verdict on the alert and in the audit log, together."""
        stamp = now()
        with self.db.atomic():
            self.db["alerts"].update(
                alert_id,
                {"status": status, "verdict_by": who, "verdict_at": stamp, "verdict_note": note},
            )
            self.db["audit_log"].insert(
                {"at": stamp, "who": who, "action": status, "alert_id": alert_id, "note": note}
            )

    def verdict_counts(self) -> dict[str, tuple[int, int]]:
        """brief id -> (confirmed alerts, dismissed alerts)."""
        rows = self.db.execute(
            "select brief_id, sum(status = 'confirmed'), sum(status = 'dismissed') from alerts "
            "group by brief_id"
        )
        return {
            brief_id: (confirmed or 0, dismissed or 0) for brief_id, confirmed, dismissed in rows
        }

    def record_audit(
        self, action: str, who: str, note: str | None = None, alert_id: int | None = None
    ) -> None:
        """One row of the audit log: a login, a logout, a change of an operator's rights."""
        self.db["audit_log"].insert(
            {"at": now(), "who": who, "action": action, "alert_id": alert_id, "note": note}
        )

    def audit_rows(
        self,
        limit: int = 100,
        alert_id: int | None = None,
        brief_ids: Iterable[str] | None = None,
        unlinked_by: str | None = None,
    ) -> list[dict]:
        """The audit log, newest first; only `alert_id`'s rows when given.

        With `brief_ids` (an operator's rights), only rows about alerts of those briefs, plus
        rows about no alert whose `who` is `unlinked_by` (the operator's own logins).
        """
        where, params = [], []
        if alert_id is not None:
            where.append("a.alert_id = ?")
            params.append(alert_id)
        if brief_ids is not None:
            ids = sorted(brief_ids)
            marks = ",".join("?" * len(ids))
            permitted = f"al.brief_id in ({marks})" if ids else "0"
            where.append(
                f"((a.alert_id is not null and {permitted}) or (a.alert_id is null and a.who = ?))"
            )
            params += [*ids, unlinked_by]
        sql = "select a.* from audit_log a left join alerts al on al.id = a.alert_id"
        if where:
            sql += " where " + " and ".join(where)
        return list(self.db.query(sql + " order by a.id desc limit ?", [*params, limit]))

    def queue_message(self, row: dict) -> int:
        return (
            self.db["outbox"]
            .insert(row | {"state": "queued", "attempts": 0, "created_at": now()})
            .last_pk
        )

    def last_message_for_brief(self, brief_id: str) -> dict | None:
        rows = list(
            self.db.query(
                "select * from outbox where brief_id = ? and kind != 'digest' "
                "and transport is null order by id desc limit 1",
                [brief_id],
            )
        )
        return rows[0] if rows else None

    def due_messages(self, at: str) -> list[dict]:
        """Queued mail whose next attempt is due, oldest first (mail goes out in order)."""
        return list(
            self.db.query(
                "select * from outbox where state = 'queued' "
                "and (next_attempt_at is null or next_attempt_at <= ?) order by id",
                [at],
            )
        )

    def message_rows(self, state: str | None = None) -> list[dict]:
        sql, params = "select * from outbox", []
        if state:
            sql, params = sql + " where state = ?", [state]
        return list(self.db.query(sql + " order by id", params))

    def mark_message_sent(self, message_id: int) -> None:
        self.db.execute(
            "update outbox set state = 'sent', sent_at = ?, attempts = attempts + 1, "
            "last_error = null where id = ?",
            [now(), message_id],
        )

    def mark_message_refused(
        self, message_id: int, error: str, retry_at: str, give_up_after: int
    ) -> None:
        """Count a refusal; retry later, and after `give_up_after` refusals mark it failed."""
        self.db.execute(
            "update outbox set attempts = attempts + 1, last_error = ?, next_attempt_at = ?, "
            "state = case when attempts + 1 >= ? then 'failed' else 'queued' end where id = ?",
            [error, retry_at, give_up_after, message_id],
        )

    def note_delivery_problem(self, error: str) -> None:
        """Show why queued mail waits (server down) without counting it against it."""
        self.db.execute("update outbox set last_error = ? where state = 'queued'", [error])

    # -- sources and runs ---------------------------------------------------
    def source_state(self, name: str) -> dict:
        row = self.db.execute("select state from sources where name = ?", [name]).fetchone()
        return json.loads(row[0]) if row and row[0] else {}

    def save_source_state(self, name: str, kind: str, url: str, state: dict) -> None:
        """Keep a source's crawl state (cursor, since-id, ETag, ...) for its next run."""
        self.db["sources"].upsert(
            {"name": name, "kind": kind, "url": url, "state": json.dumps(state)}, pk="name"
        )

    def record_source_result(
        self, name: str, kind: str, url: str, ok: bool, items: int, error: str | None = None
    ) -> None:
        stamp = now()
        row = {"name": name, "kind": kind, "url": url, "last_run_at": stamp, "last_items": items}
        if ok:
            row |= {"last_success_at": stamp, "last_error": None}
        else:
            row |= {"last_error": error}
        self.db["sources"].upsert(row, pk="name")

    def source_rows(self) -> list[dict]:
        return list(self.db.query("select * from sources order by name"))

    def record_source_run(self, row: dict) -> None:
        """One source's figures for one crawl: statuses, stored, blocked, truncated, error."""
        self.db["source_runs"].insert(row | {"statuses": json.dumps(row.get("statuses", {}))})

    def source_runs(self, source: str, limit: int = 10) -> list[dict]:
        return list(
            self.db.query(
                "select * from source_runs where source = ? order by id desc limit ?",
                [source, limit],
            )
        )

    def start_run(self, job: str, source: str | None = None) -> int:
        return (
            self.db["runs"]
            .insert({"job": job, "source": source, "started_at": now(), "status": "running"})
            .last_pk
        )

    def finish_run(self, run_id: int, status: str, count: int = 0, error: str | None = None):
        self.db["runs"].update(
            run_id, {"finished_at": now(), "status": status, "count": count, "error": error}
        )

    def last_finished_run(self, job: str) -> dict | None:
        query = (
            "select * from runs where job = ? and finished_at is not null order by id desc limit 1"
        )
        rows = list(self.db.query(query, [job]))
        return rows[0] if rows else None

    def _exists(self, sql: str, *params) -> bool:
        return self.db.execute(sql, list(params)).fetchone() is not None

    # -- operators (triage page logins; only argon2 hashes are stored) -------
    def atomic(self):
        """Several store calls in one transaction (nested: a savepoint)."""
        return self.db.atomic()

    @contextlib.contextmanager
    def immediate(self):
        """A transaction that takes the write lock at once (BEGIN IMMEDIATE, as every
        transaction of this store does): what it reads stays true until it commits, no other
        writer comes between (nested: a savepoint)."""
        with self.db.atomic():
            yield

    def operator_row(self, name: str) -> dict | None:
        rows = list(self.db.query("select * from operators where name = ?", [name]))
        return rows[0] if rows else None

    def operator_rows(self) -> list[dict]:
        """Operators without their hashes, for listing."""
        return list(
            self.db.query(
                "select name, created_at, password_set_at, last_login_at, briefs from operators "
                "order by name"
            )
        )

    def set_operator_password(
        self, name: str, password_hash: str, session_nonce: str, briefs: str = "[]"
    ) -> bool:
        """Create the operator or give it a new password (ending its sessions); True if new.

        A new operator gets `briefs` (its rights: "*" or a JSON list of brief ids; by default
        none); a known one keeps its rights.
        """
        stamp = now()
        with self.db.atomic():
            new = self.operator_row(name) is None
            row = {"name": name, "password_hash": password_hash, "session_nonce": session_nonce}
            row |= {"password_set_at": stamp}
            row |= {"created_at": stamp, "briefs": briefs} if new else {}
            self.db["operators"].upsert(row, pk="name")
        return new

    def set_operator_briefs(self, name: str, briefs: str) -> None:
        """Replace the operator's rights ("*" or a JSON list of brief ids)."""
        self.db.execute("update operators set briefs = ? where name = ?", [briefs, name])

    def end_operator_sessions(self, name: str, session_nonce: str) -> None:
        """A new session nonce: every session cookie issued before stops working."""
        self.db.execute(
            "update operators set session_nonce = ? where name = ?", [session_nonce, name]
        )

    def record_operator_login(self, name: str, password_hash: str | None = None) -> None:
        """Note the login; store a re-hash when the KDF parameters were raised."""
        row = {"last_login_at": now()} | ({"password_hash": password_hash} if password_hash else {})
        self.db["operators"].update(name, row)
