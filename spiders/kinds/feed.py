"""RSS and Atom feeds: read the feed, then follow each entry to its article page.

The feed is fetched with a conditional GET (the ETag / Last-Modified of the last run, kept in
the source's state): a 304 means nothing new and is not an error.
"""

from __future__ import annotations

from datetime import UTC
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import feedparser
from scrapy.http import Response

from spiders.article import iso_local, local_iso, struct_time_iso
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
        self.look_up([response.urljoin(link) for e in feed.entries if (link := entry_link(e))])
        for number, entry in enumerate(feed.entries, 1):
            link = entry_link(entry)
            if not link:
                self.malformed(f"{response.url} entry {number}", "no link")
                continue
            published = entry_published(entry)
            if self.older_than_lookback(published):  # not even fetched
                continue
            request = self.article_request(
                response.urljoin(link), entry.get("title", ""), published
            )
            if request is not None:
                yield request


def entry_published(entry) -> str | None:
    """The entry's publication (else update) time with the publisher's UTC offset as the
    feed writes it: RSS 'Wed, 01 Mar 2028 00:30:00 +0200' -> '2028-03-01T00:30:00+02:00',
    Atom ISO 8601 likewise; feedparser's parsed time (UTC) when the text is unreadable."""
    for key in ("published", "updated"):
        text = entry.get(key)
        if isinstance(text, str) and (stored := iso_local(text) or _rfc822_local(text)):
            return stored
    return struct_time_iso(entry.get("published_parsed") or entry.get("updated_parsed"))


def _rfc822_local(text: str) -> str | None:
    try:
        parsed = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:  # "-0000": UTC with no local offset known
        parsed = parsed.replace(tzinfo=UTC)
    return local_iso(parsed)


def entry_link(entry) -> str | None:
    """The entry's web link; feedparser may put a non-web id (tag:, urn:) there instead."""
    for candidate in [entry.get("link"), *(link.get("href") for link in entry.get("links", []))]:
        if candidate and urlsplit(candidate).scheme in ("http", "https", ""):
            return candidate
    return None


def _headers(response: Response):
    for key, values in response.headers.items():
        yield key.decode("latin-1").lower(), values[-1].decode("latin-1")
