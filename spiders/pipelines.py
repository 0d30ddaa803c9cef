"""Item pipelines: normalise, then drop duplicates and write to the store (in a thread of its
own, a batch of items per transaction: ``StoreWriter``)."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import queue
import re
import threading
import unicodedata
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import py3langid
from scrapy.exceptions import DropItem
from w3lib.url import canonicalize_url

from leaksentry.records import Item
from leaksentry.storage import Store, is_postgres, open_store
from leaksentry.storage.errors import OperationalError
from spiders.items import CollectedItem
from spiders.stories import StoryIndex, signature_values, story_index, to_bytes

_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref|cmpid)$", re.I)


@functools.lru_cache(maxsize=8192)  # a post's address is cleaned by the spider and the writer
def clean_url(url: str) -> str:
    """The URL an operator opens: no tracking parameters, no fragment, otherwise as published."""
    parts = urlsplit(url)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)
    ]
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), ""))


@functools.lru_cache(maxsize=8192)
def canonical_url(url: str) -> str:
    """One spelling per page, for de-duplication: clean, sorted query, lower-case host."""
    return canonicalize_url(clean_url(url))


SOCIAL = "social:"  # the prefix of a post's identity: never equal to a page's canonical URL


def identity(kind: str, url: str) -> str:
    """What makes an item the same item again: its uniqueness key in the store.

    A news page is its canonical URL. A post is its own address (each kind builds it from the
    post's own identity on its platform) in a namespace of its own: whatever address a post
    names (a Mastodon status's ``url`` may be any address, a news article's among them), it
    never makes a page count as stored, and a page stored first never hides a post.
    """
    if kind == "news":
        return canonical_url(url)
    return SOCIAL + canonical_url(url)


def content_hash(title: str, text: str) -> str:
    """Same words, same hash: case, accents-as-composed and spacing do not matter."""
    body = unicodedata.normalize("NFC", f"{title}\n{text}").lower()
    return hashlib.sha256(" ".join(body.split()).encode()).hexdigest()


def item_id(canonical: str) -> str:
    return "i" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def clean_text(text: str) -> str:
    """Normalised Unicode, no control characters, single spaces, paragraphs kept."""
    text = unicodedata.normalize("NFC", text or "")
    if not text.replace("\n", "").replace("\t", "").isprintable():  # (else no C* character)
        text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c)[0] != "C")
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


class NormalisePipeline:
    """Clean text, detect the language, drop items with nothing to read."""

    def process_item(self, item: CollectedItem):
        if urlsplit(item.url).scheme not in ("http", "https") or not urlsplit(item.url).hostname:
            # an item is opened by operators from the alert page: no javascript:, data:, file:
            raise DropItem(f"not a web address: {item.url[:100]!r}")
        item.title = clean_text(item.title).replace("\n", " ")
        item.text = clean_text(item.text)
        if not item.text and not item.title:
            raise DropItem(f"no text extracted from {item.url}")
        if not item.lang:
            item.lang = py3langid.classify(f"{item.title}\n{item.text}"[:2000])[0]
        return item


BATCH = 200  # items written in one transaction at most


class StoreWriter:
    """The one thread that writes a crawl's items to one database, a batch per transaction.

    Spiders crawling side by side in one process share it (``writer_for``): SQLite sees one
    writer, and Twisted's reactor thread never waits on a disk write. Its connection is made,
    used and closed in that thread only. Items queue up while a batch is written, so the next
    batch is whatever arrived meanwhile (one item when they trickle in, a page of posts when
    they come together).

    ``PRAGMA synchronous = NORMAL`` (WAL): a commit is not fsynced. A killed process loses
    nothing committed; an operating-system crash or a power cut may lose the last commits,
    but never the items without the source state that would skip them: the crawl saves each
    source's state afterwards on a connection of default (FULL) synchronous, whose fsync of
    the WAL makes every frame before it durable too.
    """

    def __init__(self, database: str):
        self.database = database
        self.users = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._opened = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="leaksentry-store", daemon=True)
        self._thread.start()
        self._opened.wait()
        if self._error is not None:
            raise self._error

    def write(self, item: CollectedItem) -> asyncio.Future:
        """A future (on the running event loop) of the item's outcome: ("stored", story),
        ("duplicate", None), ("error", the OperationalError) or ("failed", any other
        exception)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put((item, loop, future))
        return future

    def close(self) -> None:
        """Write what is queued, then stop the thread and close its connection."""
        self._queue.put(None)
        self._thread.join()

    # -- the writer thread --------------------------------------------------------------------
    def _run(self) -> None:
        try:
            store = open_store(self.database)
            store.fast_commits()
            stories = story_index(store)
        except BaseException as exc:  # noqa: BLE001 (raised again in the caller's thread)
            self._error = exc
            self._opened.set()
            return
        self._opened.set()
        try:
            while True:
                batch, stop = [self._queue.get()], False
                while len(batch) < BATCH:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                if None in batch:
                    batch, stop = [entry for entry in batch if entry is not None], True
                if batch:
                    try:
                        outcomes = self._write(store, stories, [item for item, _, _ in batch])
                    except Exception as exc:  # a bug, not the disk: raised in the pipeline
                        outcomes = [("failed", exc)] * len(batch)
                    for (_, loop, future), outcome in zip(batch, outcomes, strict=True):
                        loop.call_soon_threadsafe(_settle, future, outcome)
                if stop:
                    return
        finally:
            store.close()

    def _write(self, store: Store, stories: StoryIndex, items: list) -> list[tuple]:
        """One transaction for the batch; when it fails, each item in a transaction of its
        own, so one item's failure (a full disk, a lock held beyond the busy wait) is that
        item's alone."""
        prepared = [self._prepare(item) for item in items]  # before the write lock is taken
        added: list[str] = []
        try:
            with store.atomic():
                outcomes = self._store(store, stories, prepared, added)
        except OperationalError as exc:
            for item_id in added:  # rolled back: not stored, not a story to join
                stories.discard(item_id)
            if len(items) == 1:
                return [("error", exc)]
            return [self._write(store, stories, [item])[0] for item in items]
        except Exception:  # a bug: nothing written, nothing to join either
            for item_id in added:
                stories.discard(item_id)
            raise
        return outcomes

    @staticmethod
    def _prepare(item: CollectedItem) -> tuple:
        """(item, canonical URL, content hash, MinHash signature values)."""
        return (
            item,
            identity(item.kind, item.url),
            content_hash(item.title, item.text),
            signature_values(item.text or item.title),
        )

    @staticmethod
    def _store(store: Store, stories: StoryIndex, prepared: list[tuple], added: list) -> list:
        """Write the batch (in the caller's transaction), each item linked to its story: the
        story of an item with the same text, else of its closest near copy (``StoryIndex``),
        items earlier in the batch included. A stored URL is a duplicate."""
        stored = store.stored_urls(canonical for _, canonical, _, _ in prepared)
        by_content = store.stories_of_contents({digest for _, _, digest, _ in prepared})
        pending: dict[
            str, str
        ] = {}  # texts of this batch's items (not readable from the store yet)
        outcomes, entries = [], []
        for item, canonical, digest, minhash in prepared:
            if canonical in stored:
                outcomes.append(("duplicate", None))
                continue
            stored.add(canonical)
            story = by_content.get(digest) or stories.find(
                minhash, item.text or item.title, store, pending
            )
            record = Item(
                id=item_id(canonical),
                url=clean_url(item.url),
                kind=item.kind,
                source=item.source,
                published=item.published,
                title=item.title,
                text=item.text,
                lang=item.lang,
                story=story,
            )
            raw = (item.raw_type or "", item.raw) if item.raw is not None else None
            entries.append((record, canonical, digest, to_bytes(minhash), raw))
            stories.add(record.id, story or record.id, minhash)  # the next copy joins it
            added.append(record.id)
            by_content.setdefault(digest, story or record.id)
            pending[record.id] = item.text or item.title
            outcomes.append(("stored", story))
        written = iter(store.add_items(entries))  # (all new: checked in this transaction)
        return [
            outcome if outcome[0] != "stored" or next(written) else ("duplicate", None)
            for outcome in outcomes
        ]


def _settle(future: asyncio.Future, outcome: tuple) -> None:
    if not future.cancelled():
        future.set_result(outcome)


_WRITERS: dict[str, StoreWriter] = {}


def _key(database: str) -> str:
    return database if is_postgres(database) else str(Path(database).resolve())


def writer_for(database: str) -> StoreWriter:
    """The writer of this database in this process (made on first use, shared)."""
    key = _key(database)
    if key not in _WRITERS:
        _WRITERS[key] = StoreWriter(database)
    writer = _WRITERS[key]
    writer.users += 1
    return writer


def release_writer(writer: StoreWriter) -> None:
    """One user less; the last one stops the writer once everything queued is written."""
    writer.users -= 1
    if writer.users == 0:
        _WRITERS.pop(_key(writer.database), None)
        writer.close()


class StorePipeline:
    """Write each new item to SQLite, linked to its story; a stored URL is dropped.

    The writing is done by the crawl's store writer thread (``StoreWriter``), in batches;
    an item passes this pipeline only once its transaction is committed."""

    def __init__(self, database: str, crawler):
        self.database = database
        self.crawler = crawler
        self.stats = crawler.stats
        self.writer: StoreWriter | None = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.get("LEAKSENTRY_DATABASE"), crawler)

    def open_spider(self, spider=None):
        self.writer = writer_for(self.database)

    def close_spider(self, spider=None):
        if self.writer:  # every item of this spider has settled: the engine waited for them
            release_writer(self.writer)
            self.writer = None

    async def process_item(self, item: CollectedItem):
        outcome, detail = await self.writer.write(item)
        if outcome == "failed":
            raise detail
        if outcome == "error":
            # A source error: its state (ETags, cursors) is not saved, so the next run reads
            # the source in full and collects this item then.
            self.crawler.spider.report_error(f"{item.url}: not stored: {detail}")
            raise DropItem(f"not stored: {item.url}")
        if outcome == "duplicate":
            self.stats.inc_value("leaksentry/duplicates")
            raise DropItem(f"already stored: {item.url}")
        self.stats.inc_value("leaksentry/stored")
        if detail:
            self.stats.inc_value("leaksentry/linked")
        return item
