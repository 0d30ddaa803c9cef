"""Hostile input: a feed cannot send the crawler to addresses it was not told about."""

import gzip
import json
import socket
import time

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.test import get_crawler

from leaksentry.localservers import StaticSite
from spiders.guard import AddressGuardMiddleware

from conftest import cli_run, write_config

FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<link>{{SITE}}/</link><description>d</description>
<item><title>Fine</title><link>{{SITE}}/fine.html</link><guid>1</guid></item>
<item><title>Bounce</title><link>{{SITE}}/bounce.html</link><guid>2</guid></item>
<item><title>Also fine</title><link>{{SITE}}/also.html</link><guid>3</guid></item>
</channel></rss>"""

PAGE = """<!doctype html><html lang="en"><head><title>{title}</title></head><body><article>
<h1>{title}</h1><p>{body}</p></article></body></html>"""


def test_redirect_to_an_unnamed_loopback_address_is_refused_and_the_rest_stored(tmp_path):
    internal_root = tmp_path / "internal"
    internal_root.mkdir()
    (internal_root / "admin.html").write_text(
        PAGE.format(title="Internal admin", body="This internal page must never be fetched. " * 8)
    )
    root = tmp_path / "site"
    root.mkdir()
    (root / "feed.rss").write_text(FEED)
    body = "The harbour ferry timetable changes on Monday with two extra evening sailings. " * 4
    (root / "fine.html").write_text(PAGE.format(title="Ferry timetable", body=body))
    (root / "also.html").write_text(
        PAGE.format(title="Library", body="The library opens late on Thursdays this winter. " * 5)
    )
    with StaticSite(internal_root, host="127.0.0.2") as internal, StaticSite(root) as site:
        (root / "bounce.html.redirect").write_text(f"{internal.url}/admin.html")
        config = write_config(
            tmp_path, [{"name": "feed", "kind": "feed", "url": site.url + "/feed.rss"}]
        )
        result = cli_run("crawl", "--config", str(config))
        assert internal.requests == []  # nothing reached the unnamed address
    assert "refused http://127.0.0.2" in result.stderr
    assert "stored 2" in result.stdout and ": ok" in result.stdout
    out = tmp_path / "items.jsonl"
    cli_run("export", "items", "--out", str(out), "--config", str(config))
    titles = sorted(json.loads(line)["title"] for line in out.read_text().splitlines())
    assert titles == ["Ferry timetable", "Library"]


def test_allow_hosts_lets_a_named_internal_host_through(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    (root / "feed.rss").write_text(FEED.replace("bounce.html", "fine.html"))
    body = "The harbour ferry timetable changes on Monday with two extra evening sailings. " * 4
    (root / "fine.html").write_text(PAGE.format(title="Ferry timetable", body=body))
    (root / "also.html.redirect").write_text("http://127.0.0.2:{port}/also.html")
    internal_root = tmp_path / "internal"
    internal_root.mkdir()
    (internal_root / "also.html").write_text(
        PAGE.format(title="Intranet note", body="The canteen closes early on Friday. " * 8)
    )
    with StaticSite(internal_root, host="127.0.0.2") as internal, StaticSite(root) as site:
        target = (
            (root / "also.html.redirect").read_text().format(port=internal.url.rsplit(":", 1)[1])
        )
        (root / "also.html.redirect").write_text(target)
        config = write_config(
            tmp_path,
            [{"name": "feed", "kind": "feed", "url": site.url + "/feed.rss"}],
            allow_hosts=["127.0.0.2"],
        )
        cli_run("crawl", "--config", str(config))
        assert "/also.html" in internal.requests


XXE_FEED = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file://{secret}">
<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<rss version="2.0"><channel><title>t &lol4;</title><link>{{{{SITE}}}}/</link><description>d</description>
<item><title>Fine &secret;</title><link>{{{{SITE}}}}/fine.html</link><guid>1</guid></item>
</channel></rss>"""


def test_xml_entities_are_neither_fetched_nor_expanded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("LOCAL-FILE-CONTENTS-MUST-NOT-LEAK")
    root = tmp_path / "site"
    root.mkdir()
    (root / "feed.rss").write_text(XXE_FEED.format(secret=secret))
    body = "The harbour ferry timetable changes on Monday with two extra evening sailings. " * 4
    (root / "fine.html").write_text(PAGE.format(title="Ferry timetable", body=body))
    with StaticSite(root) as site:
        config = write_config(
            tmp_path, [{"name": "feed", "kind": "feed", "url": site.url + "/feed.rss"}]
        )
        cli_run("crawl", "--config", str(config))
    database = (tmp_path / "ls.db").read_bytes()
    assert b"LOCAL-FILE-CONTENTS" not in database
    assert b"lollollol" not in database
    out = tmp_path / "items.jsonl"
    cli_run("export", "items", "--out", str(out), "--config", str(config))
    assert [json.loads(line)["title"] for line in out.read_text().splitlines()] == [
        "Ferry timetable"
    ]


def two_fine_pages_and(tmp_path, third: str):
    """A site whose feed links two ordinary articles and `third`, which the test writes."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "feed.rss").write_text(FEED.replace("bounce.html", third))
    body = "The harbour ferry timetable changes on Monday with two extra evening sailings. " * 4
    (root / "fine.html").write_text(PAGE.format(title="Ferry timetable", body=body))
    (root / "also.html").write_text(
        PAGE.format(title="Library", body="The library opens late on Thursdays this winter. " * 5)
    )
    return root


def crawl_feed(root, tmp_path):
    with StaticSite(root) as site:
        config = write_config(
            tmp_path, [{"name": "feed", "kind": "feed", "url": site.url + "/feed.rss"}]
        )
        return cli_run("crawl", "--config", str(config))


def test_a_response_over_the_size_cap_is_dropped_and_the_rest_stored(tmp_path):
    root = two_fine_pages_and(tmp_path, "huge.html")
    filler = "<p>" + "padding words " * 50 + "</p>\n"
    (root / "huge.html").write_text(
        PAGE.format(title="Huge", body="") + filler * (9 * 2**20 // len(filler))
    )
    result = crawl_feed(root, tmp_path)
    assert "stored 2" in result.stdout and "failed pages 1: ok" in result.stdout
    assert "Huge" not in (tmp_path / "ls.db").read_bytes().decode("latin-1")


def test_a_compressed_page_that_inflates_past_the_cap_is_dropped_and_the_rest_stored(tmp_path):
    """A decompression bomb: 64 MiB of page in a small gzip body; the cap holds after inflating."""
    root = two_fine_pages_and(tmp_path, "bomb.html")
    page = PAGE.format(title="Bomb", body="").encode() + b" " * (64 * 2**20)
    (root / "bomb.html.gz").write_bytes(gzip.compress(page, compresslevel=9))
    assert (root / "bomb.html.gz").stat().st_size < 2**20  # small on the wire
    result = crawl_feed(root, tmp_path)
    assert "stored 2" in result.stdout and "failed pages 1: ok" in result.stdout, result.stdout
    assert "exceeded DOWNLOAD_MAXSIZE" in result.stderr  # stopped while inflating
    assert "Bomb" not in (tmp_path / "ls.db").read_bytes().decode("latin-1")


def test_a_site_that_does_not_answer_in_time_is_a_source_error_and_others_are_stored(tmp_path):
    root = two_fine_pages_and(tmp_path, "also.html")
    with StaticSite(root, delay=4) as slow, StaticSite(root) as quick:
        sources = [
            {"name": "slow", "kind": "feed", "url": slow.url + "/feed.rss"},
            {"name": "quick", "kind": "feed", "url": quick.url + "/feed.rss"},
        ]
        config = write_config(tmp_path, sources, download_timeout=1)
        started = time.monotonic()
        result = cli_run("crawl", "--config", str(config), check=False)
        took = time.monotonic() - started
    assert result.returncode == 3  # a source failed; the other's items are stored
    assert "crawl quick: stored 2" in result.stdout, result.stdout
    assert (
        "crawl slow: stored 0" in result.stdout and "took longer than 1.0 seconds" in result.stdout
    )
    assert took < 30  # abandoned at the time-out, not waited out


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/feed",
        "http://172.16.0.1/",
        "http://192.168.1.1/admin",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://0.0.0.0:8450/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[::ffff:127.0.0.1]/",  # loopback spelled as IPv6
        "http://2130706433/",  # 127.0.0.1 as one number
        "http://localhost:8450/audit",
        "http://224.0.0.1/",  # multicast
    ],
)
def test_every_kind_of_non_public_address_is_refused(url):
    guard = AddressGuardMiddleware.from_crawler(get_crawler(settings_dict={}))
    with pytest.raises(IgnoreRequest, match="refused non-public address"):
        guard.check(Request(url))
    assert guard.stats.get_value("leaksentry/refused_addresses") == 1


@pytest.mark.parametrize("url", ["http://93.184.216.34/news", "http://[2001:4860:4860::8888]/"])
def test_public_addresses_pass_and_named_internal_hosts_pass(url):
    guard = AddressGuardMiddleware.from_crawler(get_crawler(settings_dict={}))
    assert guard.process_request(Request(url)) is None
    named = get_crawler(settings_dict={"LEAKSENTRY_ALLOW_HOSTS": ["10.1.2.3"]})
    assert (
        AddressGuardMiddleware.from_crawler(named).process_request(Request("http://10.1.2.3/feed"))
        is None
    )


def test_the_checked_address_is_the_one_used_dns_rebinding(monkeypatch):
    """A name that answers public to the check and loopback afterwards. The DNS answers are
    simulated (no DNS server runs here); the resolver is Scrapy's own, as in a crawl."""
    from scrapy.resolver import CachingThreadedResolver, dnscache
    from twisted.internet import reactor

    answers = iter(["93.184.216.34", "127.0.0.1", "127.0.0.1"])

    def rebinding_getaddrinfo(host, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), 0))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_getaddrinfo)
    monkeypatch.setattr(socket, "gethostbyname", lambda host: next(answers))
    dnscache.pop("rebind.example", None)
    guard = AddressGuardMiddleware.from_crawler(get_crawler(settings_dict={}))
    assert guard.check(Request("http://rebind.example/feed")) is None
    resolver = CachingThreadedResolver(reactor, cache_size=100, timeout=5)
    resolved = []
    resolver.getHostByName("rebind.example").addCallback(resolved.append)
    assert resolved == ["93.184.216.34"]  # from the pin: the second answer is never asked
    dnscache.pop("rebind.example", None)


def test_a_failed_lookup_at_check_time_refuses_the_request_dns_rebinding(monkeypatch):
    """The look-up fails when the guard checks; the download's own look-up would answer
    127.0.0.9. Fail closed: refused, nothing cached, nothing left for the download to resolve.
    A later request whose check succeeds passes and is pinned to the address checked."""
    from scrapy.resolver import dnscache

    answers = iter([socket.gaierror("temporary failure"), "93.184.216.34"])

    def flaky_getaddrinfo(host, *args, **kwargs):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", flaky_getaddrinfo)
    monkeypatch.setattr(socket, "gethostbyname", lambda host: "127.0.0.9")
    dnscache.pop("flaky.example", None)
    guard = AddressGuardMiddleware.from_crawler(get_crawler(settings_dict={}))
    with pytest.raises(IgnoreRequest, match="could not be looked up"):
        guard.check(Request("http://flaky.example/feed"))
    assert "flaky.example" not in dnscache
    assert guard.check(Request("http://flaky.example/feed")) is None
    assert dnscache["flaky.example"] == "93.184.216.34"
    dnscache.pop("flaky.example", None)


def test_a_name_with_no_ipv4_address_checked_is_refused(monkeypatch):
    """Scrapy's resolver connects over IPv4: a name whose check found no IPv4 address has
    nothing to pin, and would be looked up again by the download. Refused."""
    from scrapy.resolver import dnscache

    def v6_only(host, *args, **kwargs):
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2001:4860:4860::8888", 0, 0, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", v6_only)
    dnscache.pop("six.example", None)
    guard = AddressGuardMiddleware.from_crawler(get_crawler(settings_dict={}))
    with pytest.raises(IgnoreRequest):
        guard.check(Request("http://six.example/feed"))
    assert "six.example" not in dnscache
