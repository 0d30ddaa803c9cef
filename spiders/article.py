"""Main text, title and publication time of an article page (trafilatura does the work)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from scrapy.http import TextResponse
from scrapy.utils.defer import maybe_deferred_to_future

PUBLISHED_META = (
    'meta[property="article:published_time"]::attr(content)',
    'meta[name="date"]::attr(content)',
    'meta[itemprop="datePublished"]::attr(content)',
    "article time::attr(datetime)",
    "time::attr(datetime)",
)


SHORT_ARTICLE_WORDS = 80
PAYWALL_MARKERS = (
    "subscribe to continue",
    "subscribe to read",
    "subscribers only",
    "for subscribers",
    "log in to continue reading",
    "sign in to read",
    "this article is for members",
    'class="paywall',
)


@dataclass
class Article:
    title: str
    text: str
    published: str | None
    lang: str | None
    truncated: bool = False  # the text looks cut short (paywall, teaser)


def extract_article(response: TextResponse) -> Article | None:
    """None when the page holds no readable main text."""
    import trafilatura  # a third of a crawl process's start: only once a page is read

    document = trafilatura.bare_extraction(
        response.text, url=response.url, with_metadata=True, include_comments=False
    )
    if document is None or not (document.text or "").strip():
        return None
    title = (document.title or "").strip()
    text = document.text.strip()
    first, _, rest = text.partition("\n")
    if title and first.strip() == title:  # trafilatura repeats the headline as the first line
        text = rest.strip()
    published = page_published(response) or iso_local(document.date)
    lang = (_css(response, "html::attr(lang)") or "").split("-")[0].lower() or None
    return Article(title, text, published, lang, looks_truncated(text, response.text))


_EXTRACTION_POOL = None


async def extract_article_off_thread(response: TextResponse) -> Article | None:
    """``extract_article`` in the crawl's extraction thread: the reactor thread goes on
    downloading, parsing feeds and handing items to the store while a page is read.

    One thread (pages are read one at a time, as before; trafilatura's caches see one
    caller), started on first use and stopped when the reactor stops."""
    global _EXTRACTION_POOL
    from twisted.internet import reactor
    from twisted.internet.threads import deferToThreadPool
    from twisted.python.threadpool import ThreadPool

    if _EXTRACTION_POOL is None:
        _EXTRACTION_POOL = ThreadPool(1, 1, "leaksentry-extract")
        _EXTRACTION_POOL.start()
        reactor.addSystemEventTrigger("during", "shutdown", _stop_extraction)
    deferred = deferToThreadPool(reactor, _EXTRACTION_POOL, extract_article, response)
    return await maybe_deferred_to_future(deferred)


def _stop_extraction() -> None:
    global _EXTRACTION_POOL
    if _EXTRACTION_POOL is not None:
        _EXTRACTION_POOL.stop()
        _EXTRACTION_POOL = None


def looks_truncated(text: str, page: str) -> bool:
    """Text that stops mid-sentence or on an ellipsis or "read more", or a paywall notice on
    the page. A short text that ends with a full sentence is complete (a brief news item);
    a long one is judged by its ending only where that ending says it was cut."""
    body = text.rstrip()
    lowered = page.lower()
    return (
        body.endswith(("…", "...", ",", ";", ":", "-", "–"))
        or body.lower().rstrip(".:»>›→ ").endswith(READ_MORE)
        or (len(body.split()) < SHORT_ARTICLE_WORDS and not _ends_a_sentence(body))
        or any(marker in lowered for marker in PAYWALL_MARKERS)
    )


READ_MORE = ("read more", "continue reading", "read the full story", "read the full article")


def _ends_a_sentence(text: str) -> bool:
    """Ends with . ! or ? (also inside closing quotes or brackets)."""
    return text.rstrip("\"'”’»)]* ").endswith((".", "!", "?"))


def page_published(response: TextResponse) -> str | None:
    """The page's own machine-readable publication time, as ISO 8601 with the publisher's
    offset when the page gives one (see `iso_local`)."""
    for selector in PUBLISHED_META:
        value = _css(response, selector)
        if value and (parsed := iso_local(value)):
            return parsed
    return None


def _css(response: TextResponse, selector: str) -> str | None:
    """A selector's first value; None when the body is not markup (JSON has no CSS)."""
    try:
        return response.css(selector).get()
    except ValueError:
        return None


def iso_date(value: str | None) -> str | None:
    """'2026-11-03T07:15:00+01:00' -> '2026-11-03T06:15:00Z' (UTC); None when unreadable.

    For times compared as strings (crawl floors, cursors); an item's stored publication
    time keeps the publisher's offset instead (`iso_local`)."""
    parsed = parse_time(value)
    return utc_iso(parsed) if parsed else None


def iso_local(value: str | None) -> str | None:
    """An ISO 8601 time keeping the publisher's UTC offset: '2028-03-01T00:30:00+02:00'
    stays as it is (the publisher's day is what "tomorrow" in the text counts from); UTC,
    or no offset at all, gives '...Z'. Seconds precision; None when unreadable."""
    parsed = parse_time(value)
    return local_iso(parsed) if parsed else None


def parse_time(value: str | None) -> datetime | None:
    """An aware datetime from ISO 8601 text ('Z' allowed; no offset = UTC), None if unreadable."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def utc_iso(parsed: datetime) -> str:
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_iso(parsed: datetime) -> str:
    """'2028-03-01T00:30:00+02:00' for a non-zero offset, '...Z' for UTC."""
    if not parsed.utcoffset():
        return utc_iso(parsed)
    return parsed.replace(microsecond=0).isoformat(timespec="seconds")


def struct_time_iso(value) -> str | None:
    """feedparser's UTC struct_time -> ISO 8601."""
    if not value:
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError):
        return None
