"""Plain-text helpers: passages, normalised words, terms and a detail's key terms."""

from __future__ import annotations

import re
import unicodedata

from matcher.numbers import add_amounts, normalise_number, spell_out_to_digits

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-ZÀ-Þ0-9¿¡])")
_WORD = re.compile(r"[a-z0-9]+(?:[.,:'][a-z0-9]+)*")
MIN_PASSAGE_WORDS = 6
MAX_PASSAGE_WORDS = 80

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "without",
        "into",
        "onto",
        "over",
        "under",
        "after",
        "before",
        "during",
        "until",
        "via",
        "per",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "will",
        "would",
        "shall",
        "should",
        "can",
        "could",
        "may",
        "might",
        "must",
        "do",
        "does",
        "did",
        "done",
        "has",
        "have",
        "had",
        "not",
        "no",
        "nor",
        "so",
        "than",
        "then",
        "that",
        "this",
        "these",
        "those",
        "there",
        "their",
        "they",
        "them",
        "its",
        "it",
        "he",
        "she",
        "his",
        "her",
        "we",
        "our",
        "you",
        "your",
        "i",
        "me",
        "my",
        "who",
        "whom",
        "which",
        "what",
        "when",
        "where",
        "why",
        "how",
        "all",
        "any",
        "both",
        "each",
        "few",
        "more",
        "most",
        "other",
        "some",
        "such",
        "only",
        "own",
        "same",
        "too",
        "very",
        "just",
        "also",
        "off",
        "out",
        "up",
        "down",
        "again",
        "further",
        "once",
        "here",
        "about",
        "against",
        "between",
        "through",
        "above",
        "below",
        "location",
        "start",
        "target",
        "resources",
        "arrests",
        "time",
        "date",
        "place",
        "unit",
        "plan",
        "client",
        "reason",
    ]
)


_LETTERS = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d",
                          "ı": "i", "’": "'", "ʼ": "'"})  # fmt: skip
_ELISION = re.compile(r"^(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu)'(?=[a-z])")
_MONEY_SCALE = re.compile(r"([€$£¥])\s?(\d+(?:[.,]\d+)*)\s?([mk])\b", re.IGNORECASE)


def fold(text: str) -> str:
    """Lower case without accents: 'Calderón' and 'calderon' compare equal; letters with
    no accent to drop are spelled out ('Straße' = 'strasse', 'Œuvre' = 'oeuvre', 'Łódź' =
    'lodz'); a curly apostrophe is a straight one."""
    lowered = text.lower().translate(_LETTERS)
    if lowered.isascii():  # nothing to decompose (most text): the same, much sooner
        return lowered
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def sentences(text: str) -> list[str]:
    """Split on line breaks and sentence ends; good enough for news and posts."""
    out = []
    for block in re.split(r"\n+", text or ""):
        block = block.strip()
        if block:
            out.extend(s.strip() for s in _SENTENCE_END.split(block) if s.strip())
    return out


def passages(title: str, text: str) -> list[str]:
    """Title plus sentence passages; very short sentences join the next, long ones are cut."""
    result = [title.strip()] if title and title.strip() else []
    pending = ""
    for sentence in sentences(text):
        pending = f"{pending} {sentence}".strip()
        if len(pending.split()) < MIN_PASSAGE_WORDS:
            continue
        tokens = pending.split()
        for start in range(0, len(tokens), MAX_PASSAGE_WORDS):
            result.append(" ".join(tokens[start : start + MAX_PASSAGE_WORDS]))
        pending = ""
    if pending:
        if result and len(result) > (1 if title else 0):
            result[-1] = f"{result[-1]} {pending}"
        else:
            result.append(pending)
    return result


def stem(word: str) -> str:
    """A light English plural/possessive strip: 'containers' -> 'container', 'lorries' ->
    'lorry'. Enough for term overlap; a full stemmer conflates names."""
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 4 and not word[-1].isdigit():
        if word.endswith("ies"):
            return word[:-3] + "y"
        if word.endswith("s") and not word.endswith(("ss", "us", "is")):
            return word[:-1]
    return word


def terms(text: str) -> list[str]:
    """Comparable terms of a text: folded, stemmed, numbers in digits, filler dropped.

    Clock times ("04:30") are left to matcher.dates; numbers keep their value whatever
    the format ("31,900", "thirty"), so they meet the brief's digits.
    """
    tokens = []
    text = _MONEY_SCALE.sub(_money_scale, text or "")
    for token in words(text):
        if ":" in token:
            continue
        if "'" in token:  # "O'Brien's" -> "obrien", "l'entrepôt" -> "entrepot"
            token = _ELISION.sub("", token.removesuffix("'s")).replace("'", "")
        if token[0].isdigit():
            tokens.extend(_split_hyphenless(normalise_number(token)))
        else:
            tokens.append(token)
    tokens = add_amounts(spell_out_to_digits(tokens))
    return [stem(t) for t in tokens if t not in STOPWORDS and (len(t) > 1 or t.isdigit())]


def _money_scale(m: re.Match) -> str:
    """'£2.5m' -> '£2.5 million', '$40k' -> '$40 thousand': after a currency sign "m" and
    "k" are scale words ("9m" alone may be metres)."""
    return f"{m.group(1)}{m.group(2)} {'million' if m.group(3).lower() == 'm' else 'thousand'}"


_NUMBER_UNIT = re.compile(r"(\d+(?:\.\d+)?)([a-z]{1,3})")


def _split_hyphenless(token: str) -> list[str]:
    """'9h' -> ['9', 'h'] is not wanted; only split glued number+unit like '41g' or '9km'."""
    match = _NUMBER_UNIT.fullmatch(token)
    if match and match.group(2) not in ("st", "nd", "rd", "th", "am", "pm", "er"):
        return [match.group(1), match.group(2)]
    return [token]


# A brief's specific facts are its names and numbers: the words a writer capitalises inside a
# sentence ("Marren Dock", "Orsolo"), acronyms ("ABC"), and figures ("38", "41.50"). Generic
# words ("police", "containers") tell the topic, which the embedding reads; names and numbers
# tell *which* operation. Weekday and month names are left to matcher.dates.
_LABEL = re.compile(r"^\s*[A-Za-z][A-Za-z /]{1,24}:\s*")
_NOT_NAMES = frozenset(
    re.findall(
        r"\w+",
        "monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur "
        "thurs fri sat sun january february march april may june july august september "
        "october november december jan feb mar apr jun jul aug sep sept oct nov dec i we our",
    )
)


def specific_terms(text: str) -> set[str]:
    """The names and numbers of a brief's text, as terms (see `terms`).

    A capitalised word counts when it does not open its sentence; when it opens it, when the
    next word is capitalised too ("Orsolo Pharmaceuticals will ...") or the word is rare in
    the language ("Fernwick dock, east gate"; not "Start 05:15"). A detail's label
    ("Location:", "Target:") is not part of its text."""
    found: set[str] = set()
    for sentence in sentences(_LABEL.sub("", text or "")):
        tokens = sentence.split()
        for n, token in enumerate(tokens):
            word = token.strip(_PUNCTUATION)
            if _DIGIT.search(word):
                found.update(_figure_terms(word))
            elif word and _is_name(word, n, tokens):
                found.update(t for t in terms(word) if t not in _NOT_NAMES)
    return found


def _figure_terms(word: str) -> set[str]:
    """A figure's numbers and the names glued to it ("AK-47s": "ak", "47"), not its unit:
    "4,051-yard" is the number 4051, and "yard" is no name."""
    found = set()
    for part in word.split("-"):
        if _DIGIT.search(part):
            found.update(t for t in terms(part) if _DIGIT.search(t))
        elif part[:1].isupper():
            found.update(t for t in terms(part) if t not in _NOT_NAMES)
    return found


_PUNCTUATION = "\"'()[],.;:!?‘’“”"
_DIGIT = re.compile(r"\d")
ORDINAL = re.compile(r"\d+(?:st|nd|rd|th)\b")
_INITIAL = re.compile(r"\b([A-Z])\.(?= [A-Z])")  # "James R. Dabney": an initial
_CONNECTORS = frozenset(["of", "de", "del", "la", "le", "du", "da", "van", "von"])


def name_runs(text: str) -> list[list[str]]:
    """The names of a brief's text as written, each as the terms of its words: "Superior
    Court Judge James Bodiford", "Gulf of Aden", "Kodak Theatre". An ordinal opens a name
    ("102nd Precinct", "the 67th precinct": a numbered thing); other numbers stay apart. A
    comma, a full stop or a bracket ends a name; "of", "de" and the like join its words."""
    runs: list[list[str]] = []
    text = _INITIAL.sub(r"\1", _LABEL.sub("", text or ""))  # no sentence ends at "R."
    for sentence in sentences(text):
        tokens = sentence.split()
        run: list[str] = []
        numbered = False  # the word after an ordinal: "the 67th precinct"
        for n, token in enumerate(tokens):
            word = token.strip(_PUNCTUATION)
            if token[:1] in '(["“‘' and run:
                runs.append(run)
                run = []
            if numbered and word.isalpha() and word.islower():
                runs.append(run + _name_terms(word))
                run = []
            elif word[:1].isupper() and _is_name(word, n, tokens) and not _DIGIT.search(word):
                run.extend(t for t in _name_terms(word) if t not in _NOT_NAMES)
            elif ORDINAL.fullmatch(token) and _names_next(tokens, n):
                if run:
                    runs.append(run)
                run = terms(token)  # "102nd Precinct", "the 81st Oscars": a name's number
            elif run and not (word.lower() in _CONNECTORS and token == word):
                runs.append(run)
                run = []
            numbered = bool(run) and ORDINAL.fullmatch(token) is not None
            if run and token[-1:] in _PUNCTUATION:
                runs.append(run)
                run = []
        if run:
            runs.append(run)
    return runs


def _names_next(tokens: list[str], n: int) -> bool:
    """Does a name or a noun follow token n ("102nd Precinct", "67th precinct"; not "13th
    March" or "13th of")?"""
    following = tokens[n + 1].strip(_PUNCTUATION) if n + 1 < len(tokens) else ""
    if following.isalpha() and following.islower():
        return following not in STOPWORDS
    return following[:1].isupper() and following.lower() not in _NOT_NAMES


def _name_terms(word: str) -> list[str]:
    """`terms` of one word of a name; a plain ASCII word (most are) the short way."""
    if word.isascii() and word.isalpha():
        term = stem(word.lower())
        return [term] if len(term) > 1 and term not in STOPWORDS else []
    return terms(word)


def _is_name(word: str, n: int, tokens: list[str]) -> bool:
    """A capitalised word inside its sentence, an acronym, or a sentence's first word
    followed by another capitalised one or rare in the language."""
    if not word[0].isupper():
        return False
    if n > 0 or (word.isupper() and len(word) > 1):
        return True
    return (len(tokens) > 1 and tokens[1][:1].isupper()) or _uncommon(word)


def _uncommon(word: str) -> bool:
    """Rare enough in English to be a name rather than a capitalised ordinary word."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en") < 3.5
