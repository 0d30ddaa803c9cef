"""Telegram: public channels through their web preview, ``https://t.me/s/<channel>``.

A preview page holds the latest messages, oldest first; ``?before=<id>`` holds the ones before.
Pages are followed back to the lookback (first crawl) or to the newest message of the last run.
A message's item keeps its text, its link (``https://t.me/<channel>/<id>``) and its time; the
channel's and the signing author's names are not read. Replies keep only their own text.
"""

from __future__ import annotations

from urllib.parse import quote

import scrapy
from scrapy.http import HtmlResponse

from spiders.kinds._api import ApiSpider, html_text, iso

MESSAGE = ".tgme_widget_message[data-post]"
TEXT = ".tgme_widget_message_bubble > .tgme_widget_message_text"
TIME = ".tgme_widget_message_date time::attr(datetime)"
TME = "https://t.me"


class TelegramSpider(ApiSpider):
    """``channels`` (public usernames, without @) on the preview host at ``url``."""

    name = "telegram"
    kind = "telegram"

    async def start(self):
        for channel in self.options.get("channels", []):
            yield self.page(channel.lstrip("@"))

    def page(self, channel: str, before: str | None = None):
        url = f"{self.url}/s/{quote(channel)}" + (f"?before={before}" if before else "")
        return scrapy.Request(
            url, callback=self.parse_page, errback=self.failed, cb_kwargs={"channel": channel}
        )

    def parse_page(self, response, channel: str):
        if not isinstance(response, HtmlResponse) or not response.css(".tgme_channel_history"):
            self.report_error(f"{response.url}: no public preview of channel {channel!r}")
            return
        floor = self.floor(channel)
        reached = False
        numbers = []
        for message in response.css(MESSAGE):
            number = message.attrib["data-post"].rpartition("/")[2]
            published = iso(message.css(TIME).get())
            if not (number.isdigit() and published):
                self.malformed(response.url, "a message without number or time")
                continue
            numbers.append(int(number))
            if published < floor:
                reached = True
                continue
            if message.css(".service_message"):
                continue
            html = message.css(TEXT).get()  # the message's own text: no signature, no quote
            text = html_text(html)
            if not text:  # a photo, sticker or poll without words
                continue
            self.seen(channel, published)
            url = f"{TME}/{quote(channel)}/{number}"  # its own address, not a link in the page
            evidence = {"post": message.attrib["data-post"], "datetime": published, "html": html}
            if item := self.post(url, text, published, evidence=evidence):
                yield item
        if numbers and not reached and min(numbers) > 1:
            yield self.page(channel, before=str(min(numbers)))
