"""What the API kinds share: JSON requests, the per-listing "newest seen" marks that make a run
incremental, post items without author fields, HTML to text and time formats.

A listing (a hashtag, a query, a subreddit, a channel...) is read newest first. The first crawl
goes back to the source's lookback; later runs go back only to the newest post of the last
successful run (``state["newest"][listing]``, an ISO time), so a run fetches what is new.

robots.txt applies to API requests too (Scrapy's default, kept on purpose). An API is meant
for programs, yet its host is the one to say whether a crawler is welcome: where robots.txt
allows the API paths (or there is none) nothing changes, and a host that forbids them
(reddit.com's robots.txt disallows everything since 2024) gets a clear "Forbidden by
robots.txt" source error, visible in ``sources status``, instead of being polled against its
wishes. The decision is one line to revisit per kind (``dont_obey_robotstxt`` in
``api_request``) should an operator hold an agreement with a platform.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import lxml.html
import scrapy
from scrapy.http import Response

from spiders.article import iso_date
from spiders.base import SourceSpider
from spiders.items import CollectedItem


class ApiSpider(SourceSpider):
    """Base of the kinds that read a platform's JSON API or public listing pages."""

    item_kind = "social"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        newest = {
            key: self.trusted_mark(mark) for key, mark in self.state.get("newest", {}).items()
        }
        if newest:  # a mark a run saved before marks were bounded is brought back to now
            self.state["newest"] = newest
        self.previous = dict(newest)  # marks of the last run, read-only

    # -- requests -----------------------------------------------------------------------------
    def api_request(self, url: str, callback, **cb_kwargs) -> scrapy.Request:
        """A request for one page of a listing; its failure is a source error."""
        return scrapy.Request(
            url,
            callback=callback,
            errback=self.failed,
            cb_kwargs=cb_kwargs,
            headers={"Accept": "application/json"},
        )

    def read_json(self, response: Response, *keys: str):
        """The JSON body (or the value under ``keys``), None after reporting a source error."""
        try:
            data = json.loads(response.body)
        except ValueError as exc:
            self.report_error(f"{response.url}: not a readable JSON response ({exc})")
            return None
        for key in keys:
            if not isinstance(data, dict) or key not in data:
                self.report_error(f"{response.url}: unexpected JSON response (no {key!r})")
                return None
            data = data[key]
        return data

    # -- incremental marks --------------------------------------------------------------------
    def floor(self, listing: str) -> str:
        """Posts older than this were seen by an earlier run (or lie beyond the lookback)."""
        previous = self.previous.get(listing)  # (a mark saved before marks were bounded is too)
        return self.trusted_mark(previous) if previous else self.since_iso

    def seen(self, listing: str, published: str) -> None:
        """Remember the newest post of a listing for the next run (never beyond now)."""
        newest = self.state.setdefault("newest", {})
        newest[listing] = max(newest.get(listing, ""), self.trusted_mark(published))

    # -- items --------------------------------------------------------------------------------
    def post(
        self,
        url: str,
        text: str,
        published: str,
        title: str = "",
        lang: str | None = None,
        evidence: dict | None = None,
    ):
        """A post as an item: its URL, text and time; never its author. None when stored.

        ``evidence`` is the post's own fields as the platform sent them (never the author's),
        kept as the item's raw response.
        """
        if self.known(url, self.item_kind):
            return None
        return CollectedItem(
            url=url,
            kind=self.item_kind,
            source=self.source,
            title=title,
            text=text,
            published=published,
            lang=lang.split("-")[0].lower() if lang else None,
            raw=json.dumps(evidence, ensure_ascii=False).encode() if evidence else None,
            raw_type="application/json" if evidence else None,
        )


def public(record: dict, *keys: str) -> dict:
    """The named fields of a post (a whitelist: author objects never pass)."""
    return {key: record[key] for key in keys if key in record}


def html_text(html: str | None) -> str:
    """Plain text of post HTML: paragraphs and line breaks kept, tags dropped."""
    if not html or not html.strip():
        return ""
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    for block in root.iter("p", "div", "li", "blockquote"):  # a line of its own
        block.text = "\n" + (block.text or "")
        block.tail = "\n" + (block.tail or "")
    lines = (line.strip() for line in root.text_content().splitlines())
    return "\n".join(line for line in lines if line)


def iso(value: str | None) -> str | None:
    """An ISO 8601 time as '2026-11-27T09:15:00Z' (UTC), None when unreadable."""
    return iso_date(value) if isinstance(value, str) else None


def epoch_iso(seconds) -> str | None:
    """Seconds since the epoch as '2026-11-27T09:15:00Z', None when not a number."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
