"""What every source spider shares: its configuration, its incremental state, the store check
that skips pages already stored, article pages, and error reporting."""

from __future__ import annotations

from datetime import timedelta

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError

from leaksentry import clock
from leaksentry.records import parse_iso_datetime
from leaksentry.storage import Store, open_store
from spiders.article import extract_article, extract_article_off_thread, local_iso, parse_time
from spiders.guard import source_origin
from spiders.items import CollectedItem
from spiders.pipelines import canonical_url, identity

GONE_DAYS = 7  # a page that answered 404/410 is asked again after this many days


class SourceSpider(scrapy.Spider):
    """Base of every spider. Arguments come from the source's [[source]] table.

    ``state`` is the source's saved state from the last successful run (empty on the first);
    a spider updates ``self.state`` as it goes, and the crawl runner saves it when the run
    ends without a source-level error. ``since`` is the oldest publication time the first
    crawl reaches back to (the source's ``lookback``).
    """

    kind = ""
    item_kind = "news"  # news | social

    def __init__(
        self,
        source: str,
        url: str,
        options: dict | None = None,
        state: dict | None = None,
        lookback: int = 86400,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.source = source
        self.url = url.rstrip("/") if self.item_kind == "social" else url
        self.options = dict(options or {})
        self.state = dict(state or {})
        self.allowed_origins = {source_origin(url)}  # its own host and port (spiders.guard)
        self.started = clock.now()
        self.since = self.started - timedelta(seconds=lookback)
        self.since_iso = self.since.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.started_iso = self.started.strftime("%Y-%m-%dT%H:%M:%SZ")
        self._store: Store | None = None
        self._looked_up: dict[tuple[str, str], bool] = {}  # (kind, url) -> stored (look_up)

    # -- marks -------------------------------------------------------------------------------
    def trusted_mark(self, when: str) -> str:
        """An ISO time from a post, feed or sitemap (set by its author or host), fit to be a
        cursor: never later than the start of this crawl. A post dated 2099 is stored like any
        other, but it cannot move a source's cursor past now and hide every later post."""
        return min(when, self.started_iso)

    # -- the store, read-only here: the pipeline writes --------------------------------------
    def known(self, url: str, kind: str = "news") -> bool:
        """True when the page (or, with ``kind`` social, the post) is already stored: it is
        not downloaded again. A post never makes a page count as stored (see ``identity``)."""
        stored = self._looked_up.pop((kind, url), None)
        if stored is None:
            stored = self._reader().has_url(identity(kind, url))
        if stored:
            self.crawler.stats.inc_value("leaksentry/already_stored")
            return True
        return False

    def look_up(self, urls: list[str], kind: str = "news") -> None:
        """Ask the store about a listing's addresses in one query; ``known`` answers from it."""
        keys = {(kind, url): identity(kind, url) for url in urls if url}
        stored = self._reader().stored_urls(keys.values())
        self._looked_up.update({key: canonical in stored for key, canonical in keys.items()})

    def _reader(self) -> Store:
        if self._store is None:
            self._store = open_store(self.settings.get("LEAKSENTRY_DATABASE"))
        return self._store

    def closed(self, reason):
        if self._store is not None:
            self._store.close()

    # -- article pages ------------------------------------------------------------------------
    def article_request(
        self, url: str, title: str = "", published: str | None = None, kind: str | None = None
    ):
        """A request for an article page, or None when it is already stored.

        ``kind`` overrides the spider's item kind: a page linked from a post is news.
        """
        if self.known(url, kind or self.item_kind) or self.gone(url):
            return None
        return scrapy.Request(
            url,
            callback=self.read_article,
            errback=self.failed_page,
            cb_kwargs={"title": title, "published": published, "kind": kind},
        )

    async def read_article(
        self,
        response: Response,
        title: str = "",
        published: str | None = None,
        kind: str | None = None,
    ):
        """The article pages' callback: the page is read in the extraction thread."""
        if not isinstance(response, TextResponse):
            self.skip_page(response.url, "not a text page")
            return
        article = await extract_article_off_thread(response)
        for item in self.article_items(response, article, title, published, kind):
            yield item

    def parse_article(
        self,
        response: Response,
        title: str = "",
        published: str | None = None,
        kind: str | None = None,
    ):
        """``read_article`` in the calling thread."""
        if not isinstance(response, TextResponse):
            self.skip_page(response.url, "not a text page")
            return
        yield from self.article_items(response, extract_article(response), title, published, kind)

    def article_items(
        self, response: Response, article, title: str, published: str | None, kind: str | None
    ):
        """The page's item, if it has an article newer than the lookback."""
        if article is None:
            self.skip_page(response.url, "no article text found")
            return
        if self.older_than_lookback(published or article.published):
            return
        if article.truncated:
            self.crawler.stats.inc_value("leaksentry/truncated")
        yield CollectedItem(
            url=response.url,
            kind=kind or self.item_kind,
            source=self.source,
            title=article.title or title,
            text=article.text,
            published=publication_time(published, article.published),
            lang=article.lang,
            raw=response.body,
            raw_type=response.headers.get("Content-Type", b"").decode("latin-1"),
        )

    def older_than_lookback(self, published: str | None) -> bool:
        """True (counted, logged at debug) for a news page of a news source published before
        the lookback: a feed, sitemap, section page or GDELT list stores nothing older.
        Pages linked from posts are kept whatever their age: the post is what is new."""
        if self.item_kind != "news" or not published:
            return False
        when, since = parse_iso_datetime(published), parse_iso_datetime(self.since_iso)
        if when is None or since is None or when >= since:  # instants: offsets differ
            return False
        self.logger.debug(
            "published %s, before the lookback (%s): skipped", published, self.since_iso
        )
        self.crawler.stats.inc_value("leaksentry/older_than_lookback")
        return True

    # -- conditional GET (feeds, sitemaps) ----------------------------------------------------
    def conditional_request(self, url: str, callback, **cb_kwargs) -> scrapy.Request:
        """A GET carrying the ETag / Last-Modified saved for ``url``; a 304 reaches the callback."""
        saved = self.state.get("validators", {}).get(url, {})
        headers = {}
        if saved.get("etag"):
            headers["If-None-Match"] = saved["etag"]
        if saved.get("last_modified"):
            headers["If-Modified-Since"] = saved["last_modified"]
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.failed,
            headers=headers,
            cb_kwargs=cb_kwargs,
            meta={"handle_httpstatus_list": [304], "validators_key": url},
        )

    def not_modified(self, response: Response) -> bool:
        """True on a 304 (nothing to do); otherwise keep the response's validators."""
        if response.status == 304:
            self.logger.info("%s: not modified since the last run", response.url)
            self.crawler.stats.inc_value("leaksentry/not_modified")
            return True
        validators = {
            key: value.decode("latin-1")
            for key, header in (("etag", "ETag"), ("last_modified", "Last-Modified"))
            if (value := response.headers.get(header))
        }
        saved = self.state.setdefault("validators", {})
        key = response.meta.get("validators_key", response.url)
        kept = {k: v for k, v in saved.get(key, {}).items() if k not in ("etag", "last_modified")}
        saved[key] = kept | validators
        if not saved[key]:
            del saved[key]
        return False

    # -- errors -------------------------------------------------------------------------------
    def skip_page(self, url: str, why: str) -> None:
        self.logger.warning("%s: %s; skipped", url, why)
        self.crawler.stats.inc_value("leaksentry/unreadable_pages")

    def malformed(self, where: str, why: str) -> None:
        """An entry or post that cannot be used: logged and counted, the rest goes on."""
        self.logger.warning("%s: %s; skipped", where, why)
        self.crawler.stats.inc_value("leaksentry/malformed_entries")

    def report_error(self, message: str) -> None:
        """A source-level failure: logged, recorded for `sources status`, state not saved."""
        # marked: a terse crawl (spiders.crawl --terse) leaves it to the source's result line
        logger = getattr(self.logger, "logger", self.logger)  # an adapter replaces `extra`
        logger.error(message, extra={"spider": self, "source_error": True})
        self.crawler.stats.set_value("leaksentry/error", message)

    def failed(self, failure):
        """Errback of the source's own requests (feed, API, listing)."""
        self.report_error(f"{failure.request.url}: {describe_failure(failure)}")

    def failed_page(self, failure):
        """Errback of article pages: one page lost is not a source failure."""
        self.logger.warning(
            "%s: page not fetched: %s", failure.request.url, describe_failure(failure)
        )
        self.crawler.stats.inc_value("leaksentry/failed_pages")
        if passing(failure):  # the next run reads its feeds and sitemaps in full (no
            self.state.pop("validators", None)  # conditional GET): the page is tried again
        elif failure.check(HttpError) and failure.value.response.status in (404, 410):
            gone = self.state.setdefault("gone", {})  # not asked again for GONE_DAYS
            gone[canonical_url(failure.request.url)] = clock.now().strftime("%Y-%m-%d")

    def gone(self, url: str) -> bool:
        """True for a page that answered 404 or 410 within GONE_DAYS: not asked again yet."""
        gone = self.state.get("gone", {})
        cutoff = (clock.now() - timedelta(days=GONE_DAYS)).strftime("%Y-%m-%d")
        for key in [k for k, day in gone.items() if day < cutoff]:  # forget old ones
            del gone[key]
        return canonical_url(url) in gone


def passing(failure) -> bool:
    """A failure that may not happen next time: a timeout, a lost connection, a 5xx, a 429
    (not a 404, nor a page robots.txt forbids)."""
    if failure.check(HttpError):
        status = failure.value.response.status
        return status >= 500 or status == 429
    return not failure.check(IgnoreRequest)


def describe_failure(failure) -> str:
    response = getattr(failure.value, "response", None)
    if response is not None:
        return f"HTTP {response.status}"
    return failure.getErrorMessage() or failure.type.__name__


def publication_time(listing: str | None, page: str | None) -> str | None:
    """The item's publication time: the listing's (feed, sitemap, GDELT) when it gives one,
    as before, else the page's; told in the page's UTC offset when the listing's is UTC and
    the page carries the publisher's offset. A feed's 22:30Z for a page published at
    00:30+02:00 is stored as '...T00:30:00+02:00': the publisher's day is the one relative
    dates in the text count from."""
    if not listing:
        return page
    listed, own = parse_time(listing), parse_time(page)
    if listed is None or listed.utcoffset() or own is None or not own.utcoffset():
        return listing
    return local_iso(listed.astimezone(own.tzinfo))
