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
        parts = urlparse_cached(request)
        if parts.scheme not in WEB_SCHEMES:  # file:, data:, ftp:, s3: ... read nothing
            log.warning("refused %s: only http and https addresses are fetched", request.url[:200])
            self.stats.inc_value("leaksentry/refused_schemes")
            raise IgnoreRequest(f"refused non-web address ({parts.scheme}:)")
        host = (parts.hostname or "").lower()
        if self.named(parts):
            return None
        verdict = self._verdicts.get(host)
        if verdict is None or (verdict is True and not _literal(host) and host not in dnscache):
            verdict = self._check(host)  # (again when the pin was evicted from the cache)
            if verdict is not LOOKUP_FAILED:  # a failed look-up may succeed next time
                self._verdicts[host] = verdict
        if verdict is not True:
            log.warning("refused %s: %s %s", request.url, host, verdict)
            self.stats.inc_value("leaksentry/refused_addresses")
            raise IgnoreRequest(f"refused non-public address {host}: {verdict}")
        return None

    @staticmethod
    def _check(host: str) -> bool | str:
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
        dnscache[host] = ipv4[0]  # the download reads this first: it connects to what was checked
        return True


def _literal(host: str) -> bool:
    """True for an IP address written as one (no look-up)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
