"""Turning text into vectors and scoring items against sealed briefs.

Knows no HTTP, no email and no SQL: the store is reached only through a VectorCache. Imports
nothing of leaksentry: it takes plain records (matcher.records) and settings and returns
decisions; its errors are matcher.errors.MatcherError.

The names below are imported on first use, so `matcher.records` or `matcher.errors` alone
stay light (no numpy) for the command line.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matcher.embedder import Embedder, MemoryCache, load_embedder
    from matcher.scoring import Matcher, MatcherSettings, PreparedBrief, PreparedItem

_WHERE = {
    "Embedder": "matcher.embedder",
    "MemoryCache": "matcher.embedder",
    "load_embedder": "matcher.embedder",
    "Matcher": "matcher.scoring",
    "MatcherSettings": "matcher.scoring",
    "PreparedBrief": "matcher.scoring",
    "PreparedItem": "matcher.scoring",
}

__all__ = [
    "Embedder",
    "Matcher",
    "MatcherSettings",
    "MemoryCache",
    "PreparedBrief",
    "PreparedItem",
    "load_embedder",
]


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'matcher' has no attribute {name!r}")
