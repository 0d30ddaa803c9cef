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
    # the bridge story is on both feeds at two URLs with the same text: whichever copy
    # arrives first is stored, the other is a duplicate
    copies = {"/articles/mill-lane-bridge.html", "/articles/mill-lane-bridge-copy.html"}
    assert len(copies & set(items)) == 1
    assert set(items) - copies == {
        "/articles/dock-checks.html",
        "/articles/harvest-fair.html",
        "/articles/library-hours.html",
    }
    bridge = items[(copies & set(items)).pop()]
    assert set(bridge) == {"id", "url", "kind", "source", "published", "title", "text", "lang"}
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
    assert main["stored"] + valley["stored"] == 4
    assert main["duplicates"] + valley["duplicates"] == 2
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
    assert main["known"] + valley["known"] >= 4
    stored = exported(config, tmp_path)
    assert len(stored) == 4
    for item in stored:
        assert item["url"].removeprefix(site.url) not in site.requests


def test_a_broken_feed_is_reported_and_other_sources_still_stored(site, tmp_path):
    sources = feed_sources(site, "broken", "valley")
    sources.append({"name": "down", "kind": "feed", "url": "http://127.0.0.1:9/feed.rss"})
    config = write_config(tmp_path, sources)
    result = cli_run("crawl", "--config", str(config))
    assert "crawl broken: stored 0" in result.stdout
    assert "ERROR" in result.stdout and "not a readable RSS/Atom feed" in result.stdout
    assert "crawl down: stored 0" in result.stdout
    assert "crawl valley: stored 2" in result.stdout
    status = cli_run("sources", "check", "--config", str(config))
    assert "3 source(s) OK" in status.stdout


def test_crawl_of_an_unknown_source_is_one_clear_line(site, tmp_path):
    config = write_config(tmp_path, feed_sources(site, "main"))
    result = cli_run("crawl", "--source", "nope", "--config", str(config), check=False)
    assert result.returncode == 1
    assert "no source named 'nope' (known: main)" in result.stderr
    assert "Traceback" not in result.stderr
