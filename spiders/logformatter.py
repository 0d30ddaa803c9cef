"""Log lines without item contents: a dropped duplicate is one short line, not a text dump."""

import logging

from scrapy.logformatter import LogFormatter


class QuietLogFormatter(LogFormatter):
    def dropped(self, item, exception, response, spider=None):
        return {
            "level": logging.DEBUG,
            "msg": "Dropped: %(exception)s",
            "args": {"exception": exception},
        }

    def scraped(self, item, response, spider=None):
        return {"level": logging.DEBUG, "msg": "Scraped from %(src)s", "args": {"src": response}}
