"""One story, one thread of items: syndicated and near-identical copies found at ingest.

Each item's text gets a MinHash signature (datasketch) over word 3-grams; an LSH index of the
signatures of recent items finds copies whose estimated Jaccard similarity reaches the
threshold, and the new item joins that item's story.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import numpy as np
from datasketch import MinHash, MinHashLSH

from leaksentry.store import Store

NUM_PERM = 128
SCHEME = (
    "affine32"  # pinned: stored signatures must be compared under the scheme they were made with
)
THRESHOLD = 0.8
SHINGLE = 3
WINDOW_DAYS = 14


def signature(text: str) -> MinHash:
    tokens = re.findall(r"\w+", text.lower())
    minhash = MinHash(num_perm=NUM_PERM, scheme=SCHEME)
    grams = {" ".join(tokens[i : i + SHINGLE]) for i in range(max(1, len(tokens) - SHINGLE + 1))}
    for gram in grams:
        minhash.update(gram.encode())
    return minhash


def to_bytes(minhash: MinHash) -> bytes:
    return minhash.hashvalues.astype(np.uint64).tobytes()


def from_bytes(blob: bytes) -> MinHash:
    values = np.frombuffer(blob, dtype=np.uint64)
    return MinHash(num_perm=NUM_PERM, hashvalues=values, scheme=SCHEME)


_INDEXES: dict[str, StoryIndex] = {}


def story_index(store: Store) -> StoryIndex:
    """One index per database per process: spiders crawling side by side see each other's items."""
    key = str(store.path.resolve())
    if key not in _INDEXES:
        _INDEXES[key] = StoryIndex(store)
    return _INDEXES[key]


class StoryIndex:
    """Recent items' signatures in memory, loaded from the store when a crawl starts."""

    def __init__(self, store: Store, days: int = WINDOW_DAYS):
        self.lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
        self.stories: dict[str, str] = {}
        self.signatures: dict[str, MinHash] = {}
        since = (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="seconds")
        for item_id, story, blob in store.recent_signatures(since):
            self.add(item_id, story, from_bytes(blob))

    def find(self, minhash: MinHash) -> str | None:
        """The story of the most similar recent item above the threshold, if any."""
        best, best_similarity = None, THRESHOLD
        for item_id in self.lsh.query(minhash):
            similarity = minhash.jaccard(self.signatures[item_id])
            if similarity >= best_similarity:
                best, best_similarity = item_id, similarity
        return self.stories[best] if best else None

    def add(self, item_id: str, story: str, minhash: MinHash) -> None:
        if item_id in self.signatures:
            return
        self.lsh.insert(item_id, minhash)
        self.signatures[item_id] = minhash
        self.stories[item_id] = story
