"""Spelled-out numbers to digits, so "a hundred and sixty officers" meets "160 officers".

Leaks rewrite numbers in words; the brief writes them in digits. Only plain cardinals in
English, Spanish and French are handled (the words a reader writes for counts); anything
vaguer ("several dozen") is left as words.
"""

from __future__ import annotations

import re

_UNITS = {
    # English
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
    # Spanish (folded, no accents)
    "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7, "ocho": 8,
    "nueve": 9, "diez": 10, "once": 11, "doce": 12, "veinte": 20, "treinta": 30,
    "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70, "ochenta": 80,
    "noventa": 90, "trece": 13, "catorce": 14, "quince": 15, "dieciseis": 16,
    "diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "veintiuno": 21, "veintidos": 22,
    "veintitres": 23, "veinticuatro": 24, "veinticinco": 25, "veintiseis": 26,
    "veintisiete": 27, "veintiocho": 28, "veintinueve": 29, "doscientos": 200, "trescientos": 300, "cuatrocientos": 400,
    "quinientos": 500, "seiscientos": 600, "setecientos": 700, "ochocientos": 800,
    "novecientos": 900,
    # French (folded)
    "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "sept": 7, "huit": 8, "neuf": 9,
    "dix": 10, "onze": 11, "douze": 12, "vingt": 20, "trente": 30, "quarante": 40,
    "cinquante": 50, "soixante": 60, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16,
    "vingts": 20,
}  # fmt: skip
_SCALES = {"dozen": 12, "hundred": 100, "cien": 100, "ciento": 100, "cent": 100, "cents": 100,
           "thousand": 1000, "mil": 1000, "mille": 1000}  # fmt: skip
_JOINERS = {"and", "y", "et", "a"}
_NUMBER_WORDS = set(_UNITS) | set(_SCALES)
# Words that are numbers in one language and ordinary words in another (fr "sept" = 7 but
# en "Sept" = September; es "once" = 11): only read as numbers next to another number word.
_AMBIGUOUS = {"once", "sept", "a", "one", "mil", "cent", "seize"}
# French counts past sixty: "soixante-dix" = 70, "quatre-vingts" = 80, "quatre-vingt-dix" = 90.
_VIGESIMAL = {"soixante", "vingt", "vingts"}


def spell_out_to_digits(tokens: list[str]) -> list[str]:
    """Replace runs of number words by one digit token: ["a", "hundred", "and", "sixty"] ->
    ["160"]. Hyphenated forms ("forty-one") arrive already split by the tokeniser."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i] not in _NUMBER_WORDS and tokens[i] != "a":  # no run starts here
            out.append(tokens[i])
            i += 1
            continue
        run_end, value = _read_number(tokens, i)
        if run_end == i + 1 and tokens[i] in _SCALES and out and NUMBER.match(out[-1]):
            run_end = i  # "40 thousand", "2 dozen": the scale word stays for add_amounts
        if run_end > i:
            out.append(str(value))
            after_end, cents = _read_number(tokens, run_end)
            if after_end > run_end and 0 < value < 1000 and 10 <= cents < 100:
                out.append(f"{value}.{cents}")  # "forty-one fifty": also 41.50, as said of prices
            i = run_end
        else:
            out.append(tokens[i])
            i += 1
    return out


_MAGNITUDES = {"dozen": 12, "hundred": 100, "bn": 10**9, "billion": 10**9, "mn": 10**6, "million": 10**6, "millions": 10**6,
               "thousand": 1000, "milliard": 10**9, "milliards": 10**9, "millones": 10**6}  # fmt: skip


def add_amounts(tokens: list[str]) -> list[str]:
    """Also give "1.2 billion", "1.2bn" and "1200 million" as one value ("1200000000"), so
    an amount meets itself whatever the scale word. The original tokens stay."""
    out: list[str] = []
    for i, token in enumerate(tokens):
        out.append(token)
        if i and token in _MAGNITUDES and NUMBER.match(tokens[i - 1]):
            try:
                value = float(tokens[i - 1]) * _MAGNITUDES[token]
            except ValueError:
                continue
            if value == int(value):
                out.append(str(int(value)))
    return out


def _read_number(tokens: list[str], start: int) -> tuple[int, int]:
    """(end, value) of the number-word run starting at `start`; end == start when none."""
    total = current = 0
    end = start
    seen = 0
    last = ""
    i = start
    if i < len(tokens) and tokens[i] == "a" and i + 1 < len(tokens) and tokens[i + 1] in _SCALES:
        current, i = 1, i + 1  # "a hundred"
    while i < len(tokens):
        word = tokens[i]
        if word in _UNITS:
            value = _UNITS[word]
            if word in ("vingt", "vingts") and last == "quatre":
                current += 76  # "quatre-vingts": 4 becomes 80
            elif seen and last in _VIGESIMAL and 10 <= value < 20 and current % 20 == 0:
                current += value  # "soixante-dix", "quatre-vingt-onze"
            elif seen and not _fits(current, value):
                break  # "forty-one fifty" is two numbers, not ninety-one
            else:
                current += value
        elif word in _SCALES:
            scale = _SCALES[word]
            if scale <= 100:
                current = max(current, 1) * scale
            else:
                total += max(current, 1) * scale
                current = 0
        elif word in _JOINERS and seen and i + 1 < len(tokens) and tokens[i + 1] in _UNITS:
            i += 1
            continue
        else:
            break
        seen += 1
        last = word
        i += 1
        end = i
    if not seen or (seen == 1 and tokens[start] in _AMBIGUOUS):
        return start, 0
    return end, total + current


def _fits(current: int, value: int) -> bool:
    """Can `value` extend `current` ("sixty" + "one" yes, "one" + "fifty" no)?"""
    if value < 10:
        return current % 10 == 0
    if value < 100:
        return current % 100 == 0
    return current % 1000 == 0


def is_number_word(word: str) -> bool:
    return word in _NUMBER_WORDS


NUMBER = re.compile(r"^\d+(?:[.,]\d+)*$")


def normalise_number(token: str) -> str:
    """'31,900' and '31.900' -> '31900'; '2.3' and '9.8' stay decimals; '04' -> '4';
    '1,234.56' and '1.234,56' -> '1234.56' (the last separator is the decimal one)."""
    if not NUMBER.match(token):
        return token
    if "," in token and "." in token:
        decimal = "," if token.rfind(",") > token.rfind(".") else "."
        whole, frac = token.rsplit(decimal, 1)
        groups = whole.split("," if decimal == "." else ".")
        if decimal in whole or not (1 <= len(groups[0]) <= 3):
            return token
        if all(len(g) == 3 for g in groups[1:]):
            return f"{int(''.join(groups))}.{frac}"
        return token
    parts = re.split(r"[.,]", token)
    if len(parts) > 1 and all(len(p) == 3 for p in parts[1:]):
        return str(int("".join(parts)))  # thousands separators
    if len(parts) == 2:
        whole, frac = parts
        return f"{int(whole)}.{frac}"
    if len(parts) == 1:
        return str(int(token))
    return token  # version numbers such as 7.4.2 stay as written
