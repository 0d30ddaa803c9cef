"""Mastodon: hashtag timelines and the server's local timeline (the public REST API, no login).

The first crawl pages back with ``max_id`` until the lookback; later runs ask for what is newer
than the newest status seen (``min_id`` kept per timeline in the source's state), page after
page while pages come back full. Boosts are skipped (the original is its own status).
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

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
        for timeline in timelines:
            min_id = self.state.get("min_id", {}).get(timeline)
            yield self.page(timeline, min_id=min_id) if min_id else self.page(timeline)

    def page(self, timeline: str, **ids):
        query = {"local": "true"} if timeline == "public" else {}
        query |= {"limit": LIMIT, **ids}
        url = f"{self.url}/api/v1/timelines/{timeline}?{urlencode(query)}"
        return self.api_request(url, self.parse_page, timeline=timeline, ids=ids)

    def parse_page(self, response, timeline: str, ids: dict):
        statuses = self.read_json(response)
        if not isinstance(statuses, list):
            if statuses is not None:
                self.report_error(f"{response.url}: not a list of statuses")
            return
        after = int(ids.get("min_id", 0))  # catching up: only what is newer than this
        numbers, reached_lookback = [], False
        for status in statuses:
            if not isinstance(status, dict) or not str(status.get("id", "")).isdigit():
                self.malformed(response.url, "a status without a numeric id")
                continue
            numbers.append(int(status["id"]))
            published = iso(status.get("created_at"))
            url = status.get("url") or status.get("uri")
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
                yield item
        if not numbers:
            return
        saved = self.state.setdefault("min_id", {})
        saved[timeline] = str(max([*numbers, after, int(saved.get(timeline, 0))]))
        if after and len(statuses) == LIMIT:  # catching up: more new statuses
            yield self.page(timeline, min_id=saved[timeline])
        elif not after and not reached_lookback:  # first crawl: further back
            yield self.page(timeline, max_id=str(min(numbers)))
