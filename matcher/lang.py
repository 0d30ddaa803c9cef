"""The language of an item, so dates are parsed with the right month and weekday names.

Feeds usually say; when they do not, py3langid guesses from the text (fast, offline).
"""

from __future__ import annotations

import functools

from matcher.records import Item

SUPPORTED = ("en", "es", "fr", "de", "it", "pt", "nl")


def item_language(item: Item) -> str | None:
    if item.lang:
        return item.lang.split("-")[0].lower()
    text = f"{item.title}\n{item.text}".strip()[:600]
    return _classify(text) if len(text) >= 20 else None


@functools.lru_cache(maxsize=4096)
def _classify(text: str) -> str | None:
    import py3langid

    lang, _ = py3langid.classify(text)
    return lang if lang in SUPPORTED else None
