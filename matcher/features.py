"""The measurements behind a decision, for every (item, brief) pair of a batch at once.

Each is one question an analyst would ask:
- S_max / S_cov3: does some passage say what the brief says (best row; mean of the three
  best-covered summary sentences and details)?
- L_pass: how much of the brief's rare vocabulary (names, places, numbers, dates) sits
  together in one passage? L_cov: what share of it does the whole item use?
- D_lex: over the brief's details, what share of each detail's rare terms does the item use?
- DATE: does the item name a day the brief names, once "this Thursday" is resolved?
- m_*: attribution: how much better the item fits this brief than any other brief being
  watched (an item rarely leaks two plans; the same kind of operation elsewhere usually fits
  a sibling brief as well or better).
Arrays are shaped (items, briefs).
"""

from __future__ import annotations

import numpy as np

from matcher.lexical import BriefTermIndex

MARGIN_OF = ("S_max", "S_cov3", "D_lex", "L_pass")
NAMES = ("S_max", "S_cov3", "L_pass", "L_cov", "D_lex", "DATE") + tuple(f"m_{n}" for n in MARGIN_OF)


def raw_features(briefs, items, index: BriefTermIndex) -> dict[str, np.ndarray]:
    """Every feature but the margins (which need the calibration's floor)."""
    n_items, n_briefs = len(items), len(briefs)
    features = {name: np.zeros((n_items, n_briefs), dtype=np.float32) for name in NAMES[:6]}
    if not n_items or not n_briefs:
        return features
    rows = np.concatenate([b.vectors for b in briefs])
    row_brief = np.concatenate([np.full(len(b.vectors), k) for k, b in enumerate(briefs)])
    passages = np.concatenate([i.vectors for i in items])
    starts = np.cumsum([0] + [len(i.vectors) for i in items[:-1]])
    best = np.maximum.reduceat(passages @ rows.T, starts, axis=0)  # items x brief rows
    for k in range(n_briefs):
        mine = best[:, row_brief == k]
        features["S_max"][:, k] = mine.max(axis=1)
        top = np.sort(mine, axis=1)[:, -3:]
        features["S_cov3"][:, k] = top.mean(axis=1)
    mass = np.array(index.mass)
    for i, item in enumerate(items):
        for passage_terms in item.passage_terms:
            shared, _ = index.shared(passage_terms)
            for k, value in shared.items():
                features["L_pass"][i, k] = max(features["L_pass"][i, k], value)
        shared, detail_shared = index.shared(item.terms)
        for k, value in shared.items():
            features["L_cov"][i, k] = value / mass[k]
        for (k, j), value in detail_shared.items():
            features["D_lex"][i, k] += value / index.detail_mass[k][j]
        for k, brief in enumerate(briefs):
            features["DATE"][i, k] = bool(brief.dates & item.terms)
    features["L_pass"] = np.log1p(features["L_pass"])
    return features


def add_margins(features: dict[str, np.ndarray], floor: dict[str, float]) -> None:
    """m_X = X minus the best other brief's X (never below the background's typical X, so
    that one brief alone, or briefs with nothing in common, are not penalised)."""
    for name in MARGIN_OF:
        values = features[name]
        if values.shape[1] > 1:
            order = np.sort(values, axis=1)
            first, second = order[:, -1:], order[:, -2:-1]
            best_other = np.where(values >= first, second, first)
        else:
            best_other = np.full_like(values, -np.inf)
        features[f"m_{name}"] = values - np.maximum(best_other, floor.get(name, 0.0))
