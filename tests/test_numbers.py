"""matcher.numbers, through matcher.text.terms (how the matcher sees a sentence): the
numbers a reader finds in each sentence, as digits whatever way they were written."""

from __future__ import annotations

import pytest

from matcher.numbers import normalise_number, spell_out_to_digits
from matcher.text import terms


def numbers(sentence: str) -> list[str]:
    """The terms of a sentence that are numbers, in order."""
    return [t for t in terms(sentence) if t[0].isdigit()]


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        # spelled-out counts
        ("A hundred and sixty officers will take part.", ["160"]),
        ("Two dozen vans are on standby.", ["24"]),
        ("Thirty-one containers were opened.", ["31"]),
        ("One hundred and one dalmatians.", ["101"]),
        ("Three thousand two hundred tickets sold.", ["3200"]),
        ("Five hundred thousand litres leaked.", ["500000"]),
        ("A thousand marchers are expected.", ["1000"]),
        ("Twenty five arrests.", ["25"]),
        # two numbers side by side stay two ("forty-one fifty" is a price: also 41.50)
        ("The fare is forty-one fifty.", ["41", "41.50", "50"]),
        ("Seats cost twelve ninety-nine.", ["12", "12.99", "99"]),
        # words that are numbers only next to another number word
        ("Checks happen once a week.", []),
        ("One of them spoke.", []),
        # Spanish
        ("Participarán ciento veinte agentes.", ["120"]),
        ("Doscientos cincuenta agentes y mil doscientos vecinos.", ["250", "1200"]),
        ("Quince agentes y veinticinco vecinos.", ["15", "25"]),
        ("Dieciocho furgones.", ["18"]),
        # French, including the counts past sixty
        ("Vingt-deux policiers et deux mille manifestants.", ["22", "2000"]),
        ("Quatre-vingts policiers seront mobilisés.", ["80"]),
        ("Soixante-dix gendarmes et quatre-vingt-dix-neuf CRS.", ["70", "99"]),
        ("Soixante et onze interpellations.", ["71"]),
        ("Quatorze fourgons, quinze motos et treize voitures.", ["14", "15", "13"]),
        ("Police will seize the boat.", []),  # the English verb
        ("Some 40 thousand people and 2 dozen eggs.", ["40", "40000", "2", "24"]),
        # thousands separators and decimals
        ("The port handled 31,900 containers.", ["31900"]),
        ("Le port a traité 31.900 conteneurs.", ["31900"]),
        ("Shares fell 2.3 points.", ["2.3"]),
        ("La tasa subió al 2,5.", ["2.5"]),
        ("The bill came to 1,234.56 euros.", ["1234.56"]),
        ("La facture: 1.234,56 euros.", ["1234.56"]),
        ("Upgrade to 7.4.2 now.", ["7.4.2"]),
        ("Unit 04 reported.", ["4"]),
        # amounts with scale words: the written number and the value
        ("A €1bn contract.", ["1", "1000000000"]),
        ("A 1 billion contract.", ["1", "1000000000"]),
        ("A 1,000 million contract.", ["1000", "1000000000"]),
        ("A 1.2bn deal.", ["1.2", "1200000000"]),
        ("Un contrat de 1,5 millones.", ["1.5", "1500000"]),
        # a currency sign makes "m" and "k" scale words ("9m" alone may be metres)
        ("The council paid £2.5m for the site.", ["2.5", "2500000"]),
        ("A $40k bonus.", ["40", "40000"]),
        ("A 9m wall.", ["9"]),
    ],
)
def test_numbers_in_a_sentence(sentence, expected):
    assert numbers(sentence) == expected


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("31,900", "31900"),
        ("1.000.000", "1000000"),
        ("2.3", "2.3"),
        ("2,5", "2.5"),
        ("04", "4"),
        ("7.4.2", "7.4.2"),
        ("1,234.56", "1234.56"),
        ("1.234,56", "1234.56"),
        ("12,34.5", "12,34.5"),  # not a number format anyone writes: left as it is
        ("abc", "abc"),
    ],
)
def test_normalise_number(token, expected):
    assert normalise_number(token) == expected


def test_spell_out_keeps_other_words():
    tokens = ["a", "hundred", "and", "sixty", "officers", "and", "two", "dogs"]
    assert spell_out_to_digits(tokens) == ["160", "officers", "and", "2", "dogs"]
