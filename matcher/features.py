"""The measurements behind a decision, for every (item, brief) pair of a batch at once.

Each is one question an analyst would ask, and none depends on what else is in the batch:
- topic: does some passage say what the brief says? The best cosine between any passage of
  the item and any row of the brief (summary sentences and details). The background model
  (matcher.calibrate) turns it into how rarely an unrelated item comes this close.
- facts: which of the brief's names and numbers does the item use? Per detail, the rarity
  (matcher.rarity, log10 units) of the shared names and numbers, at most MAX_DETAIL_INFO a
  detail, so that one long name cannot count as several facts. A term the brief shares with
  another watched brief counts half: it does not tell which of the two plans leaked.
- details: how many of the brief's details the item reveals (DETAIL_INFO of its names and
  numbers, or a passage within cosine DETAIL_SIM of it): the explanation's details_matched.
- day / week / month: does the item name a day the brief names, still ahead of the item's
  publication, once "this Thursday" is resolved? Or, without a day, a week or a month the
  brief's days fall in ("next week", "later this month")? None counts when both name clock
  times and none agree within 90 minutes: the same place on the same day at another hour
  is another event.
- behind / facts_behind: how far the item's topic similarity (and its names and numbers)
  fall behind the best *other* watched brief's (0 when this brief fits best, or when it is
  the only brief). Attribution refines a decision between the organisation's own similar
  plans; it never makes one.
- dated: does the item carry a publication time (1) or not (0)? Only a dated item can be
  said to name none of the brief's times.
Arrays are shaped (items, briefs); per-detail arrays (items, briefs, details).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from datetime import date

import numpy as np

from matcher.rarity import ITEM_WORDS_LOG10, term_info
from matcher.text import ORDINAL, name_runs

MAX_DETAIL_INFO = 4.0  # one detail is worth at most "one item in ten thousand"
MAX_REST_INFO = 2.0  # names of the summary that no detail repeats count less
SHARED_FACTOR = 0.5  # a term another watched brief also names
DISTINCTIVE_INFO = 3.0  # a word this rare in the language (Zipf under 3.5) tells which name
DETAIL_INFO = 2.0  # a detail is revealed from this much of its names and numbers...
DETAIL_SIM = 0.55  # ...or from a passage this close to it
CLOCK_TOLERANCE = 90  # minutes: "around 5am" still meets a 04:30 start
NAMES = (
    "topic",
    "facts",
    "details",
    "day",
    "week",
    "month",
    "other_day",
    "past",
    "behind",
    "facts_behind",
    "dated",
)
_NUMBER_WORD = r"(?:\d+|a|one|two|three|four|five|six|seven|eight|nine|ten|several|many|few)"
# An item that looks back ("two years after", "a year on", "last spring", "was jailed") and
# names nothing still to come reports the past; a leak speaks of what is coming.
_PAST = re.compile(
    rf"\b(?:{_NUMBER_WORD}\s+(?:years?|months?|decades?)\s+(?:ago|after|on|since|later)"
    r"|(?:last|previous)\s+(?:year|month|spring|summer|autumn|winter|season)"
    r"|looking\s+back|anniversary|were\s+jailed|was\s+jailed|were\s+convicted"
    r"|was\s+convicted|court\s+heard|jury\s+heard|were\s+sentenced|was\s+sentenced)\b",
    re.IGNORECASE,
)
_COMING = re.compile(
    r"\b(?:will|shall|going\s+to|set\s+to|due\s+to|plans?\s+to|planning|expected\s+to"
    r"|about\s+to|upcoming|next|tomorrow|tonight|soon|coming|is\s+to|are\s+to)\b",
    re.IGNORECASE,
)
MAX_SHIFT = 1.0  # a term's rarity moves at most this much with the item's length
DAY_TOLERANCE = 1  # days: "the night before" or "the morning after" is still the same plan


class FactIndex:
    """For every name or number of the watched briefs: which brief and which detail group
    names it, and what it is worth there. An item's terms are walked once, not each brief's.
    `info` gives a term's worth (default: its rarity in the language at large)."""

    def __init__(self, briefs, info=term_info):
        owners: dict[str, set[int]] = defaultdict(set)
        for k, brief in enumerate(briefs):
            for group in brief.specific:
                for term in group:
                    owners[term].add(k)
        self.postings: dict[str, list[tuple[int, int, float, frozenset]]] = defaultdict(list)
        self.groups = [len(b.specific) for b in briefs]
        for k, brief in enumerate(briefs):
            seen: set[str] = set()
            needs = brief.name_keys
            for j, group in enumerate(brief.specific):
                for term in sorted(group - seen):  # a term counts for its first detail only
                    weight = info(term) * (SHARED_FACTOR if len(owners[term]) > 1 else 1.0)
                    if weight > 0:  # a word worth nothing ("2", "the") tells nothing
                        self.postings[term].append((k, j, weight, needs.get(term, _NONE)))
                seen |= group

    def shared(
        self, item_terms: set[str], length: int, apart=lambda term: False
    ) -> dict[tuple[int, int], float]:
        """The rarity the item shares with each (brief, detail group). A name in a short
        post is rarer than the same name somewhere in a long article: the rarity of each
        term is for an item of ITEM_WORDS words and moves by log10 of the length ratio."""
        shift = min(MAX_SHIFT, max(-MAX_SHIFT, ITEM_WORDS_LOG10 - math.log10(max(length, 1))))
        mass: dict[tuple[int, int], float] = defaultdict(float)
        for term in item_terms:
            named_apart = None  # asked once per term, not once per brief naming it
            for k, j, weight, needs in self.postings.get(term, ()):
                if needs and needs.isdisjoint(item_terms):
                    if named_apart is None:
                        named_apart = apart(term)
                    if named_apart:
                        continue  # "Judge James R. Dabney" is not "Judge James Bodiford"
                mass[(k, j)] += max(0.0, weight + shift * (weight > 0))
        return mass


_NONE: frozenset = frozenset()


def names_apart(item, info=term_info):
    """`term -> bool`: is the term written inside one of the item's own names that holds
    a word rare in the language? The item's names are read on first use only (few items
    write a brief's common name word without its distinctive one) and kept with it."""

    texts = (item.item.title, item.item.text)
    ordinal = None  # does the item write an ordinal? (searched once)

    def check(term: str) -> bool:
        # a quick test before reading names: a name's word is written capitalised ("jame":
        # "James", "ins": "INS") or after an ordinal ("the 67th precinct")
        nonlocal ordinal
        if not any(w in text for text in texts for w in (term.capitalize(), term.upper())):
            if ordinal is None:
                ordinal = any(map(ORDINAL.search, texts))
            if not ordinal:
                return False
        if item.names_apart is None:
            runs = [run for text in texts for run in name_runs(text)]
            item.names_apart = {
                t for run in runs if any(_distinctive(w, info) for w in run) for t in run
            }
        return term in item.names_apart

    return check


def _distinctive(term: str, info) -> bool:
    """A word that tells which name it is: rare in the language, or a name's number."""
    return term[:1].isdigit() or info(term) >= DISTINCTIVE_INFO


def name_keys(runs: list[list[str]], info=term_info) -> dict[str, frozenset]:
    """The common words of a brief's names and the distinctive words they need beside them.

    A name with a word rare in the language ("Bodiford", "Kodak", "Sukanya") is told by
    that word; its common words ("Judge", "James", "Theatre", "INS") say only what kind of
    name it is. An item that writes them inside a name of its own with another rare word
    ("Judge James R. Dabney", "the Dolby Theatre", "INS Mysore") names another judge,
    theatre or ship: there they count for nothing (`names_apart`). "The judge" or "the
    church" still count. A word the brief also uses alone, or in a name of common words
    only ("Los Angeles"), always counts."""
    needs: dict[str, set[str]] = defaultdict(set)
    free: set[str] = set()
    for run in runs:
        keys = {t for t in run if _distinctive(t, info)}
        for term in run:
            if keys and term not in keys:
                needs[term] |= keys
            else:
                free.add(term)
    return {t: frozenset(k) for t, k in needs.items() if t not in free}


class Watched:
    """What `measure` needs of a set of briefs, read once for many batches: their rows of
    vectors, which rows are whose details, their names and numbers (FactIndex) and their
    days. A service scoring batch after batch against the same thousand briefs builds it
    once per brief set and background (Matcher keeps it)."""

    def __init__(self, briefs, info=term_info):
        self.briefs = briefs
        self.most = max((len(b.specific) for b in briefs), default=1)
        sizes = [len(b.vectors) for b in briefs]
        self.rows = np.concatenate([b.vectors for b in briefs]) if briefs else None
        self.starts = np.cumsum([0] + sizes[:-1])
        # (briefs, most): the row of each brief's detail j, or the zero column past the end
        self.detail_rows = np.full((len(briefs), self.most), sum(sizes))
        for k, brief in enumerate(briefs):
            details = np.arange(brief.n_summary, sizes[k])[: self.most]
            self.detail_rows[k, : len(details)] = self.starts[k] + details
        self.index = FactIndex(briefs, info)
        self.timed = [_BriefTimes(k, b) for k, b in enumerate(briefs) if b.dates or b.periods]
        self.ceiling: dict[str, np.ndarray] = {}  # kind -> each brief's topic at its best


def measure(
    briefs, items, info=term_info, watched: Watched | None = None, meaning: bool = True
) -> dict[str, np.ndarray]:
    """Every measurement of every (item, brief) pair; see the module docstring. `info`: what
    a shared name or number is worth (the background model's `term_info`); `watched`: the
    briefs read once for many batches (built here when not given); `meaning=False` leaves
    topic, detail similarity and `behind` at zero (the cascade's ceilings assume the best
    meaning and need none of them)."""
    n_items, n_briefs = len(items), len(briefs)
    if watched is None:
        watched = Watched(briefs, info)
    most = watched.most
    out = {name: np.zeros((n_items, n_briefs), dtype=np.float32) for name in NAMES}
    out["detail_facts"] = np.zeros((n_items, n_briefs, most), dtype=np.float32)
    out["detail_sim"] = np.zeros((n_items, n_briefs, most), dtype=np.float32)
    if not n_items or not n_briefs:
        return out
    if meaning:
        passages = np.concatenate([i.vectors for i in items])
        starts = np.cumsum([0] + [len(i.vectors) for i in items[:-1]])
        best = np.maximum.reduceat(passages @ watched.rows.T, starts, axis=0)  # items x rows
        out["topic"] = np.maximum.reduceat(best, watched.starts, axis=1)
        padded = np.concatenate([best, np.zeros((n_items, 1), dtype=best.dtype)], axis=1)
        out["detail_sim"] = padded[:, watched.detail_rows]
    index = watched.index
    timed = watched.timed
    for i, item in enumerate(items):
        if looks_back(item):
            out["past"][i, :] = 1.0
        published = item.item.published_at()
        out["dated"][i, :] = published is not None
        length = sum(len(p.split()) for p in item.passages)
        for (k, j), mass in index.shared(item.terms, length, names_apart(item)).items():
            cap = MAX_REST_INFO if j == index.groups[k] - 1 else MAX_DETAIL_INFO
            out["detail_facts"][i, k, j] = min(cap, mass)
        days = {t for t in item.terms if t.startswith("date:")}
        if not (item.periods or days):
            continue
        today = published.date().isoformat() if published else ""
        coming = [date.fromisoformat(d[5:]) for d in days if today and d[5:] > today]
        item_times = _minutes(item.terms)
        for brief in timed:  # the item's days are read once; a brief without any is skipped
            k = brief.k
            if _clash(brief.times, item_times):
                continue  # same day, another hour: another event (no timing evidence)
            out["day"][i, k] = _ahead(brief.dates & days, today)
            out["other_day"][i, k] = _elsewhen(brief.days, coming)
            periods = brief.periods & item.periods
            out["week"][i, k] = any(p.startswith("week:") for p in periods)
            out["month"][i, k] = any(p.startswith("month:") for p in periods)
    out["facts"] = out["detail_facts"].sum(axis=2)
    revealed = (out["detail_facts"] >= DETAIL_INFO) | (out["detail_sim"] >= DETAIL_SIM)
    for k, brief in enumerate(briefs):  # the last group is the summary's own names
        revealed[:, k, len(brief.specific) - 1 :] = False
    out["details"] = revealed.sum(axis=2).astype(np.float32)
    if meaning:
        out["behind"] = _behind(out["topic"])
    out["facts_behind"] = _behind(out["facts"])
    return out


def _behind(values: np.ndarray) -> np.ndarray:
    """How far each pair's value falls behind the best other brief's for the same item
    (0 where this brief has the most, and with a single brief)."""
    if values.shape[1] < 2:
        return np.zeros_like(values)
    order = np.sort(values, axis=1)
    first, second = order[:, -1:], order[:, -2:-1]
    best_other = np.where(values >= first, second, first)
    return np.minimum(0.0, values - best_other)


def looks_back(item) -> bool:
    """Does a dated item speak only of the past (see _PAST), naming nothing still to come:
    no coming day, week or month, no "will", "next", "set to"? Without a publication time
    nothing is said: missing data must not silence an alert."""
    published = item.item.published_at()
    if published is None:
        return False
    text = " ".join(item.passages)
    if not _PAST.search(text) or _COMING.search(text):
        return False
    today = published.date().isoformat()
    return not any(t.startswith("date:") and t[5:] > today for t in item.terms)


def _ahead(shared_days: set[str], today: str) -> bool:
    """Does the item name one of the brief's days still ahead of its publication? A leak
    speaks of what is coming; an item naming its own publication day as the brief's day
    (a notice for today's market, an advisory's issue date) tells nothing in advance.
    Without a publication time only a full date (with its year) counts."""
    if not today:
        return any(atom.startswith("date:") for atom in shared_days)
    return any(atom.startswith("date:") and atom[5:] > today for atom in shared_days)


class _BriefTimes:
    """What `measure` compares an item's days with, read once per brief."""

    def __init__(self, k: int, brief):
        self.k = k
        self.dates = brief.dates
        self.periods = brief.periods
        self.days = [date.fromisoformat(d[5:]) for d in brief.dates]
        self.times = _minutes(brief.terms)


def _elsewhen(brief_days: list[date], coming: list[date]) -> bool:
    """Does the item name days still to come (`coming`: after its publication), none of them
    near any of the brief's days? Then it announces another occasion: a fair on the 23rd, a
    store opening on the 30th, a siren test on the 4th, beside a plan for the 22nd. (Days
    already past say nothing: a report of last month's case does not contradict next week's
    plan; an item without a publication time has no days to come.)"""
    if not coming or not brief_days:
        return False
    return all(
        min(abs((day - wanted).days) for wanted in brief_days) > DAY_TOLERANCE for day in coming
    )


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
