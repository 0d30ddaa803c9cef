"""The news kinds (sitemap, site, gdelt, and the feed's conditional GET) in real crawls of saved
payloads served on 127.0.0.1, then each article page.

One module fixture runs two `leaksentry crawl`s over one sources file: the first (a 429 with
``Retry-After: 1`` once per kind, pagination, a malformed payload in a second source of each
kind), then the second, which sends the saved validators and asks only for what is new.
"""

from types import SimpleNamespace

import pytest

from payloads import (
    CUTOFF,
    FIRST_CRAWL,
    GDELT,
    PayloadServer,
    by_source,
    crawl,
    exported,
    serve_feed,
    serve_gdelt,
    serve_site,
    serve_sitemap,
    urls,
    write_sources,
)

KINDS = ("sitemap", "site", "gdelt", "feed")
WAIT = {"status": 429, "headers": {"Retry-After": "1"}, "times": 1}
FIRST_PAGE = {  # kind: the path of its source's first request answered 429 once
    "sitemap": "/sitemap/news.xml",
    "site": "/site/harbour/index.html",
    "gdelt": GDELT,
    "feed": "/feed/harbour.rss",
}
BROKEN = {  # kind: (a source whose payload is malformed, the error it reports)
    "sitemap": ({"url": "/sitemap/unavailable.html"}, "not a readable sitemap"),
    "site": ({"url": "/site/moved.png"}, "the section page is not HTML"),
    "gdelt": ({"queries": ["ab"]}, "not a readable JSON response"),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    with PayloadServer() as server:
        sources = [serve(server) for serve in (serve_sitemap, serve_site, serve_gdelt, serve_feed)]
        for path in FIRST_PAGE.values():
            server.route(path, query={"query": "harbourside"} if path == GDELT else {}, **WAIT)
        newer = {"query": "harbourside", "startdatetime": "20261127124500"}
        server.route(GDELT, "gdelt/newer.json", query=newer)
        server.route(GDELT, "gdelt/too-short.txt", query={"query": "ab"})
        for kind, (options, _) in BROKEN.items():
            broken = {"name": f"{kind}-broken", "kind": kind, "url": server.url} | options
            if kind != "gdelt":
                broken["url"] = server.url + options["url"]
            sources.append(broken)
        # a feed whose one page fails for a while (503 three times, so Scrapy's retries fail)
        server.route("/feed/lights.rss", "feed/lights.rss", etag='"lights-1"')
        server.route("/news/feed-harbour-lights.html", status=503, times=3)
        lights = server.url + "/feed/lights.rss"
        sources.append({"name": "feed-flaky", "kind": "feed", "url": lights})
        config = write_sources(tmp_path_factory.mktemp("news"), sources)

        first = crawl(config)
        first_requests, server.requests[:] = list(server.requests), []
        first_items = exported(config)
        # the index changes: news.xml has a new lastmod (its ETag stays), the others do not
        server.route("/sitemap/index.xml", "sitemap/index-later.xml", etag='"index-2"')
        second = crawl(config)
        yield SimpleNamespace(
            site=server.url,
            first=first,
            second=second,
            first_requests=first_requests,
            second_requests=list(server.requests),
            first_items=first_items,
            items=exported(config),
        )


def requested(requests, path: str):
    return [seen for seen in requests if seen.path == path]


# -- every kind ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_first_crawl_stores_the_expected_articles(run, kind):
    items = [item for item in run.first_items if item["source"] == kind]
    assert urls(items, run.site) == FIRST_CRAWL[kind]
    assert run.first[kind]["error"] is None
    for item in items:
        assert (item["kind"], item["lang"]) == ("news", "en")
        assert item["published"] >= CUTOFF.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert "All rights reserved" not in item["text"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_429_with_retry_after_is_waited_for_then_retried(run, kind):
    first = requested(run.first_requests, FIRST_PAGE[kind])
    if kind == "gdelt":
        first = [seen for seen in first if seen.query["query"] == "harbourside"]
    assert [seen.status for seen in first[:2]] == [429, 200]
    assert first[1].at - first[0].at >= 0.95


@pytest.mark.parametrize("kind", BROKEN)
def test_a_malformed_payload_is_an_error_of_its_own_source_only(run, kind):
    broken = run.first[f"{kind}-broken"]
    assert broken["stored"] == 0
    assert BROKEN[kind][1] in broken["error"]
    assert BROKEN[kind][1] in run.first.stderr  # logged
    assert not by_source(run.items, f"{kind}-broken")
    assert run.first[kind]["stored"] == len(FIRST_CRAWL[kind])


def test_second_crawl_downloads_no_stored_page(run):
    pages = {seen.path for seen in run.second_requests if seen.path.startswith("/news/")}
    # the one new article, and the page a passing failure kept from the first crawl
    assert pages == {"/news/gdelt-night-buses.html", "/news/feed-harbour-lights.html"}
    for kind in KINDS:
        assert run.second[kind]["error"] is None
        assert run.second[kind]["stored"] == (kind == "gdelt")


# -- sitemap ---------------------------------------------------------------------------------------
def test_sitemap_news_title_and_date_and_the_page_text(run):
    items = {
        url.removeprefix(run.site): item for url, item in by_source(run.items, "sitemap").items()
    }
    ferry = items["/news/sm-ferry-timetable.html"]
    assert ferry["title"] == "Winter ferry timetable cuts the early crossing to Saltmarsh Quay"
    assert ferry["published"] == "2026-11-27T07:30:00Z"
    assert "grammar school on the far bank" in ferry["text"]
    assert items["/news/sm-market-hall.html"]["published"] == "2026-11-26T11:20:00Z"


def test_sitemap_skips_old_entries_old_children_and_entries_without_loc(run):
    paths = {seen.path for seen in run.first_requests}
    assert "/sitemap/archive-2025.xml" not in paths  # lastmod before the lookback
    assert "/news/sm-old-regatta.html" not in paths  # published before the lookback
    assert "/about.html" not in paths
    assert run.first["sitemap"]["malformed"] == 1  # the <url> without <loc>


def test_sitemap_second_crawl_is_conditional_and_a_304_is_not_an_error(run):
    first_news = requested(run.first_requests, "/sitemap/news.xml")[-1]
    assert "if-none-match" not in first_news.headers
    news = requested(run.second_requests, "/sitemap/news.xml")
    assert len(news) == 1 and news[0].status == 304
    assert news[0].headers["if-none-match"] == '"news-1"'
    assert news[0].headers["if-modified-since"] == "Fri, 27 Nov 2026 08:00:00 GMT"
    index = requested(run.second_requests, "/sitemap/index.xml")
    assert index[0].headers["if-none-match"] == '"index-1"' and index[0].status == 200
    # pages-2026-11.xml kept its lastmod in the index: not fetched again
    assert not requested(run.second_requests, "/sitemap/pages-2026-11.xml")


# -- site ------------------------------------------------------------------------------------------
def test_site_follows_only_links_matching_follow(run):
    paths = {seen.path for seen in run.first_requests}
    assert {"/harbour/page/2", "/about.html", "/privacy.html"}.isdisjoint(paths)
    items = {url.removeprefix(run.site): item for url, item in by_source(run.items, "site").items()}
    choir = items["/news/site-school-choir.html"]
    assert choir["title"] == "School choir wins the county carol competition"
    assert choir["published"] == "2026-11-26T18:45:00Z"


# -- gdelt -----------------------------------------------------------------------------------------
def test_gdelt_narrows_the_window_when_a_page_is_full_then_starts_at_the_newest(run):
    asked = [seen.query for seen in requested(run.first_requests, GDELT)]
    mine = [query for query in asked if query["query"] == "harbourside"]
    assert [query.get("enddatetime") for query in mine] == [None, None, "20261126190000"]
    first = mine[1]
    assert (first["mode"], first["format"], first["sort"]) == ("artlist", "json", "datedesc")
    assert first["maxrecords"] == "75"
    assert first["startdatetime"].startswith(CUTOFF.strftime("%Y%m%d"))
    assert run.first["gdelt"]["malformed"] == 1  # the entry without its URL
    # the 73 wire copies lie under a path robots.txt disallows: never downloaded
    assert not any(seen.path.startswith("/wire/") for seen in run.first_requests)
    again = [seen.query for seen in requested(run.second_requests, GDELT)]
    assert [query["startdatetime"] for query in again if query["query"] == "harbourside"] == [
        "20261127124500"
    ]
    item = by_source(run.items, "gdelt")[run.site + "/news/gdelt-night-buses.html"]
    assert item["title"] == "Night buses added for the winter festival weekend"
    assert item["published"] == "2026-11-27T21:15:00Z"  # when GDELT saw it


# -- feed ------------------------------------------------------------------------------------------
def test_feed_second_crawl_is_conditional_and_a_304_is_not_an_error(run):
    feed = requested(run.second_requests, "/feed/harbour.rss")
    assert [seen.status for seen in feed] == [304]
    assert feed[0].headers["if-none-match"] == 'W/"feed-1"'
    assert feed[0].headers["if-modified-since"] == "Fri, 27 Nov 2026 09:00:00 GMT"
    assert run.second["feed"]["error"] is None


def test_feed_page_lost_to_a_passing_failure_is_tried_again_next_run(run):
    assert run.first["feed-flaky"]["failed pages"] == 1
    assert (run.first["feed-flaky"]["stored"], run.first["feed-flaky"]["error"]) == (0, None)
    # the validators were dropped: the feed is read in full, and the page fetched again
    feed = requested(run.second_requests, "/feed/lights.rss")
    assert "if-none-match" not in feed[0].headers and feed[0].status == 200
    assert run.second["feed-flaky"]["stored"] == 1
