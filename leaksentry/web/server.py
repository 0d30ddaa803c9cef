"""Running the triage page with waitress (a production WSGI server, pure Python)."""

from __future__ import annotations

import ipaddress
import signal

from leaksentry.config import Config
from leaksentry.errors import LeaksentryError
from leaksentry.web.links import DEFAULT_LINK_DAYS

THREADS = 4


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    config: Config, host: str, port: int, link_days: float = DEFAULT_LINK_DAYS, echo=print
) -> None:
    """Serve until Ctrl-C or SIGTERM. Warns when reachable beyond this machine, or when
    nobody can log in yet."""
    from waitress import create_server

    from leaksentry.storage import open_store
    from leaksentry.web.app import create_app

    app = create_app(config, link_days=link_days)
    with open_store(config.database) as store:
        operators = len(store.operator_rows())
    try:
        server = create_server(app, host=host, port=port, threads=THREADS, ident="leaksentry")
    except OSError as exc:
        raise LeaksentryError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    if not operators:
        echo(
            "warning: no operators yet; add one with "
            "`leaksentry operator add NAME --brief ID` (or --all-briefs)"
        )
    if not is_loopback(host):
        echo(f"warning: {host} is reachable from other machines; put TLS in front of it")
    port = getattr(server, "effective_port", port)
    echo(f"triage page on http://{host}:{port}/ (Ctrl-C to stop)")
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt
