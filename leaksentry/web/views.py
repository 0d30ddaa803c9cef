"""The triage pages: alerts, one alert's story and verdict, briefs, coverage, audit log.

Every verdict goes through Store.set_verdict, which writes the alert and the audit log in
one transaction. Brief rows are shown field by field; the ``sealed`` column never is.

An operator sees only the briefs it has rights to (``auth.allowed_briefs``, read on every
request): other briefs' alerts are left out of the lists, and their pages answer 404, as an
alert that does not exist, so the page does not confirm that they exist.
"""

from __future__ import annotations

import json

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from leaksentry.alerts import exposures
from leaksentry.alerts.exposures import AlertSettings
from leaksentry.briefs import open_brief
from leaksentry.errors import LeaksentryError
from leaksentry.web import present
from leaksentry.web.app import context, get_store
from leaksentry.web.auth import allowed_briefs

bp = Blueprint("triage", __name__)
VERDICTS = {"confirm": "confirmed", "dismiss": "dismissed"}
STATUSES = ("open", "confirmed", "dismissed")
MAX_NOTE = 2000


@bp.route("/")
def home():
    return redirect(url_for("triage.alerts"))


@bp.route("/alerts")
def alerts():
    status = request.args.get("status")
    status = status if status in STATUSES else None
    store = get_store()
    rights = allowed_briefs(g.operator)
    codenames = {row["id"]: row["codename"] for row in store.brief_rows()}
    rows = [
        present.alert_summary(a, codenames)
        for a in reversed(store.alert_rows(status))
        if rights.allows(a["brief_id"])
    ]
    return render_template("alerts.html", alerts=rows, status=status, statuses=STATUSES)


@bp.route("/alerts/<int:alert_id>")
def alert(alert_id: int):
    store = get_store()
    row = _permitted_alert(alert_id)
    brief = store.brief_row(row["brief_id"]) or {"codename": row["brief_id"], "n_details": None}
    revealed = json.loads(row["details"] or "[]")
    items = store.alert_items(alert_id)
    wanted = _highlight_terms(brief, revealed)
    return render_template(
        "alert.html",
        alert=present.alert_summary(row, {row["brief_id"]: brief["codename"]}),
        row=row,
        brief={k: brief.get(k) for k in ("id", "codename", "active_from", "active_until")},
        details=present.details_label(revealed, brief.get("n_details")),
        items=list(present.story_items(items, wanted, brief.get("n_details"))),
        spread=present.spread(items),
        history=store.audit_rows(limit=1000, alert_id=alert_id),
        max_note=MAX_NOTE,
        item_ids=[row["item_id"] for row in items],
    )


def _permitted_alert(alert_id: int) -> dict:
    """The alert's row; 404 when there is none or it is about a brief the operator may not see."""
    row = get_store().alert_row(alert_id)
    if row is None or not allowed_briefs(g.operator).allows(row["brief_id"]):
        abort(404)
    return row


def _highlight_terms(brief: dict, revealed: list[int]) -> dict[str, set[int]]:
    """Terms of the revealed details, from the brief opened in memory (nothing kept)."""
    if "sealed" not in brief or not revealed:
        return {}
    try:
        details = open_brief(brief, context().vault).details
    except LeaksentryError:
        return {}  # a damaged value: the page works without highlights
    return present.detail_terms(details, revealed)


@bp.route("/alerts/<int:alert_id>/verdict", methods=["POST"])
def verdict(alert_id: int):
    store = get_store()
    _permitted_alert(alert_id)
    status = VERDICTS.get(request.form.get("verdict", ""))
    note = request.form.get("note", "").strip()
    if status is None or len(note) > MAX_NOTE:
        abort(400)
    store.set_verdict(alert_id, status, g.operator, note or None)
    flash(f"Alert {alert_id} {status}.")
    return redirect(url_for("triage.alert", alert_id=alert_id))


@bp.route("/alerts/<int:alert_id>/detach", methods=["POST"])
def detach(alert_id: int):
    """Take one item out of the alert's story (audited, as `leaksentry alert detach`)."""
    store = get_store()
    _permitted_alert(alert_id)
    item_id = request.form.get("item_id", "")
    note = request.form.get("note", "").strip()
    if len(note) > MAX_NOTE:
        abort(400)
    settings = AlertSettings.from_dict(context().config.alerts)
    try:
        new_id = exposures.detach(store, alert_id, item_id, g.operator, note or None, settings)
    except LeaksentryError:
        abort(400)
    flash(f"Item taken out of alert {alert_id}: now alert {new_id}.")
    return redirect(url_for("triage.alert", alert_id=alert_id))


@bp.route("/briefs")
def briefs():
    store = get_store()
    rights = allowed_briefs(g.operator)
    counts: dict[str, dict[str, int]] = {}
    for alert_row in store.alert_rows():
        by_status = counts.setdefault(alert_row["brief_id"], {})
        by_status[alert_row["status"]] = by_status.get(alert_row["status"], 0) + 1
    rows = [
        {
            "id": row["id"],
            "codename": row["codename"],
            "active_from": row["active_from"],
            "active_until": row["active_until"],
            "status": row["status"],
            "n_details": row["n_details"],
            "alerts": counts.get(row["id"], {}),
        }
        for row in store.brief_rows()
        if rights.allows(row["id"])
    ]
    return render_template("briefs.html", briefs=rows)


@bp.route("/coverage")
def coverage():
    """Sources, and above them what `leaksentry health` says: the brief count and mail
    about every brief only to operators with every brief (the count tells how many
    operations are planned; a mail's subject and error name its brief and recipients)."""
    from leaksentry import health as checks
    from leaksentry.coverage import source_health

    rights = allowed_briefs(g.operator)
    report = source_health(context().config, get_store())
    status = checks.check(
        context().config,
        get_store(),
        sources=report,
        briefs=None if rights.every else rights.brief_ids,
    )
    return render_template("coverage.html", sources=report, health=status)


@bp.route("/audit")
def audit():
    """Rows about alerts of permitted briefs; rows about no alert (logins, rights) for an
    operator with every brief, otherwise only the operator's own."""
    rights = allowed_briefs(g.operator)
    if rights.every:
        rows = get_store().audit_rows(limit=500)
    else:
        rows = get_store().audit_rows(limit=500, brief_ids=rights.brief_ids, unlinked_by=g.operator)
    return render_template("audit.html", rows=rows)
