"""Turning store rows into what the pages show: details by number, highlighted evidence,
spread over time. Public text only; a brief's wording is used in memory to find which
public words to highlight and is never returned.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from datetime import UTC, datetime

from markupsafe import Markup, escape

from leaksentry.alerts.exposures import site_of  # one rule for what a site is
from matcher.records import parse_iso_datetime
from matcher.text import terms

_TOKEN = re.compile(r"\w[\w'’.,-]*\w|\w", re.UNICODE)


def details_label(numbers: list[int], n_details: int | None) -> str:
    """'#1, #3 of 5': the detail numbers, never their sealed wording."""
    if not numbers:
        return "none singled out"
    listed = ", ".join(f"#{j + 1}" for j in numbers)
    return f"{listed} of {n_details}" if n_details else listed


def alert_summary(alert: dict, codenames: dict[str, str]) -> dict:
    return {
        "id": alert["id"],
        "codename": codenames.get(alert["brief_id"], alert["brief_id"]),
        "score": alert["max_score"],
        "severity": alert["severity"],
        "status": alert["status"],
        "n_items": alert["items"],
        "sites": len(json.loads(alert["domains"] or "[]")),
        "first_seen": alert["first_seen_at"],
        "last_seen": alert["last_seen_at"],
        "retro": bool(alert["retro"]),
    }


def detail_terms(details: list[str], numbers: list[int]) -> dict[str, set[int]]:
    """Comparable term -> numbers of the revealed details that contain it (memory only)."""
    found: dict[str, set[int]] = {}
    for number in numbers:
        if 0 <= number < len(details):
            for term in terms(details[number]):
                found.setdefault(term, set()).add(number)
    return found


def highlight(passage: str, wanted: dict[str, set[int]]) -> Markup:
    """The public passage, escaped, with words that meet a revealed detail in <mark>."""
    out, last = [], 0
    for token in _TOKEN.finditer(passage):
        numbers = set().union(*(wanted.get(t, set()) for t in terms(token.group())))
        if not numbers:
            continue
        label = ", ".join(f"#{n + 1}" for n in sorted(numbers))
        out.append(escape(passage[last : token.start()]))
        out.append(Markup('<mark title="detail {}">{}</mark>').format(label, token.group()))
        last = token.end()
    out.append(escape(passage[last:]))
    return Markup("").join(out)


def story_items(rows: list[dict], wanted: dict[str, set[int]], n_details: int | None):
    """The alert's items, oldest first, with their evidence highlighted."""
    for row in rows:
        numbers = json.loads(row["details_matched"] or "[]")
        yield {
            "title": row["title"] or "(no title)",
            "url": row["url"],
            "source": row["source"],
            "kind": row["kind"],
            "site": site_of(row["url"], row["source"]),
            "published": row["published"],
            "seen": row["created_at"],
            "score": row["score"],
            "details": details_label(numbers, n_details),
            "evidence": [highlight(p, wanted) for p in json.loads(row["evidence"] or "[]")],
        }


def _instant(row: dict) -> datetime:
    """When an item appeared (times carry their publisher's offset: compare instants)."""
    return parse_iso_datetime(row["published"] or row["created_at"]) or datetime.min.replace(
        tzinfo=UTC
    )


def spread(rows: list[dict]) -> list[dict]:
    """Per day: items, sites new that day, and sites so far (how the story spread)."""
    days: OrderedDict[str, dict] = OrderedDict()
    seen: set[str] = set()
    for row in sorted(rows, key=_instant):
        day = (row["published"] or row["created_at"] or "unknown")[:10]
        entry = days.setdefault(day, {"day": day, "items": 0, "new_sites": [], "sources": []})
        entry["items"] += 1
        site = site_of(row["url"], row["source"])
        if site not in seen:
            seen.add(site)
            entry["new_sites"].append(site)
        if row["source"] not in entry["sources"]:
            entry["sources"].append(row["source"])
        entry["sites_so_far"] = len(seen)
    return list(days.values())
