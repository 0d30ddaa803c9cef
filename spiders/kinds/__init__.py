"""One spider per source kind. SPIDERS maps a source's ``kind`` to its spider class."""

from spiders.kinds.bluesky import BlueskySpider
from spiders.kinds.feed import FeedSpider
from spiders.kinds.gdelt import GdeltSpider
from spiders.kinds.hackernews import HackerNewsSpider
from spiders.kinds.mastodon import MastodonSpider
from spiders.kinds.reddit import RedditSpider
from spiders.kinds.site import SiteSpider
from spiders.kinds.sitemap import SitemapSpider
from spiders.kinds.telegram import TelegramSpider

SPIDERS = {
    spider.kind: spider
    for spider in (
        FeedSpider,
        SitemapSpider,
        SiteSpider,
        MastodonSpider,
        BlueskySpider,
        RedditSpider,
        TelegramSpider,
        HackerNewsSpider,
        GdeltSpider,
    )
}
