"""Queries are not briefs: warn when a source's query would carry a brief's details outside.

Query-based sources send their queries (and hashtags, actors, channels) to a third party. If one
of them contains a distinctive term of an active brief's details, the query itself may leak the
brief. The warning names the source, the query and the brief's codename, never the term's
source text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from leaksentry.config import Source
from leaksentry.records import Brief

QUERY_OPTIONS = ("queries", "hashtags", "actors", "subreddits", "channels")
_TOKEN = re.compile(r"[\w'-]+")
_YEAR = re.compile(r"^(19|20)\d\d$")
# Capitalised words that are not names (sentence starts, labels, calendar words).
COMMON = frozenset(
    [
        "the",
        "a",
        "an",
        "on",
        "in",
        "at",
        "from",
        "to",
        "by",
        "for",
        "of",
        "and",
        "or",
        "with",
        "start",
        "end",
        "until",
        "before",
        "after",
        "target",
        "place",
        "location",
        "time",
        "date",
        "unit",
        "team",
        "resources",
        "arrests",
        "plan",
        "client",
        "reason",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)


@dataclass
class QueryWarning:
    source: str
    query: str
    codename: str

    def __str__(self) -> str:
        return (
            f"source {self.source!r}: query {self.query!r} contains a distinctive term of the "
            f"details of brief {self.codename}; a query sent to a third party must never be "
            "derived from a brief"
        )


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def distinctive_terms(brief: Brief, with_summary: bool = False) -> set[str]:
    """Names and numbers of a brief's details (and summary): capitalised words, digit runs."""
    terms = set()
    texts = [*brief.details, *(re.split(r"(?<=[.!?])\s+", brief.summary) if with_summary else [])]
    for detail in texts:
        body = detail.split(":", 1)[1] if re.match(r"^[A-Za-z ]{2,20}:", detail) else detail
        for token in _TOKEN.findall(body):
            term = _fold(token.strip("'-"))
            named = token[:1].isupper() and len(term) >= 3 and term not in COMMON
            number = any(c.isdigit() for c in token) and len(term) >= 3 and not _YEAR.match(term)
            if named or number:
                terms.add(term)
    return terms


def check_queries(sources: list[Source], briefs: list[Brief]) -> list[QueryWarning]:
    """Every (source, query, brief) where the query shares a distinctive term with the brief."""
    warnings = []
    terms = {brief.codename: distinctive_terms(brief) for brief in briefs}
    for source in sources:
        for key in QUERY_OPTIONS:
            for query in source.options.get(key, []):
                words = {_fold(t.strip("'-#@")) for t in _TOKEN.findall(query)}
                for codename, brief_terms in terms.items():
                    if words & brief_terms:
                        warnings.append(QueryWarning(source.name, query, codename))
    return warnings
