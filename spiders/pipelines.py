"""Item pipelines: normalise, then drop duplicates and write to the store."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import py3langid
from scrapy.exceptions import DropItem
from w3lib.url import canonicalize_url

from leaksentry.records import Item
from leaksentry.store import Store
from spiders.items import CollectedItem
from spiders.stories import StoryIndex, signature, story_index, to_bytes

_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref|cmpid)$", re.I)


def clean_url(url: str) -> str:
    """The URL an operator opens: no tracking parameters, no fragment, otherwise as published."""
    parts = urlsplit(url)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)
    ]
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), ""))


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


class StorePipeline:
    """Write each new item to SQLite at once, linked to its story; a stored URL is dropped."""

    def __init__(self, database: str, crawler):
        self.database = database
        self.crawler = crawler
        self.stats = crawler.stats
        self.store: Store | None = None
        self.stories: StoryIndex | None = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.get("LEAKSENTRY_DATABASE"), crawler)

    def open_spider(self, spider=None):
        self.store = Store(self.database)
        self.stories = story_index(self.store)

    def close_spider(self, spider=None):
        if self.store:
            self.store.close()

    def process_item(self, item: CollectedItem):
        canonical = identity(item.kind, item.url)
        digest = content_hash(item.title, item.text)
        minhash = signature(item.text or item.title)
        story = self.store.story_of_content(digest) or self.stories.find(
            minhash, item.text or item.title, self.store
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
        try:
            stored = self.store.add_item(record, canonical, digest, to_bytes(minhash), raw)
        except sqlite3.OperationalError as exc:  # a full disk, a locked database beyond the wait
            # A source error: its state (ETags, cursors) is not saved, so the next run reads
            # the source in full and collects this item then.
            self.crawler.spider.report_error(f"{item.url}: not stored: {exc}")
            raise DropItem(f"not stored: {item.url}") from None
        if not stored:
            self.stats.inc_value("leaksentry/duplicates")
            raise DropItem(f"already stored: {item.url}")
        self.stories.add(record.id, story or record.id, minhash)
        self.stats.inc_value("leaksentry/stored")
        if story:
            self.stats.inc_value("leaksentry/linked")
        return item
