"""A programmable HTTP server on 127.0.0.1 for the spider tests, and helpers to crawl with it.

``PayloadServer`` serves ``tests/fixtures/sources/`` and routes requests, by path and query
parameters, to saved payload files or to status codes: a 429 with ``Retry-After``, a 304 when
``If-None-Match`` or ``If-Modified-Since`` matches. It records every request (path, query,
headers, time) and replaces ``{{SITE}}`` in bodies by its own base URL. Test-only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from conftest import FIXTURES

SOURCES = FIXTURES / "sources"
TYPES = {
    ".json": "application/json; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".png": "image/png",
}
# the first crawl of every test reaches back to this time: saved payloads hold posts on both sides
CUTOFF = datetime(2026, 11, 26, tzinfo=UTC)


@dataclass
class Route:
    path: str
    payload: str | None = None  # a file under the server's root, or None for an empty body
    query: dict = field(default_factory=dict)  # parameters the request must carry (subset)
    status: int = 200
    headers: dict = field(default_factory=dict)
    times: int | None = None  # answer this many requests, then let the next route answer
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class Seen:
    path: str
    query: dict
    headers: dict
    at: float
    status: int = 0


class PayloadServer:
    """Serve ``root`` on 127.0.0.1 with programmable routes (also a context manager)."""

    def __init__(self, root: Path = SOURCES):
        self.root = Path(root).resolve()
        self.routes: list[Route] = []
        self.requests: list[Seen] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def route(self, path: str, payload: str | None = None, **how) -> Route:
        """Answer requests for ``path`` carrying ``query`` with ``payload`` or ``status``.

        The route naming most parameters answers; among equals the last added, so a test can
        override a route (``times=1`` for a single 429, or a newer page for a second crawl).
        """
        route = Route(path, payload, **how)
        self.routes.append(route)
        return route

    def requested(self, path: str) -> list[Seen]:
        """The requests for ``path``, in order."""
        return [seen for seen in self.requests if seen.path == path]

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # -- answering ----------------------------------------------------------------------------
    def answer(self, path: str, query: dict, headers: dict) -> tuple[int, dict, bytes]:
        with self.lock:
            route = self._match(path, query)
            if route is not None and route.times is not None:
                route.times -= 1
        if route is None:
            file = (self.root / path.lstrip("/")).resolve()
            if not file.is_file() or self.root not in file.parents:
                return 404, {"Content-Type": TYPES[".html"]}, b"<h1>Not found</h1>"
            return 200, {"Content-Type": _type(file)}, self._body(file)
        validators = {"ETag": route.etag, "Last-Modified": route.last_modified}
        validators = {key: value for key, value in validators.items() if value}
        if (route.etag and headers.get("if-none-match") == route.etag) or (
            route.last_modified and headers.get("if-modified-since") == route.last_modified
        ):
            return 304, validators, b""
        body = self._body(self.root / route.payload) if route.payload else b""
        kind = _type(self.root / route.payload) if route.payload else TYPES[".txt"]
        return route.status, {"Content-Type": kind} | validators | route.headers, body

    def _match(self, path: str, query: dict) -> Route | None:
        """The route naming most of the request's parameters; on a tie, the last added."""
        fits = [
            (len(route.query), number, route)
            for number, route in enumerate(self.routes)
            if route.path == path
            and route.times != 0
            and all(query.get(key) == str(value) for key, value in route.query.items())
        ]
        return max(fits, key=lambda fit: fit[:2], default=(0, 0, None))[2]

    def _body(self, file: Path) -> bytes:
        body = file.read_bytes()
        if file.suffix in TYPES and not TYPES[file.suffix].startswith("image/"):
            body = body.replace(b"{{SITE}}", self.url.encode())
        return body


def _type(file: Path) -> str:
    return TYPES.get(file.suffix, "application/octet-stream")


def _handler(owner: PayloadServer):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            headers = {key.lower(): value for key, value in self.headers.items()}
            seen = Seen(parts.path, query, headers, time.monotonic())
            owner.requests.append(seen)
            status, response_headers, body = owner.answer(parts.path, query, headers)
            seen.status = status
            self.send_response(status)
            for key, value in response_headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # keep test output quiet
            pass

    return Handler


# -- crawling with it -------------------------------------------------------------------------
def lookback() -> str:
    """The lookback that makes a first crawl reach back to CUTOFF."""
    return f"{int((datetime.now(UTC) - CUTOFF).total_seconds())}s"


def write_sources(folder: Path, sources: list[dict]) -> Path:
    """A configuration with the given [[source]] tables (lists and booleans allowed)."""
    lines = ['database = "ls.db"', 'key_file = "ls.key"']
    for source in sources:
        lines.append("[[source]]")
        source = {"every": "10m", "lookback": lookback()} | source
        lines += [f"{key} = {json.dumps(value)}" for key, value in source.items()]
    path = folder / "leaksentry.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class Crawl:
    """One `leaksentry crawl`: its per-source figures and what it wrote on stderr."""

    figures: dict
    stderr: str
    status: int

    def __getitem__(self, source: str) -> dict:
        return self.figures[source]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """`leaksentry ARGS` in a real process with no LEAKSENTRY_* variable of the caller (module
    fixtures run before the per-test isolation)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LEAKSENTRY_")}
    env |= {"NO_PROXY": "*", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "leaksentry", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def crawl(config: Path) -> Crawl:
    """Run `leaksentry crawl` in a real process; return each source's figures."""
    done = run_cli("crawl", "--config", str(config))
    figures = {}
    for line in done.stdout.splitlines():
        if line.startswith("crawl ") and ": " in line:
            name, _, rest = line.removeprefix("crawl ").partition(": ")
            figures[name] = _figures(rest)
    assert figures, f"no crawl report (exit {done.returncode})\n{done.stderr}"
    return Crawl(figures, done.stderr, done.returncode)


def _figures(text: str) -> dict:
    """'stored 3, known 0, duplicates 0, malformed 1, failed pages 0: ok' -> a dict."""
    counts, _, status = text.partition(": ")
    figures = {}
    for part in counts.split(", "):
        key, _, value = part.rpartition(" ")
        figures[key] = int(value)
    figures["error"] = None if status == "ok" else status.removeprefix("ERROR ")
    return figures


def exported(config: Path) -> list[dict]:
    """The stored items, through `leaksentry export items`."""
    out = config.parent / "items.jsonl"
    done = run_cli("export", "items", "--out", str(out), "--config", str(config))
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def by_source(items: list[dict], source: str) -> dict[str, dict]:
    """One source's items by URL."""
    return {item["url"]: item for item in items if item["source"] == source}


def assert_no_author_fields(items: list[dict], *names: str) -> None:
    """Items carry the public post, never who wrote it."""
    for item in items:
        assert set(item) <= {"id", "url", "kind", "source", "published", "title", "text"} | {
            "lang",
            "story",
        }
        for name in names:
            assert name not in item["title"] + item["text"], f"author name {name!r} stored"


# -- every kind's saved payloads, served at the platform's real paths -------------------------
# Each function routes one kind's payloads on `server` and returns its [[source]] table. Tests
# add their own routes on top (a 429, a newer page for a second crawl, a broken source).
MASTODON_TAG = "/api/v1/timelines/tag/harbourside"
MASTODON_LOCAL = "/api/v1/timelines/public"
BSKY_SEARCH = "/xrpc/app.bsky.feed.searchPosts"
BSKY_FEED = "/xrpc/app.bsky.feed.getAuthorFeed"
REDDIT_NEW = "/r/harbourside_example/new.json"
REDDIT_SEARCH = "/search.json"
TELEGRAM = "/s/harbourside_watch_example"
HN = "/api/v1/search_by_date"
GDELT = "/api/v2/doc/doc"


def serve_mastodon(server: PayloadServer, name: str = "mastodon") -> dict:
    page = {"limit": "40"}
    server.route(MASTODON_TAG, "mastodon/tag-page1.json", query=page)
    server.route(
        MASTODON_TAG, "mastodon/tag-page2.json", query=page | {"max_id": "113600000000000101"}
    )
    server.route(MASTODON_LOCAL, "mastodon/local.json", query={"local": "true"})
    return {
        "name": name,
        "kind": "mastodon",
        "url": server.url,
        "hashtags": ["#harbourside"],
        "local_timeline": True,
    }


def serve_bluesky(server: PayloadServer, name: str = "bluesky") -> dict:
    query = {"q": "harbourside ferry"}
    server.route(BSKY_SEARCH, "bluesky/search-page1.json", query=query)
    server.route(BSKY_SEARCH, "bluesky/search-page2.json", query=query | {"cursor": "3"})
    server.route(
        BSKY_FEED, "bluesky/author-feed.json", query={"actor": "quayside.harbourside.example"}
    )
    return {
        "name": name,
        "kind": "bluesky",
        "url": server.url,
        "queries": ["harbourside ferry"],
        "actors": ["quayside.harbourside.example"],
    }


def serve_reddit(server: PayloadServer, name: str = "reddit") -> dict:
    server.route(REDDIT_NEW, "reddit/new-page1.json")
    server.route(REDDIT_NEW, "reddit/new-page2.json", query={"after": "t3_1hbx003"})
    server.route(REDDIT_SEARCH, "reddit/search.json", query={"q": "saltmarsh quay"})
    return {
        "name": name,
        "kind": "reddit",
        "url": server.url,
        "subreddits": ["r/harbourside_example"],
        "queries": ["saltmarsh quay"],
    }


def serve_telegram(server: PayloadServer, name: str = "telegram") -> dict:
    server.route(TELEGRAM, "telegram/channel.html")
    server.route(TELEGRAM, "telegram/channel-before-239.html", query={"before": "239"})
    return {
        "name": name,
        "kind": "telegram",
        "url": server.url,
        "channels": ["@harbourside_watch_example"],
    }


def serve_hackernews(server: PayloadServer, name: str = "hackernews") -> dict:
    query = {"query": "harbourside"}
    server.route(HN, "hackernews/page0.json", query=query | {"page": "0"})
    server.route(HN, "hackernews/page1.json", query=query | {"page": "1"})
    return {"name": name, "kind": "hackernews", "url": server.url, "queries": ["harbourside"]}


def serve_gdelt(server: PayloadServer, name: str = "gdelt") -> dict:
    query = {"query": "harbourside"}
    server.route(GDELT, "gdelt/page1.json", query=query)
    server.route(GDELT, "gdelt/page2.json", query=query | {"enddatetime": "20261126190000"})
    return {"name": name, "kind": "gdelt", "url": server.url, "queries": ["harbourside"]}


def serve_sitemap(server: PayloadServer, name: str = "sitemap") -> dict:
    server.route("/sitemap/index.xml", "sitemap/index.xml", etag='"index-1"')
    server.route(
        "/sitemap/news.xml",
        "sitemap/news.xml",
        etag='"news-1"',
        last_modified="Fri, 27 Nov 2026 08:00:00 GMT",
    )
    return {"name": name, "kind": "sitemap", "url": server.url + "/sitemap/index.xml"}


def serve_site(server: PayloadServer, name: str = "site") -> dict:
    return {
        "name": name,
        "kind": "site",
        "url": server.url + "/site/harbour/index.html",
        "follow": [r"/news/site-[a-z-]+\.html$"],
    }


def serve_feed(server: PayloadServer, name: str = "feed") -> dict:
    server.route(
        "/feed/harbour.rss",
        "feed/harbour.rss",
        etag='W/"feed-1"',
        last_modified="Fri, 27 Nov 2026 09:00:00 GMT",
    )
    return {"name": name, "kind": "feed", "url": server.url + "/feed/harbour.rss"}


SERVE = {
    "feed": serve_feed,
    "sitemap": serve_sitemap,
    "site": serve_site,
    "mastodon": serve_mastodon,
    "bluesky": serve_bluesky,
    "reddit": serve_reddit,
    "telegram": serve_telegram,
    "hackernews": serve_hackernews,
    "gdelt": serve_gdelt,
}

# What a first crawl of each kind's source stores: URLs (relative ones on the test server)
FIRST_CRAWL = {
    "feed": {"/news/feed-bakery-award.html", "/news/feed-crossing-lights.html"},
    "sitemap": {
        "/news/sm-ferry-timetable.html",
        "/news/sm-lighthouse-paint.html",
        "/news/sm-market-hall.html",
    },
    "site": {"/news/site-harbour-dredging.html", "/news/site-school-choir.html"},
    "mastodon": {
        f"https://social.harbourside.example/@tidewatcher/113600000000000{n}"
        for n in ("090", "099", "100", "101", "103", "104", "105")
    },
    "bluesky": {
        "https://bsky.app/profile/did:plc:f3rrywatch5saltmarsh9qy1/post/3lbfw7aaa2k2x",
        "https://bsky.app/profile/did:plc:q7uayside4notes2harbour0x/post/3lbfw5bbb2k2x",
        "https://bsky.app/profile/did:plc:q7uayside4notes2harbour0x/post/3lbfv9ddd2k2x",
        "https://bsky.app/profile/did:plc:q7uayside4notes2harbour0x/post/3lbfwaggg2k2x",
        "https://bsky.app/profile/did:plc:q7uayside4notes2harbour0x/post/3lbfw2iii2k2x",
    },
    "reddit": {
        "/r/harbourside_example/comments/1hbx005/anyone_else_hear_the_fog_horn/",
        "/r/harbourside_example/comments/1hbx004/allotment_society_finally_gets_its_water/",
        "/r/harbourside_example/comments/1hbx003/best_place_for_chips_near_the/",
        "/r/harbourside_example/comments/1hbx002/lost_dog_found_near_gull_point/",
        "/r/harbourside_example/comments/1hbq010/saltmarsh_quay_ferry_cancelled_again/",
        "/news/reddit-linked-allotments.html",
    },
    "telegram": {f"https://t.me/harbourside_watch_example/{n}" for n in (237, 238, 240, 241, 243)},
    "hackernews": {
        "https://news.ycombinator.com/item?id=49120005",
        "https://news.ycombinator.com/item?id=49120004",
        "https://news.ycombinator.com/item?id=49110001",
        "https://news.ycombinator.com/item?id=49100002",
        "/news/hn-linked-tide-gauge.html",
    },
    "gdelt": {
        "/news/gdelt-coast-path.html",
        "/news/gdelt-wind-survey.html",
        "/news/gdelt-museum-loan.html",
    },
}


def urls(items: list[dict], site: str) -> set[str]:
    """Items' URLs, relative when on the test server."""
    return {item["url"].removeprefix(site) for item in items}
