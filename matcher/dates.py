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
# Words before a weekday: "on", "this", "next", "last", "le", "el", "ce", "este", "próximo".
_BEFORE_WORDS = r"next|this|coming|last|on|el|le|ce|este|pr[oó]ximo"
_BEFORE = rf"(?:(?:{_BEFORE_WORDS})\s+)"
_SPAN = re.compile(
    rf"""\b(?:
        (?:{_BEFORE}?(?:{_WEEKDAY}),?\s+)?(?:the\s+)?{_DAY}\s+(?:of\s+|de\s+)?(?:{_MONTH})\b{_YEAR}
      | (?:{_BEFORE}?(?:{_WEEKDAY}),?\s+)?(?:{_MONTH})\s+{_DAY}\b{_YEAR}
      | {_BEFORE}?(?:{_WEEKDAY_FULL})\b
        (?:\s+(?:next\s+week|prochain|que\s+viene|dernier|pasado))?
      | tomorrow|tonight|today|(?<!la\s)(?<!esta\s)ma[nñ]ana|demain|aujourd'hui|hoy
      | a\s+week\s+(?:today|tomorrow|on\s+\w+day)
      | the\s+\d{{1,2}}(?:st|nd|rd|th)\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_HAS_YEAR = re.compile(r"\d{4}")
_HAS_MONTH = re.compile(rf"\b(?:{_MONTH})\b", re.IGNORECASE)
_HAS_DAY_NUMBER = re.compile(r"\d")
_WEEK_AHEAD = re.compile(r"a\s+week\s+(today|tomorrow|on\s+(\w+day))", re.IGNORECASE)
_ORDINAL_ONLY = re.compile(r"the\s+(\d{1,2})(?:st|nd|rd|th)$", re.IGNORECASE)
_LANGS = ("en", "es", "fr")
_LEADING_WEEKDAY = re.compile(rf"^{_BEFORE}?(?:{_WEEKDAY}),?\s+", re.IGNORECASE)
_WEEKDAY_PHRASE = re.compile(
    rf"^(?:(?P<before>{_BEFORE_WORDS})\s+)?(?P<day>{_WEEKDAY_FULL})"
    r"(?:\s+(?P<after>next\s+week|prochain|que\s+viene|dernier|pasado))?$",
    re.IGNORECASE,
)
_WEEKDAY_NUMBER = {
    name: (number, lang)
    for number, names in enumerate(
        [
            ("monday", "lunes", "lundi"),
            ("tuesday", "martes", "mardi"),
            ("wednesday", "miercoles", "mercredi"),
            ("thursday", "jueves", "jeudi"),
            ("friday", "viernes", "vendredi"),
            ("saturday", "sabado", "samedi"),
            ("sunday", "domingo", "dimanche"),
        ]
    )
    for name, lang in zip(names, _LANGS, strict=True)
}
_DAY_WORDS = {  # days counted from the publisher's own day
    "today": (0, "en"), "tonight": (0, "en"), "tomorrow": (1, "en"), "hoy": (0, "es"),
    "manana": (1, "es"), "aujourd'hui": (0, "fr"), "demain": (1, "fr"),
}  # fmt: skip
_AHEAD = re.compile(r"\b(?:next|coming|prochain|pr[oó]ximo|que\s+viene)\b|\d", re.IGNORECASE)

# Clock times: "04:30", "4.30am", "5am", "17h00", "half eleven" (UK, = 11:30).
_TIME = re.compile(
    r"\b(?:(\d{1,2})([:h.])(\d{2})\s*(am|pm|a\.m\.|p\.m\.)?|(\d{1,2})\s*(am|pm|a\.m\.|p\.m\.))"
    r"|\bhalf\s+(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\b",
    re.IGNORECASE,
)
_CLOCK_WORDS = "one two three four five six seven eight nine ten eleven twelve".split()  # noqa: SIM905
# "7.25" is a clock time only after one of these words ("at 7.25", "from 6.30") or before
# am/pm: otherwise it is a rate, a price or a version.
_CLOCK_BEFORE = re.compile(
    r"(?:\b(?:at|from|until|till|til|by|before|after|around|about|approximately|approx"
    r"|between|since|starting|a\s+las?|vers|[aà]|de|desde|hasta|jusqu'[aà])\s+)$",
    re.IGNORECASE,
)
# Never a clock time: a currency sign or code before, a rate, currency, unit or scale after
# (also at the end of a range: "from 7.25 to 7.50 per cent").
_MONEY_BEFORE = re.compile(r"(?:[€$£¥₹]|\b(?:eur|usd|gbp|chf|us\$|rs\.?))\s*$", re.IGNORECASE)
_NOT_CLOCK_AFTER = re.compile(
    r"^(?:\s*(?:-|–|to|and|or|a)\s*[€$£]?\d+(?:[.,]\d+)?)?\s*(?:%|per\s*cent\b|percent\b"
    r"|pc\b|por\s+ciento\b|pour\s+cent\b|points?\b|pts?\b|bps\b|basis\b"
    r"|(?:euro|dollar|pound|cent|pence|franc|peso|yen|yuan|rupee)s?\b|€|eur\b|usd\b|gbp\b|p\b"
    r"|(?:million|billion|trillion|thousand|mn|bn|m|k|millions|milliards?|millones)\b"
    r"|(?:km|kg|g|m|cm|mm|mi|miles?|metres?|meters?|kilos?|tonnes?|tons?|litres?|liters?"
    r"|hours?|hrs?|minutes?|mins?|seconds?|years?|times)\b"
    r"|x\b|a\s+(?:share|litre|liter|head|month|year|week|day|kilo|pound|gallon)\b|each\b)",
    re.IGNORECASE,
)


# Words one of which every span of _SPAN (and of _PERIOD below) contains, lower-cased: a
# passage holding none of them names no day (or period), and is not scanned. Most passages
# name none, and the spans' regular expressions cost far more than these substring tests.
# (English weekdays all end in "day"; every month's name holds one of these.)
_MONTH_KEYS = (
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    "enero", "abril", "agosto", "diciembre", "fevrier", "février", "avril", "mai", "juin",
    "juillet", "aout", "août", "decembre", "décembre",
)  # fmt: skip
_SPAN_KEYS = _MONTH_KEYS + (
    "day", "tomorrow", "tonight", "lunes", "martes", "miercoles", "miércoles", "jueves", "viernes",
    "sabado", "sábado", "domingo", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi",
    "dimanche", "manana", "mañana", "demain", "aujourd", "hoy", "week",
)  # fmt: skip
_THE_NUMBER = re.compile(r"the\s+\d")  # "the 25th"


def _holds_any(text: str, keys: tuple[str, ...]) -> bool:
    low = text.lower()
    return any(key in low for key in keys)


def date_atoms(text: str, reference: datetime | None, lang: str | None = None) -> set[str]:
    """Days the text names, as "date:YYYY-MM-DD" (and "md:MM-DD" when a month is named).

    `reference` is the publication time, an aware datetime in the publisher's own offset:
    relative days ("tomorrow", "this Thursday", "a week today", "the 25th") count from the
    publisher's local day (`reference.date()`, never converted to UTC), so "tomorrow" at
    00:30+02:00 on 1 March is 2 March.

    Without a publication time, nothing relative resolves: a bare weekday ("on Sunday" in a
    match report), "tomorrow" or "the 25th" names no day at all. An explicit day and month
    still count: with a year ("2 March 2028") as "date:2028-03-02" and "md:03-02"; without
    one ("2 March") only as "md:03-02", since the year cannot be inferred: it meets a brief's
    own "md:" atom (a brief's every day gives one) but never a full date.
    """
    atoms: set[str] = set()
    if not text or not (_holds_any(text, _SPAN_KEYS) or _THE_NUMBER.search(text.lower())):
        return atoms
    for match in _SPAN.finditer(text):
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
    """Clock times as "time:HH:MM" (24 h): "04:30", "17h00", "5am", "half eleven", and a
    dotted "7.25" only with a clock context ("at 7.25", "7.25pm"); never a rate, price,
    amount or version ("7.25 per cent", "€7.25", "7.25 million", "2.4.1")."""
    text = text or ""
    atoms = set()
    for m in _TIME.finditer(text):
        if m.group(7):
            hour, minute = _CLOCK_WORDS.index(m.group(7).lower()) + 1, 30
        else:
            if not _is_clock(text, m):
                continue
            hour = int(m.group(1) or m.group(5))
            minute = int(m.group(3) or 0)
            suffix = (m.group(4) or m.group(6) or "").lower().replace(".", "")
            if suffix == "pm" and hour < 12:
                hour += 12
            elif suffix == "am" and hour == 12:
                hour = 0
        if hour < 24 and minute < 60:
            atoms.add(f"time:{hour:02d}:{minute:02d}")
    return atoms


def _is_clock(text: str, m: re.Match) -> bool:
    before, after = text[: m.start()], text[m.end() :]
    if re.search(r"\d[.,:]?$", before) or re.match(r"[.,:]?\d", after):
        return False  # part of a longer number: "2.4.1", "12.03.2028", "1,7.25"
    if _MONEY_BEFORE.search(before):
        return False
    suffix = m.group(4) or m.group(6)
    if not suffix and _NOT_CLOCK_AFTER.match(after):
        return False
    if m.group(2) == "." and not suffix:
        return bool(_CLOCK_BEFORE.search(before))
    return True


def _resolve(span: str, reference: datetime | None, lang: str | None) -> date | None:
    # The publisher's wall clock: the aware reference's own local day, never its UTC day.
    base = reference.replace(tzinfo=None) if reference else None
    span = span.strip()
    week = _WEEK_AHEAD.match(span)
    if week:  # dateparser reads "a week today" as a week ago
        if base is None:
            return None
        if week.group(1).lower() == "today":
            return (base + timedelta(days=7)).date()
        if week.group(1).lower() == "tomorrow":
            return (base + timedelta(days=8)).date()
        day = _weekday(week.group(2), base.date(), lang)
        return day + timedelta(days=7) if day else None
    if _HAS_MONTH.search(span) and _HAS_DAY_NUMBER.search(span):
        return _explicit(span, base, lang)
    if base is None:
        return None  # a weekday, "tomorrow" or "the 25th" with no publication time names no day
    ordinal = _ORDINAL_ONLY.match(span)
    if ordinal:  # "the 25th": that day of this month, or of the next once it has passed
        return _ordinal(int(ordinal.group(1)), base.date())
    words = _DAY_WORDS.get(fold(span))
    if words is not None:
        offset, word_lang = words
        return base.date() + timedelta(days=offset) if _speaks(lang, word_lang) else None
    return _weekday(span, base.date(), lang)


def _speaks(lang: str | None, word_lang: str) -> bool:
    return lang not in _LANGS or lang == word_lang


def _weekday(span: str, base: date, lang: str | None) -> date | None:
    """A weekday phrase counted from the publisher's day `base`: "Tuesday", "on Tuesday",
    "this Tuesday" are the next Tuesday, or `base` itself when it is one ("announced on
    Tuesday", written on a Tuesday); "coming Tuesday", "mardi prochain", "el martes que
    viene" the next one after `base`; "next Tuesday" and "Tuesday next week" the Tuesday of
    the following week (said on a Monday, "next Thursday" is not this Thursday: that one is
    "this Thursday" or "Thursday"); "last Tuesday", "mardi dernier", "el martes pasado" the
    one before `base`."""
    m = _WEEKDAY_PHRASE.match(span.strip())
    if not m:
        return None
    weekday, word_lang = _WEEKDAY_NUMBER[fold(m.group("day"))]
    if not _speaks(lang, word_lang):
        return None  # "Mardi Gras" in English names no Tuesday
    before = fold(m.group("before") or "")
    after = fold(m.group("after") or "")
    if after.startswith("next") or before == "next":
        return base + timedelta(days=7 - base.weekday() + weekday)
    if before == "last" or after in ("dernier", "pasado"):
        return base - timedelta(days=(base.weekday() - weekday) % 7 or 7)
    ahead = (weekday - base.weekday()) % 7
    if before in ("coming", "proximo") or after in ("prochain", "que viene"):
        ahead = ahead or 7
    return base + timedelta(days=ahead)


def _ordinal(number: int, base: date) -> date | None:
    """ "the 25th": this month's, or the next month's having one once it has passed."""
    year, month = base.year, base.month
    for _ in range(13):
        try:
            day = date(year, month, number)
        except ValueError:
            day = None
        if day is not None and day >= base:
            return day
        year, month = year + (month == 12), month % 12 + 1
    return None


def _explicit(span: str, base: datetime | None, lang: str | None) -> date | None:
    """A day and a month ("2 March", "le mardi 12 septembre", "2 de marzo de 2028"); the
    weekday, when given, is left out of the parse (the day number says which day)."""
    day = _parse(_LEADING_WEEKDAY.sub("", span), base, lang)
    if day is None:
        return None
    if base is not None and not _HAS_YEAR.search(span) and day < base.date() - timedelta(days=1):
        # "2 March" written in November means next year's: leaks speak of the future.
        day = _roll_forward(day, base.date(), month_known=True)
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


_PERIOD_KEYS = _MONTH_KEYS + (
    "week", "semaine", "semana", "fortnight", "month", "mois", "mes", "spring", "summer",
    "autumn", "fall", "winter",
)  # fmt: skip


def period_atoms(text: str, reference: datetime | None) -> set[str]:
    """Weeks and months a text names without naming a day ("next week", "later this
    month", "in September", "this autumn"), resolved against `reference` (the publication
    time; without it, only a month with its year resolves). Future-preferring, like days."""
    atoms: set[str] = set()
    base = reference.date() if reference else None
    if not text or not _holds_any(text, _PERIOD_KEYS):
        return atoms
    for m in _PERIOD.finditer(text):
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
