"""Log lines without item contents: a dropped duplicate is one short line, not a text dump.

Below DEBUG (every run but ``-v``) the per-item lines ("Scraped from", "Dropped") are not made
at all: Scrapy's root handler filters by level, so a line at DEBUG would still cost a log
record per item before being thrown away."""

import logging

from scrapy.logformatter import LogFormatter


class QuietLogFormatter(LogFormatter):
    def __init__(self, per_item: bool = True):
        self.per_item = per_item

    @classmethod
    def from_crawler(cls, crawler):
        level = crawler.settings.get("LOG_LEVEL", "DEBUG")
        number = level if isinstance(level, int) else logging.getLevelName(str(level).upper())
        return cls(per_item=not isinstance(number, int) or number <= logging.DEBUG)

    def dropped(self, item, exception, response, spider=None):
        if not self.per_item:
            return None
        return {
            "level": logging.DEBUG,
            "msg": "Dropped: %(exception)s",
            "args": {"exception": exception},
        }

    def scraped(self, item, response, spider=None):
        if not self.per_item:
            return None
        return {"level": logging.DEBUG, "msg": "Scraped from %(src)s", "args": {"src": response}}
