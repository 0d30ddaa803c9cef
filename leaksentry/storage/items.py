"""Items and stories: what was collected, its story signature, raw capture and passage vectors.

Items are written before anything acts on them; the matcher's queue is simply the items whose
``matched_at`` is still NULL, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Iterable, Iterator

import numpy as np

from leaksentry.records import Item
from leaksentry.storage import stamp
from leaksentry.storage.sql import Sql

CHUNK = 500  # keys per IN (...) list
ITEM_FIELDS = tuple(field.name for field in dataclasses.fields(Item))


def chunks(keys: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


class ItemStore:
    sql: Sql

    def has_url(self, canonical_url: str) -> bool:
        return (
            self.sql.one("select 1 from items where canonical_url = ?", [canonical_url]) is not None
        )

    def stored_urls(self, canonical_urls: Iterable[str]) -> set[str]:
        """Those of these canonical URLs that are stored."""
        found = set()
        for chunk in chunks(list(canonical_urls)):
            marks = ",".join("?" * len(chunk))
            sql = f"select canonical_url from items where canonical_url in ({marks})"
            found.update(row[0] for row in self.sql.iterate(sql, chunk))
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
        at another URL is stored: it is a copy, linked through ``item.story``. One statement
        decides (no read before the write), so two writers of the same URL store it once.
        """
        moment = stamp.now()
        row = _item_row(item, canonical_url, content_hash, moment)
        with self.sql.atomic():
            if not self.sql.insert("items", row, on_conflict="(canonical_url) do nothing"):
                return False
            if signature is not None:
                self.sql.insert("item_signatures", _signature_row(item, signature, moment))
            if raw is not None:
                self.sql.insert("raw_captures", _raw_row(item, raw, moment))
        return True

    def add_items(
        self, entries: list[tuple[Item, str, str, bytes | None, tuple[str, bytes] | None]]
    ) -> list[bool]:
        """``add_item`` for a batch (the crawl's store writer): each entry is (item, canonical
        URL, content hash, signature, raw), written in one transaction (or the caller's) by
        three statements. An entry whose canonical URL is stored, or came earlier in the
        batch, is not written (False). Another writer storing the same URL meanwhile is left
        to ``on conflict``: nothing is written twice."""
        moment = stamp.now()
        added, items, signatures, raws = [], [], [], []
        with self.sql.atomic():
            stored = self.stored_urls(entry[1] for entry in entries)
            for item, canonical_url, content_hash, signature, raw in entries:
                added.append(canonical_url not in stored)
                if not added[-1]:
                    continue
                stored.add(canonical_url)
                items.append(_item_row(item, canonical_url, content_hash, moment))
                if signature is not None:
                    signatures.append(_signature_row(item, signature, moment))
                if raw is not None:
                    raws.append(_raw_row(item, raw, moment))
            self.sql.insert_many("items", items, on_conflict="do nothing")
            self.sql.insert_many("item_signatures", signatures, on_conflict="do nothing")
            self.sql.insert_many("raw_captures", raws, on_conflict="do nothing")
        return added

    def stories_of_contents(self, content_hashes: Iterable[str]) -> dict[str, str]:
        """``story_of_content`` for many texts: content hash -> the story of the first item
        stored with it, for those stored."""
        found: dict[str, str] = {}
        for chunk in chunks(list(content_hashes)):
            marks = ",".join("?" * len(chunk))
            sql = (
                f"select content_hash, story from items where content_hash in ({marks}) "
                "order by fetched_at"
            )
            for content_hash, story in self.sql.iterate(sql, chunk):
                found.setdefault(content_hash, story)
        return found

    def items_stored_since(self, sources: list[str], since: str) -> int:
        """How many items these sources stored since ``since`` (an ISO time from ``now()``)."""
        marks = ",".join("?" * len(sources))
        return self.sql.scalar(
            f"select count(*) from items where source in ({marks}) and fetched_at >= ?",
            [*sources, since],
        )

    def story_of_content(self, content_hash: str) -> str | None:
        """The story of an item with exactly this text, if one is stored."""
        return self.sql.scalar(
            "select story from items where content_hash = ? order by fetched_at limit 1",
            [content_hash],
        )

    def recent_signatures(self, since: str) -> Iterator[tuple[str, str, bytes]]:
        """(item id, story, signature) of items stored since `since`, for near-copy detection."""
        yield from self.sql.iterate(
            "select s.item_id, i.story, s.signature from item_signatures s "
            "join items i on i.id = s.item_id where s.created_at >= ?",
            [since],
        )

    def item_texts(self, item_ids: Iterable[str]) -> dict[str, str]:
        """item id -> its text (or title when it has none), for telling copies exactly."""
        found: dict[str, str] = {}
        for chunk in chunks(list(item_ids)):
            marks = ",".join("?" * len(chunk))
            found.update(
                self.sql.iterate(
                    f"select id, coalesce(nullif(text, ''), title) from items where id in ({marks})",
                    chunk,
                )
            )
        return found

    def raw_capture(self, item_id: str) -> tuple[str, bytes] | None:
        """(content type, body) as fetched, or None when not kept."""
        row = self.sql.one(
            "select content_type, body from raw_captures where item_id = ?", [item_id]
        )
        return (row[0], zlib.decompress(row[1])) if row else None

    def unmatched_items(self, limit: int = 500) -> list[Item]:
        rows = self.sql.query(
            "select * from items where matched_at is null order by fetched_at, id limit ?", [limit]
        )
        return [Item.from_dict(row) for row in rows]

    def matched_pairs(self, brief_id: str) -> set[str]:
        """Items already scored against this brief (not to be reported again)."""
        return {
            row[0]
            for row in self.sql.iterate(
                "select item_id from matches where brief_id = ?", [brief_id]
            )
        }

    def recent_items(self, since: str, limit: int) -> list[Item]:
        """The most recently fetched items since `since` (the matcher's background stream)."""
        rows = self.sql.query(
            "select * from items where fetched_at >= ? order by fetched_at desc, id limit ?",
            [since, limit],
        )
        return [Item.from_dict(row) for row in rows]

    def items_by_ids(self, ids: list[str]) -> list[Item]:
        """These items, in the order given; ids no longer stored are left out."""
        found = {}
        for chunk in chunks(ids):
            marks = ",".join("?" * len(chunk))
            for row in self.sql.query(f"select * from items where id in ({marks})", chunk):
                found[row["id"]] = Item.from_dict(row)
        return [found[i] for i in ids if i in found]

    def count_items_since(self, since: str) -> int:
        """How many items were stored since `since` (the stream's volume)."""
        return self.sql.scalar("select count(*) from items where fetched_at >= ?", [since])

    def items(self) -> Iterator[Item]:
        for row in self.sql.query("select * from items order by fetched_at, id"):
            yield Item.from_dict(row)

    def item_counts_by_source(self) -> dict[str, int]:
        return dict(self.sql.iterate("select source, count(*) from items group by source"))

    def mark_matched(self, item_ids: Iterable[str]) -> None:
        moment = stamp.now()
        self.sql.executemany(
            "update items set matched_at = ? where id = ?", [[moment, i] for i in item_ids]
        )

    # -- public embeddings cache (item passages only; brief vectors are sealed) --
    def get_vectors(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for chunk in chunks(keys):
            marks = ",".join("?" * len(chunk))
            for key, blob in self.sql.iterate(
                f"select key, vector from embeddings where key in ({marks})", chunk
            ):
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_vectors(self, vectors: dict[str, np.ndarray]) -> None:
        moment = stamp.now()
        rows = [  # in key order: writers of shared keys lock them in one order (no deadlock)
            {"key": key, "vector": np.asarray(v, dtype=np.float32).tobytes(), "created_at": moment}
            for key, v in sorted(vectors.items())
        ]
        with self.sql.atomic():
            self.sql.upsert_all("embeddings", rows, pk=("key",))


def _item_row(item: Item, canonical_url: str, content_hash: str, moment: str) -> dict:
    return {name: getattr(item, name) for name in ITEM_FIELDS} | {  # (no deep copy)
        "story": item.story or item.id,
        "canonical_url": canonical_url,
        "content_hash": content_hash,
        "fetched_at": moment,
        "matched_at": None,
    }


def _signature_row(item: Item, signature: bytes, moment: str) -> dict:
    return {"item_id": item.id, "signature": signature, "created_at": moment}


def _raw_row(item: Item, raw: tuple[str, bytes], moment: str) -> dict:
    content_type, body = raw
    return {
        "item_id": item.id,
        "url": item.url,
        "content_type": content_type,
        "body": zlib.compress(body, 6),
        "fetched_at": moment,
    }
