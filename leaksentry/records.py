"""The public record types, owned by the matcher (matcher/records.py) and re-exported here.

leaksentry may import the matcher, never the reverse: the matcher stands alone.
"""

from matcher.records import Brief, Item, Match, parse_iso_date, parse_iso_datetime

__all__ = ["Brief", "Item", "Match", "parse_iso_date", "parse_iso_datetime"]
