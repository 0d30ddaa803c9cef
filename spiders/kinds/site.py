"""A site's section page: the page at ``url``, the article links on it, then each article.

``follow`` holds regular expressions (searched in the absolute URL) that an article link
matches, e.g. ``["/news/20\\d\\d/"]``; without it, every link to a page on the same host is
followed. Scrapy's LinkExtractor finds the links (``<a href>``, no binary files, de-duplicated).
A section page has no dates: the article's own page gives the time; pages already stored are
not downloaded again.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import scrapy
from scrapy.http import HtmlResponse
from scrapy.linkextractors import LinkExtractor

from spiders.base import SourceSpider


class SiteSpider(SourceSpider):
    """The section page at ``url``; links matching ``follow``."""

    name = "site"
    kind = "site"

    async def start(self):
        yield scrapy.Request(self.url, callback=self.parse_section, errback=self.failed)

    def parse_section(self, response):
        if not isinstance(response, HtmlResponse):  # JSON or XML would break link extraction
            self.report_error(f"{response.url}: the section page is not HTML")
            return
        follow = self.options.get("follow", [])
        links = LinkExtractor(allow=follow).extract_links(response)
        if not follow:  # links on the same host (LinkExtractor's allow_domains misses any
            host = urlsplit(response.url).hostname  # host with a port: it compares netlocs)
            links = [link for link in links if urlsplit(link.url).hostname == host]
        if not links:
            self.logger.warning("%s: no article links on the section page", response.url)
        for link in links:
            if link.url.rstrip("/") == response.url.rstrip("/"):
                continue
            if request := self.article_request(link.url, link.text.strip()):
                yield request
