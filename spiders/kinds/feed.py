"""RSS and Atom feeds: read the feed, then follow each entry to its article page."""

from __future__ import annotations

from urllib.parse import urlsplit

import feedparser
import scrapy
from scrapy.http import Response, TextResponse

from leaksentry.store import Store
from spiders.article import extract_article, struct_time_iso
from spiders.items import CollectedItem
from spiders.pipelines import canonical_url


class FeedSpider(scrapy.Spider):
    """Arguments: source (name), url. Entries already stored are not downloaded again."""

    name = "feed"
    kind = "feed"

    def __init__(self, source: str, url: str, **kwargs):
        super().__init__(**kwargs)
        self.source = source
        self.url = url

    async def start(self):
        yield scrapy.Request(self.url, callback=self.parse_feed, errback=self.failed)

    def parse_feed(self, response: Response):
        feed = feedparser.parse(response.body, response_headers=dict(_headers(response)))
        if not feed.entries:
            reason = getattr(feed, "bozo_exception", None) or "no entries"
            self.report_error(f"{response.url}: not a readable RSS/Atom feed ({reason})")
            return
        store = Store(self.settings.get("LEAKSENTRY_DATABASE"))
        try:
            for number, entry in enumerate(feed.entries, 1):
                link = entry_link(entry)
                if not link:
                    self.logger.warning("%s: entry %d has no link; skipped", response.url, number)
                    self.crawler.stats.inc_value("leaksentry/malformed_entries")
                    continue
                link = response.urljoin(link)
                if store.has_url(canonical_url(link)):
                    self.crawler.stats.inc_value("leaksentry/already_stored")
                    continue
                yield scrapy.Request(
                    link,
                    callback=self.parse_article,
                    errback=self.failed_page,
                    cb_kwargs={"entry": _entry_fields(entry)},
                )
        finally:
            store.close()

    def parse_article(self, response: Response, entry: dict):
        if not isinstance(response, TextResponse):
            self.logger.warning("%s: not a text page; skipped", response.url)
            self.crawler.stats.inc_value("leaksentry/unreadable_pages")
            return
        article = extract_article(response)
        if article is None:
            self.logger.warning("%s: no article text found; skipped", response.url)
            self.crawler.stats.inc_value("leaksentry/unreadable_pages")
            return
        yield CollectedItem(
            url=response.url,
            kind="news",
            source=self.source,
            title=article.title or entry["title"],
            text=article.text,
            published=entry["published"] or article.published,
            lang=article.lang,
        )

    def failed(self, failure):
        self.report_error(f"{failure.request.url}: {_describe(failure)}")

    def failed_page(self, failure):
        self.logger.warning("%s: page not fetched: %s", failure.request.url, _describe(failure))
        self.crawler.stats.inc_value("leaksentry/failed_pages")

    def report_error(self, message: str) -> None:
        """A source-level failure: logged, and recorded so `sources status` can show it."""
        self.logger.error(message)
        self.crawler.stats.set_value("leaksentry/error", message)


def entry_link(entry) -> str | None:
    """The entry's web link; feedparser may put a non-web id (tag:, urn:) there instead."""
    for candidate in [entry.get("link"), *(link.get("href") for link in entry.get("links", []))]:
        if candidate and urlsplit(candidate).scheme in ("http", "https", ""):
            return candidate
    return None


def _entry_fields(entry) -> dict:
    published = entry.get("published_parsed") or entry.get("updated_parsed")
    return {"title": entry.get("title", ""), "published": struct_time_iso(published)}


def _headers(response: Response):
    for key, values in response.headers.items():
        yield key.decode("latin-1").lower(), values[-1].decode("latin-1")


def _describe(failure) -> str:
    response = getattr(failure.value, "response", None)
    if response is not None:
        return f"HTTP {response.status}"
    return failure.getErrorMessage() or failure.type.__name__
