"""How much a shared term says: its rarity in the language at large, not in this stream.

A brief's specific facts (names, places, numbers) are what tell its leak from the same kind
of story elsewhere. How specific a word is comes from wordfreq's general-language
frequencies (Zipf scale: 0 = never seen in billions of words, 7 = "the"). It is fixed, so
the evidence of an (item, brief) pair never depends on what else is in the batch: adding
ten thousand tweets to a stream changes no pair's evidence. The stream's own habits (a
local paper that names its town in every article) enter through the per-brief background
model instead (matcher.calibrate).

The unit is log10 of "one item in how many": an item of a few hundred words contains a word
of Zipf frequency z with probability of about 10^(z - 6.5), so such a word shared with a
brief is worth 6.5 - z. A word never seen (a fictional town, a rare surname) is capped at
MAX_TERM_INFO: one item in ten thousand, not one in a billion, because local names are
common in local streams.
"""

from __future__ import annotations

import functools

ITEM_WORDS_LOG10 = 2.5  # a typical item: a few hundred words
ZIPF_PER_ITEM = 9.0 - ITEM_WORDS_LOG10  # Zipf z: 10^(z-9) per word, times 10^2.5 words
MAX_TERM_INFO = 4.0
NUMBER_INFO = 2.0  # a multi-digit number: about one item in a hundred names any given one


@functools.lru_cache(maxsize=200_000)
def term_info(term: str, lang: str = "en") -> float:
    """log10 of how many ordinary items it takes to find one containing `term` (0..4)."""
    if term.replace(".", "").isdigit():
        return _number_info(term)
    from wordfreq import zipf_frequency  # imported on first use (loads its tables)

    zipf = max(zipf_frequency(word, lang) for word in _written(term))
    return min(MAX_TERM_INFO, max(0.0, ZIPF_PER_ITEM - zipf))


def _written(term: str) -> tuple[str, ...]:
    """The words a term may stand for (`matcher.text.stem` took a final "s" off): "jame" is
    "James", "texa" is "Texas". The commonest of them is what the term is worth; otherwise
    every name ending in "s" would count as a name never seen."""
    if term.endswith("y"):
        return term, term + "s", term[:-1] + "ies"
    return term, term + "s"


def _number_info(term: str) -> float:
    """Numbers by shape: "6" or "12" are everywhere, "160" or "41.50" far less so.
    (wordfreq folds digits together, so its figure for a number says little.)"""
    digits = term.replace(".", "")
    if len(digits) <= 1:
        return 0.5
    if len(digits) == 2:
        return 1.0
    if len(digits) == 4 and digits.startswith(("19", "20")) and "." not in term:
        return 1.0  # a year
    if "." in term or len(digits) >= 4:
        return NUMBER_INFO + 0.5  # "41.50", "1100", "31900": precise figures
    return NUMBER_INFO
