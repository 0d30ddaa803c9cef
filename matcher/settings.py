"""Checking a settings table (a plain dict, e.g. the [matcher] table of a TOML file).

The matcher's own check, so it needs no application code: an unknown key or a value of the
wrong type is a SettingsError naming the table, the key and what is expected.
"""

from __future__ import annotations

import math
from dataclasses import fields

from matcher.errors import SettingsError


def settings_table(table: dict | None, known_from, section: str) -> dict:
    """`table` checked against the dataclass `known_from`: its keys, values converted to the
    fields' types (int and float fields take numbers, a whole number for an int)."""
    if table is None:
        table = {}
    if not isinstance(table, dict):
        raise SettingsError(f"[{section}] must be a table of settings, not {type(table).__name__}")
    types = {
        f.name: f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
        for f in fields(known_from)
    }
    unknown = set(table) - set(types)
    if unknown:
        raise SettingsError(
            f"[{section}] unknown key(s) {sorted(map(str, unknown))}; known: {sorted(types)}"
        )
    return {key: _convert(value, types[key], section, key) for key, value in table.items()}


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _convert(value, kind: str, section: str, key: str):
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "float":
        if not number:
            raise SettingsError(f"[{section}] {key} must be a number, not {_shown(value)}")
        try:
            return float(value)
        except OverflowError:
            raise SettingsError(f"[{section}] {key} is too large: {_shown(value)}") from None
    if kind == "int":
        whole = number and (isinstance(value, int) or (math.isfinite(value) and value.is_integer()))
        if not whole:
            raise SettingsError(f"[{section}] {key} must be a whole number, not {_shown(value)}")
        return int(value)
    if kind == "bool" and not isinstance(value, bool):
        raise SettingsError(f"[{section}] {key} must be true or false, not {_shown(value)}")
    if kind == "str" and not isinstance(value, str):
        raise SettingsError(f"[{section}] {key} must be a string, not {_shown(value)}")
    return value
