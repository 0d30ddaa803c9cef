"""The measurements behind a decision, for every (item, brief) pair of a batch at once.

Each is one question an analyst would ask:
- S_max / S_cov3: does some passage say what the brief says (best row; mean of the three
  best-covered summary sentences and details)?
- L_pass: how much of the brief's rare vocabulary (names, places, numbers, dates) sits
  together in one passage? L_cov: what share of it does the whole item use?
- D_lex: over the brief's details, what share of each detail's rare terms does the item use?
- N_det: how many of the brief's details does the item reveal (the rule the explanation's
  `details_matched` uses: a third of the detail's rarity, or a passage within cosine 0.55)?
- JT: is there one passage that carries the brief's meaning and its rare terms together (and
  names its day or week)? The paragraph buried in an article about something else.
- DATE: does the item name a day the brief names, still ahead of the item's publication,
  once "this Thursday" is resolved? WEEK / MONTH: does it name, without a day, a week or a
  month the brief's days fall in ("next week", "later this month", "from September")?
  None of the three counts when both name clock times and none agree (within 90 minutes):
  the same place on the same day at another hour is another event.
- m_*: attribution: how much better the item fits this brief than any other brief being
  watched (an item rarely leaks two plans; the same kind of operation elsewhere usually fits
  a sibling brief as well or better).
Arrays are shaped (items, briefs).
"""

from __future__ import annotations

import numpy as np

from matcher.lexical import BriefTermIndex

MARGIN_OF = ("S_max", "S_cov3", "D_lex", "L_pass", "N_det", "JT")
BASE = ("S_max", "S_cov3", "L_pass", "L_cov", "D_lex", "DATE", "WEEK", "MONTH", "N_det", "JT")
# A detail counts as revealed from this share of its rarity, or this cosine with a passage
# (MatcherSettings.detail_share / detail_threshold: the explanation uses the same rule).
DETAIL_SHARE = 0.34
DETAIL_SIM = 0.55
SIM_UNIT, LEX_UNIT = 0.4, 1.3  # typical spreads of passage similarity and log rare mass
CLOCK_TOLERANCE = 90  # minutes: "around 5am" still meets a 04:30 start
NAMES = BASE + tuple(f"m_{n}" for n in MARGIN_OF)


def raw_features(briefs, items, index: BriefTermIndex) -> dict[str, np.ndarray]:
    """Every feature but the margins (which need the calibration's floor)."""
    n_items, n_briefs = len(items), len(briefs)
    features = {name: np.zeros((n_items, n_briefs), dtype=np.float32) for name in BASE}
    if not n_items or not n_briefs:
        return features
    rows = np.concatenate([b.vectors for b in briefs])
    row_brief = np.concatenate([np.full(len(b.vectors), k) for k, b in enumerate(briefs)])
    passages = np.concatenate([i.vectors for i in items])
    starts = np.cumsum([0] + [len(i.vectors) for i in items[:-1]])
    similarity = passages @ rows.T  # passages x brief rows
    best = np.maximum.reduceat(similarity, starts, axis=0)  # items x brief rows
    passage_sim = np.stack([similarity[:, row_brief == k].max(axis=1) for k in range(n_briefs)], 1)
    passage_lex = np.zeros_like(passage_sim)
    passage_time = np.zeros_like(passage_sim)
    revealed = np.zeros((n_items, n_briefs, max(len(b.detail_terms) for b in briefs)), bool)
    for k, b in enumerate(briefs):
        n_details = len(b.detail_terms)
        revealed[:, k, :n_details] = best[:, row_brief == k][:, b.n_summary :] >= DETAIL_SIM
    for k in range(n_briefs):
        mine = best[:, row_brief == k]
        features["S_max"][:, k] = mine.max(axis=1)
        top = np.sort(mine, axis=1)[:, -3:]
        features["S_cov3"][:, k] = top.mean(axis=1)
    mass = np.array(index.mass)
    brief_times = [_minutes(b.terms) for b in briefs]
    for i, item in enumerate(items):
        item_times = _minutes(item.terms)
        published = item.item.published_at()
        today = published.date().isoformat() if published else ""
        for p, passage_terms in enumerate(item.passage_terms):
            shared, _ = index.shared(passage_terms)
            for k, value in shared.items():
                features["L_pass"][i, k] = max(features["L_pass"][i, k], value)
                passage_lex[starts[i] + p, k] = value
            periods = item.passage_periods[p] if item.passage_periods else set()
            if periods or any(t.startswith("date:") for t in passage_terms):
                for k, brief in enumerate(briefs):
                    if not _clash(brief_times[k], item_times) and (
                        _ahead(brief.dates & passage_terms, today)
                        or any(a.startswith("week:") for a in brief.periods & periods)
                    ):
                        passage_time[starts[i] + p, k] = 1.0
        shared, detail_shared = index.shared(item.terms)
        for k, value in shared.items():
            features["L_cov"][i, k] = value / mass[k]
        for (k, j), value in detail_shared.items():
            features["D_lex"][i, k] += value / index.detail_mass[k][j]
            if value / index.detail_mass[k][j] >= DETAIL_SHARE:
                revealed[i, k, j] = True
        for k, brief in enumerate(briefs):
            if _clash(brief_times[k], item_times):
                continue  # same day, another hour: another event (no timing evidence)
            features["DATE"][i, k] = _ahead(brief.dates & item.terms, today)
            shared_periods = brief.periods & item.periods
            features["WEEK"][i, k] = any(p.startswith("week:") for p in shared_periods)
            features["MONTH"][i, k] = any(p.startswith("month:") for p in shared_periods)
    features["L_pass"] = np.log1p(features["L_pass"])
    # one passage carrying both the brief's meaning and its rare terms (and its day or week):
    # the paragraph buried in an unrelated article
    joint = passage_sim / SIM_UNIT + np.log1p(passage_lex) / LEX_UNIT
    features["JT"] = np.maximum.reduceat(joint + passage_time, starts, axis=0)
    features["N_det"] = revealed.sum(axis=2).astype(np.float32)
    return features


def _ahead(shared_days: set[str], today: str) -> bool:
    """Does the item name one of the brief's days still ahead of its publication? A leak
    speaks of what is coming; an item naming its own publication day as the brief's day
    (a notice for today's market, an advisory's issue date) tells nothing in advance."""
    if not today:
        return bool(shared_days)  # no publication time: any shared day counts
    return any(atom.startswith("date:") and atom[5:] > today for atom in shared_days)


def _minutes(atoms: set[str]) -> list[int]:
    """Clock times ("time:HH:MM" atoms) as minutes after midnight."""
    return [int(a[5:7]) * 60 + int(a[8:10]) for a in atoms if a.startswith("time:")]


def _clash(brief_times: list[int], item_times: list[int]) -> bool:
    """Both name clock times and none of the item's is within CLOCK_TOLERANCE of the
    brief's: a heritage walk at 2pm on the day of a dawn operation is another event."""
    if not brief_times or not item_times:
        return False
    return all(
        min(abs(b - t), 1440 - abs(b - t)) > CLOCK_TOLERANCE
        for b in brief_times
        for t in item_times
    )


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
