"""Turning text into vectors and scoring items against sealed briefs.

Knows no HTTP, no email and no SQL: the store is reached only through a VectorCache.
"""

from matcher.embedder import Embedder, MemoryCache, load_embedder
from matcher.scoring import Matcher, MatcherSettings, PreparedBrief, PreparedItem

__all__ = [
    "Embedder",
    "Matcher",
    "MatcherSettings",
    "MemoryCache",
    "PreparedBrief",
    "PreparedItem",
    "load_embedder",
]
