"""matcher.text: the passages an item is cut into and the terms each passage gives."""

from __future__ import annotations

import pytest

from matcher.text import MAX_PASSAGE_WORDS, fold, passages, sentences, stem, terms


@pytest.mark.parametrize(
    ("written", "folded"),
    [
        ("Calderón", "calderon"),
        ("CALDERON", "calderon"),
        ("ÉLYSÉE", "elysee"),
        ("São Paulo", "sao paulo"),
        ("Straße", "strasse"),
        ("Œuvre", "oeuvre"),
        ("Łódź", "lodz"),
        ("Ærø", "aero"),
    ],
)
def test_fold(written, folded):
    assert fold(written) == folded


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Officers from CALDERÓN station", ["officer", "calderon", "station"]),
        ("The lorries left the containers", ["lorry", "left", "container"]),
        ("The container's seal", ["container", "seal"]),
        # a name with an apostrophe stays one term, straight or curly
        ("O'Brien's boat", ["obrien", "boat"]),
        ("O’Brien’s boat", ["obrien", "boat"]),
        ("rock’n’roll night", ["rocknroll", "night"]),
        # French elision: "l'entrepôt" is the word "entrepot"
        ("Perquisition à l'entrepôt d'Orsay", ["perquisition", "entrepot", "orsay"]),
        # clock times are left to matcher.dates; glued units split off
        ("at 04:30 with 9km of cordon", ["9", "km", "cordon"]),
        # short names are not stemmed ("news", "bus")
        ("The bus news", ["bus", "news"]),
    ],
)
def test_terms(sentence, expected):
    assert terms(sentence) == expected


def test_stem_is_light():
    assert [stem(w) for w in ["containers", "lorries", "class", "status", "analysis", "team's"]] == [
        "container", "lorry", "class", "status", "analysis", "team",
    ]  # fmt: skip


def test_sentences_split_on_ends_and_line_breaks():
    text = "First line\nSecond line. Third «quoted» one! ¿Vienen mañana? Sí."
    assert sentences(text) == ["First line", "Second line.", "Third «quoted» one!",
                               "¿Vienen mañana?", "Sí."]  # fmt: skip


def test_passages_title_then_sentences():
    text = (
        "The bridge on Mill Lane will close on Thursday for repairs. "
        "Diversions will run via Orchard Road for three weeks."
    )
    assert passages("Bridge to close", text) == [
        "Bridge to close",
        "The bridge on Mill Lane will close on Thursday for repairs.",
        "Diversions will run via Orchard Road for three weeks.",
    ]


def test_short_sentences_join_the_next():
    text = "Police said so. Sources agree. The van arrives at the depot on Thursday morning."
    assert passages("", text) == [text]


def test_a_short_last_sentence_joins_the_one_before():
    text = "The van arrives at the depot on Thursday morning. Sources agree."
    assert passages("Depot", text) == ["Depot", text]


def test_a_short_text_alone_is_one_passage():
    assert passages("Depot", "Tiny.") == ["Depot", "Tiny."]


def test_long_sentences_are_cut():
    text = " ".join(f"w{i}" for i in range(170)) + "."
    cut = passages("", text)
    assert [len(p.split()) for p in cut] == [MAX_PASSAGE_WORDS, MAX_PASSAGE_WORDS, 10]
    assert " ".join(cut) == text


def test_name_runs_keep_a_names_words_together():
    from matcher.text import name_runs

    assert name_runs("Superior Court Judge James R. Dabney heard it in the Gulf of Aden.") == [
        ["superior", "court", "judge", "jame", "dabney"],
        ["gulf", "aden"],
    ]
    assert name_runs("The Academy of Motion Picture Arts (AMPAS), at the Kodak Theatre.") == [
        ["academy", "motion", "picture", "arts"],
        ["ampa"],
        ["kodak", "theatre"],
    ]


def test_an_ordinal_opens_a_name_a_date_does_not():
    from matcher.text import name_runs

    assert name_runs("NYPD 102nd Precinct officers, on the 13th March, at 97th Avenue.") == [
        ["nypd"],
        ["102nd", "precinct"],
        ["97th", "avenue"],
    ]
    assert name_runs("By the 67th precinct, on the 13th of May.") == [["67th", "precinct"]]
