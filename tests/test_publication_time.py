"""Publication times keep the publisher's UTC offset (issue 10, point 5a).

"Tomorrow" in an article published at 00:30 local time (+02:00) is the day after the
publisher's day, not the day after 22:30Z. So the stored time carries the offset the page
gives; a source giving UTC or no offset stays UTC ('Z'). These run without a crawl: each
case is a page or feed entry a reader can check.
"""

from __future__ import annotations

import time

import pytest
from scrapy.http import HtmlResponse

from spiders.article import extract_article, iso_date, iso_local, page_published
from spiders.base import publication_time
from spiders.kinds.feed import entry_published

BODY = " ".join(["The harbour board met on Tuesday and agreed the winter timetable."] * 12)


def page(meta: str) -> HtmlResponse:
    html = (
        f'<html lang="en"><head><title>Harbour board</title>{meta}</head>'
        f"<body><article><h1>Harbour board</h1><p>{BODY}</p></article></body></html>"
    )
    return HtmlResponse("http://127.0.0.1/news/board.html", body=html.encode(), encoding="utf-8")


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("2028-03-01T00:30:00+02:00", "2028-03-01T00:30:00+02:00"),  # offset kept
        ("2028-03-01T00:30:00-05:00", "2028-03-01T00:30:00-05:00"),
        ("2028-03-01T00:30:00+05:45", "2028-03-01T00:30:00+05:45"),  # Nepal
        ("2028-03-01T00:30:00.250+02:00", "2028-03-01T00:30:00+02:00"),  # no fractions
        ("2028-03-01T00:30:00Z", "2028-03-01T00:30:00Z"),  # UTC stays UTC
        ("2028-03-01T00:30:00+00:00", "2028-03-01T00:30:00Z"),
        ("2028-03-01T00:30:00", "2028-03-01T00:30:00Z"),  # no offset: taken as UTC
        ("2028-03-01", "2028-03-01T00:00:00Z"),
        ("not a date", None),
        ("", None),
    ],
)
def test_iso_local_keeps_the_publishers_offset(given, stored):
    assert iso_local(given) == stored


def test_iso_date_is_still_utc_for_comparisons():
    # crawl floors and cursors compare times as strings: those stay UTC
    assert iso_date("2028-03-01T00:30:00+02:00") == "2028-02-29T22:30:00Z"


def test_an_article_page_keeps_its_offset():
    meta = '<meta property="article:published_time" content="2028-03-01T00:30:00+02:00">'
    assert page_published(page(meta)) == "2028-03-01T00:30:00+02:00"
    article = extract_article(page(meta))
    assert article is not None and article.published == "2028-03-01T00:30:00+02:00"


def test_an_article_page_in_utc_stays_utc():
    meta = '<meta property="article:published_time" content="2028-02-29T22:30:00Z">'
    assert page_published(page(meta)) == "2028-02-29T22:30:00Z"


@pytest.mark.parametrize(
    ("listing", "page_time", "stored"),
    [
        # a feed says 22:30Z, the page says 00:30+02:00: the same instant in the page's zone
        ("2028-02-29T22:30:00Z", "2028-03-01T00:30:00+02:00", "2028-03-01T00:30:00+02:00"),
        # the listing's instant wins (as before), told in the publisher's offset
        ("2028-02-29T21:00:00Z", "2028-03-01T00:30:00+02:00", "2028-02-29T23:00:00+02:00"),
        # the page gives UTC or nothing: the listing's time as it is
        ("2028-02-29T22:30:00Z", "2028-02-29T22:30:00Z", "2028-02-29T22:30:00Z"),
        ("2028-02-29T22:30:00Z", None, "2028-02-29T22:30:00Z"),
        # a listing with its own offset keeps it
        ("2028-03-01T00:30:00+02:00", "2028-02-29T22:30:00Z", "2028-03-01T00:30:00+02:00"),
        (None, "2028-03-01T00:30:00+02:00", "2028-03-01T00:30:00+02:00"),
        (None, None, None),
    ],
)
def test_listing_time_in_the_pages_offset(listing, page_time, stored):
    assert publication_time(listing, page_time) == stored


@pytest.mark.parametrize(
    ("entry", "stored"),
    [
        ({"published": "Wed, 01 Mar 2028 00:30:00 +0200"}, "2028-03-01T00:30:00+02:00"),  # RSS
        ({"published": "Wed, 01 Mar 2028 00:30:00 GMT"}, "2028-03-01T00:30:00Z"),
        ({"updated": "2028-03-01T00:30:00+02:00"}, "2028-03-01T00:30:00+02:00"),  # Atom
        # unreadable text: feedparser's parsed UTC time, as before
        (
            {
                "published": "sometime",
                "published_parsed": time.strptime("2028-02-29 22:30", "%Y-%m-%d %H:%M"),
            },
            "2028-02-29T22:30:00Z",
        ),
        ({}, None),
    ],
)
def test_feed_entry_keeps_its_offset(entry, stored):
    assert entry_published(entry) == stored
