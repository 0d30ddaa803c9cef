"""One story, one thread of items: syndicated and near-identical copies found at ingest.

Each item's text gets a MinHash signature (datasketch's affine32 scheme) over word 3-grams;
an LSH index of the signatures of recent items finds candidates (estimated Jaccard from
CANDIDATE), and each is checked exactly on the stored texts (leaksentry.copies.is_copy:
Jaccard or containment), so an edited copy (an advert line inserted, a headline rewritten:
Jaccard 0.80-0.84, containment 0.90) joins its story while another article on the same
topic (below 0.05) stays apart (tests/test_stories.py). The new item joins the most similar
copy's story.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import numpy as np

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


SEED = 1  # datasketch's default seed: the permutations it draws for the scheme
# The LSH banding MinHashLSH(threshold=CANDIDATE, num_perm=NUM_PERM) chooses: 25 bands of 5
# values (tests/test_stories.py checks it against datasketch).
BANDS, BAND_ROWS = 25, 5
_BANDS = [(band * BAND_ROWS, (band + 1) * BAND_ROWS) for band in range(BANDS)]


def _draw_permutations() -> np.ndarray:
    """The affine32 scheme's (a, b) pairs as datasketch's MinHash draws them for SEED (an odd
    a, so a * h + b is a bijection of 32-bit values). Drawn here rather than by datasketch:
    importing it imports scipy, most of a crawl process's start (tests check they agree)."""
    generator = np.random.RandomState(SEED)
    a = generator.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return np.array([a, b])


_PERMUTATIONS = _draw_permutations()


def signature(text: str):
    """datasketch's own MinHash of a text: the reference `signature_values` is checked
    against (tests), and the `jaccard` estimate for measuring."""
    from datasketch import MinHash

    tokens = re.findall(r"\w+", text.lower())
    minhash = MinHash(num_perm=NUM_PERM, scheme=SCHEME, permutations=_PERMUTATIONS)
    grams = {" ".join(tokens[i : i + SHINGLE]) for i in range(max(1, len(tokens) - SHINGLE + 1))}
    minhash.update_batch([gram.encode() for gram in grams])  # the same values as one by one
    return minhash


def signature_values(text: str) -> np.ndarray:
    """``signature(text).hashvalues`` as stored (uint64), without a MinHash object: the
    affine32 scheme's steps on all 3-grams at once (the first four bytes of each one's SHA-1,
    MurmurHash3's 32-bit finaliser, a * h + b modulo 2**32, the least per permutation). The
    store writer makes one per item; tests/test_stories.py checks it against datasketch."""
    tokens = re.findall(r"\w+", text.lower())
    grams = {" ".join(tokens[i : i + SHINGLE]) for i in range(max(1, len(tokens) - SHINGLE + 1))}
    a, b = _PERMUTATIONS
    hv = np.fromiter(
        (int.from_bytes(hashlib.sha1(gram.encode()).digest()[:4], "little") for gram in grams),
        dtype=np.uint32,
        count=len(grams),
    ).reshape(-1, 1)
    hv ^= hv >> np.uint32(16)
    hv *= np.uint32(0x85EBCA6B)
    hv ^= hv >> np.uint32(13)
    hv *= np.uint32(0xC2B2AE35)
    hv ^= hv >> np.uint32(16)
    return (hv * a + b).min(axis=0).astype(np.uint64)


def to_bytes(values: np.ndarray) -> bytes:
    return _values(values).tobytes()


_INDEXES: dict[str, StoryIndex] = {}


def story_index(store: Store) -> StoryIndex:
    """One index per database per process: spiders crawling side by side see each other's items."""
    key = store.identity
    if key not in _INDEXES:
        _INDEXES[key] = StoryIndex(store)
    return _INDEXES[key]


class StoryIndex:
    """Recent items' signatures in memory, loaded from the store when a crawl starts.

    The LSH banding of datasketch's ``MinHashLSH`` (CANDIDATE, NUM_PERM: 25 bands of 5
    values), kept as one dict per band from the band's values to the items holding them: the
    same candidates, without a MinHash object per stored item (making one draws the scheme's
    permutations again) or datasketch's per-band byte swapping. Loading a day of posts and
    adding each new item are a few dict operations each.
    """

    def __init__(self, store: Store, days: int = WINDOW_DAYS):
        self.bands: list[dict[bytes, list[str]]] = [{} for _ in _BANDS]
        self.stories: dict[str, str] = {}
        self.signatures: dict[str, np.ndarray] = {}  # item id -> its MinHash values (uint64)
        since = (clock.now() - timedelta(days=days)).isoformat(timespec="seconds")
        for item_id, story, blob in store.recent_signatures(since):
            self.add(item_id, story, np.frombuffer(blob, dtype=np.uint64))

    def candidates(self, values: np.ndarray) -> list[str]:
        """Items sharing at least one band with these MinHash values, first added first."""
        blob, found = values.tobytes(), {}
        for (start, end), band in zip(_BANDS, self.bands, strict=True):
            for item_id in band.get(blob[start * 8 : end * 8], ()):
                found[item_id] = None
        return list(found)

    def find(
        self,
        minhash: np.ndarray,
        text: str | None = None,
        store: Store | None = None,
        pending: dict[str, str] | None = None,
    ):
        """The story of the most similar recent copy, if any.

        With the new item's text and the store, candidates are compared exactly on their
        word 3-grams (``pending``: texts of items being written, not in the store yet);
        otherwise by the MinHash estimate against THRESHOLD.
        """
        values = _values(minhash)
        candidates = self.candidates(values)
        texts = {}
        if text and store and candidates:
            pending = pending or {}
            texts = {item_id: pending[item_id] for item_id in candidates if item_id in pending}
            if unread := [item_id for item_id in candidates if item_id not in pending]:
                texts |= store.item_texts(unread)
        mine = shingles(text) if texts else set()
        best, best_similarity = None, -1.0
        for item_id in candidates:
            # MinHash.jaccard: the share of equal values
            similarity = float(np.count_nonzero(values == self.signatures[item_id])) / NUM_PERM
            if item_id in texts:
                linked = is_copy(mine, shingles(texts[item_id]))
            else:
                linked = similarity >= THRESHOLD
            if linked and similarity > best_similarity:
                best, best_similarity = item_id, similarity
        return self.stories[best] if best else None

    def discard(self, item_id: str) -> None:
        """Forget an item (its write was rolled back)."""
        values = self.signatures.pop(item_id, None)
        if values is None:
            return
        self.stories.pop(item_id, None)
        blob = values.tobytes()
        for (start, end), band in zip(_BANDS, self.bands, strict=True):
            key = blob[start * 8 : end * 8]
            holders = band.get(key, [])
            if item_id in holders:
                holders.remove(item_id)
            if not holders:
                band.pop(key, None)

    def add(self, item_id: str, story: str, minhash: np.ndarray) -> None:
        if item_id in self.signatures:
            return
        values = _values(minhash)
        blob = values.tobytes()
        for (start, end), band in zip(_BANDS, self.bands, strict=True):
            band.setdefault(blob[start * 8 : end * 8], []).append(item_id)
        self.signatures[item_id] = values
        self.stories[item_id] = story


def _values(values: np.ndarray) -> np.ndarray:
    """A signature's values as uint64 (how they are stored)."""
    return values if values.dtype == np.uint64 else values.astype(np.uint64)
