"""The one item type every spider yields."""

from dataclasses import dataclass


@dataclass
class CollectedItem:
    """A public item as a spider saw it; the pipelines give it an id and store it."""

    url: str
    kind: str  # news | social
    source: str
    title: str
    text: str
    published: str | None = None
    lang: str | None = None
    raw: bytes | None = None  # the response as fetched, kept compressed as evidence
    raw_type: str | None = None
