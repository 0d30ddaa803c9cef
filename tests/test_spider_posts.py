"""The post kinds (mastodon, bluesky, reddit, telegram, hackernews) in real crawls of saved
payloads in each platform's format, served on 127.0.0.1 at the platforms' real paths.

One module fixture runs two `leaksentry crawl`s over one sources file (crawls cost seconds):

1. the first crawl: every kind's first page answers 429 with ``Retry-After: 1`` once; sources
   page back to the lookback; a second source of each kind gets a malformed payload; one more
   source meets a ``Retry-After`` longer than the bound;
2. the second crawl, with newer pages on the server: each source asks only for what is new.
"""

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from leaksentry.storage import open_store

from payloads import (
    BSKY_FEED,
    BSKY_SEARCH,
    CUTOFF,
    FIRST_CRAWL,
    HN,
    MASTODON_LOCAL,
    MASTODON_TAG,
    REDDIT_NEW,
    REDDIT_SEARCH,
    TELEGRAM,
    PayloadServer,
    assert_no_author_fields,
    by_source,
    crawl,
    exported,
    serve_bluesky,
    serve_hackernews,
    serve_mastodon,
    serve_reddit,
    serve_telegram,
    urls,
    write_sources,
)

KINDS = ("mastodon", "bluesky", "reddit", "telegram", "hackernews")
WAIT = {"status": 429, "headers": {"Retry-After": "1"}, "times": 1}
NEWEST_HN = int(datetime(2026, 11, 27, 16, tzinfo=UTC).timestamp())
BROKEN = {  # kind: (options of a source whose payload is malformed, the error it reports)
    "mastodon": ({"hashtags": ["brokenpayload"]}, "not a readable JSON response"),
    "bluesky": ({"queries": ["brokenquery"]}, "unexpected JSON response (no posts)"),
    "reddit": ({"subreddits": ["brokensub"]}, "not a readable JSON response"),
    "telegram": ({"channels": ["closed_channel_example"]}, "no public preview of channel"),
    "hackernews": ({"queries": ["brokenquery"]}, "not a readable JSON response"),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    with PayloadServer() as server, PayloadServer() as closed:
        sources = [serve(server) for serve in SERVE]
        closed.route("/robots.txt", "reddit/robots.txt")  # a host forbidding every crawler
        sources.append(serve_reddit(closed, "reddit-closed"))
        # each kind's first page answers 429 once
        server.route(MASTODON_TAG, query={"limit": "40"}, **WAIT)
        server.route(BSKY_SEARCH, query={"q": "harbourside ferry"}, **WAIT)
        server.route(REDDIT_NEW, **WAIT)
        server.route(TELEGRAM, **WAIT)
        server.route(HN, query={"query": "harbourside", "page": "0"}, **WAIT)
        # the second crawl's incremental requests
        tag, local = {"limit": "40"}, {"local": "true", "limit": "40"}
        server.route(MASTODON_TAG, "mastodon/tag-newer.json", query=tag | {"min_id": NEWEST_TOOT})
        server.route(MASTODON_LOCAL, "mastodon/empty.json", query=local | {"min_id": LOCAL_TOOT})
        newest_post = {"q": "harbourside ferry", "since": "2026-11-27T19:05:00Z"}
        server.route(BSKY_SEARCH, "bluesky/search-newer.json", query=newest_post)
        newest_hit = {"query": "harbourside", "numericFilters": f"created_at_i>={NEWEST_HN}"}
        server.route(HN, "hackernews/newer.json", query=newest_hit | {"page": "0"})
        # malformed payloads, and a host asking for an hour's wait
        server.route("/api/v1/timelines/tag/brokenpayload", "mastodon/truncated.json")
        server.route(BSKY_SEARCH, "bluesky/error.json", query={"q": "brokenquery"})
        server.route("/r/brokensub/new.json", "reddit/not-json.html")
        server.route("/s/closed_channel_example", "telegram/no-preview.html")
        server.route(HN, "hackernews/truncated.json", query={"query": "brokenquery"})
        server.route(HN, "hackernews/strike.json", query={"query": "ferry strike"})
        strike = {"status": 429, "headers": {"Retry-After": "3600"}, "times": 1}
        server.route(HN, query={"query": "ferry strike"}, **strike)
        for kind, (options, _) in BROKEN.items():
            sources.append({"name": f"{kind}-broken", "kind": kind, "url": server.url} | options)
        sources.append(
            {"name": "hn-limited", "kind": "hackernews", "url": server.url}
            | {"queries": ["ferry strike"]}
        )
        config = write_sources(tmp_path_factory.mktemp("posts"), sources)

        first = crawl(config)
        first_requests, server.requests[:] = list(server.requests), []
        first_items = exported(config)
        # newer pages where a second crawl asks the same URL as the first
        server.route(REDDIT_NEW, "reddit/new-newer.json")
        server.route(TELEGRAM, "telegram/channel-newer.html")
        second = crawl(config)
        yield SimpleNamespace(
            site=server.url,
            first=first,
            second=second,
            first_requests=first_requests,
            second_requests=list(server.requests),
            closed_requests=list(closed.requests),
            database=config.parent / "ls.db",
            first_items=first_items,
            items=exported(config),
        )


SERVE = (serve_mastodon, serve_bluesky, serve_reddit, serve_telegram, serve_hackernews)
NEWEST_TOOT, LOCAL_TOOT = "113600000000000105", "113600000000000090"
TOOT = "https://social.harbourside.example/@tidewatcher/113600000000000"


def asked(requests, path: str) -> list[dict]:
    """The query parameters of each request for ``path``, in order."""
    return [seen.query for seen in requests if seen.path == path]


def new_in_second_crawl(run, source: str) -> set[str]:
    before = set(by_source(run.first_items, source))
    return {url.removeprefix(run.site) for url in by_source(run.items, source)} - {
        url.removeprefix(run.site) for url in before
    }


# -- every kind ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_first_crawl_stores_the_expected_posts(run, kind):
    items = [item for item in run.first_items if item["source"] == kind]
    assert urls(items, run.site) == FIRST_CRAWL[kind]
    assert run.first[kind]["error"] is None
    assert run.first[kind]["malformed"] == 1  # each payload holds one post missing a field
    for item in items:
        assert item["published"] >= CUTOFF.strftime("%Y-%m-%dT%H:%M:%SZ")
        linked = item["url"].startswith(run.site + "/news/")  # a page a post links to
        assert item["kind"] == ("news" if linked else "social")
        assert item["lang"] == "en"
        assert "<" not in item["text"]


AUTHORS = ["Morwenna", "Tidewatcher", "Quayside Notes", "Ferry Watch", "gullwatcher"]
AUTHORS += ["Petroc Lanyon", "quaywalker", "Harbourside Watch", "avatar", "followers"]


def test_no_author_profile_field_is_stored(run):
    assert_no_author_fields(run.items, *AUTHORS)


def test_a_posts_evidence_is_its_own_fields_without_its_author(run):
    posts = [item for item in run.items if item["kind"] == "social"]
    with open_store(run.database) as store:
        for item in posts:
            kind, body = store.raw_capture(item["id"])
            evidence = json.loads(body)
            assert kind == "application/json" and evidence
            sent = body.decode().lower().replace("@tidewatcher/", "").replace("/tidewatcher/", "")
            assert not [name for name in AUTHORS if name.lower() in sent]  # (but in the URL)
        toot = by_source(run.items, "mastodon")[TOOT + "105"]
        evidence = json.loads(store.raw_capture(toot["id"])[1])
    assert "account" not in evidence and evidence["content"].startswith("<p>Fog horn")


FIRST_PAGE = {  # kind: the path and a parameter of its source's first request
    "mastodon": (MASTODON_TAG, {}),
    "bluesky": (BSKY_SEARCH, {"q": "harbourside ferry"}),
    "reddit": (REDDIT_NEW, {}),
    "telegram": (TELEGRAM, {}),
    "hackernews": (HN, {"query": "harbourside"}),
}


@pytest.mark.parametrize("kind", KINDS)
def test_a_429_with_retry_after_is_waited_for_then_retried(run, kind):
    path, query = FIRST_PAGE[kind]
    first = [
        seen
        for seen in run.first_requests
        if seen.path == path and query.items() <= seen.query.items()
    ][:2]
    assert [seen.status for seen in first] == [429, 200]
    assert first[1].query == first[0].query
    assert first[1].at - first[0].at >= 0.95
    assert run.first[kind]["error"] is None


@pytest.mark.parametrize("kind", KINDS)
def test_a_malformed_payload_is_an_error_of_its_own_source_only(run, kind):
    broken = run.first[f"{kind}-broken"]
    assert broken["stored"] == 0
    assert BROKEN[kind][1] in broken["error"]
    assert BROKEN[kind][1] in run.first.stderr  # logged
    assert not by_source(run.items, f"{kind}-broken")
    assert run.first[kind]["stored"] == len(FIRST_CRAWL[kind])


@pytest.mark.parametrize("kind", KINDS)
def test_second_crawl_stores_only_what_is_new(run, kind):
    new = {
        "mastodon": {"https://social.harbourside.example/@tidewatcher/113600000000000106"},
        "bluesky": {"https://bsky.app/profile/did:plc:f3rrywatch5saltmarsh9qy1/post/3lbfw9fff2k2x"},
        "reddit": {"/r/harbourside_example/comments/1hbx006/night_buses_for_the_winter_festival/"},
        "telegram": {"https://t.me/harbourside_watch_example/245"},
        "hackernews": {"https://news.ycombinator.com/item?id=49130001"},
    }[kind]
    assert new_in_second_crawl(run, kind) == new
    assert run.second[kind]["stored"] == 1
    assert run.second[kind]["error"] is None


# -- mastodon --------------------------------------------------------------------------------------
def test_mastodon_statuses_keep_text_paragraphs_and_links(run):
    items = by_source(run.first_items, "mastodon")
    ferry = items[TOOT + "105"]
    assert (ferry["published"], ferry["title"]) == ("2026-11-27T18:00:00Z", "")
    assert ferry["text"] == (
        "Fog horn going all afternoon, the 17:30 boat to Saltmarsh Quay is still tied up. "
        "#harbourside"
    )
    assert items[TOOT + "104"]["text"].splitlines() == [
        "Dredger working in the inner harbour today.",
        "Keep clear of the yellow buoys by the fish quay. #harbourside",
    ]
    lighthouse = items[TOOT + "101"]["text"]  # the content warning, then the content
    assert lighthouse.startswith("photo of the lighthouse\nLighthouse on Gull Point")
    assert "https://photos.harbourside.example/gull-point" in lighthouse


def test_mastodon_pages_back_with_max_id_then_asks_with_min_id(run):
    assert asked(run.first_requests, MASTODON_TAG)[-2:] == [
        {"limit": "40"},
        {"limit": "40", "max_id": "113600000000000101"},
    ]  # page 2 reaches the lookback: no page 3
    assert asked(run.first_requests, MASTODON_LOCAL) == [{"local": "true", "limit": "40"}]
    assert asked(run.second_requests, MASTODON_TAG) == [{"limit": "40", "min_id": NEWEST_TOOT}]
    assert asked(run.second_requests, MASTODON_LOCAL) == [
        {"local": "true", "limit": "40", "min_id": LOCAL_TOOT}
    ]


# -- bluesky ---------------------------------------------------------------------------------------
def test_bluesky_posts_link_to_the_web_and_reposts_are_skipped(run):
    items = by_source(run.first_items, "bluesky")
    post = items["https://bsky.app/profile/did:plc:q7uayside4notes2harbour0x/post/3lbfv9ddd2k2x"]
    assert post["text"] == (
        "Harbourside ferry crew handing out mince pies on the late crossing. Lovely."
    )
    assert (post["published"], post["lang"]) == ("2026-11-26T14:20:00Z", "en")  # from en-GB
    assert not any("3lbfw1hhh2k2x" in url for url in items)  # a repost in the author's feed


def test_bluesky_follows_the_cursor_then_searches_since_the_newest_post(run):
    search = asked(run.first_requests, BSKY_SEARCH)
    mine = [query for query in search if query["q"] == "harbourside ferry"]
    assert [query.get("cursor") for query in mine] == [None, None, "3"]  # 429, page 1, page 2
    assert {query["sort"] for query in mine} == {"latest"}
    assert abs(datetime.fromisoformat(mine[0]["since"]) - CUTOFF).total_seconds() < 120
    assert asked(run.first_requests, BSKY_FEED) == [
        {"actor": "quayside.harbourside.example", "filter": "posts_no_replies", "limit": "100"}
    ]
    again = [query for query in asked(run.second_requests, BSKY_SEARCH) if "ferry" in query["q"]]
    assert again == [
        {
            "q": "harbourside ferry",
            "sort": "latest",
            "since": "2026-11-27T19:05:00Z",
            "limit": "100",
        }
    ]
    assert len(asked(run.second_requests, BSKY_FEED)) == 1


# -- reddit ----------------------------------------------------------------------------------------
def test_reddit_self_posts_keep_their_text_and_links_are_followed_as_news(run):
    items = {
        url.removeprefix(run.site): item
        for url, item in by_source(run.first_items, "reddit").items()
    }
    comments = "/r/harbourside_example/comments/"
    fog = items[comments + "1hbx005/anyone_else_hear_the_fog_horn/"]
    assert fog["title"] == "Anyone else hear the fog horn all afternoon?"
    assert fog["text"].startswith("It went on for hours by the harbour wall.")
    assert fog["published"] == "2026-11-27T20:30:00Z"
    assert items[comments + "1hbx003/best_place_for_chips_near_the/"]["text"] == ""  # [removed]
    linked = items["/news/reddit-linked-allotments.html"]
    assert (linked["kind"], linked["source"]) == ("news", "reddit")
    assert "six standpipes" in linked["text"]


def test_reddit_follows_after_then_reads_only_the_first_page(run):
    assert asked(run.first_requests, REDDIT_NEW)[-2:] == [
        {"limit": "100", "raw_json": "1"},
        {"limit": "100", "raw_json": "1", "after": "t3_1hbx003"},
    ]
    assert asked(run.first_requests, REDDIT_SEARCH) == [
        {"q": "saltmarsh quay", "sort": "new", "limit": "100", "raw_json": "1"}
    ]
    assert asked(run.second_requests, REDDIT_NEW) == [{"limit": "100", "raw_json": "1"}]
    assert "/news/reddit-linked-allotments.html" not in {s.path for s in run.second_requests}


# -- telegram --------------------------------------------------------------------------------------
def test_telegram_messages_keep_their_own_text_only(run):
    items = by_source(run.first_items, "telegram")
    ferry = items["https://t.me/harbourside_watch_example/241"]
    assert ferry["text"] == (
        "Ferry update: 06:10 crossing to Saltmarsh Quay cancelled from December.\n"
        "More boats in the evening instead."
    )
    assert ferry["published"] == "2026-11-27T07:45:00Z"
    reply = items["https://t.me/harbourside_watch_example/243"]["text"]
    assert "Quoted words" not in reply and reply.startswith("Replying to the ferry question")


def test_telegram_pages_back_with_before_then_reads_only_the_latest_page(run):
    assert asked(run.first_requests, TELEGRAM)[-2:] == [{}, {"before": "239"}]
    assert asked(run.second_requests, TELEGRAM) == [{}]


# -- hackernews ------------------------------------------------------------------------------------
def test_hackernews_hits_link_to_their_hn_page_and_stories_to_the_article(run):
    items = by_source(run.first_items, "hackernews")
    story = items["https://news.ycombinator.com/item?id=49110001"]
    assert story["title"] == "Ask HN: Anyone running a tide station for their harbour?"
    assert story["text"].splitlines() == [
        "Our harbour club in Harbourside wants to log tides and wind.",
        "What hardware held up for you in salt air?",
    ]
    comment = items["https://news.ycombinator.com/item?id=49120004"]
    assert comment["title"] == "" and comment["published"] == "2026-11-27T15:10:00Z"
    article = items[run.site + "/news/hn-linked-tide-gauge.html"]
    assert article["kind"] == "news" and "radar sensor" in article["text"]


def test_hackernews_reads_every_page_then_filters_by_the_newest_hit(run):
    mine = [q for q in asked(run.first_requests, HN) if q["query"] == "harbourside"]
    assert [query["page"] for query in mine] == ["0", "0", "1"]  # 429, page 0, page 1
    assert {query["tags"] for query in mine} == {"(story,comment)"}
    after = int(mine[0]["numericFilters"].removeprefix("created_at_i>="))
    assert abs(after - CUTOFF.timestamp()) < 120
    again = [q for q in asked(run.second_requests, HN) if q["query"] == "harbourside"]
    assert [(q["numericFilters"], q["page"]) for q in again] == [
        (f"created_at_i>={NEWEST_HN}", "0")
    ]


def test_a_wait_beyond_the_bound_gives_up_the_run_and_keeps_the_state(run):
    limited = run.first["hn-limited"]
    assert limited["stored"] == 0
    assert "Retry-After 3600 s (over the 60 s bound)" in limited["error"]
    first = [q for q in asked(run.first_requests, HN) if q["query"] == "ferry strike"]
    assert len(first) == 1  # not retried, not waited for
    # no state was saved: the second crawl asks from the lookback again, and stores
    second = [q for q in asked(run.second_requests, HN) if q["query"] == "ferry strike"]
    after = int(second[0]["numericFilters"].removeprefix("created_at_i>="))
    assert abs(after - CUTOFF.timestamp()) < 120
    assert run.second["hn-limited"]["stored"] == 1


def test_robots_txt_is_obeyed_for_api_requests_too(run):
    assert "Forbidden by robots.txt" in run.first["reddit-closed"]["error"]
    assert {seen.path for seen in run.closed_requests} == {"/robots.txt"}
