"""Calibration against a background stream: what is ordinary for these briefs in this stream.

Scores only mean something relative to what the stream usually looks like: a 160-item local
feed and a 20,000-item national one give the same brief very different raw similarities and
term overlaps. Calibration measures, over background items (the store's recent items, or a
backtest's own input), how rare each term is and where each feature's bulk and tail lie
(median and 99th percentile over every (item, brief) pair), so that one threshold means
the same thing everywhere. A few genuine leaks in the background barely move a median or a
99th percentile over thousands of pairs, which is why the input of a backtest may serve.

A per-brief cap then bounds the false-alert rate of any one brief: a brief that would alert
on more than `max_alert_share` of the background (a vague brief that resembles everything)
gets its own, higher threshold at that quantile.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from matcher.features import MARGIN_OF, add_margins, raw_features
from matcher.lexical import TermStats

# Used until a background has been seen: the means of the medians and of the spreads
# (99th percentile - median) measured on the two development streams (leak-dev, ecb) with
# no term statistics (every term equally rare), which is what an uncalibrated matcher sees.
# A small background says little about a rate: the cap never goes below this many alerts.
MIN_CAPPED_ALERTS = 5
UNSCALED = {"DATE", "WEEK", "MONTH"}  # a yes/no fact keeps its own scale
DEFAULT_CENTRE = {
    "S_max": 0.26, "S_cov3": 0.224, "L_pass": 0.693, "L_cov": 0.021, "D_lex": 0.062,
    "DATE": 0.0, "m_S_max": -0.278, "m_S_cov3": -0.246, "m_D_lex": -0.59, "m_L_pass": -1.151,
    "WEEK": 0.0, "MONTH": 0.0, "N_det": 0.0, "JT": 1.03, "m_N_det": -1.0, "m_JT": -1.637,
}  # fmt: skip
DEFAULT_SCALE = {
    "S_max": 0.402, "S_cov3": 0.361, "L_pass": 1.479, "L_cov": 0.286, "D_lex": 1.876,
    "DATE": 1.0, "m_S_max": 0.43, "m_S_cov3": 0.384, "m_D_lex": 1.606, "m_L_pass": 1.766,
    "WEEK": 1.0, "MONTH": 1.0, "N_det": 2.5, "JT": 2.378, "m_N_det": 2.5, "m_JT": 2.838,
}  # fmt: skip
# Fewer background items than this say too little about the stream: defaults are kept.
MIN_BACKGROUND = 100


@dataclass
class Calibration:
    stats: TermStats
    centre: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_CENTRE))
    scale: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SCALE))
    brief_thresholds: dict[str, float] = field(default_factory=dict)  # z units, by brief id
    background_items: int = 0

    def standardise(self, features: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {
            name: (values - self.centre[name]) / self.scale[name]
            for name, values in features.items()
            if name in self.centre
        }


def default_calibration() -> Calibration:
    return Calibration(stats=TermStats())


def fit_calibration(
    briefs,
    background,
    index_for,
    combine,
    threshold_z: float,
    max_alert_share: float,
    min_background: int = MIN_BACKGROUND,
) -> Calibration:
    """Measure term rarity and feature ranges on `background` (prepared items), then cap
    briefs whose background alert share would exceed `max_alert_share`.

    `index_for(stats)` builds the brief term index; `combine(standardised)` gives z scores.
    """
    if len(background) < min_background or not briefs:
        return default_calibration()
    stats = TermStats()
    stats.add(item.terms for item in background)
    calibration = Calibration(stats=stats, background_items=len(background))
    features = raw_features(briefs, background, index_for(stats))
    for name, values in features.items():
        if name not in UNSCALED:
            calibration.centre[name], calibration.scale[name] = _centre_scale(values)
    add_margins(features, {n: calibration.centre[n] for n in MARGIN_OF})
    for name in (f"m_{n}" for n in MARGIN_OF):
        calibration.centre[name], calibration.scale[name] = _centre_scale(features[name])
    z = combine(calibration.standardise(features))
    allowed = max(max_alert_share * len(background), MIN_CAPPED_ALERTS)
    for k, brief in enumerate(briefs):
        column = np.sort(z[:, k])[::-1]
        if np.sum(column >= threshold_z) > allowed:
            calibration.brief_thresholds[brief.brief.id] = float(column[int(allowed) - 1])
    return calibration


def _centre_scale(values: np.ndarray) -> tuple[float, float]:
    centre = float(np.median(values))
    spread = float(np.percentile(values, 99)) - centre
    return centre, max(spread, 1e-3)
