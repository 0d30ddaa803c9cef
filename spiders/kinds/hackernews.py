"""Hacker News: stories and comments matching a query, through Algolia's HN Search API.

``url`` is the API host (``https://hn.algolia.com``). Each run asks ``search_by_date`` for hits
at or after the lookback (first crawl) or the newest hit of the last run
(``numericFilters=created_at_i>=…``) and reads every page of the answer. A hit's item is its
HN page (``https://news.ycombinator.com/item?id=…``) with its title and text; a link story's
target is also followed as a news article. Author names are never read.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from spiders.kinds._api import ApiSpider, epoch_iso, html_text, public

ITEM = "https://news.ycombinator.com/item?id="
PER_PAGE = 100
# what is kept as evidence of a hit: its own fields, not its author
HIT_FIELDS = ("objectID", "created_at", "title", "url", "story_text", "comment_text", "story_id")


class HackerNewsSpider(ApiSpider):
    """``queries``: full-text searches over stories and comments."""

    name = "hackernews"
    kind = "hackernews"

    async def start(self):
        for query in self.options.get("queries", []):
            yield self.page(query, 0)

    def page(self, query: str, number: int):
        after = int(datetime.fromisoformat(self.floor(query).replace("Z", "+00:00")).timestamp())
        params = {
            "query": query,
            "tags": "(story,comment)",
            "numericFilters": f"created_at_i>={after}",
            "hitsPerPage": PER_PAGE,
            "page": number,
        }
        url = f"{self.url}/api/v1/search_by_date?{urlencode(params)}"
        return self.api_request(url, self.parse_page, query=query, number=number)

    def parse_page(self, response, query: str, number: int):
        data = self.read_json(response)
        hits = data.get("hits") if isinstance(data, dict) else None
        if not isinstance(hits, list):
            if data is not None:
                self.report_error(f"{response.url}: unexpected JSON response (no hits)")
            return
        for hit in hits:
            hit = hit if isinstance(hit, dict) else {}
            published = epoch_iso(hit.get("created_at_i"))
            if not (published and str(hit.get("objectID", "")).isdigit()):
                self.malformed(response.url, "a hit without objectID or created_at_i")
                continue
            self.seen(query, published)
            title = hit.get("title") or ""
            text = html_text(hit.get("story_text") or hit.get("comment_text"))
            evidence = public(hit, *HIT_FIELDS)
            if item := self.post(ITEM + hit["objectID"], text, published, title, evidence=evidence):
                yield item
            if hit.get("url") and (request := self.article_request(hit["url"], title, kind="news")):
                yield request
        pages = data.get("nbPages")
        if hits and isinstance(pages, int) and number + 1 < pages:
            yield self.page(query, number + 1)
