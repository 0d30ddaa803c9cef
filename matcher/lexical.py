"""Term rarity learnt from the stream, and how much of a brief's rare content an item shares.

A brief's specific facts (names, places, numbers, dates) are what tell its leak from the same
kind of story elsewhere. What counts as "specific" depends on the stream: "police" is rare in
a sports feed and everywhere in a crime feed. So rarity (IDF) is counted over the items the
matcher sees (the backtest's input, or the store's recent items), not fixed in advance.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable

# Without a background stream every term counts as equally rare, as if seen in none of
# this many items: term overlap still counts, just unweighted.
PRIOR_DOCS = 1000


class TermStats:
    """Document frequencies over a background stream; unseen terms are rarest."""

    def __init__(self):
        self.df: Counter[str] = Counter()
        self.docs = 0

    def add(self, term_sets: Iterable[set[str]]) -> None:
        for term_set in term_sets:
            self.df.update(term_set)
            self.docs += 1

    def rarity(self, term: str) -> float:
        """IDF scaled to [0, 1] by the stream's size: 1 for a term in no item, 0 for one in
        every item. Scaling keeps a 160-item stream and a 20,000-item one comparable."""
        n = self.docs if self.docs else PRIOR_DOCS
        idf = math.log((n + 1) / (self.df.get(term, 0) + 0.5))
        return max(0.0, idf / math.log((n + 1) / 0.5))


class BriefTermIndex:
    """For every term of any brief: which brief (and which of its details) uses it, and how
    rare it is. Scoring walks an item's terms once instead of every brief's."""

    def __init__(self, stats: TermStats, briefs_terms: list[tuple[set[str], list[set[str]]]]):
        self.postings: dict[str, list[tuple[int, int, float]]] = defaultdict(list)
        self.mass = []  # per brief: total rarity of its terms
        self.detail_mass = []  # per brief: per detail
        for b, (all_terms, details) in enumerate(briefs_terms):
            weights = {t: stats.rarity(t) for t in all_terms | set().union(*details)}
            self.mass.append(sum(weights[t] for t in all_terms) or 1.0)
            self.detail_mass.append([sum(weights[t] for t in d) or 1.0 for d in details])
            for t in all_terms:
                self.postings[t].append((b, -1, weights[t]))
            for j, d in enumerate(details):
                for t in d:
                    self.postings[t].append((b, j, weights[t]))

    def shared(self, item_terms: set[str]) -> tuple[dict[int, float], dict[tuple[int, int], float]]:
        """Rarity mass the item shares with each brief, and with each (brief, detail)."""
        brief_mass: dict[int, float] = defaultdict(float)
        detail_mass: dict[tuple[int, int], float] = defaultdict(float)
        for t in item_terms:
            for b, j, w in self.postings.get(t, ()):
                if j < 0:
                    brief_mass[b] += w
                else:
                    detail_mass[(b, j)] += w
        return brief_mass, detail_mass
