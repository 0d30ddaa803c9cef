"""The public record types every part speaks (see DESIGN.md, "Public formats").

Plain dataclasses with no dependency: the matcher takes and returns them, and leaksentry
re-exports them from leaksentry.records.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime


@dataclass
class Item:
    """A public news article or social post, as collected."""

    id: str
    url: str
    kind: str  # "news" | "social"
    source: str
    published: str | None  # ISO 8601 with the publisher's UTC offset when known, else UTC
    title: str
    text: str
    lang: str | None = None
    story: str | None = None  # shared by syndicated and near-identical copies (set at ingest)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: dict) -> Item:
        return cls(
            id=str(row["id"]),
            url=row.get("url") or "",
            kind=row.get("kind") or "news",
            source=row.get("source") or "",
            published=row.get("published"),
            title=row.get("title") or "",
            text=row.get("text") or "",
            lang=row.get("lang"),
            story=row.get("story"),
        )

    def published_at(self) -> datetime | None:
        """The publication time as an aware datetime, or None when unknown."""
        return parse_iso_datetime(self.published)


@dataclass(repr=False)
class Brief:
    """A sealed brief in memory. summary and details are the sealed part."""

    id: str
    codename: str
    summary: str
    details: list[str] = field(default_factory=list)
    active_from: str | None = None
    active_until: str | None = None
    recipients: list[str] = field(default_factory=list)

    def window(self) -> tuple[date | None, date | None]:
        return parse_iso_date(self.active_from), parse_iso_date(self.active_until)

    def is_leak_time(self, published: datetime | None) -> bool:
        """True when publication at `published` would be a leak, not a report.

        Unknown publication times and briefs without a window count as leak time:
        missing data must not silence an alert.
        """
        if published is None:
            return True
        start, until = self.window()
        day = published.astimezone(UTC).date()
        if until is not None and day > until:
            return False
        return not (start is not None and day < start)

    def __repr__(self) -> str:  # never print sealed text by accident
        return f"Brief(id={self.id!r}, codename={self.codename!r}, <sealed>)"

    __str__ = __repr__


@dataclass
class Match:
    """One (brief, item) pair the matcher scored, with its public evidence."""

    brief_id: str
    item_id: str
    score: float
    details_matched: list[int]
    evidence: list[str]
    alert: bool = True

    def to_alert_line(self) -> dict:
        return {
            "brief_id": self.brief_id,
            "item_id": self.item_id,
            "score": round(float(self.score), 4),
            "details_matched": list(self.details_matched),
            "evidence": list(self.evidence),
        }


def parse_iso_datetime(value: str | None) -> datetime | None:
    """Parse an ISO 8601 time ('Z' allowed); naive times are taken as UTC."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def parse_iso_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
