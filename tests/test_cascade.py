"""The cascade: only what can matter reaches the model, and the decisions stay the same.

With the real model. The embedder is the real one; the tests only count the texts it is
asked to embed (a spy around it, not a stand-in)."""

import pytest

from leaksentry import jobs
from leaksentry.briefs import read_brief_file
from leaksentry.config import load_config
from leaksentry.jobs import StoreVectorCache
from leaksentry.storage import open_store
from leaksentry.vault import Vault, initialise, new_key, open_vault, rotate_key
from matcher import Matcher, MatcherSettings, MemoryCache
from matcher.backtest import read_items
from matcher.records import Brief, Item
from matcher.scoring import MEANING_PASSAGES

from conftest import FIXTURES, write_config

pytestmark = pytest.mark.slow
BRIEFS = FIXTURES / "backtest" / "briefs.jsonl"
ITEMS = FIXTURES / "backtest" / "items.jsonl"


class CountingEmbedder:
    """The real embedder, noting the texts it is asked for that its cache does not hold."""

    def __init__(self, embedder):
        self.real, self.dimension, self.texts = embedder, embedder.dimension, []
        self.name = embedder.name

    def encode(self, texts, cache=None):
        known = cache.get_vectors([self.real.key(t) for t in texts]) if cache else {}
        self.texts.extend(t for t in texts if self.real.key(t) not in known)
        return self.real.encode(texts, cache=cache)


def post(item_id: str, text: str, title: str = "") -> Item:
    kind = "news" if title else "social"
    return Item(item_id, "", kind, "fixture", "2031-05-02T08:00:00+00:00", title, text)


def choir(count: int) -> list[Item]:
    """Unrelated stored articles: a background sample."""
    return [
        Item(f"c{i}", f"https://news.example/{i}", "news", "s", "2031-05-01T09:00:00Z",
             f"Choir notes {i}", f"The choir sang {i} songs. The hall was full and warm.")
        for i in range(count)
    ]  # fmt: skip


BRIEF = Brief(
    id="B-QUAY",
    codename="AMBER FINCH",
    summary="Harbour police will search the cold store at dawn. Fennick Quay, 9 May 2031.",
    details=["Location: Fennick Quay cold store, Tollmere", "42 officers and a dog team"],
    active_from="2031-04-20",
    active_until="2031-05-09",
)


def test_an_item_naming_nothing_of_any_brief_never_reaches_the_model(embedder):
    counting = CountingEmbedder(embedder)
    matcher = Matcher(counting)
    brief = matcher.prepare_brief(BRIEF)
    counting.texts.clear()
    chatter = post("c1", "What a match last night, the keeper saved everything.")
    leak = post(
        "l1",
        "Tollmere Harbour Festival returns next summer.",
        title="Police to raid Fennick Quay cold store on 9 May",
    )
    prepared = matcher.prepare_items([chatter, leak])
    assert counting.texts == []  # reading names and days needs no model
    matcher.score([brief], prepared)
    assert chatter.text not in counting.texts
    assert "Police to raid Fennick Quay cold store on 9 May" in counting.texts
    # a passage beyond the title is embedded only when it names something telling
    assert "Tollmere Harbour Festival returns next summer." in counting.texts
    counting.texts.clear()
    matcher.prepare_items([chatter], full=True)  # calibration measures everything
    assert counting.texts == [chatter.text]


def test_meaning_is_read_from_the_title_and_the_first_passages_naming_something(embedder):
    """News is written top down: past the first MEANING_PASSAGES passages naming a watched
    term, an article's sentences are not embedded (their names and numbers still count)."""
    said = [
        f"Tollmere residents heard the news in part {n} of the harbour story today."
        for n in range(1, 7)
    ]
    article = post("a1", " ".join(said), title="Police to raid Fennick Quay cold store on 9 May")
    counting = CountingEmbedder(embedder)
    matcher = Matcher(counting)
    brief = matcher.prepare_brief(BRIEF)
    counting.texts.clear()
    [prepared] = matcher.prepare_items([article])
    assert len(prepared.passages) == 1 + len(said)
    matcher.score([brief], [prepared])
    assert counting.texts == [article.title, *said[:MEANING_PASSAGES]]
    assert "tollmere" in prepared.passage_terms[-1]  # the last passage is still read for names


def test_an_item_that_could_not_reach_the_threshold_with_any_meaning_is_not_embedded(embedder):
    """A dated post naming the brief's harbour on another coming day: even if it said exactly
    what the brief says, its evidence would stay below the threshold (another occasion, no
    time of the brief told), so the model never reads it, and its decision is the one the
    model would have given."""
    other_day = Item(
        "o1", "", "social", "fixture", "2031-05-02T08:00:00+00:00", "",
        "Our harbour choir sings at the town hall on 20 June 2031, tickets at the door.",
    )  # fmt: skip
    leak = post("l1", "Fennick Quay cold store in Tollmere gets a police visit on 9 May 2031.")
    counting = CountingEmbedder(embedder)
    matcher = Matcher(counting)
    brief = matcher.prepare_brief(BRIEF)
    counting.texts.clear()
    lazy = matcher.score([brief], matcher.prepare_items([other_day, leak]))
    assert other_day.text not in counting.texts
    assert leak.text in counting.texts  # the same brief, an item that could: read
    eager = Matcher(embedder, MatcherSettings(cascade=False))
    whole = eager.score([eager.prepare_brief(BRIEF)], eager.prepare_items([other_day, leak]))
    assert {m.item_id for m in lazy} == {m.item_id for m in whole} == {"l1"}


def test_an_item_that_could_not_alert_is_not_read_for_days_either(embedder):
    """Days are read (in the item's language, from its publication time) only for items
    that could still alert: a report published after the brief's window names everything
    of it, and is neither read for days nor embedded; the same words inside the window are."""
    said = "Fennick Quay cold store in Tollmere gets a police visit on 9 May 2031."
    late = Item("late", "", "social", "fixture", "2031-06-01T08:00:00+00:00", "", said)
    counting = CountingEmbedder(embedder)
    matcher = Matcher(counting)
    brief = matcher.prepare_brief(BRIEF)
    counting.texts.clear()
    items = matcher.prepare_items([late, post("early", said)])
    matches = matcher.score([brief], items)
    assert [m.item_id for m in matches] == ["early"]
    assert [i.days_read for i in items] == [False, True]
    assert counting.texts == [said]  # once: the early post's


def test_meaning_alone_never_alerts(embedder):
    """A post that says what the brief says but names none of its names or numbers may
    score high; it does not alert (and so the cascade may skip it without changing
    anything)."""
    matcher = Matcher(embedder, MatcherSettings(cascade=False))
    brief = matcher.prepare_brief(BRIEF)
    # undated, so that nothing but its meaning counts (no time told or missing)
    echo = Item(
        "e1", "", "social", "fixture", "", "", "harbour police will search the cold store at dawn"
    )
    [match] = matcher.score([brief], matcher.prepare_items([echo]), all_scores=True)
    assert match.score >= matcher.settings.threshold  # would alert on meaning alone
    assert not match.alert


def test_the_cascade_changes_no_decision_on_the_fixture_set(embedder):
    briefs = read_brief_file(BRIEFS, strict=False)
    items = list(read_items(ITEMS))
    alerts = {}
    for cascade in (True, False):
        matcher = Matcher(embedder, MatcherSettings(cascade=cascade), cache=MemoryCache())
        prepared = [matcher.prepare_brief(b) for b in briefs]
        matches = matcher.score(prepared, matcher.prepare_items(items))
        alerts[cascade] = {(m.brief_id, m.item_id) for m in matches if m.alert}
    assert alerts[True] == alerts[False]
    assert alerts[True]  # the fixture set has leaks: the comparison says something


@pytest.mark.parametrize("all_scores", [False, True])
def test_leaving_out_items_that_cannot_reach_changes_no_recorded_score(embedder, all_scores):
    """Items whose evidence could not reach the bar (an alert, or for a backtest's
    `all_scores` the candidate floor) with the best meaning there is are not embedded:
    everything recorded is the same as when every chosen passage is embedded first."""
    briefs = read_brief_file(BRIEFS, strict=False)
    items = list(read_items(ITEMS))
    recorded, embedded = {}, {}
    for lazy in (True, False):
        counting = CountingEmbedder(embedder)
        matcher = Matcher(counting, cache=MemoryCache())
        prepared = [matcher.prepare_brief(b) for b in briefs]
        counting.texts.clear()
        stream = matcher.prepare_items(items)
        if not lazy:
            matcher.embed(stream)
        matches = matcher.score(prepared, stream, all_scores=all_scores)
        recorded[lazy] = {(m.brief_id, m.item_id): (m.score, m.alert) for m in matches}
        embedded[lazy] = len(counting.texts)
    assert recorded[True] == recorded[False]
    assert any(alert for _, alert in recorded[True].values())
    assert embedded[True] <= embedded[False]
    if not all_scores:  # the alert bar is far above the candidate floor: some are left out
        assert embedded[True] < embedded[False]


def test_a_new_match_process_reuses_the_stored_background_sample(embedder, tmp_path):
    """The background is measured whole once; a later process (a new Matcher) finds the
    same sample in the store and its vectors in the store's cache: nothing of the stream is
    embedded again, and a newer item does not change the sample before it is due."""
    config = load_config(write_config(tmp_path))
    chatter = choir(12)
    late = Item("late", "https://news.example/l", "news", "s", None, "Late notes", "Rain.")
    with open_store(config.database) as store:
        for item in chatter:
            store.add_item(item, item.url, item.id)

        def new_process():
            """A fresh matcher calibrated on the store; the stream texts it had to embed."""
            counting = CountingEmbedder(embedder)
            matcher = Matcher(counting, cache=StoreVectorCache(store))
            brief = matcher.prepare_brief(BRIEF)
            counting.texts.clear()
            jobs.calibrate(store, matcher, [brief])
            return matcher, counting.texts

        _, embedded = new_process()
        assert {f"Choir notes {i}" for i in range(12)} <= set(embedded)  # measured whole
        store.add_item(late, late.url, late.id)
        again, embedded = new_process()
        assert embedded == []
        assert again.background.items == len(chatter)  # the same sample, not the newer item


def test_calibration_refuses_a_background_the_cascade_thinned(embedder):
    matcher = Matcher(embedder)
    brief = matcher.prepare_brief(BRIEF)
    chatter = post("c1", "What a match last night, the keeper saved everything.")
    with pytest.raises(ValueError, match="prepared whole"):
        matcher.calibrate([brief], matcher.prepare_items([chatter]))
    matcher.calibrate([brief], matcher.prepare_items([chatter], full=True))


def test_a_new_process_uses_the_kept_sealed_calibration_until_something_changes(embedder, tmp_path):
    """A new `match` process restores the calibration the last one kept (sealed): it does not
    read the sample again. A changed brief, or another key, and it measures again."""
    config = load_config(write_config(tmp_path))
    chatter = choir(12)
    with open_store(config.database) as store:
        initialise(config, store)
        vault = open_vault(config, store)
        for item in chatter:
            store.add_item(item, item.url, item.id)

        def calibrated(brief: Brief, with_vault: Vault | None):
            matcher = Matcher(embedder, cache=StoreVectorCache(store))
            prepared = matcher.prepare_brief(brief)
            read = []
            original = matcher.prepare_items
            matcher.prepare_items = lambda items, full=False: (
                read.append(len(items)) or original(items, full=full)
            )
            jobs.calibrate(store, matcher, [prepared], with_vault)
            return matcher, read

        first, read = calibrated(BRIEF, vault)
        assert read == [12]
        kept = store.get_meta(jobs.CALIBRATION_SEALED)
        assert "choir" not in kept.lower() and "Fennick" not in kept  # sealed, not readable
        again, read = calibrated(BRIEF, vault)
        assert read == []  # restored: the sample was not read again
        assert again.threshold(BRIEF.id) == first.threshold(BRIEF.id)
        tail, restored = first.background.topic, again.background.topic
        assert restored.keys() == tail.keys()
        for key in tail:
            assert restored[key].start == tail[key].start
            assert (restored[key].values == tail[key].values).all()
        changed = Brief(**{**BRIEF.__dict__, "details": [*BRIEF.details, "Two boats"]})
        _, read = calibrated(changed, vault)
        assert read == [12]  # another brief: measured again
        _, read = calibrated(changed, Vault(new_key()))
        assert read == [12]  # a key that cannot open it: measured again, no error
        assert store.get_meta(jobs.CALIBRATION_SEALED) is not None
        rotate_key(config, store, env={})
        assert store.get_meta(jobs.CALIBRATION_SEALED) is None  # dropped, never left behind
