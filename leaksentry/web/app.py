"""The app factory: configuration, security settings and the parts of the triage page.

Each request opens its own Store (SQLite connections stay in their thread) and closes it at
the end. The vault key is read once, checked against the database, and used only to derive
the page's secrets and to open a brief in memory for highlighting; the sealed text is never
put in a page or a log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask, g, render_template
from flask_wtf.csrf import CSRFError, CSRFProtect

from leaksentry.alerts.exposures import AlertSettings
from leaksentry.config import Config
from leaksentry.storage import Store, open_store
from leaksentry.vault import Vault, load_key, open_vault
from leaksentry.web.keys import derive
from leaksentry.web.links import DEFAULT_LINK_DAYS
from leaksentry.web.throttle import AuditBudget, Throttle

SESSION_HOURS = 12
MAX_FORM_BYTES = 64 * 1024
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # a click to a public item must not carry our URL
    "Cache-Control": "no-store",
}


@dataclass
class WebContext:
    """What the views need besides the request: configuration, key, settings, login throttle."""

    config: Config
    vault_key: bytes
    link_days: float
    throttle: Throttle = field(default_factory=Throttle)
    failed_login_rows: AuditBudget = field(default_factory=AuditBudget)

    @property
    def vault(self) -> Vault:
        return Vault(self.vault_key)


def create_app(config: Config, link_days: float = DEFAULT_LINK_DAYS) -> Flask:
    """The triage app for one configuration; fails early on a missing or wrong key."""
    with open_store(config.database) as store:
        open_vault(config, store)  # checks the key (and completes an interrupted rotation)
    vault_key = load_key(config.key_file)
    settings = AlertSettings.from_dict(config.alerts)

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=derive(vault_key, "web-session"),
        SESSION_COOKIE_NAME="leaksentry_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,
        MAX_CONTENT_LENGTH=MAX_FORM_BYTES,
    )
    app.extensions["leaksentry"] = WebContext(config, vault_key, link_days)
    CSRFProtect(app)

    from leaksentry.web import auth, filters, views

    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    filters.register(app)

    @app.teardown_appcontext
    def close_store(_exc):
        store = g.pop("store", None)
        if store is not None:
            store.close()

    @app.after_request
    def security_headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.errorhandler(CSRFError)
    def csrf_refused(error):
        message = "The form had expired or did not come from this page. Reload it and try again."
        return render_template("error.html", title="Refused", message=message), 400

    for code, title in ((401, "Log in first"), (404, "Not found"), (413, "Too large")):
        app.register_error_handler(
            code,
            lambda _e, code=code, title=title: (
                render_template("error.html", title=title, message=None),
                code,
            ),
        )
    return app


def context() -> WebContext:
    from flask import current_app

    return current_app.extensions["leaksentry"]


def get_store() -> Store:
    """This request's store, opened on first use."""
    if "store" not in g:
        g.store = open_store(context().config.database)
    return g.store
