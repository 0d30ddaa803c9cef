"""The decision: does an item expose a brief, how sure, and with which evidence.

Version 1: passages of the item (title and sentences) are embedded; the brief's summary
sentences and each of its details are embedded; a detail counts as revealed when a passage
is close to it in meaning, helped by its key terms appearing in the item. The score blends
the best summary similarity with the strength of the revealed details. Items published
outside a brief's active window are reports, never alerts.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from leaksentry.errors import ConfigError
from leaksentry.records import Brief, Item, Match
from matcher.embedder import Embedder, VectorCache
from matcher.text import key_terms, passages, sentences, words


@dataclass
class MatcherSettings:
    """Knobs of the decision; the ``[matcher]`` table of the configuration sets them."""

    threshold: float = 0.55  # alert when the score reaches this
    detail_threshold: float = 0.5  # a detail counts as revealed from this strength
    semantic_weight: float = 0.7  # share of meaning (vs key terms) in a detail's strength
    max_evidence: int = 3  # passages quoted as evidence
    candidate_floor: float = 0.3  # pairs scoring below this are not reported, even with all_scores

    @classmethod
    def from_dict(cls, table: dict | None) -> MatcherSettings:
        table = dict(table or {})
        known = {f.name for f in fields(cls)}
        unknown = set(table) - known
        if unknown:
            raise ConfigError(f"[matcher] unknown key(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**{k: float(v) if k != "max_evidence" else int(v) for k, v in table.items()})


@dataclass(repr=False)
class PreparedBrief:
    """A brief with its vectors: rows [0, n_summary) are summary sentences, then one per detail."""

    brief: Brief
    vectors: np.ndarray
    n_summary: int
    terms: list[set[str]]


@dataclass
class PreparedItem:
    item: Item
    passages: list[str]
    vectors: np.ndarray
    words: set[str]


class Matcher:
    """Scores items against briefs with one embedder; holds no database or network."""

    def __init__(
        self,
        embedder: Embedder,
        settings: MatcherSettings | None = None,
        cache: VectorCache | None = None,
    ):
        self.embedder = embedder
        self.settings = settings or MatcherSettings()
        self.cache = cache

    def brief_texts(self, brief: Brief) -> tuple[list[str], int]:
        summary = sentences(brief.summary) or [brief.summary]
        return summary + list(brief.details), len(summary)

    def prepare_brief(self, brief: Brief, vectors: np.ndarray | None = None) -> PreparedBrief:
        """Embed a brief (never through the public cache); pass stored vectors to skip it."""
        texts, n_summary = self.brief_texts(brief)
        if vectors is None or len(vectors) != len(texts):
            vectors = self.embedder.encode(texts)
        return PreparedBrief(brief, vectors, n_summary, [key_terms(d) for d in brief.details])

    def prepare_items(self, items: list[Item]) -> list[PreparedItem]:
        """Embed every passage of every item in one batch (cached by content hash)."""
        split = [passages(item.title, item.text) or [item.title or item.url] for item in items]
        flat = [p for item_passages in split for p in item_passages]
        vectors = self.embedder.encode(flat, cache=self.cache)
        prepared, start = [], 0
        for item, item_passages in zip(items, split, strict=True):
            end = start + len(item_passages)
            text_words = set(words(f"{item.title}\n{item.text}"))
            prepared.append(PreparedItem(item, item_passages, vectors[start:end], text_words))
            start = end
        return prepared

    def score(
        self, briefs: list[PreparedBrief], items: list[PreparedItem], all_scores: bool = False
    ) -> list[Match]:
        """Matches worth recording: alerts, plus (all_scores) every pair above the floor."""
        results = []
        for prepared_item in items:
            published = prepared_item.item.published_at()
            for prepared_brief in briefs:
                match = self._score_pair(prepared_brief, prepared_item)
                match.alert = (
                    match.score >= self.settings.threshold
                    and prepared_brief.brief.is_leak_time(published)
                )
                if match.alert or (all_scores and match.score >= self.settings.candidate_floor):
                    results.append(match)
        return results

    def _score_pair(self, pb: PreparedBrief, pi: PreparedItem) -> Match:
        s = self.settings
        similarity = pi.vectors @ pb.vectors.T  # passages x brief rows
        summary_best = float(similarity[:, : pb.n_summary].max()) if pb.n_summary else 0.0
        detail_sim = similarity[:, pb.n_summary :]
        strengths, revealing = [], []
        for j, terms in enumerate(pb.terms):
            best_passage = int(detail_sim[:, j].argmax())
            overlap = len(terms & pi.words) / len(terms) if terms else 0.0
            strength = (
                s.semantic_weight * float(detail_sim[best_passage, j])
                + (1 - s.semantic_weight) * overlap
            )
            strengths.append(strength)
            revealing.append(best_passage)
        matched = [j for j, v in enumerate(strengths) if v >= s.detail_threshold]
        top = sorted(strengths, reverse=True)[:2]
        detail_part = float(np.mean(top)) if top else summary_best
        score = 0.5 * summary_best + 0.5 * detail_part + 0.03 * max(0, len(matched) - 1)
        evidence_rows = [revealing[j] for j in sorted(matched, key=lambda j: -strengths[j])]
        if not evidence_rows:
            evidence_rows = [int(similarity[:, : max(pb.n_summary, 1)].max(axis=1).argmax())]
        evidence = [pi.passages[i] for i in dict.fromkeys(evidence_rows)][: s.max_evidence]
        return Match(
            brief_id=pb.brief.id,
            item_id=pi.item.id,
            score=round(min(score, 1.0), 4),
            details_matched=matched,
            evidence=evidence,
        )
