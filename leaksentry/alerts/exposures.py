"""Stories, not items: alerting matches of a brief are grouped into alerts (one per story).

A match joins an alert of its brief only when its item retells the alert's items: a copy of
the alert's story (same story id, set at ingest) or the same content (its text a copy of one
of the story's items, see leaksentry/copies.py). Sharing a brief, a site, details or a time
window is never enough: an item that would alert on its own starts its own alert. Copies
joining a dismissed alert are recorded and stay silent (the operator judged that content).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from leaksentry import clock
from leaksentry.config import check_table_keys
from leaksentry.copies import retells
from leaksentry.errors import ConfigError, LeaksentryError
from leaksentry.records import Item, Match, parse_iso_date, parse_iso_datetime
from leaksentry.storage import Store, now


@dataclass
class AlertSettings:
    """The ``[alerts]`` table of the configuration."""

    story_window_hours: float = 72.0  # unused: a time window never joins a story (older files)
    high_score: float = 0.75  # severity high from this score...
    high_details: int = 3  # ...or this many details revealed...
    high_domains: int = 3  # ...or this many sites carrying it...
    urgent_days: float = 2.0  # ...or the brief's active_until this close
    immediate: str = "high"  # mail at once: "high" severity only, or "all"
    follow_up_domains: int = 1  # a follow-up when at least this many new sites carry it...
    follow_up_score: float = 0.05  # ...or the score rose this much, or new details are out
    digest_time: str = "07:00"  # daily digest, UTC
    digest_recipients: list | None = None  # default: the [smtp] recipients
    base_url: str = ""  # triage page address for links in mail (empty: no links)
    channels: dict | None = None  # brief id (or "*") -> names of [channels] also told

    @classmethod
    def from_dict(cls, table: dict | None) -> AlertSettings:
        settings = cls(**check_table_keys(table, cls, "alerts"))
        if settings.immediate not in ("high", "all"):
            raise ConfigError("[alerts] immediate must be 'high' or 'all'")
        try:
            datetime.strptime(settings.digest_time, "%H:%M")
        except ValueError:
            raise ConfigError("[alerts] digest_time must look like 07:00") from None
        return settings


def domain_of(item: Item) -> str:
    """Where an item was seen: the site's host, or the source name when there is no URL."""
    return site_of(item.url, item.source)


DEFAULT_PORTS = {"http": 80, "https": 443}


def site_of(url: str | None, source: str | None) -> str:
    """A site is an origin: the host (without "www."), with the port when the URL names one
    other than its scheme's default. Two sites on one host (two ports) are two sites, as the
    crawler's guard tells them apart; counted as one, a story reaching the second would
    never be followed up as spreading."""
    parts = urlsplit(url) if url else None
    host = parts.hostname if parts else None
    try:
        port = parts.port if host else None
    except ValueError:  # a port that is not a number: the host alone
        port = None
    if port is not None and port != DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{port}"
    return (host or source or "unknown").removeprefix("www.")


def alert_state(alert: dict) -> dict:
    """What a message about this alert tells: the figures a follow-up is compared against."""
    return {
        "domains": len(json.loads(alert["domains"])),
        "score": alert["max_score"],
        "details": json.loads(alert["details"]),
        "items": alert["items"],
    }


def severity(alert: dict, brief_row: dict, settings: AlertSettings, today=None) -> str:
    """high: sure, detailed, spreading, or close to the day; low waits for the digest."""
    details = json.loads(alert["details"])
    domains = json.loads(alert["domains"])
    until = parse_iso_date(brief_row.get("active_until"))
    today = today or clock.now().date()
    urgent = until is not None and 0 <= (until - today).days <= settings.urgent_days
    high = (
        alert["max_score"] >= settings.high_score
        or len(details) >= settings.high_details
        or len(domains) >= settings.high_domains
        or urgent
    )
    return "high" if high else "low"


def attach(
    store: Store,
    brief_row: dict,
    item: Item,
    match: Match,
    match_id: int,
    settings: AlertSettings,
    retro: bool = False,
) -> int:
    """Put an alerting match into its brief's alert for that story (new or existing)."""
    alert = _story_for(store, brief_row["id"], item, match, settings)
    stamp = now()
    domain = domain_of(item)
    if alert is None:
        alert = {
            "brief_id": brief_row["id"],
            "story": item.story or item.id,
            "status": "open",
            "retro": int(retro),
            "max_score": float(match.score),
            "details": json.dumps(sorted(set(match.details_matched))),
            "items": 1,
            "domains": json.dumps([domain]),
            "first_seen_at": stamp,
            "last_seen_at": stamp,
            "last_published": item.published,
        }
        alert["severity"] = severity(alert, brief_row, settings)
        alert_id = store.insert_alert(alert)
    else:
        alert_id = alert["id"]
        details = sorted(set(json.loads(alert["details"])) | set(match.details_matched))
        domains = list(dict.fromkeys([*json.loads(alert["domains"]), domain]))
        latest = max(  # times carry their publisher's offset: compare instants, not strings
            filter(None, [alert["last_published"], item.published]),
            key=parse_iso_datetime,
            default=None,
        )
        alert |= {
            "max_score": max(alert["max_score"], float(match.score)),
            "details": json.dumps(details),
            "items": alert["items"] + 1,
            "domains": json.dumps(domains),
            "last_seen_at": stamp,
            "last_published": latest,
        }
        alert["severity"] = severity(alert, brief_row, settings)
        store.update_alert(alert_id, alert)
    store.link_match(match_id, alert_id)
    return alert_id


def _story_for(store: Store, brief_id: str, item: Item, match: Match, settings) -> dict | None:
    """The alert whose items this item retells (a copy or the same content), if any."""
    alerts = store.alerts_for_brief(brief_id)
    story = item.story or item.id
    for alert in alerts:
        if alert["story"] == story or store.alert_has_story(alert["id"], story):
            return alert
    text = item.text or item.title
    for alert in reversed(alerts):  # the most recent story first
        if retells(text, store.alert_texts(alert["id"])):
            return alert
    return None


def detach(
    store: Store,
    alert_id: int,
    item_id: str,
    who: str,
    note: str | None,
    settings: AlertSettings,
) -> int:
    """Take one item out of an alert's story (an operator's decision, audited).

    The alert's figures are worked out again from the items that stay. The item becomes an
    alert of its own, open and awaiting a verdict; the operator has just seen it, so it is
    marked as told (no new mail now; a follow-up if it spreads). Returns its alert id.
    """
    with store.atomic():
        alert = store.alert_row(alert_id)
        if alert is None:
            raise LeaksentryError(f"no alert with id {alert_id}")
        rows = store.alert_items(alert_id)
        taken = [row for row in rows if row["item_id"] == item_id]
        stay = [row for row in rows if row["item_id"] != item_id]
        if not taken:
            raise LeaksentryError(f"item {item_id} is not in alert {alert_id}")
        if not stay:
            raise LeaksentryError(
                f"item {item_id} is the only item of alert {alert_id}: dismiss the alert instead"
            )
        brief_row = store.brief_row(alert["brief_id"]) or {}
        (row,) = taken
        new = _figures(taken, brief_row, settings) | {
            "brief_id": alert["brief_id"],
            "story": row["story"] or row["item_id"],
            "status": "open",
            "retro": alert["retro"],
            "first_seen_at": row["created_at"],
            "last_seen_at": row["created_at"],
        }
        new["notified"] = json.dumps(alert_state(new))
        new["notified_at"] = now()
        new_id = store.insert_alert(new)
        store.link_match(row["match_id"], new_id)
        kept = _figures(stay, brief_row, settings)
        if alert["story"] == new["story"] and stay[0]["story"] != new["story"]:
            kept["story"] = stay[0]["story"] or stay[0]["item_id"]
        store.update_alert(alert_id, kept)
        text = f"item {item_id} taken out of the story; now alert {new_id}"
        store.record_audit("detached", who, f"{text}: {note}" if note else text, alert_id)
    return new_id


def _figures(rows: list[dict], brief_row: dict, settings: AlertSettings) -> dict:
    """An alert's figures over these items (as attach accumulates them)."""
    figures = {
        "max_score": max(float(row["score"]) for row in rows),
        "details": json.dumps(
            sorted({d for row in rows for d in json.loads(row["details_matched"] or "[]")})
        ),
        "items": len(rows),
        "domains": json.dumps(list(dict.fromkeys(site_of(r["url"], r["source"]) for r in rows))),
        "last_published": max(
            (row["published"] for row in rows if parse_iso_datetime(row["published"])),
            key=parse_iso_datetime,
            default=None,
        ),
    }
    figures["severity"] = severity(figures, brief_row, settings)
    return figures
