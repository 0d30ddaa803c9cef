"""Mastodon: hashtag timelines and the server's local timeline (the public REST API, no login).

The first crawl pages back with ``max_id`` until the lookback; later runs ask for what is newer
than the newest status seen (``min_id`` kept per timeline in the source's state), page after
page while pages come back full. Boosts are skipped (the original is its own status).

A status id is a snowflake: the time it was made (from ``created_at``, which a remote server
sets) shifted left 16 bits. An id beyond the start of the crawl is never kept as ``min_id``
(a status dated 2099 would otherwise hide every later status): see ``cap``.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlsplit

from spiders.kinds._api import ApiSpider, html_text, iso, public

LIMIT = 40  # the API's maximum page size
# what is kept as evidence of a status: its own fields, not its account
STATUS_FIELDS = (
    "id",
    "created_at",
    "edited_at",
    "url",
    "uri",
    "language",
    "spoiler_text",
    "content",
)


class MastodonSpider(ApiSpider):
    """``hashtags`` (without #) and/or ``local_timeline = true`` on the server at ``url``."""

    name = "mastodon"
    kind = "mastodon"

    async def start(self):
        timelines = [
            f"tag/{quote(tag.lstrip('#'), safe='')}" for tag in self.options.get("hashtags", [])
        ]
        if self.options.get("local_timeline"):
            timelines.append("public")
        saved = self.state.get("min_id", {})
        for timeline in list(saved):  # one saved before ids were bounded is brought back
            saved[timeline] = str(min(int(saved[timeline]), self.cap))
        for timeline in timelines:
            min_id = saved.get(timeline)
            yield self.page(timeline, min_id=min_id) if min_id else self.page(timeline)

    @property
    def cap(self) -> int:
        """The highest status id made by the start of this crawl (a snowflake id: the time in
        milliseconds, shifted left 16 bits, plus a sequence)."""
        return (int(self.started.timestamp() * 1000) << 16) | 0xFFFF

    def page(self, timeline: str, **ids):
        query = {"local": "true"} if timeline == "public" else {}
        query |= {"limit": LIMIT, **ids}
        url = f"{self.url}/api/v1/timelines/{timeline}?{urlencode(query)}"
        return self.api_request(url, self.parse_page, timeline=timeline, ids=ids)

    def parse_page(self, response, timeline: str, ids: dict):
        """The page's posts; the next page is asked for first, so it downloads while the
        posts go through the pipelines."""
        statuses = self.read_json(response)
        if not isinstance(statuses, list):
            if statuses is not None:
                self.report_error(f"{response.url}: not a list of statuses")
            return
        after = int(ids.get("min_id", 0))  # catching up: only what is newer than this
        addresses = [own_address(s) if isinstance(s, dict) else None for s in statuses]
        self.look_up([url for url in addresses if url], self.item_kind)
        numbers, items, reached_lookback = [], [], False
        for status, url in zip(statuses, addresses, strict=True):
            if not isinstance(status, dict) or not str(status.get("id", "")).isdigit():
                self.malformed(response.url, "a status without a numeric id")
                continue
            numbers.append(int(status["id"]))
            published = iso(status.get("created_at"))
            if not (published and url):
                self.malformed(f"{response.url} status {status['id']}", "no time or URL")
                continue
            if int(status["id"]) <= after or status.get("reblog"):
                continue  # (a server ignoring min_id; a boost is not the original)
            if not after and published < self.since_iso:
                reached_lookback = True
                continue
            text = "\n".join(
                part
                for part in (status.get("spoiler_text"), html_text(status.get("content")))
                if part
            )
            evidence = public(status, *STATUS_FIELDS)
            if item := self.post(
                url, text, published, lang=status.get("language"), evidence=evidence
            ):
                items.append(item)
        if numbers:
            saved = self.state.setdefault("min_id", {})
            trusted = [number for number in numbers if number <= self.cap]
            saved[timeline] = str(max([*trusted, after, int(saved.get(timeline, 0))]))
            if after and len(statuses) == LIMIT:  # catching up: more new statuses
                yield self.page(timeline, min_id=saved[timeline])
            elif not after and not reached_lookback:  # first crawl: further back
                yield self.page(timeline, max_id=str(min(numbers)))
        yield from items


def own_address(status: dict) -> str | None:
    """The status's own address: ``url`` when it lies on the host of its federation ``uri``
    (the usual ``https://server/@user/id``), else ``uri``; only http(s).

    ``url`` is whatever the status's server says, a news article's address included: off its
    own host it would make the status pass for that page.
    """
    uri, url = (
        value if isinstance(value, str) and urlsplit(value).scheme in ("http", "https") else None
        for value in (status.get("uri"), status.get("url"))
    )
    if uri is None or (url and urlsplit(url).hostname == urlsplit(uri).hostname):
        return url or uri
    return uri
