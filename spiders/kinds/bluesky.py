"""Bluesky: post search and authors' feeds through the public AppView API (XRPC, no login).

``url`` is the AppView host (``https://public.api.bsky.app``). Pages are read newest first and
followed by ``cursor`` back to the lookback (first crawl) or to the newest post of the last run.
An item's URL is the post's web address, ``https://bsky.app/profile/<did>/post/<rkey>``, built
from its at:// URI; handles, display names and avatars are never read.
"""

from __future__ import annotations

from urllib.parse import urlencode

from spiders.kinds._api import ApiSpider, iso, public

WEB = "https://bsky.app"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
AUTHOR_FEED = "/xrpc/app.bsky.feed.getAuthorFeed"


class BlueskySpider(ApiSpider):
    """``queries`` (searchPosts, latest first) and ``actors`` (handles or DIDs)."""

    name = "bluesky"
    kind = "bluesky"

    async def start(self):
        for query in self.options.get("queries", []):
            yield self.page(f"q:{query}")
        for actor in self.options.get("actors", []):
            yield self.page(f"actor:{actor}")

    def page(self, listing: str, cursor: str | None = None):
        how, _, value = listing.partition(":")
        if how == "q":
            path, query = SEARCH, {"q": value, "sort": "latest", "since": self.floor(listing)}
        else:
            path, query = AUTHOR_FEED, {"actor": value, "filter": "posts_no_replies"}
        query |= {"limit": 100} | ({"cursor": cursor} if cursor else {})
        url = f"{self.url}{path}?{urlencode(query)}"
        return self.api_request(url, self.parse_page, listing=listing)

    def parse_page(self, response, listing: str):
        data = self.read_json(response)
        if data is None:
            return
        posts = posts_of(data, listing)
        if not isinstance(posts, list):
            self.report_error(f"{response.url}: unexpected JSON response (no posts)")
            return
        floor = self.floor(listing)
        reached = False
        for post in posts:
            post = post if isinstance(post, dict) else {}
            record = post["record"] if isinstance(post.get("record"), dict) else {}
            published, url = iso(record.get("createdAt")), web_url(post.get("uri"))
            if not (published and url and isinstance(record.get("text"), str)):
                self.malformed(response.url, "a post without uri, text or createdAt")
                continue
            if published < floor:
                reached = True
                continue
            self.seen(listing, published)
            langs = record.get("langs") or [None]
            evidence = public(post, "uri", "cid", "indexedAt", "record")
            if item := self.post(url, record["text"], published, lang=langs[0], evidence=evidence):
                yield item
        if posts and not reached and data.get("cursor"):
            yield self.page(listing, data["cursor"])


def posts_of(data, listing: str) -> list | None:
    """The posts of a searchPosts or getAuthorFeed answer; None when it holds neither."""
    if not isinstance(data, dict):
        return None
    if listing.startswith("q:"):
        return data.get("posts")
    feed = data.get("feed")
    if not isinstance(feed, list):
        return None
    # a repost (with a "reason") is someone else's post, not this author's
    return [e.get("post") for e in feed if isinstance(e, dict) and not e.get("reason")]


def web_url(uri) -> str | None:
    """at://did:plc:abc/app.bsky.feed.post/3kx -> https://bsky.app/profile/did:plc:abc/post/3kx"""
    if not isinstance(uri, str) or not uri.startswith("at://"):
        return None
    did, collection, rkey = (uri.removeprefix("at://").split("/") + ["", ""])[:3]
    if collection != "app.bsky.feed.post" or not rkey:
        return None
    return f"{WEB}/profile/{did}/post/{rkey}"
