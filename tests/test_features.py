"""The matcher's measurements, each case a sentence a reader can check (matcher.features,
matcher.rarity, matcher.calibrate). The briefs and items are invented."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from matcher import Matcher, MemoryCache
from matcher.calibrate import default_topic_tail, fit_tail, items_per_week
from matcher.features import measure
from matcher.rarity import MAX_TERM_INFO, term_info
from matcher.records import Brief, Item

DOCK = Brief(
    id="T-DOCK",
    codename="AMBER KESTREL",
    summary=(
        "Border Revenue Unit operation at the Fernwick dock east gate. From 05:15 on Friday "
        "6 November 2026, forty-two officers will search refrigerated trailers for tobacco."
    ),
    details=[
        "Place: Fernwick dock, east gate",
        "Start 05:15 on Friday 6 November 2026",
        "42 officers and 2 mobile scanner vans",
    ],
    active_from="2026-10-20",
    active_until="2026-11-06",
)
DEPOT = Brief(
    id="T-LIB",
    codename="QUIET ORCHARD",
    summary="Fernwick council will close the Orchard Road depot in March.",
    details=["Orchard Road depot, Fernwick, closes in March 2027"],
)


def item(text: str, published: str | None = "2026-11-02T09:00:00Z", kind="social") -> Item:
    return Item(
        id=str(abs(hash(text))), url="", kind=kind, source="t", published=published, title="",
        text=text,
    )  # fmt: skip


@pytest.fixture(scope="module")
def matcher(embedder):
    return Matcher(embedder, cache=MemoryCache())


def measured(matcher, texts, briefs=(DOCK,), **kwargs):
    prepared = [matcher.prepare_brief(b) for b in briefs]
    items = matcher.prepare_items([item(t, **kwargs) for t in texts])
    matcher.embed(items)  # what the cascade chose; `score` embeds only what it needs
    return measure(prepared, items)


def test_a_made_up_place_name_says_more_than_a_common_word():
    assert term_info("fernwick") == MAX_TERM_INFO
    assert term_info("police") < 1.5 < term_info("scanner")


def test_a_common_name_ending_in_s_is_as_common_as_written():
    # "James" becomes the term "jame" and "Texas" "texa": worth what the written word is
    assert term_info("jame") == term_info("james") < 2
    assert term_info("texa") == term_info("texas") < 2
    assert term_info("fernwick") == MAX_TERM_INFO  # a name never seen stays rare


def test_numbers_count_by_shape_and_a_year_counts_little():
    assert term_info("6") < term_info("42") < term_info("160") < term_info("41.50")
    assert term_info("2026") <= 1.0


def test_the_dock_and_the_officers_are_two_details_the_weather_is_none(matcher):
    got = measured(
        matcher,
        [
            "Loads of officers at Fernwick dock east gate Friday morning, about 42 of them",
            "Lovely sunny morning for a walk along the river today",
        ],
    )
    assert got["details"][0, 0] >= 2  # the place and the count
    assert got["facts"][0, 0] >= 4.0
    assert got["facts"][1, 0] == 0.0 and got["details"][1, 0] == 0


def test_a_name_two_watched_briefs_share_counts_half(matcher):
    text = " ".join(["Something is happening in Fernwick."] + ["Nothing else to say."] * 60)
    alone = measured(matcher, [text])  # ~250 words: almost no length shift, one name
    both = measured(matcher, [text], briefs=(DOCK, DEPOT))
    assert alone["facts"][0, 0] == pytest.approx(term_info("fernwick"), abs=0.15)
    assert both["facts"][0, 0] == pytest.approx(alone["facts"][0, 0] / 2, abs=0.15)


COURT = Brief(
    id="T-COURT",
    codename="GREY LANTERN",
    summary="Superior Court Judge James Hollowmere will sentence the Marlow brothers on Friday.",
    details=["Sentencing by Superior Court Judge James Hollowmere, Friday 6 November 2026"],
)


def test_a_names_common_words_beside_another_rare_name_name_someone_else(matcher):
    got = measured(
        matcher,
        [
            "Superior Court Judge James Pettigrew heard the Tarrow case today.",  # another
            "Superior Court Judge James Hollowmere heard the case today.",  # this one
            "The judge, James, said the superior court would sit late.",  # no other name
        ],
        briefs=(COURT,),
    )
    assert got["facts"][0, 0] == 0.0
    assert got["facts"][1, 0] >= 4.0
    assert got["facts"][2, 0] > 1.0


PADDING = " Nothing else to say here today." * 200


def test_a_names_number_tells_which_one(matcher):
    brief = Brief(
        id="T-PCT",
        codename="LOW HARBOUR",
        summary="Officers of the 102nd Precinct will close Tarrow Lane on Friday.",
        details=["102nd Precinct, Tarrow Lane"],
    )
    texts = [
        "Officers of the 67th Precinct marched.",
        "Officers of the 67th precinct marched.",
        "Officers of the 102nd Precinct marched." + PADDING,  # long: no detail at its cap
        "Officers of the 102nd marched." + PADDING,
        "The precinct's officers marched.",
    ]
    got = measured(matcher, texts, briefs=(brief,))
    assert got["facts"][0, 0] == got["facts"][1, 0] == 0.0  # another precinct
    assert got["facts"][2, 0] > got["facts"][3, 0] > 0  # its number, and its name too
    assert got["facts"][4, 0] > 1.0  # which precinct, it does not say


def test_a_figures_unit_is_no_name():
    from matcher.text import specific_terms

    assert specific_terms("Andrew Luck chases the 4,051-yard record") == {"4051", "andrew", "luck"}
    assert specific_terms("Seized: 6 AK-47s") == {"6", "ak", "47"}


def test_a_name_in_a_short_post_says_more_than_in_a_long_article(matcher):
    long = " ".join(["The 42 were there."] + ["Nothing else to say here today."] * 60)
    got = measured(matcher, ["The 42 were there.", long])
    assert got["facts"][0, 0] > got["facts"][1, 0] > 0


def test_the_briefs_day_counts_only_while_it_is_still_ahead(matcher):
    got = measured(
        matcher,
        ["Big customs op at Fernwick dock this Friday", "Big customs op at Fernwick dock today"],
        published="2026-11-02T09:00:00Z",  # a Monday: this Friday is 6 November
    )
    assert got["day"][0, 0] == 1.0
    on_the_day = measured(
        matcher, ["Big customs op at Fernwick dock today"], published="2026-11-06T09:00:00Z"
    )
    assert on_the_day["day"][0, 0] == 0.0  # written on the day: nothing told in advance


def test_a_weekday_in_an_item_without_a_publication_time_names_no_day(matcher):
    got = measured(matcher, ["Officers at Fernwick dock on Friday"], published=None)
    assert got["day"][0, 0] == 0.0


def test_the_same_day_at_another_hour_is_another_event(matcher):
    got = measured(
        matcher,
        ["Heritage walk at Fernwick dock on Friday 6 November at 2pm, all welcome"],
    )
    assert got["day"][0, 0] == 0.0  # 14:00 is far from the brief's 05:15


def test_an_item_that_names_only_another_coming_day_announces_another_occasion(matcher):
    other = measured(matcher, ["Fernwick dock open day on Saturday 21 November, free entry"])
    same = measured(matcher, ["Something big at Fernwick dock on Friday 6 November"])
    assert other["other_day"][0, 0] == 1.0
    assert same["other_day"][0, 0] == 0.0 and same["day"][0, 0] == 1.0


def test_falling_behind_another_watched_brief_is_measured_only_with_two(matcher):
    text = ["Council confirms the Orchard Road depot in Fernwick will close in March"]
    alone = measured(matcher, text)
    both = measured(matcher, text, briefs=(DOCK, DEPOT))
    assert alone["behind"][0, 0] == 0.0
    assert both["behind"][0, 0] < 0.0 and both["behind"][0, 1] == 0.0


def test_an_item_naming_another_watched_briefs_names_falls_behind_it_in_facts(matcher):
    text = ["Council confirms the Orchard Road depot in Fernwick will close in March"]
    alone = measured(matcher, text)
    both = measured(matcher, text, briefs=(DOCK, DEPOT))
    assert alone["facts_behind"][0, 0] == 0.0  # one brief: nothing to fall behind
    assert both["facts"][0, 0] > 0.0  # "Fernwick" is a name of the dock brief too...
    assert both["facts_behind"][0, 0] < 0.0  # ...but the depot brief's names fit better
    assert both["facts_behind"][0, 1] == 0.0


def test_a_dated_item_that_names_none_of_the_briefs_times_costs_evidence(matcher):
    brief = matcher.prepare_brief(DOCK)
    said = "Forty-two officers will search trailers at the Fernwick dock east gate"
    texts = {
        "no time": item(said),
        "its day": item(said + " on Friday"),  # published Monday 2 November: Friday the 6th
        "its month": item(said + " later this month", published="2026-11-01T09:00:00Z"),
        "undated": item(said, published=None),  # its time cannot be known: no penalty
    }
    prepared = matcher.prepare_items(list(texts.values()))
    evidence = dict(zip(texts, matcher.evidence([brief], prepared)[:, 0], strict=True))
    measured_ = measure([brief], prepared)
    assert list(measured_["dated"][:, 0]) == [1.0, 1.0, 1.0, 0.0]
    assert list(measured_["month"][:, 0]) == [0.0, 0.0, 1.0, 0.0]
    assert evidence["no time"] < evidence["its month"] < evidence["its day"]
    assert evidence["no time"] < evidence["undated"]


def test_another_coming_day_in_the_briefs_month_is_not_the_briefs_time(matcher):
    brief = matcher.prepare_brief(DOCK)
    said = "Forty-two officers at the Fernwick dock east gate"
    texts = [said + " later this month", said + " on Saturday 21 November"]
    prepared = matcher.prepare_items([item(t, published="2026-11-01T09:00:00Z") for t in texts])
    matcher.read_days(prepared)  # `score` reads them only for items that could still alert
    got = measure([brief], prepared)
    assert list(got["month"][:, 0]) == [1.0, 1.0]  # both fall in the brief's November...
    assert list(got["other_day"][:, 0]) == [0.0, 1.0]  # ...but the 21st is another day
    later, other = matcher.evidence([brief], prepared)[:, 0]
    assert other < later - 2.0  # no month timing, and the other day counts against it


def test_the_background_tail_extrapolates_beyond_its_largest_value():
    values = np.random.default_rng(1).exponential(0.05, 5000) + 0.2
    tail = fit_tail(values)
    assert tail.rate(0.2) == pytest.approx(1.0)
    assert tail.rate(float(np.median(values))) == pytest.approx(0.5, abs=0.02)
    beyond = tail.rate(values.max() + 0.2)
    assert 0 < beyond < 1 / 5000  # rarer than anything seen, not impossible
    assert tail.evidence_at(tail.rate(0.9)) == pytest.approx(0.9, abs=1e-6)


def test_the_built_in_topic_tail_makes_a_close_post_rare_and_a_distant_one_common():
    tail = default_topic_tail("social")
    assert tail.rate(0.1) >= 0.5
    assert tail.rate(0.6) < 1e-3


def test_a_streams_volume_comes_from_its_publication_times():
    start = datetime(2028, 1, 1, tzinfo=UTC)
    times = [start + timedelta(hours=n) for n in range(24 * 14)]  # one an hour, two weeks
    assert items_per_week(times) == pytest.approx(168, rel=0.05)
    assert items_per_week([None, None], default=123.0) == 123.0


def test_leak_time_of_a_batch_is_each_pairs_window(matcher):
    """The batch form (one array for a thousand briefs) says what Brief.is_leak_time says:
    the window's first and last days count, a time is read in UTC ("23:30 at -05:00" on the
    6th is the 7th), and an item without a time or a brief without a window is leak time."""
    from matcher.scoring import leak_time

    briefs = [DOCK, DEPOT, Brief(id="T-FROM", codename="C", summary="s", active_from="2026-11-03")]
    prepared = [matcher.prepare_brief(b) for b in briefs]
    times = [None, "2026-10-19T23:59:00Z", "2026-10-20T00:00:00Z", "2026-11-06T23:30:00-05:00",
             "2026-11-06T12:00:00+02:00", "2026-11-02T09:00:00Z", "2027-01-01"]  # fmt: skip
    items = matcher.prepare_items([item("x", published=t) for t in times])
    expected = [[b.is_leak_time(i.item.published_at()) for b in briefs] for i in items]
    assert leak_time(prepared, items).tolist() == expected
    assert expected[3][0] is False and expected[4][0] is True and expected[1][0] is False


def test_the_briefs_are_read_once_per_brief_set_and_background(matcher):
    """Matcher.watched: the same briefs against the same background are read once; another
    brief set, or a new calibration (rarer or commoner names), reads them again."""
    briefs = [matcher.prepare_brief(b) for b in (DOCK, DEPOT)]
    first = matcher.watched(briefs)
    assert matcher.watched(list(briefs)) is first
    assert matcher.watched(briefs[:1]) is not first
    again = matcher.watched(briefs)
    matcher.calibrate(briefs, matcher.prepare_items([item("x")], full=True))
    assert matcher.watched(briefs) is not again
