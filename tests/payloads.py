"""A programmable HTTP server on 127.0.0.1 for the spider tests, and helpers to crawl with it.

``PayloadServer`` serves ``tests/fixtures/sources/`` and routes requests, by path and query
parameters, to saved payload files or to status codes: a 429 with ``Retry-After``, a 304 when
``If-None-Match`` or ``If-Modified-Since`` matches. It records every request (path, query,
headers, time) and replaces ``{{SITE}}`` in bodies by its own base URL. Test-only.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from conftest import FIXTURES, cli_run

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
        """Answer requests for ``path`` (and ``query``) with ``payload`` or ``status``."""
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
        fits = [
            route
            for route in self.routes
            if route.path == path
            and route.times != 0
            and all(query.get(key) == str(value) for key, value in route.query.items())
        ]
        return max(fits, key=lambda route: len(route.query), default=None)

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


def crawl(config: Path) -> Crawl:
    """Run `leaksentry crawl` in a real process; return each source's figures."""
    done = cli_run("crawl", "--config", str(config), check=False)
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
    cli_run("export", "items", "--out", str(out), "--config", str(config))
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def by_source(items: list[dict], source: str) -> dict[str, dict]:
    """One source's items by URL."""
    return {item["url"]: item for item in items if item["source"] == source}


AUTHOR_WORDS = ("display_name", "displayName", "avatar", "followers", "handle", "acct")


def assert_no_author_fields(items: list[dict], *names: str) -> None:
    """Items carry the public post, never who wrote it."""
    for item in items:
        assert set(item) <= {"id", "url", "kind", "source", "published", "title", "text"} | {
            "lang",
            "story",
        }
        for name in names:
            assert name not in item["title"] + item["text"], f"author name {name!r} stored"
