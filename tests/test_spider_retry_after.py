"""How long a rate-limited host asks to wait (the crawls themselves are in test_spider_posts.py
and test_spider_news.py: a 429 waited for, and a wait beyond the bound that gives up the run)."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from scrapy.http import Response

from spiders.middlewares import retry_after


def answer(status: int = 429, **headers) -> Response:
    return Response("http://127.0.0.1/api", status=status, headers=headers)


def test_retry_after_in_seconds_or_as_an_http_date():
    assert retry_after(answer(**{"Retry-After": "7"})) == 7
    assert retry_after(answer(503, **{"Retry-After": " 120 "})) == 120
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    assert 85 <= retry_after(answer(**{"Retry-After": later})) <= 90
    past = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)
    assert retry_after(answer(**{"Retry-After": past})) == 0


def test_rate_limit_reset_counts_only_for_a_429():
    reset = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()  # as Mastodon sends it
    assert 25 <= retry_after(answer(**{"X-RateLimit-Reset": reset})) <= 30
    assert retry_after(answer(**{"X-RateLimit-Reset": "12"})) == 12  # as Reddit sends it
    assert retry_after(answer(503, **{"X-RateLimit-Reset": "12"})) is None


@pytest.mark.parametrize("headers", [{}, {"Retry-After": "soon"}, {"Retry-After": ""}])
def test_no_usable_wait_is_left_to_scrapys_retries(headers):
    assert retry_after(answer(**headers)) is None
