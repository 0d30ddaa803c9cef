"""Login, logout, and the rule that every page but the login page needs a session.

The session is Flask's signed cookie (HttpOnly, SameSite=Lax) holding the operator's name
and the operator's session nonce: setting a new password or logging out replaces the nonce,
which ends every earlier session of that operator on the server (a saved cookie is void).
A signed mail link is checked here, before login, so the operator lands on its alert after.
Logins (made, refused, throttled) and logouts are written to the audit log; a refused login
records the name as typed (cut to 64 characters), never the password.

``allowed_briefs`` is the one place the pages learn which briefs an operator may see: it reads
the database on every request, so a revocation holds at the operator's next click.
"""

from __future__ import annotations

import hmac
import logging
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for

from leaksentry.web import passwords
from leaksentry.web.app import context, get_store
from leaksentry.web.links import check_link
from leaksentry.web.operators import NO_BRIEFS, Rights, operator_rights

bp = Blueprint("auth", __name__)
log = logging.getLogger("leaksentry.web")
PUBLIC_ENDPOINTS = {"auth.login", "static"}
AUDIT_NAME_CHARS = 64


def current_operator() -> str | None:
    """The logged-in operator, if the session names one whose password has not changed."""
    name, nonce = session.get("operator"), session.get("nonce")
    if not isinstance(name, str) or not isinstance(nonce, str):
        return None
    row = get_store().operator_row(name)
    if row is None or not hmac.compare_digest(row["session_nonce"], nonce):
        return None
    return name


def allowed_briefs(operator: str | None) -> Rights:
    """The briefs this operator may see, as stored now (none for no or an unknown operator)."""
    return operator_rights(get_store(), operator) if operator else NO_BRIEFS


def _typed(name: str) -> str:
    """A login name as typed, for the audit log: at most 64 characters, printable."""
    return "".join(c if c.isprintable() else "?" for c in name[:AUDIT_NAME_CHARS])


@bp.before_app_request
def require_login():
    """Every page except login needs a session: GET goes to the login page, others get 401."""
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    g.operator = current_operator()
    if g.operator is not None:
        return None
    if request.method != "GET":
        abort(401)
    if request.endpoint == "triage.alert" and request.args.get("sig"):
        return _from_mail_link(request.view_args["alert_id"], request.args["sig"])
    return redirect(url_for("auth.login", next=_here()))


def _from_mail_link(alert_id: int, sig: str):
    state = check_link(context().vault_key, alert_id, sig, context().link_days)
    if state == "ok":
        flash(f"Log in to open alert {alert_id}.")
        return redirect(url_for("auth.login", next=url_for("triage.alert", alert_id=alert_id)))
    why = {
        "expired": f"it is older than {context().link_days:g} days (serve --link-days)",
        "invalid": "it was signed with a key since rotated (leaksentry key rotate), "
        "or it has expired or been changed",
    }[state]
    flash(f"That link is {state}: {why}. Log in and open alert {alert_id} from the alerts list.")
    return redirect(url_for("auth.login"))


def _here() -> str:
    query = request.query_string.decode("utf-8", "replace")
    return request.path + (f"?{query}" if query else "")


def safe_next(target: str | None) -> str:
    """Only a path on this site: never another host (no open redirect)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.isprintable():
            return target
    return url_for("triage.alerts")


@bp.route("/login", methods=["GET", "POST"])
def login():
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_operator():
            return redirect(target)
        return render_template("login.html", next=target, name="")
    name = request.form.get("name", "").strip()
    password = request.form.get("password", "")
    throttle, address = context().throttle, request.remote_addr or "-"
    store = get_store()
    if not throttle.attempt(name, address):
        _audit_failed_login(store, "login throttled", name)
        flash("Too many failed logins. Wait a few minutes and try again.")
        return render_template("login.html", next=target, name=name), 429
    row = store.operator_row(name) if name else None
    ok, new_hash = passwords.verify(row["password_hash"] if row else None, password)
    if not ok:
        _audit_failed_login(store, "login refused", name)
        flash("Wrong name or password.")
        return render_template("login.html", next=target, name=name), 401
    throttle.succeeded(name, address)
    with store.atomic():
        store.record_operator_login(name, new_hash)
        store.record_audit("login", name)
    session.clear()  # nothing from before the login survives it (session fixation)
    session.permanent = True
    session["operator"], session["nonce"] = name, row["session_nonce"]
    return redirect(target)


def _audit_failed_login(store, action: str, name: str) -> None:
    """A failed login in the audit log, within the budget (see throttle.AuditBudget)."""
    budget = context().failed_login_rows
    verdict = budget.take()
    if verdict == "record":
        store.record_audit(action, _typed(name))
    elif verdict == "note":
        minutes = int(budget.window // 60)
        store.record_audit(
            "failed logins not recorded",
            "-",
            note=f"over {budget.limit} in {minutes} min; the next ones only in the service log",
        )
    log.warning("%s: %r", action, _typed(name))


@bp.route("/logout", methods=["POST"])
def logout():
    """Ends the session on the server, not only in this browser: the operator's session
    nonce is replaced, so a saved copy of the cookie (or another browser) is logged out too."""
    store = get_store()
    with store.atomic():
        store.end_operator_sessions(g.operator, passwords.new_session_nonce())
        store.record_audit("logout", g.operator)
    session.clear()
    flash("Logged out.")
    return redirect(url_for("auth.login"))
