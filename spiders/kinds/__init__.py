"""One spider per source kind. SPIDERS maps a source's ``kind`` to its spider class."""

from spiders.kinds.feed import FeedSpider

SPIDERS = {FeedSpider.kind: FeedSpider}
