"""Sitemaps: a sitemap or sitemap index at ``url`` (Google News sitemaps included), then each page.

Every sitemap is fetched with a conditional GET (validators kept in the source's state; a 304
is not an error). In an index, a child sitemap whose ``lastmod`` has not changed since the last
run, or (first crawl) is older than the lookback, is not fetched. In a sitemap, an entry whose
``news:publication_date`` (else ``lastmod``) is older than the lookback is not followed;
``news:title`` and ``news:publication_date`` become the item's title and time when the page
lacks its own. Entries without any date are followed (pages already stored never are).

Scrapy's ``scrapy.utils.sitemap.Sitemap`` is not used: it keeps only the direct children of
``<url>``, so the nested ``news:news`` fields would be lost. lxml parses here with the same
guards (no entities, no network, recover from bad markup).
"""

from __future__ import annotations

import lxml.etree
from scrapy.utils.gz import gunzip, gzip_magic_number

from spiders.article import iso_date, iso_local
from spiders.base import SourceSpider

PARSER = lxml.etree.XMLParser(
    recover=True, resolve_entities=False, no_network=True, remove_comments=True
)
MAX_DEPTH = 2  # an index of indexes, no deeper


class SitemapSpider(SourceSpider):
    """A sitemap or sitemap index at ``url``."""

    name = "sitemap"
    kind = "sitemap"

    async def start(self):
        yield self.conditional_request(self.url, self.parse_sitemap, depth=0)

    def parse_sitemap(self, response, depth: int):
        if self.not_modified(response):
            return
        root = read_xml(response, self.settings.getint("DOWNLOAD_MAXSIZE"))
        kind = lxml.etree.QName(root).localname if root is not None else None
        if kind == "sitemapindex" and depth < MAX_DEPTH:
            yield from self.children(response, root, depth)
        elif kind == "urlset":
            yield from self.pages(response, root)
        else:
            self.report_error(f"{response.url}: not a readable sitemap or sitemap index")

    def children(self, response, root, depth: int):
        validators = self.state.setdefault("validators", {})
        for entry in root.iterfind("{*}sitemap"):
            loc = (entry.findtext("{*}loc") or "").strip()
            if not loc:
                self.malformed(response.url, "a <sitemap> without <loc>")
                continue
            url = response.urljoin(loc)
            lastmod = iso_date(entry.findtext("{*}lastmod"))
            if lastmod and lastmod > self.started_iso:  # a future date says nothing: a child
                lastmod = None  # dated 2099 that keeps its date is still read (conditional GET)
            before = validators.get(url, {}).get("lastmod")
            if lastmod and (lastmod == before or (before is None and lastmod < self.since_iso)):
                continue
            if lastmod:
                validators.setdefault(url, {})["lastmod"] = lastmod
            yield self.conditional_request(url, self.parse_sitemap, depth=depth + 1)

    def pages(self, response, root):
        for entry in root.iterfind("{*}url"):
            loc = (entry.findtext("{*}loc") or "").strip()
            if not loc:
                self.malformed(response.url, "a <url> without <loc>")
                continue
            news = entry.find("{*}news")
            stated = news.findtext("{*}publication_date") if news is not None else None
            published = iso_local(stated)  # the publisher's offset kept; compared in UTC
            title = (news.findtext("{*}title") or "").strip() if news is not None else ""
            if self.older_than_lookback(published or iso_date(entry.findtext("{*}lastmod"))):
                continue
            if request := self.article_request(response.urljoin(loc), title, published):
                yield request


def read_xml(response, max_size: int):
    """The root element of a (possibly gzipped) XML body, None when unreadable."""
    body = response.body
    try:
        if gzip_magic_number(response):
            body = gunzip(body, max_size=max_size)
        return lxml.etree.fromstring(body, parser=PARSER)
    except (lxml.etree.XMLSyntaxError, ValueError, OSError):
        return None
