"""Polite defaults for every crawl (DESIGN.md principle 4). The crawl runner adds the database."""

from leaksentry import __version__

BOT_NAME = "leaksentry"
SPIDER_MODULES = ["spiders.kinds"]
USER_AGENT = (
    f"leaksentry/{__version__} (exposure monitoring of public news; "
    "+https://github.com/leaksentry/leaksentry)"
)
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
CONCURRENT_REQUESTS_PER_DOMAIN = 2
# Scrapy starts CONCURRENT_ITEMS worker tasks for every response, whatever it yields (the
# default, 100, for an article page that yields one item). The store writer commits what is
# queued in batches anyway. 8 took the bench's article crawl from about 50 to 70 pages/s
# (bench/e2e.py --crawl-only) with posts as fast as before.
CONCURRENT_ITEMS = 8
# Loopback is this machine (the demo, a local mirror, the benchmarks): its first requests wait
# no AUTOTHROTTLE_START_DELAY; AutoThrottle still sets the delay from its answers' latency.
# Every other host starts at the full delay.
DOWNLOAD_SLOTS = {host: {"delay": 0.0} for host in ("127.0.0.1", "localhost", "::1")}
DOWNLOAD_TIMEOUT = 30  # the configuration's download_timeout replaces it
DOWNLOAD_MAXSIZE = 8 * 1024 * 1024  # bounded responses: a feed or page larger than this is dropped
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
RETRY_TIMES = 2
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"
ITEM_PIPELINES = {
    "spiders.pipelines.NormalisePipeline": 100,
    "spiders.pipelines.StorePipeline": 900,
}
LOG_FORMATTER = "spiders.logformatter.QuietLogFormatter"
# Retry-After on 429/503: wait at most RETRY_AFTER_MAX_WAIT seconds, RETRY_AFTER_MAX_TIMES times
# per request; beyond that the host is left alone for the run and the source reports an error
# (its state is not saved, so the next run fetches the same range). See spiders/middlewares.py.
DOWNLOADER_MIDDLEWARES = {
    "spiders.guard.AddressGuardMiddleware": 50,  # before anything else, redirects included
    "spiders.middlewares.RetryAfterMiddleware": 560,
}
RETRY_AFTER_MAX_WAIT = 60
RETRY_AFTER_MAX_TIMES = 3
