"""Downloader middleware: a host that answers 429 or 503 with ``Retry-After`` is waited for.

Settings (see ``spiders/settings.py``):

- ``RETRY_AFTER_MAX_WAIT`` (seconds, default 60): a longer wait is not waited for. The request
  is given up, every other request to that host in this run is dropped, and the source gets a
  source-level error, so its incremental state is not saved and the next run fetches the same
  range again: nothing is lost, the host is left alone.
- ``RETRY_AFTER_MAX_TIMES`` (default 3): after this many waits for one request it is given up
  the same way.

While a host's wait runs, every request to that host waits too (not only the one that got the
429). A 429 or 503 without ``Retry-After`` (or, for 429, ``X-RateLimit-Reset``) is left to
Scrapy's RetryMiddleware, which retries it ``RETRY_TIMES`` times. Place this middleware after
RetryMiddleware (a higher number than 550) so that it sees the response first.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from scrapy.exceptions import IgnoreRequest
from scrapy.utils.asyncio import sleep
from scrapy.utils.httpobj import urlparse_cached

RATE_LIMITED = (429, 503)


class RetryAfterMiddleware:
    """Wait as long as a rate-limited host asks (within bounds), then retry."""

    def __init__(self, crawler, max_wait: float, max_times: int):
        self.crawler = crawler
        self.max_wait = max_wait
        self.max_times = max_times
        self.resume_at: dict[str, float] = {}  # host -> monotonic time it may be asked again
        self.given_up: dict[str, str] = {}  # host -> why nothing more is asked this run

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        return cls(
            crawler,
            settings.getfloat("RETRY_AFTER_MAX_WAIT", 60.0),
            settings.getint("RETRY_AFTER_MAX_TIMES", 3),
        )

    async def process_request(self, request):
        host = urlparse_cached(request).netloc
        if host in self.given_up:
            raise IgnoreRequest(self.given_up[host])
        wait = self.resume_at.get(host, 0.0) - time.monotonic()
        if wait > 0:
            await sleep(wait)

    async def process_response(self, request, response):
        if response.status not in RATE_LIMITED:
            return response
        wait = retry_after(response)
        if wait is None:
            return response
        host = urlparse_cached(request).netloc
        times = request.meta.get("retry_after_times", 0)
        stats = self.crawler.stats
        if wait > self.max_wait or times >= self.max_times:
            why = (
                f"HTTP {response.status} with Retry-After {wait:.0f} s"
                + (f" (over the {self.max_wait:.0f} s bound)" if wait > self.max_wait else "")
                + (f" after {times} wait(s)" if times else "")
                + f"; {host} left alone for this run"
            )
            self.given_up[host] = why
            stats.inc_value("leaksentry/rate_limited_given_up")
            spider = self.crawler.spider
            if hasattr(spider, "report_error"):
                spider.report_error(f"{request.url}: {why}")
            raise IgnoreRequest(why)
        self.resume_at[host] = max(self.resume_at.get(host, 0.0), time.monotonic() + wait)
        stats.inc_value("leaksentry/rate_limited_waits")
        self.crawler.spider.logger.info(
            "%s: HTTP %s, waiting %.1f s as asked (Retry-After)", request.url, response.status, wait
        )
        retry = request.replace(dont_filter=True)
        retry.meta["retry_after_times"] = times + 1
        return retry


def retry_after(response) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date), else, on a 429, from
    ``X-RateLimit-Reset`` (seconds, or an ISO time as Mastodon sends); None when absent."""
    value = _header(response, "Retry-After")
    if value is not None:
        return _seconds(value, http_date=True)
    value = _header(response, "X-RateLimit-Reset")
    if value is not None and response.status == 429:
        return _seconds(value, http_date=False)
    return None


def _header(response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1").strip() if value else None


def _seconds(value: str, http_date: bool) -> float | None:
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = (
            parsedate_to_datetime(value)
            if http_date
            else datetime.fromisoformat(value.replace("Z", "+00:00"))
        )
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
