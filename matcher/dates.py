"""Dates and clock times as comparable atoms ("date:2028-03-02", "time:04:30").

A leak says "this Thursday", "a week today", "the 25th" or "le mardi 12 septembre"; the
brief says "Thu 2 March 2028". Both become the same atom once relative dates are resolved
against the item's publication time. A regular expression only finds the candidate spans
(cheap, and it keeps dateparser's free-text search, which is slow and reads "eleven" as
November, out of the loop); dateparser parses each span, in the item's language.
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime, timedelta

from matcher.text import fold

_WEEKDAY_FULL = (
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|lunes|martes|mi[eé]rcoles|jueves|viernes|s[aá]bado|domingo"
    r"|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche"
)
# Abbreviations ("Thu", "Sat") only before a day number: alone they are ordinary words.
_WEEKDAY = _WEEKDAY_FULL + r"|(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)\.?"
_MONTH = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
    r"|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre"
    r"|noviembre|diciembre|janvier|f[eé]vrier|mars|avril|mai|juin|juillet|ao[uû]t"
    r"|septembre|octobre|novembre|d[eé]cembre"
)
_DAY = r"\d{1,2}(?:st|nd|rd|th|er)?"
_YEAR = r"(?:,?\s+(?:de\s+)?\d{4})?"
_SPAN = re.compile(
    rf"""\b(?:
        (?:(?:{_WEEKDAY}),?\s+)?(?:the\s+)?{_DAY}\s+(?:of\s+|de\s+)?(?:{_MONTH})\b{_YEAR}
      | (?:(?:{_WEEKDAY}),?\s+)?(?:{_MONTH})\s+{_DAY}\b{_YEAR}
      | (?:(?:next|this|coming|on|el|le|ce|este|pr[oó]ximo)\s+)?(?:{_WEEKDAY_FULL})\b
        (?:\s+(?:next\s+week|prochain|que\s+viene))?
      | tomorrow|tonight|today|ma[nñ]ana|demain|aujourd'hui|hoy
      | a\s+week\s+(?:today|tomorrow|on\s+\w+day)
      | the\s+\d{{1,2}}(?:st|nd|rd|th)\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_HAS_YEAR = re.compile(r"\d{4}")
_HAS_MONTH = re.compile(rf"\b(?:{_MONTH})\b", re.IGNORECASE)
_WEEK_AHEAD = re.compile(r"a\s+week\s+(today|tomorrow|on\s+(\w+day))", re.IGNORECASE)
_ORDINAL_ONLY = re.compile(r"the\s+(\d{1,2})(?:st|nd|rd|th)$", re.IGNORECASE)
_LANGS = ("en", "es", "fr")
_AHEAD = re.compile(r"\b(?:next|coming|prochain|pr[oó]ximo|que\s+viene)\b|\d", re.IGNORECASE)

# Clock times: "04:30", "4.30am", "5am", "17h00", "half eleven" (UK, = 11:30).
_TIME = re.compile(
    r"\b(?:(\d{1,2})[:h.](\d{2})\s*(am|pm|a\.m\.|p\.m\.)?|(\d{1,2})\s*(am|pm|a\.m\.|p\.m\.))"
    r"|\bhalf\s+(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\b",
    re.IGNORECASE,
)
_CLOCK_WORDS = "one two three four five six seven eight nine ten eleven twelve".split()  # noqa: SIM905


def date_atoms(text: str, reference: datetime | None, lang: str | None = None) -> set[str]:
    """Days the text names, as "date:YYYY-MM-DD" (and "md:MM-DD" when no year is known).

    `reference` is the publication time; without it only dates carrying a year resolve.
    """
    atoms: set[str] = set()
    for match in _SPAN.finditer(text or ""):
        span = match.group(0)
        day = _resolve(span, reference, lang)
        if day is None:
            continue
        explicit_year = bool(_HAS_YEAR.search(span))
        if explicit_year or reference is not None:
            atoms.add(f"date:{day.isoformat()}")
        if _HAS_MONTH.search(span):
            atoms.add(f"md:{day.month:02d}-{day.day:02d}")
    return atoms


def brief_date_atoms(text: str, reference: datetime | None) -> set[str]:
    """A brief's days: every date gives both its full atom and its month-day atom, so an
    undated item that names "9 December" still meets "Tuesday, 9 December 2008"."""
    atoms = set()
    for atom in date_atoms(text, reference, "en"):
        atoms.add(atom)
        if atom.startswith("date:"):
            atoms.add("md:" + atom[10:])
    return atoms


def time_atoms(text: str) -> set[str]:
    """Clock times as "time:HH:MM" (24 h)."""
    atoms = set()
    for m in _TIME.finditer(text or ""):
        if m.group(6):
            hour, minute = _CLOCK_WORDS.index(m.group(6).lower()) + 1, 30
        else:
            hour = int(m.group(1) or m.group(4))
            minute = int(m.group(2) or 0)
            suffix = (m.group(3) or m.group(5) or "").lower().replace(".", "")
            if suffix == "pm" and hour < 12:
                hour += 12
            elif suffix == "am" and hour == 12:
                hour = 0
        if hour < 24 and minute < 60:
            atoms.add(f"time:{hour:02d}:{minute:02d}")
    return atoms


def _resolve(span: str, reference: datetime | None, lang: str | None) -> date | None:
    base = reference.replace(tzinfo=None) if reference else None
    week = _WEEK_AHEAD.match(span.strip())
    if week:  # dateparser reads "a week today" as a week ago
        if base is None:
            return None
        if week.group(1).lower() == "today":
            return (base + timedelta(days=7)).date()
        if week.group(1).lower() == "tomorrow":
            return (base + timedelta(days=8)).date()
        day = _parse(week.group(2), base, lang)
        return day + timedelta(days=7) if day else None
    if base is None and not _HAS_MONTH.search(span):
        return None  # a weekday or "tomorrow" with no publication time names no day
    ordinal = _ORDINAL_ONLY.match(span.strip())
    if ordinal:  # "the 25th": that day of this month, or of the next once it has passed
        try:
            day = base.date().replace(day=int(ordinal.group(1)))
        except ValueError:
            return None
        return _roll_forward(day, base.date(), month_known=False) if day < base.date() else day
    day = _parse(span, base, lang)
    if day is None:
        return None
    if base is not None and day == base.date() + timedelta(days=7) and not _AHEAD.search(span):
        # "announced on Tuesday", written on a Tuesday, is that day, not the next one
        return base.date()
    if base is not None and not _HAS_YEAR.search(span) and day < base.date() - timedelta(days=1):
        # "the 25th" written on the 29th means next month's 25th: leaks speak of the future.
        day = _roll_forward(day, base.date(), month_known=bool(_HAS_MONTH.search(span)))
    return day


def _roll_forward(day: date, base: date, month_known: bool) -> date:
    if month_known:
        try:
            return day.replace(year=day.year + 1) if day < base - timedelta(days=180) else day
        except ValueError:
            return day
    month, year = (day.month % 12) + 1, day.year + (day.month == 12)
    try:
        return day.replace(year=year, month=month)
    except ValueError:
        return day


def _parse(span: str, base: datetime | None, lang: str | None) -> date | None:
    clean = re.sub(r"(?<=\d)(?:st|nd|rd|th|er)\b", "", span.strip(), flags=re.IGNORECASE)
    clean = re.sub(r"^(?:the|on|el|le|ce|este)\s+", "", clean, flags=re.IGNORECASE)
    languages = (lang,) if lang in _LANGS else _LANGS
    parsed = _dateparse(clean, base, languages)
    return parsed.date() if parsed else None


@functools.lru_cache(maxsize=50_000)
def _dateparse(text: str, base: datetime | None, languages: tuple[str, ...]) -> datetime | None:
    import dateparser  # imported on first use: it takes a moment

    settings = {"PREFER_DATES_FROM": "future", "RETURN_AS_TIMEZONE_AWARE": False}
    if base is not None:
        settings["RELATIVE_BASE"] = base
    try:
        return dateparser.parse(text, languages=list(languages), settings=settings)
    except (ValueError, OverflowError):
        return None


# -- periods: weeks and months ------------------------------------------------------------
# A leak often names no day: "next week", "later this month", "from September", "by the
# autumn". Such a phrase is resolved (against the publication time) to the ISO weeks or the
# months it covers, as "week:2028-W09" / "month:2028-03" atoms; a brief's days give the week
# and the month they fall in. Sharing a period is weaker evidence than sharing a day, so it
# gives its own measurements (matcher.features: WEEK, MONTH).
_MONTH_FULL = (
    r"january|february|march|april|may|june|july|august|september|october|november|december"
    r"|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre"
    r"|noviembre|diciembre|janvier|f[eé]vrier|mars|avril|mai|juin|juillet|ao[uû]t"
    r"|septembre|octobre|novembre|d[eé]cembre"
)
_MONTH_NUMBER = {
    name: number
    for number, names in enumerate(
        [
            ("january", "enero", "janvier"),
            ("february", "febrero", "fevrier"),
            ("march", "marzo", "mars"),
            ("april", "abril", "avril"),
            ("may", "mayo", "mai"),
            ("june", "junio", "juin"),
            ("july", "julio", "juillet"),
            ("august", "agosto", "aout"),
            ("september", "septiembre", "setiembre", "septembre"),
            ("october", "octubre", "octobre"),
            ("november", "noviembre", "novembre"),
            ("december", "diciembre", "decembre"),
        ],
        1,
    )
    for name in names
}
_SEASON_MONTHS = {"spring": (3, 4, 5), "summer": (6, 7, 8), "autumn": (9, 10, 11),
                  "fall": (9, 10, 11), "winter": (12, 1, 2)}  # fmt: skip
_PERIOD = re.compile(
    rf"""\b(?:
        (?P<week>(?:(?:later|early)\s+)?(?:this|next|coming)\s+week(?:end)?
            |(?:the\s+)?weekend|semaine\s+prochaine|cette\s+semaine
            |(?:la\s+)?(?:semana\s+que\s+viene|pr[oó]xima\s+semana|esta\s+semana))
      | (?P<fortnight>(?:within\s+|over\s+|in\s+)?(?:the\s+next|a|the\s+coming)\s+fortnight
            |(?:in|within|over)\s+(?:the\s+next\s+)?(?:a\s+couple\s+of|two|2)\s+weeks)
      | (?P<month>(?:later|early|end\s+of|by\s+the\s+end\s+of)?\s*(?:this|next|the)\s+month
            |ce\s+mois|le\s+mois\s+prochain|este\s+mes|el\s+mes\s+que\s+viene)
      | (?P<named>(?:(?:in|from|by|until|before|during|early|late|mid|end\s+of|this|next
            |en|desde|hasta|para|d[eè]s|avant|fin|d'ici)[\s-]+(?:the\s+)?(?:early\s+|late\s+)?)?
            (?P<month_name>{_MONTH_FULL})(?:\s+(?:de\s+)?(?P<year>\d{{4}}))?\b(?!\s+\d))
      | (?P<season_phrase>(?:this|next|the|in|by|early|late|before)\s+(?:the\s+)?
            (?P<season>spring|summer|autumn|fall|winter))
    )""",
    re.IGNORECASE | re.VERBOSE,
)


def period_atoms(text: str, reference: datetime | None) -> set[str]:
    """Weeks and months a text names without naming a day ("next week", "later this
    month", "in September", "this autumn"), resolved against `reference` (the publication
    time; without it, only a month with its year resolves). Future-preferring, like days."""
    atoms: set[str] = set()
    base = reference.date() if reference else None
    for m in _PERIOD.finditer(text or ""):
        span = fold(m.group(0))
        if m.group("month_name"):
            month = _MONTH_NUMBER[fold(m.group("month_name"))]
            if m.group("year"):
                atoms.add(f"month:{int(m.group('year')):04d}-{month:02d}")
            elif base is not None and (m.group(0)[0].isupper() or month != 5 or " " in span):
                # a bare lower-case "may" is a verb; "in May"/"May" is the month
                year = base.year + (month < base.month)
                atoms.add(f"month:{year:04d}-{month:02d}")
            continue
        if base is None:
            continue
        if m.group("week"):
            ahead = (
                "next" in span or "proxima" in span or "prochaine" in span or "que viene" in span
            )
            atoms.add(week_atom(base + timedelta(days=7 * ahead)))
        elif m.group("fortnight"):
            atoms.update(week_atom(base + timedelta(days=d)) for d in (0, 7, 14))
        elif m.group("month"):
            ahead = "next" in span or "prochain" in span or "que viene" in span
            year, month = base.year, base.month + ahead
            if month > 12:
                year, month = year + 1, 1
            atoms.add(f"month:{year:04d}-{month:02d}")
        elif m.group("season"):
            atoms.update(_season(m.group("season").lower(), base, span.startswith("next")))
    return atoms


def _season(name: str, base: date, ahead: bool) -> set[str]:
    """The months of the first such season not yet over at `base` ("this winter" in
    February is the winter now ending), or (`ahead`, "next winter") not yet begun."""
    first = _SEASON_MONTHS[name][0]
    now = (base.year, base.month)
    for year in (base.year - 1, base.year, base.year + 1):
        months = [(year + (first + i - 1) // 12, (first + i - 1) % 12 + 1) for i in range(3)]
        if (months[0] > now) if ahead else (months[-1] >= now):
            break
    return {f"month:{y:04d}-{m:02d}" for y, m in months}


def day_period_atoms(date_atom_set: set[str]) -> set[str]:
    """The weeks and months of the days in a set of "date:YYYY-MM-DD" atoms."""
    atoms = set()
    for atom in date_atom_set:
        if atom.startswith("date:"):
            day = date.fromisoformat(atom[5:])
            atoms.add(week_atom(day))
            atoms.add(f"month:{day.year:04d}-{day.month:02d}")
    return atoms


def week_atom(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"week:{year:04d}-W{week:02d}"
