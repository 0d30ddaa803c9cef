"""Downloader middleware: only http(s), and no request to loopback, private, link-local or
reserved addresses unless the host is named by the crawling source itself (its own host and
port) or in ``allow_hosts``.

Every request of every spider passes here first (redirects included): a ``file:`` address
would read a local file (``/dev/zero`` without end: the size cap binds only HTTP responses)
and a ``data:`` address would forge a page, so any scheme but http(s) is refused.

A hostile feed or page cannot point the crawler at the machine's own services or the internal
network. Redirects are new requests and pass through here again, so a redirect to a refused
address is refused too. Host names are resolved, and every address they resolve to is checked.

The address checked is the address used: it is pinned in Scrapy's DNS cache, which the
download's resolver reads first, so a name that answers a public address to the check and a
private one a moment later (DNS rebinding) still reaches only the public one.

Look-ups are done in Twisted's thread pool (as Scrapy's own resolver does), never on the
reactor thread: a slow DNS server holds up the requests to that host only.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest
from scrapy.resolver import dnscache
from scrapy.utils.httpobj import urlparse_cached

log = logging.getLogger(__name__)
WEB_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
NOT_PUBLIC = "is not a public address and is not named by this source or allow_hosts"
LOOKUP_FAILED = "could not be looked up (refused: the download would look it up again)"
NO_IPV4 = "has no IPv4 address to connect to (the crawler connects over IPv4)"


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_global and not ip.is_multicast


def origin(host: str, port: int | None, scheme: str) -> str:
    """'host:port' with the scheme's default port filled in."""
    return f"{host.lower()}:{port or DEFAULT_PORTS.get(scheme, 0)}"


def source_origin(url: str) -> str:
    """The one origin (host and port) a source's own ``url`` names."""
    parts = urlsplit(url)
    return origin(parts.hostname or "", parts.port, parts.scheme)


class AddressGuardMiddleware:
    """Non-public addresses pass only when named: by ``allow_hosts`` (``host`` for every port,
    ``host:port`` for one), or by the crawling source's own ``url``, for that source and that
    port only (the spider's ``allowed_origins``). Another source's host, enabled or not, or
    another port of the same host, is not allowed."""

    def __init__(self, allowed: set[str], stats, crawler=None):
        self.allowed = {host.lower() for host in allowed}
        self.stats = stats
        self.crawler = crawler
        self._verdicts: dict[str, bool] = {}
        self._pins: dict[str, str] = {}  # addresses checked in a thread, to pin in the reactor's

    @classmethod
    def from_crawler(cls, crawler):
        return cls(set(crawler.settings.getlist("LEAKSENTRY_ALLOW_HOSTS")), crawler.stats, crawler)

    def named(self, parts) -> bool:
        """True for a host named by allow_hosts, or by this crawl's own source (and port)."""
        host = (parts.hostname or "").lower()
        here = origin(host, parts.port, parts.scheme)
        spider = getattr(self.crawler, "spider", None)
        own = getattr(spider, "allowed_origins", ())
        return host in self.allowed or here in self.allowed or here in own

    def process_request(self, request, spider=None):
        """None (pass) or IgnoreRequest at once when no look-up is needed; otherwise a
        Deferred of the same, the look-up done in a thread (never on the reactor's)."""
        host = self._needs_lookup(request)
        if host is None:
            return None
        from twisted.internet.threads import deferToThread

        return deferToThread(self._check, host).addCallback(self._judge, request, host)

    def check(self, request) -> None:
        """``process_request`` in the calling thread (look-up included): None or IgnoreRequest."""
        host = self._needs_lookup(request)
        if host is not None:
            self._judge(self._check(host), request, host)

    def _needs_lookup(self, request) -> str | None:
        """The host to look up, None when the request passes; IgnoreRequest when refused."""
        parts = urlparse_cached(request)
        if parts.scheme not in WEB_SCHEMES:  # file:, data:, ftp:, s3: ... read nothing
            log.warning("refused %s: only http and https addresses are fetched", request.url[:200])
            self.stats.inc_value("leaksentry/refused_schemes")
            raise IgnoreRequest(f"refused non-web address ({parts.scheme}:)")
        host = (parts.hostname or "").lower()
        if self.named(parts):
            return None
        verdict = self._verdicts.get(host)
        if _literal(host):
            verdict = True if is_public(host) else NOT_PUBLIC
        elif verdict is None or (verdict is True and host not in dnscache):
            return host  # (again when the pin was evicted from the cache)
        return self._judge(verdict, request, host, remember=False)

    def _judge(self, verdict, request, host: str, remember: bool = True) -> None:
        """None when the verdict is True, else IgnoreRequest; a look-up's verdict is kept
        (not a failed one: it may succeed next time)."""
        if verdict is True and (pin := self._pins.pop(host, None)):
            dnscache[host] = pin  # set in the reactor thread: the download reads it first
        if remember and verdict is not LOOKUP_FAILED:
            self._verdicts[host] = verdict
        if verdict is not True:
            log.warning("refused %s: %s %s", request.url, host, verdict)
            self.stats.inc_value("leaksentry/refused_addresses")
            raise IgnoreRequest(f"refused non-public address {host}: {verdict}")
        return None

    def _check(self, host: str) -> bool | str:
        """True when every address of ``host`` is public and the IPv4 one Scrapy connects to
        is pinned; else why not. Fails closed: a look-up that fails is a refusal (the
        download's own look-up could answer anything, 127.0.0.9 included)."""
        if _literal(host):
            return True if is_public(host) else NOT_PUBLIC
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError, OSError):
            return LOOKUP_FAILED
        addresses = [info[4][0].split("%")[0] for info in infos]
        if not addresses or not all(is_public(address) for address in addresses):
            return NOT_PUBLIC
        ipv4 = [a for a in addresses if ipaddress.ip_address(a).version == 4]
        if not ipv4:  # Scrapy's resolver connects over IPv4: nothing checked to pin
            return NO_IPV4
        self._pins[host] = ipv4[0]  # pinned by _judge: the download connects to what was checked
        return True


def _literal(host: str) -> bool:
    """True for an IP address written as one (no look-up)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
