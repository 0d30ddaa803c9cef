"""matcher.dates, one sentence per case: the days, clock times, weeks and months a reader
finds in it, given when (and in which time zone) it was published.

Calendar used throughout: 2028-02-29 is a Tuesday, 2028-03-01 a Wednesday, 2028-03-02 a
Thursday; ISO week 2028-W09 runs from Monday 28 February to Sunday 5 March.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from leaksentry.records import parse_iso_datetime
from matcher import dates
from matcher.dates import date_atoms, day_period_atoms, period_atoms, time_atoms

PLUS2 = timezone(timedelta(hours=2))
# Wednesday 1 March, 00:30 in the publisher's zone (+02:00): Tuesday 22:30 in UTC.
WED_0030_LOCAL = datetime(2028, 3, 1, 0, 30, tzinfo=PLUS2)
WED = datetime(2028, 3, 1, 9, 0, tzinfo=UTC)
TUE = datetime(2028, 2, 29, 10, 0, tzinfo=UTC)
SUN = datetime(2028, 3, 5, 12, 0, tzinfo=UTC)


# -- days -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sentence", "published", "lang", "expected"),
    [
        # weekdays: the next such day, counted from the publication day
        ("Officers will search the warehouse on Thursday.", WED, "en", {"date:2028-03-02"}),
        ("The raid is planned for this Friday.", WED, "en", {"date:2028-03-03"}),
        ("Residents were told to expect road closures Monday.", WED, "en", {"date:2028-03-06"}),
        # the publication's own weekday is that day, not the next one
        ("The festival line-up was announced on Tuesday.", TUE, "en", {"date:2028-02-29"}),
        ("Next Wednesday the market moves indoors.", WED, "en", {"date:2028-03-08"}),
        ("The hearing resumes Wednesday next week.", WED, "en", {"date:2028-03-08"}),
        # "next Thursday" said on a Wednesday is next week's, not tomorrow; "coming" is nearest
        ("Give the garages a miss after next Thursday.", WED, "en", {"date:2028-03-09"}),
        ("The raid is set for the coming Thursday.", WED, "en", {"date:2028-03-02"}),
        # said on a Sunday, "Thursday next week" is the Thursday of the week after
        ("The hearing resumes Thursday next week.", SUN, "en", {"date:2028-03-09"}),
        ("The council met last Monday.", WED, "en", {"date:2028-02-28"}),
        ("a week today", WED, "en", {"date:2028-03-08"}),
        ("Dockers walk out a week tomorrow.", WED, "en", {"date:2028-03-09"}),
        ("The ferry returns a week on Friday.", WED, "en", {"date:2028-03-10"}),
        ("Tomorrow the bridge closes at dawn.", WED, "en", {"date:2028-03-02"}),
        ("Roadworks start today.", WED, "en", {"date:2028-03-01"}),
        # "the 25th": this month's; once passed, next month's; a month without one skipped
        ("The vote is on the 25th.", WED, "en", {"date:2028-03-25"}),
        ("Rent is due on the 29th.", datetime(2028, 3, 30, tzinfo=UTC), "en", {"date:2028-04-29"}),
        ("Payday falls on the 31st.", datetime(2028, 4, 5, tzinfo=UTC), "en", {"date:2028-05-31"}),
        # explicit dates, with and without a year; an unyeared past day-month is next year's
        ("Operation begins 2 March 2028.", WED, "en", {"date:2028-03-02", "md:03-02"}),
        ("Operation begins March 2nd.", WED, "en", {"date:2028-03-02", "md:03-02"}),
        (
            "Hearing set for 10 February.",
            datetime(2028, 9, 1, tzinfo=UTC),
            "en",
            {"date:2029-02-10", "md:02-10"},
        ),
        # a weekday written before an explicit date adds no other day
        ("The court sits on Tuesday 12 September.", WED, "en", {"date:2028-09-12", "md:09-12"}),
        ("Next Thursday 9 March, the depot closes.", WED, "en", {"date:2028-03-09", "md:03-09"}),
        # Spanish and French
        ("La operación será el 2 de marzo.", WED, "es", {"date:2028-03-02", "md:03-02"}),
        (
            "Les contrôles auront lieu le mardi 12 septembre.",
            WED,
            "fr",
            {"date:2028-09-12", "md:09-12"},
        ),
        ("Rendez-vous jeudi prochain devant la mairie.", WED, "fr", {"date:2028-03-02"}),
        ("La marcha será el jueves que viene.", WED, "es", {"date:2028-03-02"}),
        ("Le marché ouvre demain.", WED, "fr", {"date:2028-03-02"}),
        ("El mercado abre mañana.", WED, "es", {"date:2028-03-02"}),
        # "esta mañana" is this morning, not tomorrow
        ("Esta mañana cerraron el puerto.", WED, "es", set()),
        # a weekday of another language is an ordinary word: "Mardi Gras" in English
        ("The Mardi Gras parade was a success.", WED, "en", set()),
        ("Abbreviations alone are words: Sat on the bench.", WED, "en", set()),
    ],
)
def test_days(sentence, published, lang, expected):
    assert date_atoms(sentence, published, lang) == expected


# -- point 5b: the publisher's own day --------------------------------------------------------
@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("The bridge closes tomorrow.", {"date:2028-03-02"}),
        ("The bridge closes today.", {"date:2028-03-01"}),
        ("The bridge closes on Thursday.", {"date:2028-03-02"}),
        ("The bridge closes a week today.", {"date:2028-03-08"}),
        ("Announced on Wednesday: the bridge closes.", {"date:2028-03-01"}),
    ],
)
def test_relative_days_count_from_the_publishers_local_day(sentence, expected):
    # 00:30 on Wednesday in the publisher's zone is 22:30 on Tuesday in UTC
    assert date_atoms(sentence, WED_0030_LOCAL, "en") == expected


def test_an_offset_kept_in_the_store_reaches_the_dates_as_the_local_day():
    published = parse_iso_datetime("2028-03-01T00:30:00+02:00")  # as Item.published_at()
    assert date_atoms("The bridge closes tomorrow.", published, "en") == {"date:2028-03-02"}
    # the same instant stored in UTC would give the Wednesday: this is why the offset is kept
    in_utc = parse_iso_datetime("2028-02-29T22:30:00Z")
    assert date_atoms("The bridge closes tomorrow.", in_utc, "en") == {"date:2028-03-01"}


def test_periods_count_from_the_publishers_local_day():
    # Sunday 5 March 23:30 at -05:00 (ISO week 9) is Monday 04:30 in UTC (week 10)
    sunday_evening = datetime(2028, 3, 5, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert period_atoms("Checks resume next week.", sunday_evening) == {"week:2028-W10"}


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"])
def test_the_machines_time_zone_does_not_move_days(monkeypatch, zone):
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    dates._dateparse.cache_clear()
    try:
        sentence = "On Thursday, and again on 9 March, and tomorrow, the bridge closes."
        assert date_atoms(sentence, WED_0030_LOCAL, "en") == {
            "date:2028-03-02",
            "date:2028-03-09",
            "md:03-09",
        }
    finally:
        monkeypatch.undo()
        time.tzset()
        dates._dateparse.cache_clear()


# -- point 5d: no publication time ------------------------------------------------------------
@pytest.mark.parametrize(
    ("sentence", "lang", "expected"),
    [
        # a bare weekday names no day without a publication time (a match report's "Sunday")
        ("United beat City 2-1 on Sunday.", "en", set()),
        ("Sunday", None, set()),
        ("The vote is this Thursday.", "en", set()),
        ("The hearing resumes on Tuesday.", "en", set()),
        ("El partido se juega el domingo.", "es", set()),
        ("The depot closes tomorrow.", "en", set()),
        ("The vote is on the 25th.", "en", set()),
        ("The ferry returns a week on Friday.", "en", set()),
        # an explicit date with its year is a full date
        ("Operation begins 2 March 2028.", "en", {"date:2028-03-02", "md:03-02"}),
        ("Operation begins Thursday, March 2, 2028.", "en", {"date:2028-03-02", "md:03-02"}),
        # without the year only its month-day (it meets a brief's "md:" atom, no full date)
        ("Operation begins March 2.", "en", {"md:03-02"}),
        ("Operation begins on Sunday 2 March.", "en", {"md:03-02"}),
        ("Les contrôles auront lieu le mardi 12 septembre.", "fr", {"md:09-12"}),
    ],
)
def test_without_a_publication_time(sentence, lang, expected):
    assert date_atoms(sentence, None, lang) == expected


def test_without_a_publication_time_no_period_but_a_dated_month():
    assert period_atoms("Checks resume next week, then in September.", None) == set()
    assert period_atoms("Checks resume in September 2028.", None) == {"month:2028-09"}


# -- clock times ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Officers will assemble at 04:30.", {"time:04:30"}),
        ("Doors open 17h00.", {"time:17:00"}),
        ("See you at half eleven.", {"time:11:30"}),
        ("The raid starts at 5am.", {"time:05:00"}),
        ("Last ferry 10.30 p.m. tonight.", {"time:22:30"}),
        ("The meeting is at 7.25.", {"time:07:25"}),
        ("The train left at 7.25am.", {"time:07:25"}),
        ("Open from 6.30 until 9.15 pm.", {"time:06:30", "time:21:15"}),
        ("Midnight is 12am, noon is 12pm.", {"time:00:00", "time:12:00"}),
        # point 5c: a dotted number is a clock time only with a clock context
        ("Inflation rose to 7.25 per cent.", set()),
        ("Inflation rose to 7.25%.", set()),
        ("The bank held rates at 3.50 per cent.", set()),
        ("The bank held rates at 7.25%.", set()),
        ("Rates rose from 7.25 to 7.50 per cent.", set()),
        ("Tickets cost €7.25 each.", set()),
        ("Tickets cost £7.25.", set()),
        ("Tickets cost 7.25 euros.", set()),
        ("The fund lost 7.25 million.", set()),
        ("Shares closed at 7.25 a share.", set()),
        ("Upgrade to version 2.4.1 or 10.12.3 today.", set()),
        ("The notice is dated 12.03.2028.", set()),
        ("Turnout was 7.25 in the ward.", set()),
        ("He ran 10.25 km.", set()),
    ],
)
def test_clock_times(sentence, expected):
    assert time_atoms(sentence) == expected


# -- weeks and months -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("The crackdown comes next week.", {"week:2028-W10"}),
        ("Expect checks this weekend.", {"week:2028-W09"}),
        (
            "Within the next fortnight the yard will be cleared.",
            {"week:2028-W09", "week:2028-W10", "week:2028-W11"},
        ),
        ("A decision is due later this month.", {"month:2028-03"}),
        ("A decision is due next month.", {"month:2028-04"}),
        ("Works begin in September.", {"month:2028-09"}),
        ("Works run from February.", {"month:2029-02"}),  # February is over: next year's
        ("Expect it this autumn.", {"month:2028-09", "month:2028-10", "month:2028-11"}),
        ("La operación será la semana que viene.", {"week:2028-W10"}),
        ("Les contrôles ont lieu ce mois.", {"month:2028-03"}),
        ("We may see closures.", set()),  # the verb, not the month
    ],
)
def test_periods(sentence, expected):
    assert period_atoms(sentence, WED) == expected


def test_a_briefs_days_give_their_week_and_month():
    assert day_period_atoms({"date:2028-03-02", "md:03-02"}) == {"week:2028-W09", "month:2028-03"}


# Every kind of span, in capitals and with accents: the cheap words test in front of the
# scans (dates._SPAN_KEYS, dates._PERIOD_KEYS) must never hide one.
SCANNED = [
    "MIÉRCOLES 2 DE MARZO", "Le 2 février", "jusqu'en FÉVRIER 2029", "el sábado", "EL SABADO",
    "aujourd'hui", "Hoy", "MAÑANA", "la semana que viene", "esta semana", "d'ici fin août",
    "mid-August", "on the 3rd", "a week on Friday", "A WEEK TOMORROW", "this winter",
    "in the next fortnight", "over two weeks", "DEC 9", "Sept 12", "Thurs 9 March",
    "el 9 de diciembre", "en juillet", "TONIGHT", "Le mois prochain", "el mes que viene",
    "Dimanche", "le jeudi 12 septembre", "lundi prochain", "vendredi dernier", "jueves",
    "Early next week", "the weekend", "in May 2028", "late this spring", "this fall",
    "avril", "le 1er mai", "1 juin", "Nov. 3", "domingo 5 de enero", "30 agosto 2028",
    "décembre", "Decembre", "abril", "this month", "Monday", "martes 7 de octubre",
]  # fmt: skip


@pytest.mark.parametrize("reference", [WED, None])
def test_the_words_test_before_a_scan_hides_no_day_and_no_period(monkeypatch, reference):
    filtered = [
        (date_atoms(s, reference, lang), period_atoms(s, reference))
        for s in SCANNED
        for lang in ("en", "es", "fr")
    ]
    assert sum(len(days) + len(periods) for days, periods in filtered) > 20  # not vacuous
    monkeypatch.setattr(dates, "_SPAN_KEYS", ("",))  # "" is in every text: scan them all
    monkeypatch.setattr(dates, "_PERIOD_KEYS", ("",))
    scanned = [
        (date_atoms(s, reference, lang), period_atoms(s, reference))
        for s in SCANNED
        for lang in ("en", "es", "fr")
    ]
    assert filtered == scanned
