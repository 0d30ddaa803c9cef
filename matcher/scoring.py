"""The decision: does an item expose a brief, how sure, and with which evidence.

Version 2 (see docs/MATCHER.md): an item is cut into passages; each (item, brief) pair gets a
few measurements (matcher.features): meaning shared with the brief's sentences and details,
the brief's rare terms found together in one passage, dates resolved against the item's
publication time, and how much better the item fits this brief than any other. Each
measurement is put on the scale of a background stream (matcher.calibrate), a fixed linear
combination gives a z score, and the pair alerts when z reaches the threshold, the item was
published inside the brief's active window, and the brief's own background cap allows it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime

import numpy as np

from leaksentry.errors import ConfigError
from leaksentry.records import Brief, Item, Match
from matcher.calibrate import Calibration, default_calibration, fit_calibration
from matcher.dates import brief_date_atoms, date_atoms, time_atoms
from matcher.embedder import Embedder, VectorCache
from matcher.features import MARGIN_OF, add_margins, raw_features
from matcher.lang import item_language
from matcher.lexical import BriefTermIndex, TermStats
from matcher.text import passages, sentences, terms

# Weights of the standardised measurements (z units); fitted on the development sets, see
# docs/MATCHER.md for how and what that means for the figures.
WEIGHTS = {
    "DATE": 0.302,
    "m_S_max": 0.132,
    "m_S_cov3": 0.053,
    "m_D_lex": 0.206,
    "m_L_pass": 0.308,
}
BIAS = -0.63
Z_SCALE = 10.0  # z -> score in (0, 1): sigmoid(Z_SCALE * z)


@dataclass
class MatcherSettings:
    """Knobs of the decision; the ``[matcher]`` table of the configuration sets them."""

    threshold: float = 0.5  # alert when the score (a calibrated 0-1 scale) reaches this
    max_alert_share: float = 0.05  # per-brief cap: alert on at most this share of background
    detail_threshold: float = 0.55  # a detail counts as revealed from this similarity ...
    detail_share: float = 0.34  # ... or when the item holds this share of its rare terms
    max_evidence: int = 3  # passages quoted as evidence
    candidate_floor: float = 0.05  # pairs scoring below this are not reported (all_scores)
    min_background: int = 100  # fewer background items than this: built-in defaults are kept
    background_days: float = 7.0  # the service calibrates on the items stored in these days...
    background_items: int = 2000  # ...at most this many of the most recent
    recalibrate_hours: float = 1.0  # ...again at most this often

    @classmethod
    def from_dict(cls, table: dict | None) -> MatcherSettings:
        table = dict(table or {})
        known = {f.name for f in fields(cls)}
        unknown = set(table) - known
        if unknown:
            raise ConfigError(f"[matcher] unknown key(s) {sorted(unknown)}; known: {sorted(known)}")
        whole = {"max_evidence", "min_background", "background_items"}
        return cls(**{k: int(v) if k in whole else float(v) for k, v in table.items()})


@dataclass(repr=False)
class PreparedBrief:
    """A brief with its vectors: rows [0, n_summary) are summary sentences, then one per detail.

    Everything here is sealed material held in memory only; it has no readable repr."""

    brief: Brief
    vectors: np.ndarray
    n_summary: int
    terms: set[str]
    detail_terms: list[set[str]]
    dates: set[str]


@dataclass(repr=False)
class PreparedItem:
    item: Item
    passages: list[str]
    vectors: np.ndarray
    passage_terms: list[set[str]]
    terms: set[str]


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
        self.calibration: Calibration = default_calibration()
        # what the service last calibrated on: ((brief ids, background size), when)
        self.calibrated: tuple | None = None
        # operator feedback: brief id -> change of that brief's threshold in z units (+ stricter)
        self.brief_offsets: dict[str, float] = {}

    # -- preparing -------------------------------------------------------------------------

    def brief_texts(self, brief: Brief) -> tuple[list[str], int]:
        summary = sentences(brief.summary) or [brief.summary]
        return summary + list(brief.details), len(summary)

    def prepare_brief(self, brief: Brief, vectors: np.ndarray | None = None) -> PreparedBrief:
        """Embed a brief (never through the public cache); pass stored vectors to skip it."""
        texts, n_summary = self.brief_texts(brief)
        if vectors is None or len(vectors) != len(texts):
            vectors = self.embedder.encode(texts)
        start, _ = brief.window()
        reference = _midnight(start)
        atoms = [_text_atoms(text, reference, "en", brief_text=True) for text in texts]
        return PreparedBrief(
            brief=brief,
            vectors=vectors,
            n_summary=n_summary,
            terms=set().union(*atoms),
            detail_terms=atoms[n_summary:],
            dates={a for a in set().union(*atoms) if a.startswith("date:")},
        )

    def prepare_items(self, items: list[Item]) -> list[PreparedItem]:
        """Embed every passage of every item in one batch (cached by content hash)."""
        split = [passages(item.title, item.text) or [item.title or item.url] for item in items]
        flat = [p for item_passages in split for p in item_passages]
        vectors = self.embedder.encode(flat, cache=self.cache)
        prepared, start = [], 0
        for item, item_passages in zip(items, split, strict=True):
            end = start + len(item_passages)
            published = item.published_at()
            lang = item_language(item)
            passage_terms = [_text_atoms(p, published, lang) for p in item_passages]
            prepared.append(
                PreparedItem(
                    item=item,
                    passages=item_passages,
                    vectors=vectors[start:end],
                    passage_terms=passage_terms,
                    terms=set().union(*passage_terms),
                )
            )
            start = end
        return prepared

    # -- calibrating -----------------------------------------------------------------------

    def calibrate(
        self, briefs: list[PreparedBrief], background: list[PreparedItem]
    ) -> dict[str, float]:
        """Measure the background stream and keep the result for every later `score`.

        `background`: prepared items of the recent stream (for a backtest, its input; for the
        service, the stored items of the last days, a few hundred at least). Returns the
        briefs whose own threshold had to be raised, as brief id -> score threshold.
        """
        self.calibration = fit_calibration(
            briefs,
            background,
            lambda stats: self._index(stats, briefs),
            self._combine,
            _logit(self.settings.threshold) / Z_SCALE,
            self.settings.max_alert_share,
            self.settings.min_background,
        )
        return {
            brief_id: round(_sigmoid(Z_SCALE * z), 4)
            for brief_id, z in self.calibration.brief_thresholds.items()
        }

    # -- scoring ---------------------------------------------------------------------------

    def score(
        self, briefs: list[PreparedBrief], items: list[PreparedItem], all_scores: bool = False
    ) -> list[Match]:
        """Matches worth recording: alerts, plus (all_scores) every pair above the floor."""
        if not briefs or not items:
            return []
        z = self.z_scores(briefs, items)
        s = self.settings
        global_z = _logit(s.threshold) / Z_SCALE
        floor_z = _logit(s.candidate_floor) / Z_SCALE
        caps = self.calibration.brief_thresholds
        results = []
        for i, prepared_item in enumerate(items):
            published = prepared_item.item.published_at()
            for k, prepared_brief in enumerate(briefs):
                value = float(z[i, k])
                limit = self._limit(
                    prepared_brief.brief.id,
                    max(global_z, caps.get(prepared_brief.brief.id, global_z)),
                )
                alert = value >= limit and prepared_brief.brief.is_leak_time(published)
                if alert or (all_scores and value >= floor_z):
                    results.append(self._match(prepared_brief, prepared_item, value, alert))
        return results

    def _limit(self, brief_id: str, limit_z: float) -> float:
        """A brief's threshold, moved by operator feedback (z units: scores saturate near 1,
        the calibrated evidence does not)."""
        return limit_z + self.brief_offsets.get(brief_id, 0.0)

    def z_scores(self, briefs: list[PreparedBrief], items: list[PreparedItem]) -> np.ndarray:
        """The calibrated evidence of every (item, brief) pair, shaped (items, briefs)."""
        features = raw_features(briefs, items, self._index(self.calibration.stats, briefs))
        add_margins(features, {n: self.calibration.centre[n] for n in MARGIN_OF})
        return self._combine(self.calibration.standardise(features))

    @staticmethod
    def _index(stats: TermStats, briefs: list[PreparedBrief]) -> BriefTermIndex:
        # Built per call: briefs are few, and the index depends on the current term stats.
        return BriefTermIndex(stats, [(b.terms, b.detail_terms) for b in briefs])

    def _combine(self, standardised: dict[str, np.ndarray]) -> np.ndarray:
        z = sum(WEIGHTS[name] * standardised[name] for name in WEIGHTS)
        return z + BIAS

    # -- explaining ------------------------------------------------------------------------

    def _match(self, pb: PreparedBrief, pi: PreparedItem, z: float, alert: bool) -> Match:
        """Which details the item reveals, and the passages that carry the evidence."""
        s = self.settings
        similarity = pi.vectors @ pb.vectors.T  # passages x brief rows
        detail_sim = similarity[:, pb.n_summary :]
        stats = self.calibration.stats
        matched, rows = [], []
        for j, detail in enumerate(pb.detail_terms):
            total = sum(stats.rarity(t) for t in detail) or 1.0
            per_passage = [sum(stats.rarity(t) for t in detail & pt) for pt in pi.passage_terms]
            lexical_best = int(np.argmax(per_passage))
            share = sum(stats.rarity(t) for t in detail & pi.terms) / total
            semantic_best = int(detail_sim[:, j].argmax()) if detail_sim.size else 0
            if share >= s.detail_share:
                matched.append(j)
                rows.append((share, lexical_best))
            elif detail_sim.size and detail_sim[semantic_best, j] >= s.detail_threshold:
                matched.append(j)
                rows.append((float(detail_sim[semantic_best, j]), semantic_best))
        evidence_rows = [row for _, row in sorted(rows, reverse=True)]
        if not evidence_rows:
            evidence_rows = [int(similarity.max(axis=1).argmax())]
        evidence = [pi.passages[i] for i in dict.fromkeys(evidence_rows)][: s.max_evidence]
        return Match(
            brief_id=pb.brief.id,
            item_id=pi.item.id,
            score=round(_sigmoid(Z_SCALE * z), 4),
            details_matched=matched,
            evidence=evidence,
            alert=alert,
        )


def _text_atoms(text: str, reference, lang: str | None, brief_text: bool = False) -> set[str]:
    """Terms, dates and clock times of one passage (or one brief sentence)."""
    dates = brief_date_atoms(text, reference) if brief_text else date_atoms(text, reference, lang)
    return set(terms(text)) | dates | time_atoms(text)


def _midnight(day: date | None) -> datetime | None:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))
