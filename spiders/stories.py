"""One story, one thread of items: syndicated and near-identical copies found at ingest.

Each item's text gets a MinHash signature (datasketch) over word 3-grams; an LSH index of the
signatures of recent items finds candidates (estimated Jaccard from CANDIDATE), and each is
checked exactly on the stored texts (leaksentry.copies.is_copy: Jaccard or containment), so
an edited copy (an advert line inserted, a headline rewritten: Jaccard 0.80-0.84, containment
0.90) joins its story while another article on the same topic (below 0.05) stays apart
(tests/test_stories.py). The new item joins the most similar copy's story.
"""

from __future__ import annotations

import re
from datetime import timedelta

import numpy as np
from datasketch import MinHash, MinHashLSH

from leaksentry import clock
from leaksentry.copies import is_copy, shingles
from leaksentry.storage import Store

NUM_PERM = 128
SCHEME = (
    "affine32"  # pinned: stored signatures must be compared under the scheme they were made with
)
THRESHOLD = 0.8  # estimated Jaccard that links when the texts cannot be compared
CANDIDATE = 0.5  # LSH threshold: candidates to compare exactly
SHINGLE = 3
WINDOW_DAYS = 14


_PERMUTATIONS = []  # the scheme's permutations, made once (they depend on the seed only)


def signature(text: str) -> MinHash:
    tokens = re.findall(r"\w+", text.lower())
    if not _PERMUTATIONS:
        _PERMUTATIONS.append(MinHash(num_perm=NUM_PERM, scheme=SCHEME).permutations)
    minhash = MinHash(num_perm=NUM_PERM, scheme=SCHEME, permutations=_PERMUTATIONS[0])
    grams = {" ".join(tokens[i : i + SHINGLE]) for i in range(max(1, len(tokens) - SHINGLE + 1))}
    minhash.update_batch([gram.encode() for gram in grams])  # the same values as one by one
    return minhash


def to_bytes(minhash: MinHash) -> bytes:
    return minhash.hashvalues.astype(np.uint64).tobytes()


def from_bytes(blob: bytes) -> MinHash:
    values = np.frombuffer(blob, dtype=np.uint64)
    return MinHash(num_perm=NUM_PERM, hashvalues=values, scheme=SCHEME)


_INDEXES: dict[str, StoryIndex] = {}


def story_index(store: Store) -> StoryIndex:
    """One index per database per process: spiders crawling side by side see each other's items."""
    key = store.identity
    if key not in _INDEXES:
        _INDEXES[key] = StoryIndex(store)
    return _INDEXES[key]


class StoryIndex:
    """Recent items' signatures in memory, loaded from the store when a crawl starts."""

    def __init__(self, store: Store, days: int = WINDOW_DAYS):
        self.lsh = MinHashLSH(threshold=CANDIDATE, num_perm=NUM_PERM)
        self.stories: dict[str, str] = {}
        self.signatures: dict[str, MinHash] = {}
        since = (clock.now() - timedelta(days=days)).isoformat(timespec="seconds")
        for item_id, story, blob in store.recent_signatures(since):
            self.add(item_id, story, from_bytes(blob))

    def find(self, minhash: MinHash, text: str | None = None, store: Store | None = None):
        """The story of the most similar recent copy, if any.

        With the new item's text and the store, candidates are compared exactly on their
        word 3-grams; otherwise by the MinHash estimate against THRESHOLD.
        """
        candidates = self.lsh.query(minhash)
        texts = store.item_texts(candidates) if text and store and candidates else {}
        mine = shingles(text) if texts else set()
        best, best_similarity = None, -1.0
        for item_id in candidates:
            similarity = minhash.jaccard(self.signatures[item_id])
            if item_id in texts:
                linked = is_copy(mine, shingles(texts[item_id]))
            else:
                linked = similarity >= THRESHOLD
            if linked and similarity > best_similarity:
                best, best_similarity = item_id, similarity
        return self.stories[best] if best else None

    def discard(self, item_id: str) -> None:
        """Forget an item (its write was rolled back)."""
        if self.signatures.pop(item_id, None) is not None:
            self.lsh.remove(item_id)
            self.stories.pop(item_id, None)

    def add(self, item_id: str, story: str, minhash: MinHash) -> None:
        if item_id in self.signatures:
            return
        self.lsh.insert(item_id, minhash)
        self.signatures[item_id] = minhash
        self.stories[item_id] = story
