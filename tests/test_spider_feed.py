"""The feed spider in real Scrapy crawls (``leaksentry crawl``) of saved pages on 127.0.0.1."""

import json
import re

from conftest import cli_run, write_config


def feed_sources(site, *names):
    paths = {
        "main": "/feeds/main.rss",
        "valley": "/feeds/valley.atom",
        "broken": "/feeds/broken.rss",
    }
    return [{"name": n, "kind": "feed", "url": site.url + paths[n], "every": "10m"} for n in names]


def exported(config, tmp_path) -> list[dict]:
    out = tmp_path / "items.jsonl"
    cli_run("export", "items", "--out", str(out), "--config", str(config))
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_rss_and_atom_crawl_stores_each_article_once(site, tmp_path):
    config = write_config(tmp_path, feed_sources(site, "main", "valley"))
    result = cli_run("crawl", "--config", str(config))
    items = {item["url"].removeprefix(site.url): item for item in exported(config, tmp_path)}
    assert set(items) == {
        "/articles/dock-checks.html",
        "/articles/harvest-fair.html",
        "/articles/library-hours.html",
        "/articles/mill-lane-bridge.html",
        "/articles/mill-lane-bridge-copy.html",
    }
    # the bridge story is on both feeds at two URLs with the same text: one story, two items
    bridge, copy = (items[f"/articles/mill-lane-bridge{s}.html"] for s in ("", "-copy"))
    assert bridge["story"] == copy["story"] != items["/articles/dock-checks.html"]["story"]
    assert set(bridge) == {
        "id",
        "url",
        "kind",
        "source",
        "published",
        "title",
        "text",
        "lang",
        "story",
    }
    assert bridge["title"] == "Mill Lane bridge to close for three weeks of repairs"
    assert bridge["published"] == "2026-11-02T08:00:00Z"
    assert (bridge["kind"], bridge["lang"]) == ("news", "en")
    assert items["/articles/library-hours.html"]["source"] == "main"
    assert items["/articles/harvest-fair.html"]["source"] == "valley"
    assert "Orchard Road diversion" in bridge["text"]
    assert "All rights reserved" not in bridge["text"]  # boilerplate left out
    assert "Other news from the valley" not in bridge["text"]
    # the duplicate with tracking parameters, the copy at another URL, the 404, the
    # binary page and the entries without a link are reported, not stored
    main, valley = (report(result.stdout, name) for name in ("main", "valley"))
    assert (main["stored"], valley["stored"]) == (3, 2)
    assert (main["duplicates"], valley["duplicates"]) == (1, 0)  # the tracking-parameter link
    assert (main["malformed"], main["failed pages"], valley["malformed"]) == (1, 2, 1)


def report(output: str, source: str) -> dict:
    """The figures of one `crawl <source>: stored 3, known 0, ...` line."""
    line = next(line for line in output.splitlines() if line.startswith(f"crawl {source}:"))
    return {
        key.strip(): int(value)
        for key, value in re.findall(r"([a-z ]+) (\d+)", line.split(":", 1)[1])
    }


def test_polite_crawl_obeys_robots_and_says_who_it_is(site, tmp_path):
    config = write_config(tmp_path, feed_sources(site, "valley"))
    cli_run("crawl", "--config", str(config))
    assert "/robots.txt" in site.requests
    assert "/private/staff-rota.html" not in site.requests
    assert all(agent.startswith("leaksentry/") for agent in site.user_agents)


def test_second_crawl_stores_nothing_and_skips_stored_pages(site, tmp_path):
    config = write_config(tmp_path, feed_sources(site, "main", "valley"))
    cli_run("crawl", "--config", str(config))
    site.requests.clear()
    result = cli_run("crawl", "--config", str(config))
    main, valley = (report(result.stdout, name) for name in ("main", "valley"))
    assert main["stored"] == valley["stored"] == 0
    assert (main["known"], valley["known"]) == (4, 2)  # the tracking-parameter link too
    stored = exported(config, tmp_path)
    assert len(stored) == 5
    for item in stored:
        assert item["url"].removeprefix(site.url) not in site.requests
    assert "/articles/removed-story.html" not in site.requests  # a 404 is not asked again soon
    assert "/articles/photo.png" in site.requests  # an unreadable page may become readable


def test_a_broken_feed_is_reported_and_other_sources_still_stored(site, tmp_path):
    sources = feed_sources(site, "broken", "valley")
    sources.append({"name": "down", "kind": "feed", "url": "http://127.0.0.1:9/feed.rss"})
    config = write_config(tmp_path, sources)
    result = cli_run("crawl", "--config", str(config), check=False)
    assert result.returncode == 3 and "2 of 3 source(s) failed" in result.stderr
    assert "Traceback" not in result.stderr
    assert "crawl broken: stored 0" in result.stdout
    assert "ERROR" in result.stdout and "not a readable RSS/Atom feed" in result.stdout
    assert "crawl down: stored 0" in result.stdout
    assert "crawl valley: stored 2" in result.stdout  # a feed's failure does not stop another
    status = cli_run("sources", "check", "--config", str(config))
    assert "3 source(s) OK" in status.stdout


def test_crawl_of_an_unknown_source_is_one_clear_line(site, tmp_path):
    config = write_config(tmp_path, feed_sources(site, "main"))
    result = cli_run("crawl", "--source", "nope", "--config", str(config), check=False)
    assert result.returncode == 1
    assert "no source named 'nope' (known: main)" in result.stderr
    assert "Traceback" not in result.stderr


WIRE_STORY = """<!doctype html><html lang="en"><head><title>{title}</title>
<meta property="article:published_time" content="2026-11-06T0{n}:00:00Z"></head>
<body><header><a href="/">{site}</a></header><article><h1>{title}</h1>
<p>{intro}</p>
<p>Engineers from the valley water board said on Thursday that the Harrowby reservoir dam would
be lowered by two metres over the winter after inspectors found seepage beneath the spillway.</p>
<p>The work, expected to take fourteen weeks, will close the lakeside footpath between the boat
house and the northern car park. Anglers have been asked to use the southern bank until spring.</p>
<p>A spokesperson for the board said there was no danger to homes downstream and that the level
would be restored once new drainage had been laid under the spillway apron.</p>
<p>Residents can see the plans at the village hall on Saturday mornings throughout December.</p>
</article><footer>{site} - all rights reserved</footer></body></html>"""

FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>{site}</title>
<link>{{{{SITE}}}}/</link><description>news</description>
<item><title>{title}</title><link>{{{{SITE}}}}/story.html</link><guid>{{{{SITE}}}}/story.html</guid>
<pubDate>Fri, 06 Nov 2026 0{n}:00:00 +0000</pubDate></item>
<item><title>Unrelated</title><link>{{{{SITE}}}}/other.html</link><guid>{{{{SITE}}}}/other.html</guid>
<pubDate>Fri, 06 Nov 2026 0{n}:30:00 +0000</pubDate></item></channel></rss>"""

OTHER = """<!doctype html><html lang="en"><head><title>Other {n}</title></head><body><article>
<h1>Local news {n}</h1><p>{other}</p></article></body></html>"""

OTHER_TEXTS = [
    "The choir will sing carols in the market square on each of the four Saturdays before "
    "Christmas, collecting for the hospice, and new voices are welcome at Tuesday rehearsals.",
    "A new bus shelter with a living roof of sedum has been installed outside the primary "
    "school, paid for by parents who raised the money with a sponsored swim last summer.",
    "The cricket club has appointed a groundsman after thirty years of volunteers mowing the "
    "outfield, and hopes the new drainage will stop early-season matches being washed out.",
]


def test_near_identical_copies_on_three_sites_become_one_story(tmp_path):
    from leaksentry.localservers import StaticSite

    sites, sources = [], []
    editions = [
        ("Valley Courier", "Harrowby dam to be lowered", "By our reporter."),
        ("Fell Times", "Harrowby reservoir dam lowered after seepage", "From the wire."),
        ("Dale Post", "Dam works: Harrowby level drops two metres", "Wire service report."),
    ]
    for n, (name, title, intro) in enumerate(editions, 1):
        root = tmp_path / f"site{n}"
        root.mkdir()
        fields = {"site": name, "title": title, "intro": intro, "n": n, "other": OTHER_TEXTS[n - 1]}
        (root / "story.html").write_text(WIRE_STORY.format(**fields))
        (root / "feed.rss").write_text(FEED.format(**fields))
        (root / "other.html").write_text(OTHER.format(**fields))
        sites.append(StaticSite(root).start())
        sources.append({"name": f"site{n}", "kind": "feed", "url": sites[-1].url + "/feed.rss"})
    try:
        config = write_config(tmp_path, sources)
        cli_run("crawl", "--config", str(config))
        items = exported(config, tmp_path)
    finally:
        for server in sites:
            server.stop()
    copies = [item for item in items if item["url"].endswith("/story.html")]
    others = [item for item in items if item["url"].endswith("/other.html")]
    assert len(copies) == 3 and len(others) == 3
    assert len({item["story"] for item in copies}) == 1
    assert len({item["story"] for item in others} | {copies[0]["story"]}) == 4


def test_sources_status_tells_no_data_from_no_alert(site, tmp_path):
    sources = feed_sources(site, "main", "broken")
    sources.append({"name": "later", "kind": "feed", "url": site.url + "/feeds/valley.atom"})
    config = write_config(tmp_path, sources)
    done = cli_run(
        "crawl", "--source", "main", "--source", "broken", "--config", str(config), check=False
    )
    assert done.returncode == 3 and "1 of 2 source(s) failed" in done.stderr
    status = cli_run("sources", "status", "--config", str(config), check=False)
    assert status.returncode == 3  # some source cannot be seen
    lines = status.stdout
    assert re.search(r"main\s+feed\s+OK", lines)
    assert re.search(r"broken\s+feed\s+FAILING", lines)
    assert "not a readable RSS/Atom feed" in lines
    assert re.search(r"later\s+feed\s+NEVER CRAWLED", lines)
    assert "items last run 3" in lines and "HTTP 200x" in lines and "404x1" in lines
