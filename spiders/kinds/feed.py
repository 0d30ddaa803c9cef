"""RSS and Atom feeds: read the feed, then follow each entry to its article page.

The feed is fetched with a conditional GET (the ETag / Last-Modified of the last run, kept in
the source's state): a 304 means nothing new and is not an error.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import feedparser
from scrapy.http import Response

from spiders.article import struct_time_iso
from spiders.base import SourceSpider


class FeedSpider(SourceSpider):
    """A feed at `url`; entries already stored are not downloaded again."""

    name = "feed"
    kind = "feed"

    async def start(self):
        yield self.conditional_request(self.url, self.parse_feed)

    def parse_feed(self, response: Response):
        if self.not_modified(response):
            return
        feed = feedparser.parse(response.body, response_headers=dict(_headers(response)))
        if not feed.entries:
            reason = getattr(feed, "bozo_exception", None) or "no entries"
            self.report_error(f"{response.url}: not a readable RSS/Atom feed ({reason})")
            return
        for number, entry in enumerate(feed.entries, 1):
            link = entry_link(entry)
            if not link:
                self.malformed(f"{response.url} entry {number}", "no link")
                continue
            published = struct_time_iso(
                entry.get("published_parsed") or entry.get("updated_parsed")
            )
            if self.older_than_lookback(published):  # not even fetched
                continue
            request = self.article_request(
                response.urljoin(link), entry.get("title", ""), published
            )
            if request is not None:
                yield request


def entry_link(entry) -> str | None:
    """The entry's web link; feedparser may put a non-web id (tag:, urn:) there instead."""
    for candidate in [entry.get("link"), *(link.get("href") for link in entry.get("links", []))]:
        if candidate and urlsplit(candidate).scheme in ("http", "https", ""):
            return candidate
    return None


def _headers(response: Response):
    for key, values in response.headers.items():
        yield key.decode("latin-1").lower(), values[-1].decode("latin-1")
