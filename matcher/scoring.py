"""The decision: does an item expose a brief, how sure, and with which evidence.

Version 3 (see docs/MATCHER.md): an item is cut into passages; each (item, brief) pair gets a
few measurements (matcher.features): meaning shared with the brief's sentences and details,
the brief's rare terms found together in one passage, how many details the item reveals,
days, weeks and months resolved against the item's publication time (not counted when the
item's clock times contradict the brief's), and how much better the item fits this brief
than any other. Each measurement is put on the scale of a background stream
(matcher.calibrate), a fixed linear combination gives a z score, and the pair alerts when z
reaches the threshold, the item was published inside the brief's active window, and the
brief's own background cap allows it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np

from matcher.calibrate import Calibration, default_calibration, fit_calibration
from matcher.dates import (
    brief_date_atoms,
    date_atoms,
    day_period_atoms,
    period_atoms,
    time_atoms,
)
from matcher.embedder import Embedder, VectorCache
from matcher.features import MARGIN_OF, add_margins, raw_features
from matcher.lang import item_language
from matcher.lexical import BriefTermIndex, TermStats
from matcher.records import Brief, Item, Match
from matcher.settings import settings_table
from matcher.text import passages, sentences, terms

# Weights of the standardised measurements (z units); fitted on the development sets, see
# docs/MATCHER.md for how and what that means for the figures.
WEIGHTS = {
    "DATE": 0.414,
    "WEEK": 0.457,
    "MONTH": 0.187,
    "m_S_max": 0.122,
    "m_S_cov3": 0.035,
    "m_D_lex": 0.099,
    "m_L_pass": 0.18,
    "m_JT": 0.09,
    "m_N_det": 0.111,
}
BIAS = -0.597
TIMING = ("DATE", "WEEK", "MONTH")  # one timing fact, the most specific that holds
# Timing counts in full once the item's attributed meaning (m_S_max, standardised) reaches
# TOPIC_GATE_SPAN, proportionally below it, and not at all when it is at or below the median.
TOPIC_GATE, TOPIC_GATE_SPAN = "m_S_max", 0.5
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
    first_stage: int = 0  # >0: embed a passage only if it shares this many terms with a brief
    min_background: int = 100  # fewer background items than this: built-in defaults are kept
    background_days: float = 7.0  # the service calibrates on the items stored in these days...
    background_items: int = 2000  # ...at most this many of the most recent
    recalibrate_hours: float = 1.0  # ...again at most this often

    @classmethod
    def from_dict(cls, table: dict | None) -> MatcherSettings:
        # Unknown keys and wrong types raise SettingsError; int fields take whole numbers.
        return cls(**settings_table(table, cls, "matcher"))


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
    periods: set[str] = field(default_factory=set)  # weeks and months of its days


@dataclass(repr=False)
class PreparedItem:
    item: Item
    passages: list[str]
    vectors: np.ndarray
    passage_terms: list[set[str]]
    terms: set[str]
    periods: set[str] = field(default_factory=set)
    passage_periods: list[set[str]] = field(default_factory=list)


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
        # first stage: the terms of every brief prepared so far, by brief id
        self._watched: dict[str, set[str]] = {}

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
        every = set().union(*atoms)
        periods = day_period_atoms(every).union(*(period_atoms(t, reference) for t in texts))
        self._watched[brief.id] = {t for t in every if not t.startswith(("date:", "md:"))}
        return PreparedBrief(
            brief=brief,
            vectors=vectors,
            n_summary=n_summary,
            terms=every,
            detail_terms=atoms[n_summary:],
            dates={a for a in every if a.startswith("date:")},
            periods=periods,
        )

    def prepare_items(self, items: list[Item]) -> list[PreparedItem]:
        """Embed the passages of every item in one batch (cached by content hash).

        With `first_stage` set, a passage beyond an item's first is embedded only when it
        shares at least that many terms with one brief this matcher has prepared; the others
        get a zero vector (no meaning evidence). Off by default: see docs/MATCHER.md."""
        split = [passages(item.title, item.text) or [item.title or item.url] for item in items]
        atoms = []
        for item, item_passages in zip(items, split, strict=True):
            published, lang = item.published_at(), item_language(item)
            atoms.append(
                (
                    [_text_atoms(p, published, lang) for p in item_passages],
                    [period_atoms(p, published) for p in item_passages],
                )
            )
        keep = [
            [n == 0 or self._candidate(t) for n, t in enumerate(passage_terms)]
            for passage_terms, _ in atoms
        ]
        flat = [
            p for ps, ks in zip(split, keep, strict=True) for p, k in zip(ps, ks, strict=True) if k
        ]
        encoded = iter(self.embedder.encode(flat, cache=self.cache))
        zero = np.zeros(self.embedder.dimension, dtype=np.float32)
        prepared = []
        for item, item_passages, (passage_terms, passage_periods), kept in zip(
            items, split, atoms, keep, strict=True
        ):
            vectors = np.stack([next(encoded) if k else zero for k in kept])
            prepared.append(
                PreparedItem(
                    item=item,
                    passages=item_passages,
                    vectors=vectors,
                    passage_terms=passage_terms,
                    terms=set().union(*passage_terms),
                    periods=set().union(*passage_periods),
                    passage_periods=passage_periods,
                )
            )
        return prepared

    def _candidate(self, passage_terms: set[str]) -> bool:
        """First stage: is this passage worth the model? (Always, unless first_stage.)"""
        need = self.settings.first_stage
        if need <= 0 or not self._watched:
            return True
        return any(len(passage_terms & watched) >= need for watched in self._watched.values())

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
        """Timing (day, week, month) counts once, at its strongest, and only as far as the
        item's meaning agrees with the brief (same place and day for another reason: no);
        the other measurements add up."""
        timing = np.maximum.reduce([WEIGHTS[name] * standardised[name] for name in TIMING])
        timing = timing * np.clip(standardised[TOPIC_GATE] / TOPIC_GATE_SPAN, 0.0, 1.0)
        z = timing + sum(
            WEIGHTS[name] * standardised[name] for name in WEIGHTS if name not in TIMING
        )
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
