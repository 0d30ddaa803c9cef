"""Is one text a copy of another? Word 3-grams compared exactly: Jaccard or containment.

Used at ingest (spiders/stories.py checks the MinHash index's candidates with it) and when
an alerting item may join a story (leaksentry/alerts/exposures.py): an item joins a story only when
it retells the story's items, never for sharing a brief, a site or a time window.

Measured on fictional wire copies (tests/test_stories.py): an edited syndicated copy (an
advert line inserted, the headline rewritten) has a Jaccard of 0.80-0.84 and a containment
of 0.90 with the original; a different article on the same topic is below 0.05 on both.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

SHINGLE = 3
COPY_JACCARD = 0.7  # this much of the two texts' word 3-grams shared: a copy...
COPY_CONTAINMENT = 0.85  # ...or this much of the shorter text's 3-grams inside the longer
MIN_CONTAINED = 12  # containment counts only for a text of at least this many 3-grams


@lru_cache(maxsize=256)  # a few megabytes of long articles
def shingles(text: str) -> frozenset[str]:
    """The word 3-grams of a text (lower case, accents composed); short texts give one.
    Kept for the last texts read: a batch of alerts compares each new item with the same
    stories' texts again and again."""
    words = re.findall(r"\w+", unicodedata.normalize("NFC", text or "").lower())
    return frozenset(
        " ".join(words[i : i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))
    )


def similarity(a: frozenset[str], b: frozenset[str]) -> tuple[float, float]:
    """(Jaccard, containment of the smaller set in the larger) of two shingle sets."""
    if not a or not b:
        return 0.0, 0.0
    shared = len(a & b)
    return shared / len(a | b), shared / min(len(a), len(b))


def is_copy(a: frozenset[str], b: frozenset[str]) -> bool:
    """The same text, near enough: an edited copy, not another article on the same topic."""
    jaccard, containment = similarity(a, b)
    return jaccard >= COPY_JACCARD or (
        containment >= COPY_CONTAINMENT and min(len(a), len(b)) >= MIN_CONTAINED
    )


def retells(text: str, others: list[str]) -> bool:
    """Whether `text` is a copy of any of `others`."""
    mine = shingles(text)
    return any(is_copy(mine, shingles(other)) for other in others)
