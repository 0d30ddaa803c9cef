"""Deciding who hears about a match, and rendering the alert that goes into the outbox.

An alert carries the codename, the score, the public URL, the public evidence and which of the
brief's details matched, by number. It never carries the sealed summary or detail wording.
"""

from __future__ import annotations

import html
import json
from email.utils import make_msgid

from leaksentry.records import Brief, Item, Match

MESSAGE_DOMAIN = "leaksentry.local"


def recipients_for(brief: Brief, default_recipients: list[str]) -> list[str]:
    """The brief's own recipients first, then the configured defaults, without repeats."""
    return list(dict.fromkeys([*brief.recipients, *default_recipients]))


def describe_details(match: Match, n_details: int) -> str:
    if not match.details_matched:
        return "none singled out (the item matches the brief as a whole)"
    numbers = ", ".join(f"#{j + 1}" for j in match.details_matched)
    return f"{numbers} of {n_details}"


def render_alert(brief: Brief, item: Item, match: Match, default_recipients: list[str]) -> dict:
    """The outbox row for one alert: subject, plain text, HTML, recipients, Message-ID."""
    details = describe_details(match, len(brief.details))
    window = f"{brief.active_from or 'open'} to {brief.active_until or 'open'}"
    subject = f"[leaksentry] {brief.codename}: possible exposure (score {match.score:.2f})"
    facts = [
        ("Brief", f"{brief.codename} (id {brief.id}), active {window}"),
        ("Score", f"{match.score:.2f}"),
        ("Public URL", item.url or "(no URL)"),
        ("Source", f"{item.source} ({item.kind})"),
        ("Published", item.published or "unknown"),
        ("Title", item.title or "(none)"),
        ("Details revealed", details),
    ]
    text_lines = [
        f"A public item appears to expose the sealed brief {brief.codename}.",
        "",
        *(f"{label}: {value}" for label, value in facts),
        "",
        "Public evidence:",
        *(f'  > "{passage}"' for passage in match.evidence),
        "",
        "Detail numbers refer to the sealed brief; its wording is not included in this mail.",
        "Open the brief in leaksentry to compare, and record your verdict there.",
    ]
    rows = "".join(
        f"<tr><th align='left'>{html.escape(label)}</th><td>{_html_value(label, value)}</td></tr>"
        for label, value in facts
    )
    quotes = "".join(f"<blockquote>{html.escape(p)}</blockquote>" for p in match.evidence)
    body_html = (
        "<html><body>"
        f"<p>A public item appears to expose the sealed brief <b>{html.escape(brief.codename)}</b>.</p>"
        f"<table>{rows}</table><h3>Public evidence</h3>{quotes}"
        "<p><small>Detail numbers refer to the sealed brief; its wording is not included in "
        "this mail.</small></p></body></html>"
    )
    return {
        "brief_id": brief.id,
        "item_id": item.id,
        "recipients": json.dumps(recipients_for(brief, default_recipients)),
        "subject": subject,
        "body_text": "\n".join(text_lines) + "\n",
        "body_html": body_html,
        "message_id": make_msgid(domain=MESSAGE_DOMAIN),
    }


def _html_value(label: str, value: str) -> str:
    if label == "Public URL" and value.startswith(("http://", "https://")):
        return f"<a href='{html.escape(value, quote=True)}'>{html.escape(value)}</a>"
    return html.escape(value)
