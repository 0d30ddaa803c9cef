"""Reddit: subreddits' new posts and a site-wide search sorted by new (the public .json listings).

Listings are read newest first and followed by ``after`` back to the lookback (first crawl) or
to the newest post of the last run. A post is an item (title and, for a self post, its text).
A link post's target is also followed as a news article when it lies outside Reddit: a leak
posted as a link is in the linked page, not in the title (robots.txt of that site applies).

Note: reddit.com's robots.txt disallows every crawler since 2024, so pointed at
``https://www.reddit.com`` this source reports "Forbidden by robots.txt" until Reddit grants
access; the kind serves hosts that allow it.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlsplit

from spiders.kinds._api import ApiSpider, epoch_iso, public

LIMIT = 100  # the listing maximum
# what is kept as evidence of a post: its own fields, not its author's
POST_FIELDS = (
    "name",
    "permalink",
    "created_utc",
    "edited",
    "title",
    "selftext",
    "url",
    "subreddit",
)
REDDIT_HOSTS = ("reddit.com", "redd.it", "redditmedia.com")
GONE = ("[removed]", "[deleted]")  # what Reddit leaves of a removed post's text


class RedditSpider(ApiSpider):
    """``subreddits`` (names without r/) and ``queries`` (site-wide search)."""

    name = "reddit"
    kind = "reddit"

    async def start(self):
        for subreddit in self.options.get("subreddits", []):
            yield self.page(f"r:{subreddit.removeprefix('r/')}")
        for query in self.options.get("queries", []):
            yield self.page(f"q:{query}")

    def page(self, listing: str, after: str | None = None):
        how, _, value = listing.partition(":")
        query = {"q": value, "sort": "new"} if how == "q" else {}
        query |= {"limit": LIMIT, "raw_json": 1} | ({"after": after} if after else {})
        path = "/search.json" if how == "q" else f"/r/{quote(value)}/new.json"
        return self.api_request(
            f"{self.url}{path}?{urlencode(query)}", self.parse_page, listing=listing
        )

    def parse_page(self, response, listing: str):
        data = self.read_json(response, "data")
        if data is None:
            return
        children = data.get("children") if isinstance(data, dict) else None
        if not isinstance(children, list):
            self.report_error(f"{response.url}: not a Reddit listing")
            return
        floor = self.floor(listing)
        reached = False
        for child in children:
            t3 = isinstance(child, dict) and child.get("kind") == "t3"
            post = child["data"] if t3 and isinstance(child.get("data"), dict) else {}
            published = epoch_iso(post.get("created_utc"))
            if not (published and post.get("permalink") and post.get("title")):
                self.malformed(response.url, "a post without permalink, title or created_utc")
                continue
            if published < floor:
                reached = True
                continue
            self.seen(listing, published)
            text = post.get("selftext") or ""
            text = "" if text in GONE else text
            # the post's own page on the host asked: a permalink is a path, never another site
            url = response.urljoin("/" + urlsplit(str(post["permalink"])).path.lstrip("/"))
            evidence = public(post, *POST_FIELDS)
            if item := self.post(url, text, published, post["title"], evidence=evidence):
                yield item
            link = outside_link(post)
            if link and (request := self.article_request(link, post["title"], kind="news")):
                yield request
        if children and not reached and data.get("after"):
            yield self.page(listing, data["after"])


def outside_link(post: dict) -> str | None:
    """A link post's target when it is a web page outside Reddit."""
    link = post.get("url") or ""
    parts = urlsplit(link)
    if post.get("is_self") or parts.scheme not in ("http", "https"):
        return None
    return None if (parts.hostname or "").endswith(REDDIT_HOSTS) else link
