"""GDELT DOC 2.0: news articles worldwide matching a query, then each article's page.

``url`` is the API host (``https://api.gdeltproject.org``). Each run asks ``mode=artlist`` for
articles seen from the lookback (first crawl) or from the newest article of the last run
(``startdatetime``), newest first. A full answer (``maxrecords``) may hide older articles, so
the window is narrowed (``enddatetime`` = the oldest article seen) and asked again. GDELT
answers some errors as plain text with status 200: that is reported as a source error.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

from spiders.kinds._api import ApiSpider

MAXRECORDS = 75  # GDELT's default page; the API allows up to 250


class GdeltSpider(ApiSpider):
    """``queries``: GDELT query strings (keywords, phrases, ``domain:``, ``sourcelang:`` ...)."""

    name = "gdelt"
    kind = "gdelt"
    item_kind = "news"

    async def start(self):
        for query in self.options.get("queries", []):
            yield self.page(query)

    def page(self, query: str, end: str | None = None):
        params = {
            "query": query,
            "mode": "artlist",
            "format": "json",
            "maxrecords": MAXRECORDS,
            "sort": "datedesc",
            "startdatetime": compact(self.floor(query)),
        } | ({"enddatetime": end} if end else {})
        url = f"{self.url.rstrip('/')}/api/v2/doc/doc?{urlencode(params)}"
        return self.api_request(url, self.parse_page, query=query, end=end)

    def parse_page(self, response, query: str, end: str | None):
        data = self.read_json(response)
        if data is None:
            return
        articles = data.get("articles", []) if isinstance(data, dict) else None  # {} when none
        if not isinstance(articles, list):
            self.report_error(f"{response.url}: unexpected JSON response (no articles)")
            return
        seen = []
        for article in articles:
            article = article if isinstance(article, dict) else {}
            published = seendate_iso(article.get("seendate"))
            if not (published and str(article.get("url", "")).startswith(("http://", "https://"))):
                self.malformed(response.url, "an article without url or seendate")
                continue
            seen.append(article["seendate"])
            self.seen(query, published)
            request = self.article_request(article["url"], article.get("title") or "", published)
            if request is not None:
                yield request
        oldest = compact(seendate_iso(min(seen))) if seen else None
        if len(articles) >= MAXRECORDS and oldest and oldest != end:
            yield self.page(query, end=oldest)


def seendate_iso(value) -> str | None:
    """'20261127T091500Z' -> '2026-11-27T09:15:00Z'."""
    try:
        parsed = datetime.strptime(str(value), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


def compact(iso_time: str) -> str:
    """'2026-11-27T09:15:00Z' -> '20261127091500' (GDELT's startdatetime/enddatetime)."""
    return iso_time.replace("-", "").replace(":", "").replace("T", "").removesuffix("Z")
