"""The decision: does an item expose a brief, how sure, and with which evidence.

Version 4 (see docs/MATCHER.md). Every (item, brief) pair gets an *evidence* value in one
unit an operator can read: log10 of "one unrelated item in how many would show this much".
It adds three independent pieces (matcher.features):
- the topic: how rarely an unrelated item of the same kind comes this close to the brief in
  meaning, from the brief's own background tail (matcher.calibrate);
- the facts: the brief's names and numbers the item uses, each worth its rarity in the
  language at large (matcher.rarity), at most one "detail" each, counted at FACT_WEIGHT
  because names and topic go together in related items;
- the timing: the brief's day (or week, or month) named as still to come, counted only
  beside at least one shared name or number (no single shared fact alerts alone).
Attribution (falling behind another watched brief in meaning or in names) can lower it; it
never raises it. A dated item that names neither the brief's day nor its week loses
UNTIMED_INFO: a plan has a time, and an item that shares names and topic but not the time is
most often about another occasion.

A pair alerts when its evidence reaches the brief's threshold, the item was published inside
the brief's window, and nothing else gates it. The threshold is the evidence floor
`min_evidence` (default 6: one unrelated item in a million), raised where the stream's volume
and the budget `false_alerts_per_brief_per_week` ask for more, and where the brief's own
background shows its unrelated items reaching the floor too often. Nothing depends on the
other items of a batch: the same pair gets the same decision in any stream calibrated on the
same background.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import numpy as np

from matcher.calibrate import Background, fit_tail, items_per_week, kind_of
from matcher.dates import (
    brief_date_atoms,
    date_atoms,
    day_period_atoms,
    period_atoms,
    time_atoms,
)
from matcher.embedder import Embedder, VectorCache
from matcher.features import DETAIL_INFO, Watched, measure, name_keys
from matcher.lang import item_language
from matcher.rarity import term_info
from matcher.records import Brief, Item, Match
from matcher.settings import settings_table
from matcher.text import name_runs, passages, sentences, specific_terms, terms

FACT_WEIGHT = 0.5  # names and topic go together in related items: a fact counts half
TIMING_INFO = {"day": 2.5, "week": 2.5, "month": 1.25}  # one timing fact, the most specific
BEHIND_UNIT = 0.1  # each 0.1 of cosine behind another watched brief costs one unit
OTHER_DAY_INFO = 2.0  # only other coming days (another occasion), or only the past (a report)
# A plan has a time. A dated item that names neither the brief's day nor its week has not
# told when: most such items that share a brief's names and topic are about another occasion
# (another plan of the same body, a past operation, an opinion). It needs 100 times more,
# 10 times more when it names the brief's month (a month tells half, as in TIMING_INFO).
UNTIMED_INFO = 2.0
# The cascade embeds a passage beyond the first when it names a watched term worth this much
# (not a lone digit): on both development sets recall and false alerts stayed the same while
# a third of unrelated articles' passages reached the model (docs/MATCHER.md, "Cascade").
PASSAGE_INFO = 1.0
# Meaning is read from the title and the first passages naming a watched term, at most this
# many: news is written top down, so a passage deep in an article that comes close to a
# brief is most often a side mention of another event. Names and numbers still count from
# the whole item. On the development runs 4 kept leak-dev's recall, cost 1.6 points of
# ECB+ news recall and removed 1 and 6 labelled false alerts; 3 lost a leak-dev leak, 5-8
# kept more false alerts (docs/MATCHER.md, "Cascade").
MEANING_PASSAGES = 4
# Meaning saturates: a passage this close to a brief says what the brief says, and closer
# adds nothing. The topic tails are extrapolated from the background, and no unrelated
# passage of the development background (387,000 item-brief pairs, BBC articles and tweets)
# came within 0.76 of a brief: well past that, the tail would claim a rarity nobody
# measured. It also bounds what meaning can add, which lets the cascade skip items that
# could not reach a threshold without the model (Matcher._may_reach). 0.75-1 gave the same
# alerts on both development runs, but 0.8 lowered the score, and so the severity, of a
# close paraphrase (cosine 0.86) of a brief: its mail waited for the digest
# (tests/test_week_in_the_life.py). 0.9 leaves every leak of the test sets below it.
TOPIC_CEILING = 0.9
# Rounding room when deciding from the best possible meaning that an item cannot reach a
# threshold (see Matcher._may_reach): far below any difference that matters.
CEILING_MARGIN = 1e-3


@dataclass
class MatcherSettings:
    """Knobs of the decision; the ``[matcher]`` table of the configuration sets them."""

    threshold: float = 0.5  # alert from this score (0.5: evidence at the brief's threshold)
    min_evidence: float = 6.0  # the floor: one unrelated item in 10^6 shows this much
    false_alerts_per_brief_per_week: float = 1.0  # the budget, at the stream's own volume
    items_per_day: float = 0.0  # the stream's volume; 0: measured from the items' times
    detail_threshold: float = 0.55  # a detail counts as revealed from this similarity ...
    detail_info: float = DETAIL_INFO  # ... or from this much of its names and numbers
    max_evidence: int = 3  # passages quoted as evidence
    candidate_floor: float = 0.05  # pairs scoring below this are not reported (all_scores)
    cascade: bool = True  # embed only passages naming a watched brief's names or numbers
    min_background: int = 300  # fewer background items of a kind: built-in topic tails
    small_stream_margin: float = 3.0  # ...and a stream that small must show this much more
    background_days: float = 7.0  # the service calibrates on the items stored in these days...
    background_items: int = 5000  # ...at most this many of the most recent
    recalibrate_hours: float = 24.0  # ...again at most this often (a fixed, refreshed sample)

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
    specific: list[set[str]] = field(default_factory=list)  # names, numbers: per detail, rest
    # a common word of a name -> the name's distinctive words it counts beside (features)
    name_keys: dict[str, frozenset] = field(default_factory=dict)


@dataclass(repr=False)
class PreparedItem:
    item: Item
    passages: list[str]
    vectors: np.ndarray
    passage_terms: list[set[str]]
    terms: set[str]
    periods: set[str] = field(default_factory=set)
    passage_periods: list[set[str]] = field(default_factory=list)
    whole: bool = True  # every passage embedded (False: the cascade skipped some)
    # the passages the cascade chose and that are not embedded yet (see Matcher.embed)
    pending: list[bool] | None = None
    days_read: bool = False  # the days, weeks and months it names (see Matcher.read_days)
    names_apart: set[str] | None = None  # read when first needed (features.names_apart)


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
        self.background = Background()
        # what the service last calibrated on: ((brief ids, background size), when)
        self.calibrated: tuple | None = None
        # operator feedback: brief id -> change of that brief's threshold (evidence units,
        # + stricter)
        self.brief_offsets: dict[str, float] = {}
        # the cascade: the names and numbers of every brief prepared so far, by brief id
        self._watched: dict[str, set[str]] = {}
        # the last brief set read for measure, with the background it was read against
        self._table: tuple[Background, Watched] | None = None

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
        details = [specific_terms(d) for d in brief.details]
        rest = specific_terms(brief.summary) - set().union(*details)
        self._watched[brief.id] = {t for t in rest.union(*details) if term_info(t) > 0}
        return PreparedBrief(
            brief=brief,
            vectors=vectors,
            n_summary=n_summary,
            terms=every,
            detail_terms=atoms[n_summary:],
            dates={a for a in every if a.startswith("date:")},
            periods=periods,
            specific=[*details, rest],
            name_keys=name_keys([run for text in texts for run in name_runs(text)]),
        )

    def prepare_items(self, items: list[Item], full: bool = False) -> list[PreparedItem]:
        """Read the items' passages, names and numbers; read them closely when `full`.

        The cascade (`cascade`, on by default): only what can matter is read closely. A pair
        alerts only when the item names at least one of the brief's names or numbers (see
        `score`), so an item naming none of any watched brief's is never read further; in
        an item that names some, its first passage (the title) and the passages naming one
        worth PASSAGE_INFO (the first MEANING_PASSAGES of them) are chosen for the model,
        the others get a zero vector (no meaning evidence). `score` then reads the days of
        only the items that could reach a threshold with the best timing and meaning there
        are, and embeds only those that still could with their days read (see `score`).
        `full` reads every passage now: the background a matcher is calibrated on is always
        measured whole, so what the cascade skips cannot move anyone's threshold."""
        split = [passages(item.title, item.text) or [item.title or item.url] for item in items]
        choose = self._cascade(full)
        prepared = []
        for item, item_passages in zip(items, split, strict=True):
            words = [set(terms(p)) for p in item_passages]
            kept = choose(words)
            prepared.append(
                PreparedItem(
                    item=item,
                    passages=item_passages,
                    vectors=np.zeros((len(kept), self.embedder.dimension), dtype=np.float32),
                    passage_terms=words,
                    terms=set().union(*words),
                    passage_periods=[set() for _ in item_passages],
                    whole=False,
                    pending=kept if any(kept) else None,
                )
            )
        if full or not self.settings.cascade:
            self.embed(prepared)
        return prepared

    def embed(self, items: list[PreparedItem], wanted: list[bool] | None = None) -> None:
        """Read closely the items the cascade chose (of those `wanted` marks): the days and
        weeks they name, and the meaning of the passages it chose, embedded in one batch,
        cached by content hash. Idempotent: an item read is left alone."""
        self.read_days(items, wanted)
        todo = [
            item
            for n, item in enumerate(items)
            if item.pending is not None and (wanted is None or wanted[n])
        ]
        flat = [p for item in todo for p, k in zip(item.passages, item.pending, strict=True) if k]
        encoded = iter(self.embedder.encode(flat, cache=self.cache) if flat else [])
        for item in todo:
            for row in np.flatnonzero(item.pending):
                item.vectors[row] = next(encoded)
            item.whole, item.pending = all(item.pending), None

    def read_days(self, items: list[PreparedItem], wanted: list[bool] | None = None) -> None:
        """Read the days, clock times, weeks and months the items the cascade chose name (of
        those `wanted` marks), in each item's language and from its publication time. An
        item naming nothing of any brief is never read for days: timing counts only beside
        a fact. Idempotent."""
        for n, item in enumerate(items):
            if item.pending is not None and not item.days_read and (wanted is None or wanted[n]):
                _read_days(item)
                item.days_read = True

    def _cascade(self, full: bool):
        """The cascade's choice of one item's passages to embed (see prepare_items)."""
        if full or not self.settings.cascade or not self._watched:
            return lambda passage_terms: [True] * len(passage_terms)
        watched = set().union(*self._watched.values())
        telling = {t for t in watched if term_info(t) >= PASSAGE_INFO}

        def choose(passage_terms: list[set[str]]) -> list[bool]:
            if not any(terms & watched for terms in passage_terms):
                return [False] * len(passage_terms)  # names nothing of any brief: cannot alert
            kept, taken = [True], 0  # the title
            for named in passage_terms[1:]:
                take = taken < MEANING_PASSAGES and bool(named & telling)
                kept.append(take)
                taken += take
            return kept

        return choose

    # -- calibrating -----------------------------------------------------------------------

    def calibrate(
        self,
        briefs: list[PreparedBrief],
        background: list[PreparedItem],
        volume_per_week: float | None = None,
    ) -> dict[str, float]:
        """Measure a background sample of the stream and keep the result for every later
        `score` (for the service: the stored items of the last days; for a backtest, its
        `--background` file or else its input). The stream's volume is the setting
        `items_per_day`, else `volume_per_week` (the service counts what it stored), else
        what the sample's publication times show. Returns the briefs whose threshold the
        background raised above the floor, as brief id -> evidence threshold."""
        if not all(item.whole for item in background):
            raise ValueError("calibrate on items prepared whole: prepare_items(items, full=True)")
        s = self.settings
        model = Background(items=len(background))
        if s.items_per_day > 0:
            model.items_per_week = 7.0 * s.items_per_day
        elif volume_per_week:
            model.items_per_week = volume_per_week
        else:
            model.items_per_week = items_per_week([p.item.published_at() for p in background])
        model.count_terms(item.terms for item in background)
        if not briefs or not background:
            self.background = model
            return {}
        measured = measure(briefs, background, model.term_info)
        kinds = np.array([kind_of(p.item.kind) for p in background])
        for kind in set(kinds):
            inside = kinds == kind
            if inside.sum() < s.min_background:
                continue  # too few to say: the built-in tail for this kind stays
            for k, brief in enumerate(briefs):
                model.topic[(brief.brief.id, kind)] = fit_tail(measured["topic"][inside, k])
        self.background = model
        raised = {}
        if len(background) < s.min_background:
            return raised  # too few items to say how often the floor is reached
        evidence = self._evidence(briefs, background, measured)
        for k, brief in enumerate(briefs):
            # Fitted below the floor only: items above it may be the very leaks we look for
            # (a story copied twenty times must not raise its own brief's threshold).
            below = evidence[:, k][evidence[:, k] < s.min_evidence]
            if len(below) < s.min_background:
                continue
            model.tails[brief.brief.id] = fit_tail(below)
            needed = self.threshold(brief.brief.id, with_feedback=False)
            if needed > s.min_evidence:  # reported: raised above the floor
                raised[brief.brief.id] = round(needed, 3)
        return raised

    def threshold(self, brief_id: str, with_feedback: bool = True) -> float:
        """The evidence a pair needs to alert for this brief: the floor, or what the stream's
        volume and the budget ask for (model and background tail), whichever is more. A
        stream measured but too small to tell (under `min_background` items) is treated
        cautiously: until its own common names are known, the floor is `small_stream_margin`
        higher (a matcher never calibrated, in tests or library use, keeps the floor)."""
        s, model = self.settings, self.background
        budget = max(s.false_alerts_per_brief_per_week, 1e-9)
        small = 0 < model.items < s.min_background
        floor = s.min_evidence + (s.small_stream_margin if small else 0.0)
        needed = max(floor, math.log10(max(model.items_per_week, 1.0) / budget))
        observed = model.budget_evidence(brief_id, budget)
        if observed is not None:
            needed = max(needed, observed)
        return needed + (self.brief_offsets.get(brief_id, 0.0) if with_feedback else 0.0)

    # -- scoring ---------------------------------------------------------------------------

    def score(
        self, briefs: list[PreparedBrief], items: list[PreparedItem], all_scores: bool = False
    ) -> list[Match]:
        """Matches worth recording: alerts, plus (all_scores) every pair above the floor."""
        if not briefs or not items:
            return []
        s = self.settings
        thresholds = [self.threshold(b.brief.id) for b in briefs]
        bar = s.candidate_floor if all_scores else s.threshold
        info, table = self.background.term_info, self.watched(briefs)
        in_window = leak_time(briefs, items)

        def may_reach(subset: np.ndarray, best_timing: bool) -> np.ndarray:
            chosen = [items[n] for n in subset]
            first = measure(briefs, chosen, info, table, meaning=False)  # without the model
            reach = self._may_reach(briefs, chosen, first, thresholds, bar, best_timing)
            if not all_scores:  # an alert also needs a name or number, in the brief's window
                reach &= (first["facts"] > 0) & in_window[subset]
            return subset[reach.any(axis=1)]

        # Names and numbers first, with the best timing and meaning there are; then the days
        # of the items still in the running, and the best meaning; then the model.
        rows = may_reach(np.arange(len(items)), best_timing=True)
        self.read_days([items[n] for n in rows])
        rows = may_reach(rows, best_timing=False)
        self.embed([items[n] for n in rows])
        chosen = [items[n] for n in rows]
        measured = measure(briefs, chosen, info, table)  # again, with the meaning of each
        evidence = self._evidence(briefs, chosen, measured)
        results = []
        in_window = in_window[rows]
        # Only pairs near or above the bar can be recorded (`_score` is exact on each).
        near = evidence + CEILING_MARGIN - np.array(thresholds)[None, :] >= _units(bar)
        for i, k in zip(*np.nonzero(near), strict=True):
            prepared_item, prepared_brief = chosen[i], briefs[k]
            score = _score(float(evidence[i, k]), thresholds[k])
            alert = bool(
                score >= s.threshold
                and measured["facts"][i, k] > 0  # meaning alone never alerts
                and in_window[i, k]
            )
            if alert or (all_scores and score >= s.candidate_floor):
                results.append(
                    self._match(prepared_brief, prepared_item, score, alert, measured, i, k)
                )
        return results

    def watched(self, briefs: list[PreparedBrief]) -> Watched:
        """The briefs as `measure` reads them, built once while the same briefs are scored
        against the same background (a service's batches; 1,000 briefs take seconds)."""
        if self._table is not None:
            background, table = self._table
            same = len(table.briefs) == len(briefs) and all(
                a is b for a, b in zip(table.briefs, briefs, strict=True)
            )
            if same and background is self.background:
                return table
        table = Watched(list(briefs), self.background.term_info)
        self._table = (self.background, table)
        return table

    def _ceiling_topic(self, briefs: list[PreparedBrief], kind: str) -> np.ndarray:
        """Each brief's topic evidence at TOPIC_CEILING for items of `kind`, kept with the
        briefs as `measure` reads them (the same brief set and background)."""
        table = self.watched(briefs)
        if kind not in table.ceiling:
            best = np.array([TOPIC_CEILING])
            table.ceiling[kind] = np.array(
                [self.background.topic_infos(b.brief.id, kind, best)[0] for b in briefs]
            )
        return table.ceiling[kind]

    def _may_reach(
        self, briefs, items, measured, thresholds, bar: float, best_timing: bool = False
    ) -> np.ndarray:
        """Which (item, brief) pairs could score `bar` if the item's meaning were the best
        there is (TOPIC_CEILING, where meaning saturates), and (`best_timing`) if it named
        the brief's day with nothing against it. Everything else in the evidence (names,
        numbers, days) is read without the model, and attribution by meaning only lowers
        it, so an item with no such pair could not reach `bar` read closely either: it is
        neither read for days, embedded nor measured again, which changes no decision and
        no recorded score."""
        ceiling = self._evidence(briefs, items, measured, True, best_timing)
        return ceiling + CEILING_MARGIN - np.array(thresholds)[None, :] >= _units(bar)

    def evidence(self, briefs: list[PreparedBrief], items: list[PreparedItem]) -> np.ndarray:
        """The evidence of every (item, brief) pair, shaped (items, briefs); log10 units."""
        self.embed(items)
        measured = measure(briefs, items, self.background.term_info, self.watched(briefs))
        return self._evidence(briefs, items, measured)

    def _evidence(
        self, briefs, items, measured, best_meaning: bool = False, best_timing: bool = False
    ) -> np.ndarray:
        """Topic + facts + timing (+ attribution, which only lowers), in log10 units.
        `best_meaning`: the most it could be, as if every item said what each brief says;
        `best_timing`: as if it named each brief's day, and nothing against it."""
        topic = np.zeros_like(measured["topic"])
        kinds = np.array([kind_of(item.item.kind) for item in items])
        for kind in set(kinds):
            rows = kinds == kind
            if best_meaning:  # the same for every item: each brief's topic at the ceiling
                topic[rows, :] = self._ceiling_topic(briefs, kind)[None, :]
                continue
            for k, brief in enumerate(briefs):
                cosines = np.minimum(measured["topic"][rows, k], TOPIC_CEILING)
                topic[rows, k] = self.background.topic_infos(brief.brief.id, kind, cosines)
        # The item's own coming day, when it is not the brief's, tells its time: the brief's
        # week or month it falls in ("4 October" beside a plan for the 10th) is not timing.
        said = {n: measured[n] for n in TIMING_INFO}
        for period in ("week", "month"):
            said[period] = said[period] * (1.0 - measured["other_day"])
        timing = np.maximum.reduce([TIMING_INFO[n] * said[n] for n in TIMING_INFO])
        timing = timing * (measured["facts"] >= DETAIL_INFO)  # never a shared day alone
        timing = timing * (measured["past"] == 0)  # a month named by a look back is no plan
        behind = FACT_WEIGHT * measured["facts_behind"]
        if not best_meaning:  # behind another brief in meaning: never above zero
            behind = behind + measured["behind"] / BEHIND_UNIT
        elsewhen = OTHER_DAY_INFO * np.maximum(measured["other_day"], measured["past"])
        elsewhen = elsewhen * (timing == 0)
        told_when = np.maximum(said["day"], said["week"])
        told_when = np.maximum(told_when, 0.5 * said["month"])  # a month tells half
        untimed = UNTIMED_INFO * measured["dated"] * (1.0 - told_when)
        if best_timing:  # the days not read yet: the most timing can add, nothing taken off
            timing = max(TIMING_INFO.values()) * (measured["facts"] >= DETAIL_INFO)
            elsewhen = untimed = 0.0
        return topic + FACT_WEIGHT * measured["facts"] + timing + behind - elsewhen - untimed

    # -- explaining ------------------------------------------------------------------------

    def _match(
        self, pb: PreparedBrief, pi: PreparedItem, score: float, alert: bool, measured, i, k
    ) -> Match:
        """Which details the item reveals, and the passages that carry the evidence."""
        s = self.settings
        n_details = len(pb.brief.details)
        facts = measured["detail_facts"][i, k, :n_details]
        close = measured["detail_sim"][i, k, :n_details]
        matched = [
            j
            for j in range(n_details)
            if facts[j] >= s.detail_info or close[j] >= s.detail_threshold
        ]
        similarity = pi.vectors @ pb.vectors.T  # passages x brief rows
        rows = []
        for j in matched:
            names = pb.specific[j] if j < len(pb.specific) else set()
            by_names = [len(names & pt) for pt in pi.passage_terms]
            if facts[j] >= s.detail_info and max(by_names, default=0):
                rows.append((facts[j] / 4.0 + 1.0, int(np.argmax(by_names))))
            else:
                column = similarity[:, pb.n_summary + j]
                rows.append((float(column.max()), int(column.argmax())))
        evidence_rows = [row for _, row in sorted(rows, reverse=True)]
        if not evidence_rows:
            evidence_rows = [int(similarity.max(axis=1).argmax())]
        evidence = [pi.passages[r] for r in dict.fromkeys(evidence_rows)][: s.max_evidence]
        return Match(
            brief_id=pb.brief.id,
            item_id=pi.item.id,
            score=round(score, 4),
            details_matched=matched,
            evidence=evidence,
            alert=alert,
        )


def leak_time(briefs: list[PreparedBrief], items: list[PreparedItem]) -> np.ndarray:
    """Brief.is_leak_time of every (item, brief) pair, shaped (items, briefs): each item's
    time and each brief's window read once (a batch meets a thousand briefs)."""
    never, ever = date.min.toordinal(), date.max.toordinal()
    windows = [b.brief.window() for b in briefs]
    start = np.array([w[0].toordinal() if w[0] else never for w in windows])
    until = np.array([w[1].toordinal() if w[1] else ever for w in windows])
    days = []
    for item in items:
        published = item.item.published_at()
        days.append(published.astimezone(UTC).date().toordinal() if published else -1)
    day = np.array(days)[:, None]
    return (day < 0) | ((day >= start[None, :]) & (day <= until[None, :]))


def _read_days(item: PreparedItem) -> None:
    """The days, clock times, weeks and months an item's passages name, in its language and
    from its publication time (parsing them is half the cost of reading a post)."""
    published, lang = item.item.published_at(), item_language(item.item)
    item.passage_terms = [
        w | _day_atoms(p, published, lang)
        for w, p in zip(item.passage_terms, item.passages, strict=True)
    ]
    item.terms = set().union(*item.passage_terms)
    item.passage_periods = [period_atoms(p, published) for p in item.passages]
    item.periods = set().union(*item.passage_periods)


def _text_atoms(text: str, reference, lang: str | None, brief_text: bool = False) -> set[str]:
    """Terms, dates and clock times of one passage (or one brief sentence)."""
    if brief_text:
        return set(terms(text)) | brief_date_atoms(text, reference) | time_atoms(text)
    return set(terms(text)) | _day_atoms(text, reference, lang)


def _day_atoms(text: str, reference, lang: str | None) -> set[str]:
    """The days and clock times one passage of an item names."""
    return date_atoms(text, reference, lang) | time_atoms(text)


def _midnight(day: date | None) -> datetime | None:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) if day else None


def _units(score: float) -> float:
    """The evidence above the threshold that `_score` turns into `score` (its inverse)."""
    score = min(max(score, 1e-9), 1.0 - 1e-9)
    return -math.log10(1.0 / score - 1.0)


def _score(evidence: float, threshold: float) -> float:
    """Evidence relative to the brief's threshold as a 0-1 score: 0.5 at the threshold,
    0.91 one unit (ten times rarer) above it, 0.09 one unit below."""
    return 1.0 / (1.0 + 10.0 ** (-max(-30.0, min(30.0, evidence - threshold))))
