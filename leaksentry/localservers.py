"""Local servers on 127.0.0.1 for the demo, the tests and the benchmarks: a static site, a
Mastodon-compatible timeline and an SMTP catcher.

All are real servers (http.server, aiosmtpd) run in background threads.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import formatdate
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

SITE_PLACEHOLDER = b"{{SITE}}"
TEXT_TYPES = {".html", ".htm", ".xml", ".rss", ".atom", ".txt", ".json"}
EXTRA_TYPES = {".rss": "application/rss+xml", ".atom": "application/atom+xml"}


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class _SiteHandler(SimpleHTTPRequestHandler):
    """Static files; text files get {{SITE}} replaced by the server's base URL; a missing
    <name> with a <name>.gz beside it is sent compressed (Content-Encoding: gzip)."""

    base_url = ""
    # TCP_NODELAY, as real web servers set it: headers and body are two writes, and Nagle's
    # algorithm would hold the body until the client's delayed ACK (~40 ms a keep-alive request)
    disable_nagle_algorithm = True
    delay = 0.0  # seconds before each answer: a slow site, for tests of interrupted crawls
    conditional = False  # text files carry Last-Modified and answer If-Modified-Since (304)

    def send_head(self):
        if self.delay:
            time.sleep(self.delay)
        path = Path(self.translate_path(self.path))
        redirect = path.with_name(path.name + ".redirect")
        if redirect.is_file():  # <page>.redirect holds the Location to send instead (302)
            target = redirect.read_bytes().replace(SITE_PLACEHOLDER, self.base_url.encode())
            self.send_response(302)
            self.send_header("Location", target.decode().strip())
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if path.is_dir():
            path = path / "index.html"
        content_type = EXTRA_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
        gzipped = path.with_name(path.name + ".gz")
        if not path.exists() and gzipped.is_file():  # served as is, Content-Encoding: gzip
            headers = {"Content-Encoding": "gzip"}
            return self._ok(
                gzipped.read_bytes(), content_type or "application/octet-stream", headers
            )
        if not path.is_file() or path.suffix not in TEXT_TYPES:
            return super().send_head()
        body = path.read_bytes().replace(SITE_PLACEHOLDER, self.base_url.encode())
        headers = {}
        if self.conditional:  # Last-Modified sent, If-Modified-Since answered with a 304
            headers["Last-Modified"] = formatdate(int(path.stat().st_mtime), usegmt=True)
            if self.headers.get("If-Modified-Since") == headers["Last-Modified"]:
                self.send_response(304)
                self.send_header("Last-Modified", headers["Last-Modified"])
                self.end_headers()
                return None
        return self._ok(body, f"{content_type or 'text/plain'}; charset=utf-8", headers)

    def _ok(self, body: bytes, content_type: str, headers: dict | None = None):
        self.send_response(200)
        for name, value in {"Content-Type": content_type, **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return _Once(body)

    def log_message(self, format, *args):  # keep test and demo output quiet
        self.server.requests.append(self.path)
        self.server.user_agents.add(self.headers.get("User-Agent", ""))


class _Once:
    """A file-like body for SimpleHTTPRequestHandler.copyfile."""

    def __init__(self, body: bytes):
        self.body = body

    def read(self, size=-1):
        body, self.body = self.body, b""
        return body

    def close(self):
        pass


class _QuietServer(ThreadingHTTPServer):
    """A client that hung up (a crawler at its time-out) is not an error worth a traceback."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)


class StaticSite:
    """Serve a folder at http://127.0.0.1:<port>/ until stopped (also a context manager)."""

    def __init__(
        self,
        root: str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        delay: float = 0.0,
        conditional: bool = False,
    ):
        self.root = Path(root).resolve()
        attributes = {"delay": delay, "conditional": conditional}
        handler = type("Handler", (_SiteHandler,), attributes)
        self.server = _QuietServer((host, port), partial(handler, directory=str(self.root)))
        self.server.requests = []
        self.server.user_agents = set()
        self.url = f"http://{host}:{self.server.server_address[1]}"
        handler.base_url = self.url
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def requests(self) -> list[str]:
        """Paths requested so far (with query strings)."""
        return self.server.requests

    @property
    def user_agents(self) -> set[str]:
        return self.server.user_agents

    def start(self) -> StaticSite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> StaticSite:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class MailCatcher:
    """A real SMTP server (aiosmtpd) that keeps every message and can write each as a .eml file."""

    def __init__(
        self,
        out_dir: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        delay: float = 0.0,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
    ):
        """`starttls`: offer STARTTLS with this context and refuse mail before it;
        `implicit_tls`: TLS from the first byte (port 465 style)."""
        self.delay = delay  # seconds before accepting each message: a slow server
        from aiosmtpd.controller import Controller

        self.out_dir = Path(out_dir) if out_dir else None
        self.messages: list[EmailMessage] = []
        self.host, self.port = host, port or free_port(host)
        tls = {"tls_context": starttls, "require_starttls": True} if starttls else {}
        self._controller = Controller(
            self, hostname=host, port=self.port, ssl_context=implicit_tls, **tls
        )

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        if self.delay:
            await asyncio.sleep(self.delay)
        raw = envelope.original_content or envelope.content
        message = message_from_bytes(raw, policy=policy.default)
        self.messages.append(message)
        if self.out_dir:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / f"{len(self.messages):04d}.eml").write_bytes(raw)
        return "250 Message accepted for delivery"

    def start(self) -> MailCatcher:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> MailCatcher:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class MastodonServer:
    """A Mastodon-compatible public timeline on 127.0.0.1 (for benchmarks and tests).

    Serves ``statuses`` (dicts with at least ``id`` and ``created_at``; ids are numeric strings)
    at ``/api/v1/timelines/public`` and ``/api/v1/timelines/tag/<tag>`` (every status is in
    every tag) the way a real server pages: newest first, ``limit`` (at most 40), ``max_id``
    (older than), ``since_id`` (newest above) and ``min_id`` (the oldest above, still newest
    first), with a ``Link`` header naming the next (older) and previous (newer) pages.
    """

    LIMIT = 40

    def __init__(
        self, statuses: list[dict], host: str = "127.0.0.1", port: int = 0, delay: float = 0.0
    ):
        """`delay`: seconds before each answer (a slow server, a long crawl)."""
        self.delay = delay
        self.statuses = sorted(statuses, key=lambda s: int(s["id"]), reverse=True)
        self._ids = [int(status["id"]) for status in self.statuses]  # descending
        self._bodies = [json.dumps(status, ensure_ascii=False) for status in self.statuses]
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # (see _SiteHandler)

            def do_GET(self):
                if owner.delay:
                    time.sleep(owner.delay)
                status, headers, body = owner.answer(self.path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args):
                owner.requests.append(self.path)

        self.requests: list[str] = []
        self.server = _QuietServer((host, port), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def page(self, query: dict) -> list[int]:
        """Positions (in ``self.statuses``) of the statuses one request returns."""
        limit = max(1, min(self.LIMIT, int(query.get("limit", 20))))
        ids = self._ids
        upper = len(ids)  # positions before this are newer than max_id: excluded
        start = 0
        if "max_id" in query:
            start = _first_below(ids, int(query["max_id"]))
        if "min_id" in query:  # the `limit` statuses just above min_id, newest first
            upper = _first_below(ids, int(query["min_id"]) + 1)
            return list(range(max(start, upper - limit), upper))
        if "since_id" in query:
            upper = _first_below(ids, int(query["since_id"]) + 1)
        return list(range(start, min(upper, start + limit)))

    def answer(self, raw_path: str) -> tuple[int, dict, bytes]:
        parts = urlsplit(raw_path)
        path = parts.path
        if not (path == "/api/v1/timelines/public" or path.startswith("/api/v1/timelines/tag/")):
            return 404, {"Content-Type": "application/json"}, b'{"error":"Record not found"}'
        query = dict(parse_qsl(parts.query))
        try:
            positions = self.page(query)
        except ValueError:
            return 400, {"Content-Type": "application/json"}, b'{"error":"bad parameter"}'
        body = ("[" + ",".join(self._bodies[p] for p in positions) + "]").encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if positions:
            base = {k: v for k, v in query.items() if k not in ("max_id", "min_id", "since_id")}
            older = urlencode(base | {"max_id": self.statuses[positions[-1]]["id"]})
            newer = urlencode(base | {"min_id": self.statuses[positions[0]]["id"]})
            headers["Link"] = (
                f'<{self.url}{path}?{older}>; rel="next", <{self.url}{path}?{newer}>; rel="prev"'
            )
        return 200, headers, body

    def start(self) -> MastodonServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> MastodonServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _first_below(descending: list[int], bound: int) -> int:
    """The first position whose id is below ``bound``, in ids sorted newest first."""
    low, high = 0, len(descending)
    while low < high:
        middle = (low + high) // 2
        if descending[middle] >= bound:
            low = middle + 1
        else:
            high = middle
    return low


def stop_server(process, folder, signal: int, timeout: float) -> None:
    """Stop a throwaway test server (`signal`, then SIGKILL after `timeout` seconds) and
    remove its temporary folder: what localpostgres and localredis share."""
    if process and process.poll() is None:
        process.send_signal(signal)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
