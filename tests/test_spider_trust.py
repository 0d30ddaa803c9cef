"""Issue 11, crawler side: what a hostile or careless post, feed or host can do must not cost a
leak. Real crawls (`leaksentry crawl` in a real process) of payloads written here, served on
127.0.0.1, stored in a real SQLite file."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from payloads import PayloadServer, crawl, exported, run_cli, write_sources

FUTURE = datetime(2099, 1, 1, 12, tzinfo=UTC)
ARTICLE = """<!doctype html><html lang="en"><head><title>{title}</title>
<meta property="article:published_time" content="{published}"></head><body><article>
<h1>{title}</h1><p>{body}</p></article></body></html>"""


def iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def snowflake(when: datetime) -> str:
    """A Mastodon status id made at ``when`` (milliseconds << 16)."""
    return str(int(when.timestamp() * 1000) << 16)


def write(root: Path, name: str, body) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body if isinstance(body, str) else json.dumps(body), encoding="utf-8")


# -- one post in each platform's format ---------------------------------------------------------
def bluesky(posts: list[tuple[str, datetime, str]]) -> dict:
    return {
        "posts": [
            {
                "uri": f"at://did:plc:trust/app.bsky.feed.post/{key}",
                "cid": f"cid{key}",
                "record": {"createdAt": iso(when), "text": text, "langs": ["en"]},
            }
            for key, when, text in posts
        ]
    }


def reddit(posts: list[tuple[str, datetime, str]]) -> dict:
    children = [
        {
            "kind": "t3",
            "data": {
                "name": f"t3_{key}",
                "permalink": f"/r/trust/comments/{key}/post/",
                "created_utc": when.timestamp(),
                "title": text,
                "selftext": text,
                "is_self": True,
            },
        }
        for key, when, text in posts
    ]
    return {"kind": "Listing", "data": {"after": None, "children": children}}


def hackernews(posts: list[tuple[str, datetime, str]]) -> dict:
    hits = [
        {"objectID": key, "created_at_i": int(when.timestamp()), "title": text, "story_text": text}
        for key, when, text in posts
    ]
    return {"hits": hits, "nbPages": 1}


def mastodon(posts: list[tuple[str, datetime, str]]) -> list:
    return [
        {
            "id": snowflake(when),
            "created_at": iso(when),
            "url": f"https://social.trust.example/@someone/{snowflake(when)}",
            "content": f"<p>{text}</p>",
            "language": "en",
        }
        for key, when, text in posts
    ]


def telegram(posts: list[tuple[str, datetime, str]]) -> str:
    messages = "".join(
        f'<div class="tgme_widget_message" data-post="trust_channel/{key}">'
        f'<div class="tgme_widget_message_bubble"><div class="tgme_widget_message_text">{text}'
        f'</div><a class="tgme_widget_message_date" href="https://t.me/trust_channel/{key}">'
        f'<time datetime="{iso(when)}"></time></a></div></div>'
        for key, when, text in posts
    )
    return f'<html><body><section class="tgme_channel_history">{messages}</section></body></html>'


POST_KINDS = {  # kind: (listing path, payload file, source options, format)
    "bluesky": ("/xrpc/app.bsky.feed.searchPosts", "b.json", {"queries": ["harbour"]}, bluesky),
    "reddit": ("/r/trust/new.json", "r.json", {"subreddits": ["trust"]}, reddit),
    "hackernews": ("/api/v1/search_by_date", "h.json", {"queries": ["harbour"]}, hackernews),
    "mastodon": ("/api/v1/timelines/tag/harbour", "m.json", {"hashtags": ["harbour"]}, mastodon),
    "telegram": ("/s/trust_channel", "t.html", {"channels": ["trust_channel"]}, telegram),
}
# the request parameter that carries each kind's "newest seen" mark to the platform
MARK = {
    "bluesky": lambda q: q.get("since"),
    "hackernews": lambda q: q.get("numericFilters", "").partition(">=")[2],
    "mastodon": lambda q: q.get("min_id"),
    "gdelt": lambda q: q.get("startdatetime"),
}


def test_a_post_dated_2099_does_not_stop_later_posts(tmp_path):
    """A post (or article) whose author-set time lies in 2099 is stored, but no kind's cursor
    moves past the time of the crawl: the next run still asks for, and stores, what is new."""
    root = tmp_path / "payloads"
    earlier = datetime.now(UTC) - timedelta(hours=2)
    with PayloadServer(root) as server:
        sources = []
        for kind, (path, name, options, render) in POST_KINDS.items():
            write(
                root,
                f"{kind}/{name}",
                render(
                    [("1", earlier, "Old quay post"), ("2", FUTURE, "A post from the far future")]
                ),
            )
            server.route(path, f"{kind}/{name}")
            sources.append({"name": kind, "kind": kind, "url": server.url} | options)
        # GDELT: an article list whose seendate lies in 2099 (a news kind with the same mark)
        write(
            root,
            "gdelt/a.json",
            {
                "articles": [
                    {
                        "url": f"{server.url}/news/far.html",
                        "title": "Far",
                        "seendate": "20990101T120000Z",
                    }
                ]
            },
        )
        write(
            root,
            "news/far.html",
            ARTICLE.format(
                title="Far future",
                published="2026-11-27T08:00:00Z",
                body="The harbour board met on Tuesday to discuss the new pontoon. " * 6,
            ),
        )
        server.route("/api/v2/doc/doc", "gdelt/a.json")
        sources.append(
            {"name": "gdelt", "kind": "gdelt", "url": server.url, "queries": ["harbour"]}
        )
        # a sitemap index whose child says it was modified in 2099, and keeps saying so
        write(root, "sitemap/index.xml", SITEMAP_INDEX.format(site=server.url))
        write(root, "sitemap/child.xml", urlset(server.url, ["a"]))
        for page in ("a", "b"):
            write(
                root,
                f"news/{page}.html",
                ARTICLE.format(
                    title=f"Page {page}",
                    published=iso(earlier),
                    body=f"Page {page} of the harbour news: the quay reopens on Monday. " * 6,
                ),
            )
        sources.append(
            {"name": "sitemap", "kind": "sitemap", "url": f"{server.url}/sitemap/index.xml"}
        )
        # mastodon's first crawl pages back with max_id: nothing older
        write(root, "mastodon/empty.json", [])
        server.route(
            "/api/v1/timelines/tag/harbour",
            "mastodon/empty.json",
            query={"max_id": snowflake(earlier)},
        )
        config = write_sources(tmp_path, sources)

        first = crawl(config)
        started_second = datetime.now(UTC)
        time.sleep(1.1)
        later = datetime.now(UTC)  # a post made after the first crawl: a real leak
        for kind, (_, name, _, render) in POST_KINDS.items():
            write(
                root,
                f"{kind}/{name}",
                render(
                    [
                        ("3", later, "Divers at the slipway before dawn"),
                        ("2", FUTURE, "A post from the far future"),
                        ("1", earlier, "Old quay post"),
                    ]
                ),
            )
        write(root, "sitemap/child.xml", urlset(server.url, ["a", "b"]))
        server.requests[:] = []
        second = crawl(config)
        items = exported(config)

    for kind in [*POST_KINDS, "gdelt", "sitemap"]:
        assert first[kind]["error"] is None, (kind, first[kind])
        assert second[kind]["error"] is None, (kind, second[kind])
    stored = {(item["source"], item["title"] or item["text"]) for item in items}
    assert {kind for kind in POST_KINDS if (kind, "A post from the far future") in stored} == set(
        POST_KINDS
    )  # stored, just not trusted
    lost = [
        kind for kind in POST_KINDS if (kind, "Divers at the slipway before dawn") not in stored
    ]
    lost += [] if ("sitemap", "Page b") in stored else ["sitemap"]  # a page listed later
    # and the mark each kind sends the platform is not in the future
    future_marks = []
    for seen in server.requests:
        kind = next((k for k, v in POST_KINDS.items() if v[0] == seen.path), None)
        kind = "gdelt" if seen.path == "/api/v2/doc/doc" else kind
        mark = MARK[kind](seen.query) if kind in MARK else None
        if mark and mark_time(kind, mark) > started_second:
            future_marks.append((kind, mark))
    assert (lost, future_marks) == ([], [])


SITEMAP_INDEX = """<?xml version="1.0"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{site}/sitemap/child.xml</loc><lastmod>2099-01-01T12:00:00Z</lastmod></sitemap>
</sitemapindex>"""


def urlset(site: str, pages: list[str]) -> str:
    entries = "".join(f"<url><loc>{site}/news/{page}.html</loc></url>" for page in pages)
    return (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{entries}</urlset>"
    )


def mark_time(kind: str, mark: str) -> datetime:
    if kind == "mastodon":
        return datetime.fromtimestamp((int(mark) >> 16) / 1000, UTC)
    if kind == "hackernews":
        return datetime.fromtimestamp(int(mark), UTC)
    if kind == "gdelt":
        return datetime.strptime(mark, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return datetime.fromisoformat(mark.replace("Z", "+00:00"))


FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>Courier</title>
<link>{site}/</link><description>news</description>
<item><title>Pontoon works</title><link>{site}/news/pontoon.html</link><guid>1</guid></item>
<item><title>Slipway closed</title><link>{site}/news/slipway.html</link><guid>2</guid></item>
</channel></rss>"""


def status(number: int, when: datetime, url: str, text: str) -> dict:
    toot = snowflake(when)[:-2] + f"{number:02d}"
    return {
        "id": toot,
        "created_at": iso(when),
        "uri": f"https://social.trust.example/users/someone/statuses/{toot}",
        "url": url,
        "content": f"<p>{text}</p>",
        "language": "en",
    }


def test_a_post_whose_url_is_an_article_does_not_hide_the_article(tmp_path):
    """A Mastodon status may give any address as its ``url``; here a news article's. The status
    is stored under its own identity and the feed still downloads and stores the article; a
    status naming an article already stored is stored too."""
    root = tmp_path / "payloads"
    earlier = datetime.now(UTC) - timedelta(hours=1)
    with PayloadServer(root) as server:
        pontoon, slipway = f"{server.url}/news/pontoon.html", f"{server.url}/news/slipway.html"
        for page, title in ((pontoon, "Pontoon works"), (slipway, "Slipway closed")):
            write(
                root,
                page.removeprefix(server.url + "/"),
                ARTICLE.format(
                    title=title,
                    published=iso(earlier),
                    body=f"{title}: the harbour board says the work starts on Monday at dawn. " * 6,
                ),
            )
        write(root, "feed.rss", FEED.format(site=server.url))
        write(root, "m1.json", [status(1, earlier, pontoon, "Look what the Courier says")])
        write(root, "m2.json", [status(2, datetime.now(UTC), slipway, "And now this one")])
        write(root, "empty.json", [])
        tag = "/api/v1/timelines/tag/harbour"
        server.route(tag, "m1.json")
        server.route(tag, "empty.json", query={"max_id": snowflake(earlier)[:-2] + "01"})
        config = write_sources(
            tmp_path,
            [
                {"name": "toots", "kind": "mastodon", "url": server.url, "hashtags": ["harbour"]},
                {"name": "courier", "kind": "feed", "url": f"{server.url}/feed.rss"},
            ],
        )
        assert run_cli("crawl", "--source", "toots", "--config", str(config)).returncode == 0
        assert run_cli("crawl", "--source", "courier", "--config", str(config)).returncode == 0
        server.route(tag, "m2.json", query={"min_id": snowflake(earlier)[:-2] + "01"})
        assert run_cli("crawl", "--source", "toots", "--config", str(config)).returncode == 0
        items = exported(config)
        fetched = {seen.path for seen in server.requests}

    news = {item["url"]: item for item in items if item["kind"] == "news"}
    posts = {item["text"]: item for item in items if item["kind"] == "social"}
    assert "/news/pontoon.html" in fetched  # the feed downloaded the article
    assert set(news) == {pontoon, slipway}
    assert news[pontoon]["title"] == "Pontoon works" and news[pontoon]["source"] == "courier"
    assert set(posts) == {"Look what the Courier says", "And now this one"}
    for post in posts.values():  # a post's own address, on its own server: not the article's
        assert post["url"].startswith("https://social.trust.example/"), post["url"]


def rss(site: str, entries: list[tuple[str, datetime | None]]) -> str:
    items = "".join(
        f"<item><title>{page}</title><link>{site}/news/{page}.html</link><guid>{page}</guid>"
        + (f"<pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>" if when else "")
        + "</item>"
        for page, when in entries
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Courier</title>'
        f"<link>{site}/</link><description>news</description>{items}</channel></rss>"
    )


def test_a_feed_article_older_than_the_lookback_is_not_stored(tmp_path):
    """The default 24 h lookback applies to feeds as to every kind: an entry dated three days
    ago, and an undated entry whose page says three days ago, are neither fetched nor stored;
    today's article is. A section page (kind site) keeps to the lookback the same way."""
    root = tmp_path / "payloads"
    now = datetime.now(UTC)
    old = now - timedelta(days=3)
    pages = {"today": (now - timedelta(hours=2), now), "old": (old, old), "undated": (None, old)}
    with PayloadServer(root) as server:
        for page, (_, published) in pages.items():
            for name in (page, f"site-{page}"):  # the feed's pages, the section page's
                body = f"Article {name}: the harbour board says the quay reopens on Monday. "
                title, when = f"Article {name}", iso(published)
                write(
                    root,
                    f"news/{name}.html",
                    ARTICLE.format(title=title, published=when, body=body * 6),
                )
        entries = [(page, listed) for page, (listed, _) in pages.items()]
        write(root, "feed.rss", rss(server.url, entries))
        links = "".join(f'<a href="/news/site-{page}.html">{page}</a>' for page in pages)
        write(root, "section.html", f"<html><body>{links}</body></html>")
        config = write_sources(
            tmp_path,
            [
                {
                    "name": "courier",
                    "kind": "feed",
                    "url": f"{server.url}/feed.rss",
                    "lookback": "24h",
                },
                {
                    "name": "section",
                    "kind": "site",
                    "url": f"{server.url}/section.html",
                    "lookback": "24h",
                },
            ],
        )
        crawled = crawl(config)
        items = exported(config)
        fetched = {seen.path for seen in server.requests}

    assert crawled["courier"]["error"] is None and crawled["section"]["error"] is None, (
        crawled.figures
    )
    assert sorted((item["source"], item["title"]) for item in items) == [
        ("courier", "Article today"),
        ("section", "Article site-today"),
    ], (crawled.figures, crawled.stderr[-3000:])
    assert "/news/old.html" not in fetched  # the feed said how old it is: not even fetched


def test_file_data_and_javascript_urls_are_neither_fetched_nor_stored(tmp_path):
    """A Hacker News hit, a sitemap ``<loc>`` and a Mastodon status pointing at ``file://``,
    ``data:`` or ``javascript:`` addresses: nothing is read from the disk, no item is forged,
    and only http(s) items are stored; the ordinary items are."""
    secret = tmp_path / "secret.html"
    secret.write_text(
        ARTICLE.format(title="LOCAL FILE", published=iso(datetime.now(UTC)), body="SECRET " * 80)
    )
    forged = "data:text/html," + ARTICLE.format(
        title="FORGED", published=iso(datetime.now(UTC)), body="FORGED ITEM TEXT " * 40
    ).replace("\n", " ")
    root = tmp_path / "payloads"
    now = datetime.now(UTC) - timedelta(minutes=5)
    with PayloadServer(root) as server:
        hits = hackernews([("1", now, "A fine story"), ("2", now, "A file story")])
        hits["hits"][0]["url"] = f"file://{secret}"
        hits["hits"][1]["url"] = forged
        write(root, "h.json", hits)
        server.route("/api/v1/search_by_date", "h.json")
        locs = [f"file://{secret}", forged, f"{server.url}/news/fine.html"]
        write(
            root,
            "sitemap.xml",
            urlset("", []).replace(
                "</urlset>",
                "".join(
                    f"<url><loc>{loc.replace('&', '&amp;').replace('<', '&lt;')}</loc></url>"
                    for loc in locs
                )
                + "</urlset>",
            ),
        )
        write(
            root,
            "news/fine.html",
            ARTICLE.format(
                title="Fine page",
                published=iso(now),
                body="The harbour board says the quay reopens on Monday. " * 6,
            ),
        )
        toots = mastodon([("1", now, "A toot with a script address")])
        toots[0]["url"] = toots[0]["uri"] = "javascript:alert(document.cookie)"
        ordinary = mastodon([("2", now - timedelta(seconds=1), "An ordinary toot")])
        write(root, "m.json", toots + ordinary)
        server.route("/api/v1/timelines/tag/harbour", "m.json")
        config = write_sources(
            tmp_path,
            [
                {"name": "hn", "kind": "hackernews", "url": server.url, "queries": ["harbour"]},
                {"name": "sitemap", "kind": "sitemap", "url": f"{server.url}/sitemap.xml"},
                {"name": "toots", "kind": "mastodon", "url": server.url, "hashtags": ["harbour"]},
            ],
        )
        crawl(config)
        items = exported(config)
    database = (tmp_path / "ls.db").read_bytes()
    assert b"SECRET SECRET" not in database and b"FORGED ITEM" not in database
    assert all(item["url"].startswith(("http://", "https://")) for item in items), items
    titles = {item["title"] or item["text"] for item in items}
    assert {"A fine story", "A file story", "Fine page", "An ordinary toot"} <= titles


def test_a_host_named_by_one_source_is_allowed_for_that_source_and_port_only(tmp_path):
    """Two internal servers on 127.0.0.1: a disabled source names the second. A feed on the
    first links a page on the second (another port): refused; its own page is stored."""
    from leaksentry.localservers import StaticSite

    public, internal = tmp_path / "public", tmp_path / "internal"
    now = datetime.now(UTC) - timedelta(minutes=5)
    write(
        internal,
        "admin.html",
        ARTICLE.format(
            title="Internal admin", published=iso(now), body="INTERNAL PAGE MUST NOT BE READ " * 9
        ),
    )
    write(internal, "feed.rss", rss("{{SITE}}", [("x", now)]))
    with StaticSite(public) as site, StaticSite(internal) as other:
        write(
            public,
            "news/fine.html",
            ARTICLE.format(
                title="Fine page",
                published=iso(now),
                body="The harbour board says the quay reopens on Monday. " * 6,
            ),
        )
        write(
            public,
            "feed.rss",
            rss(site.url, [("fine", now)]).replace(
                "</channel>",
                f"<item><title>Admin</title><link>{other.url}/admin.html</link>"
                "<guid>a</guid></item></channel>",
            ),
        )
        config = write_sources(
            tmp_path,
            [
                {"name": "courier", "kind": "feed", "url": f"{site.url}/feed.rss"},
                {
                    "name": "intranet",
                    "kind": "feed",
                    "url": f"{other.url}/feed.rss",
                    "enabled": False,
                },
            ],
        )
        crawled = crawl(config)
        items = exported(config)
        assert other.requests == []  # nothing reached the other port
    assert crawled["courier"]["stored"] == 1 and crawled["courier"]["error"] is None
    assert [item["title"] for item in items] == ["Fine page"]
