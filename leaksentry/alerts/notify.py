"""Alert mail: deciding when an alert is worth a message, and rendering it into the outbox.

One thread per brief: every message about a brief carries In-Reply-To and References to the
brief's previous message. The first message of an alert says what is out; a follow-up is
written only when the story spreads (more sites), grows surer (higher score) or reveals new
details, and shows the spread over time; confirmed alerts are followed up as open ones are. Low-severity alerts wait for the daily digest.

A message names the codename, the score, the public URLs, the public evidence and the
*numbers* of the details revealed. It never carries the sealed summary or detail wording.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from email.utils import make_msgid

from leaksentry.alerts import mailhtml
from leaksentry.alerts.exposures import AlertSettings, alert_state
from leaksentry.storage import Store, now

MESSAGE_DOMAIN = "leaksentry.local"
MAX_REFERENCES = 12
NOTIFIED_STATUSES = ("open", "confirmed")  # a dismissed alert's story stays silent


def recipients_for(brief_row: dict, default_recipients: list[str]) -> list[str]:
    """The brief's own recipients, then the configured defaults, without repeats."""
    return list(dict.fromkeys([*json.loads(brief_row["recipients"] or "[]"), *default_recipients]))


def describe_details(details: list[int], n_details: int | None) -> str:
    if not details:
        return "none singled out (the item matches the brief as a whole)"
    numbers = ", ".join(f"#{j + 1}" for j in details)
    return f"{numbers} of {n_details}" if n_details else numbers


def notify(
    store: Store,
    settings: AlertSettings,
    default_recipients: list[str],
    link: Callable[[int], str] | None = None,
) -> int:
    """Queue the mail that open and confirmed alerts call for; returns messages queued.

    A confirmed leak that spreads is exactly what the operator must hear about; only a
    dismissed alert's story stays silent.
    """
    queued = 0
    briefs = {row["id"]: row for row in store.brief_rows()}
    for alert in store.alert_rows():
        if alert["status"] not in NOTIFIED_STATUSES:
            continue
        state = alert_state(alert)
        if alert["notified"] is None:
            if alert["severity"] != "high" and settings.immediate == "high":
                continue  # low severity: the digest will carry it
            kind = "alert"
        elif _spread(json.loads(alert["notified"]), state, settings):
            kind = "follow-up"
        else:
            continue
        brief = briefs[alert["brief_id"]]
        message = render(kind, alert, brief, store.alert_items(alert["id"]), link)
        fields = {"alert_id": alert["id"], "brief_id": brief["id"], "kind": kind}
        with store.atomic():
            store.queue_message(
                message
                | thread_headers(store, brief["id"])
                | fields
                | {"recipients": json.dumps(recipients_for(brief, default_recipients))}
            )
            for channel in channels_for(brief["id"], settings):
                store.queue_message(
                    message
                    | fields
                    | {
                        "recipients": json.dumps([channel]),
                        "transport": "apprise",
                        "message_id": make_msgid(domain=MESSAGE_DOMAIN),
                    }
                )
            store.update_alert(alert["id"], {"notified": json.dumps(state), "notified_at": now()})
        queued += 1
    return queued


def channels_for(brief_id: str, settings: AlertSettings) -> list[str]:
    """Chat channels told about this brief's alerts: its own, then those for every brief."""
    routes = settings.channels or {}
    return list(dict.fromkeys([*routes.get(brief_id, []), *routes.get("*", [])]))


def _spread(before: dict, after: dict, settings: AlertSettings) -> bool:
    return (
        after["domains"] >= before["domains"] + settings.follow_up_domains
        or after["score"] >= before["score"] + settings.follow_up_score
        or bool(set(after["details"]) - set(before["details"]))
    )


def thread_headers(store: Store, brief_id: str) -> dict:
    """A new Message-ID, replying to the brief's previous message when there is one."""
    message_id = make_msgid(domain=MESSAGE_DOMAIN)
    previous = store.last_message_for_brief(brief_id)
    if previous is None:
        return {"message_id": message_id, "in_reply_to": None, "refs": None}
    chain = (previous["refs"] or "").split() + [previous["message_id"]]
    if len(chain) > MAX_REFERENCES:  # keep the thread's root and the latest ones
        chain = chain[:1] + chain[-(MAX_REFERENCES - 1) :]
    return {
        "message_id": message_id,
        "in_reply_to": previous["message_id"],
        "refs": " ".join(chain),
    }


def render(
    kind: str, alert: dict, brief: dict, items: list[dict], link: Callable[[int], str] | None
) -> dict:
    """Subject, plain text and HTML of an alert or follow-up."""
    n_details = brief.get("n_details")
    best = max(items, key=lambda row: row["score"])
    best_details = json.loads(best["details_matched"] or "[]")
    union = json.loads(alert["details"])
    details = describe_details(best_details, n_details)
    if sorted(set(union)) != sorted(set(best_details)):  # never the union alone: per item
        details += f" (best item); {describe_details(union, n_details)} over {len(items)} items"
    domains = json.loads(alert["domains"])
    window = f"{brief['active_from'] or 'open'} to {brief['active_until'] or 'open'}"
    codename, score = brief["codename"], alert["max_score"]
    if kind == "follow-up":
        subject = (
            f"Re: [leaksentry] {codename}: spreading, {len(domains)} site(s), "
            f"{alert['severity']} severity (score {score:.2f})"
        )
        opening = f"The exposure of {codename} (alert {alert['id']}) is spreading."
    else:
        # short: a longer subject opening with "[" is folded by the email package onto a
        # line of its own, and a reader sees it with a leading space
        subject = (
            f"[leaksentry] {codename}: {alert['severity']} severity exposure (score {score:.2f})"
        )
        opening = f"A public item appears to expose the sealed brief {codename}."
    facts = [
        (
            "Alert",
            f"{alert['id']} ({alert['severity']} severity{', retro-check' if alert['retro'] else ''})",
        ),
        ("Brief", f"{codename} (id {brief['id']}), active {window}"),
        ("Score", f"{score:.2f}"),
        ("Details revealed", details),
        ("Public URL", best["url"] or "(no URL)"),
        ("Seen on", f"{len(domains)} site(s): {', '.join(domains)}"),
    ]
    if link:
        facts.append(("Open", link(alert["id"])))
    evidence = json.loads(best["evidence"])
    spread = [  # each item with its own time, score and details
        (
            row["published"] or row["created_at"],
            row["source"],
            row["url"] or "(no URL)",
            f"score {row['score']:.2f}, details "
            + describe_details(json.loads(row["details_matched"] or "[]"), n_details),
        )
        for row in items
    ]
    text = [
        opening,
        "",
        *(f"{label}: {value}" for label, value in facts),
        "",
        "Public evidence:",
        *(f'  > "{passage}"' for passage in evidence),
        "",
        "Spread over time:",
        *(f"  {when}  {source}  {url}  {about}" for when, source, url, about in spread),
        "",
        "Detail numbers refer to the sealed brief; its wording is not included in this mail.",
        "Record your verdict with `leaksentry alert confirm|dismiss "
        f"{alert['id']}` or on the triage page.",
    ]
    body_html = mailhtml.render(
        "alert.html", opening=opening, facts=facts, evidence=evidence, spread=spread
    )
    return {"subject": subject, "body_text": "\n".join(text) + "\n", "body_html": body_html}
