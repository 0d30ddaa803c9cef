"""The daily digest: low-severity alerts, open alerts, undelivered mail and coverage health.

"No alert" must never silently be "no data": every digest says which sources could not be
read. Each recipient gets the alerts, and the undelivered mail, of the briefs they receive
and nothing of any other brief; default recipients get all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date

from leaksentry import clock, diskspace
from leaksentry.alerts import mailhtml
from leaksentry.alerts.exposures import AlertSettings
from leaksentry.alerts.mailer import Mailer, build_message
from leaksentry.alerts.notify import NOTIFIED_STATUSES, describe_details, recipients_for
from leaksentry.config import Config
from leaksentry.coverage import source_health
from leaksentry.health import readable
from leaksentry.storage import Store, now

LAST_DIGEST_META = "last_digest_at"
QUIET_SUBJECT = "[leaksentry] digest: all quiet this week"
QUIET_LINE = (
    "All quiet: no alert, no undelivered mail, every source read, the disk has room. "
    "Quiet digests are mailed on Mondays only, so you know the service is running."
)


@dataclass
class Digest:
    recipient: str | None  # None: the default view (every brief)
    subject: str
    body_text: str
    body_html: str
    waiting: list[int]  # low-severity alerts this digest carries
    quiet: bool = False  # nothing to say: no alert, undelivered mail, unread source or disk problem


def build(config: Config, store: Store) -> list[Digest]:
    """One digest per recipient; the first is the default view (also what `digest` prints)."""
    settings = AlertSettings.from_dict(config.alerts)
    defaults = list(settings.digest_recipients or config.smtp.recipients)
    briefs = {row["id"]: row for row in store.brief_rows()}
    open_alerts = store.alert_rows("open")
    waiting = [  # confirmed ones too: a verdict never silences a leak's low-severity news
        a
        for a in store.alert_rows()
        if a["status"] in NOTIFIED_STATUSES and a["notified"] is None and a["digested_at"] is None
    ]
    failed = store.message_rows("failed")
    blind = [h for h in source_health(config, store) if h.health not in ("ok", "disabled")]
    space = diskspace.measure(config)
    from leaksentry.jobs import calibration_note  # jobs imports this package

    matcher_note = calibration_note(store)[0]
    urls = store.story_urls()
    audiences: dict[str | None, set[str]] = {None: set(briefs)}
    for address in defaults:
        audiences[address] = set(briefs)
    for brief in briefs.values():
        for address in recipients_for(brief, []):
            audiences.setdefault(address, set()).add(brief["id"])
    digests = []
    for recipient, brief_ids in audiences.items():
        every = brief_ids == set(briefs)
        mine = [a for a in waiting if a["brief_id"] in brief_ids]
        still_open = [a for a in open_alerts if a["brief_id"] in brief_ids]
        # a failed mail names its brief (subject) and recipients (error): only about the
        # reader's own briefs; a failed digest only to readers of every brief
        undelivered = [m for m in failed if readable(m, None if every else brief_ids)]
        digests.append(
            _render(
                recipient,
                mine,
                still_open,
                undelivered,
                blind,
                space,
                briefs,
                matcher_note,
                sources=len(config.sources),
                urls=urls,
            )
        )
    return digests


def to_mail(digests: list[Digest], today: date | None = None) -> list[Digest]:
    """The digests worth a mail: a quiet one (nothing to say) is not mailed, except on
    Mondays, as an "all quiet" digest, so that silence never looks like a dead service."""
    monday = (today or clock.now().date()).weekday() == 0
    return [
        replace(
            d,
            subject=QUIET_SUBJECT,
            body_text=QUIET_LINE + "\n\n" + d.body_text,
        )
        if d.quiet
        else d
        for d in digests
        if d.recipient and (monday or not d.quiet)
    ]


def queue(config: Config, store: Store, today: date | None = None) -> int:
    """Put the digests worth a mail in the outbox (`to_mail`); mark the waiting alerts as
    carried."""
    digests = to_mail(build(config, store), today)
    with store.atomic():
        for digest in digests:
            store.queue_message(
                _message_row(digest) | {"brief_id": None, "alert_id": None, "kind": "digest"}
            )
        stamp = now()
        for alert_id in {a for d in digests for a in d.waiting}:
            store.update_alert(alert_id, {"digested_at": stamp})
        store.set_meta(LAST_DIGEST_META, stamp)
    return len(digests)


def send_directly(config: Config, store: Store) -> int:
    """Send every recipient's digest without the outbox: the way out when the disk is full.

    Nothing is written, so the waiting alerts are carried again by the next digest.
    """
    return _send_now(config, to_mail(build(config, store)))


def send_notice(config: Config, error: str) -> int:
    """When the database cannot be opened at all (a full disk): tell the default recipients
    that, and nothing else, in place of the digest."""
    settings = AlertSettings.from_dict(config.alerts)
    space = diskspace.measure(config)
    lines = [
        f"The database cannot be opened: {error}.",
        diskspace.paused_message(space) + "; free space there or lower min_free_disk_mb.",
        "Open alerts and coverage cannot be listed until then.",
    ]
    subject = "[leaksentry] digest: disk full, the database cannot be opened"
    body_html = mailhtml.render("notice.html", lines=lines)
    notices = [
        Digest(address, subject, "\n".join(lines) + "\n", body_html, [])
        for address in settings.digest_recipients or config.smtp.recipients
    ]
    return _send_now(config, notices)


def _send_now(config: Config, digests: list[Digest]) -> int:
    if not digests:
        return 0
    with Mailer(config.smtp) as mailer:
        for digest in digests:
            mailer.send(build_message(_message_row(digest), config.smtp.sender))
    return len(digests)


def _message_row(digest: Digest) -> dict:
    """The mail of one digest, as an outbox row holds it."""
    from email.utils import make_msgid

    return {
        "recipients": json.dumps([digest.recipient]),
        "subject": digest.subject,
        "body_text": digest.body_text,
        "body_html": digest.body_html,
        "message_id": make_msgid(domain="leaksentry.local"),
    }


def _render(
    recipient,
    waiting,
    still_open,
    failed,
    blind,
    space,
    briefs,
    matcher_note="",
    sources=1,
    urls=None,
) -> Digest:
    def line(alert: dict) -> str:
        brief = briefs[alert["brief_id"]]
        details = describe_details(json.loads(alert["details"]), brief.get("n_details"))
        sites = len(json.loads(alert["domains"]))
        return (
            f"alert {alert['id']}: {brief['codename']}, score {alert['max_score']:.2f}, "
            f"{alert['severity']}, {alert['items']} item(s) on {sites} site(s), details {details}"
            + (f", {url}" if (url := (urls or {}).get(alert["id"])) else "")
        )

    sections = [
        ("Low-severity alerts since the last digest", [line(a) for a in waiting], "none"),
        ("Open alerts", [line(a) for a in still_open], "none"),
        (
            "Mail that could not be delivered",
            [f"message {m['id']}: {m['subject']} ({m['last_error']})" for m in failed],
            "none",
        ),
        (
            "Coverage: sources that could not be read",
            [
                f"{h.name} ({h.kind}): {h.health}; last success {h.last_success or 'never'}"
                + (f"; last error: {h.last_error}" if h.last_error else "")
                for h in blind
            ],
            "none: every source was read" if sources else "no sources configured",
        ),
        ("Matcher", [matcher_note] if matcher_note else [], "not calibrated yet"),
        (
            "Disk",
            [diskspace.paused_message(space) + "; free space there or lower min_free_disk_mb"]
            if space.low
            else [],
            f"ok: {space.describe()}",
        ),
    ]
    subject = (
        f"[leaksentry] digest: {len(waiting)} low-severity, {len(still_open)} open, "
        f"{len(blind)} source(s) not read" + (", disk nearly full" if space.low else "")
    )
    text = [subject.removeprefix("[leaksentry] "), ""]
    for title, lines, empty in sections:
        text += [title + ":", *(f"  - {entry}" for entry in lines or [empty]), ""]
    text.append("Detail numbers refer to the sealed briefs; their wording is never in mail.")
    return Digest(
        recipient=recipient,
        subject=subject,
        body_text="\n".join(text) + "\n",
        body_html=mailhtml.render(
            "digest.html", sections=[(title, lines or [empty]) for title, lines, empty in sections]
        ),
        waiting=[a["id"] for a in waiting],
        quiet=not (waiting or still_open or failed or blind or space.low),
    )
