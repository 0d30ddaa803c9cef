"""Brief files (TOML, JSON, JSON Lines): reading, validation, sealing and opening.

Error messages name the file, the line or entry, the field and what is wrong, and never
echo a sealed value (summary, details).
"""

from __future__ import annotations

import json
import re
import tomllib
from datetime import date
from pathlib import Path

from leaksentry import clock
from leaksentry.errors import BriefError
from leaksentry.records import Brief, parse_iso_date
from leaksentry.storage import now
from leaksentry.vault import Vault, brief_context, sealing

BRIEF_KEYS = {"id", "codename", "summary", "details", "active_from", "active_until", "recipients"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def read_brief_file(path: str | Path, strict: bool = True) -> list[Brief]:
    """Every brief in a file; raises BriefError on the first problem, before anything is stored.

    strict: unknown keys are errors (catches typos such as 'detail'); the backtest reads
    evaluation files with extra keys and passes strict=False.
    """
    return [brief for _, brief in read_brief_entries(path, strict)]


def read_brief_entries(path: str | Path, strict: bool = True) -> list[tuple[str, Brief]]:
    """Like read_brief_file, each brief with where it is ("FILE line 3 (brief 'ID')")."""
    path = Path(path)
    if not path.is_file():
        raise BriefError(f"{path}: file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BriefError(f"{path}: not UTF-8 text") from None
    suffix = path.suffix.lower()
    if suffix == ".toml":
        entries = _toml_entries(path, text)
    elif suffix in (".jsonl", ".ndjson"):
        entries = _jsonl_entries(path, text)
    elif suffix == ".json":
        entries = _json_entries(path, text)
    else:
        raise BriefError(f"{path}: unknown brief file type; use .toml, .json or .jsonl")
    if not entries:
        raise BriefError(f"{path}: no brief in the file")
    briefs = [(_named(where, raw), validate_brief(raw, where, strict)) for where, raw in entries]
    seen: set[str] = set()
    for where, brief in briefs:
        if brief.id in seen:
            raise BriefError(f"{where}: field 'id': {brief.id!r} appears twice in the file")
        seen.add(brief.id)
    return briefs


def _named(where: str, raw) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str | int):
        return f"{where} (brief {str(raw['id'])!r})"
    return where


def _toml_entries(path: Path, text: str) -> list[tuple[str, dict]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BriefError(f"{path}: not valid TOML: {exc}") from None
    if "brief" in data and isinstance(data["brief"], list):
        return [(f"{path} [[brief]] #{n}", raw) for n, raw in enumerate(data["brief"], 1)]
    return [(str(path), data)]


def _json_entries(path: Path, text: str) -> list[tuple[str, dict]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BriefError(f"{path} line {exc.lineno}: not valid JSON: {exc.msg}") from None
    if isinstance(data, list):
        return [(f"{path} entry #{n}", raw) for n, raw in enumerate(data, 1)]
    return [(str(path), data)]


def _jsonl_entries(path: Path, text: str) -> list[tuple[str, dict]]:
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entries.append((f"{path} line {number}", json.loads(line)))
        except json.JSONDecodeError as exc:
            raise BriefError(f"{path} line {number}: not valid JSON: {exc.msg}") from None
    return entries


def validate_brief(raw, where: str, strict: bool = True) -> Brief:
    """Check one brief's fields and build it; messages never quote sealed values."""
    if not isinstance(raw, dict):
        raise BriefError(
            f"{where}: a brief must be an object/table with fields {sorted(BRIEF_KEYS)}"
        )
    if isinstance(raw.get("id"), int) and not isinstance(raw.get("id"), bool):
        raw = raw | {"id": str(raw["id"])}
    if "id" in raw and isinstance(raw["id"], str):
        where = f"{where} (brief {raw['id']!r})"
    unknown = set(raw) - BRIEF_KEYS
    if strict and unknown:
        raise BriefError(
            f"{where}: unknown field(s) {sorted(unknown)}; known: {sorted(BRIEF_KEYS)}"
        )
    for key in ("id", "codename", "summary"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise BriefError(f"{where}: field '{key}' is required and must be non-empty text")
    details = raw.get("details")
    if not details:
        raise BriefError(
            f"{where}: field 'details' is required: list the brief's key facts, at least one "
            "(place, time, target, ...): alerts say which of them an item reveals"
        )
    if not isinstance(details, list) or not all(isinstance(d, str) and d.strip() for d in details):
        raise BriefError(f"{where}: field 'details' must be a list of non-empty strings")
    recipients = raw.get("recipients", [])
    if not isinstance(recipients, list):
        raise BriefError(f"{where}: field 'recipients' must be a list of email addresses")
    for address in recipients:
        if not isinstance(address, str) or not _EMAIL.match(address):
            raise BriefError(f"{where}: field 'recipients': {address!r} is not an email address")
    window = {}
    for key in ("active_from", "active_until"):
        value = raw.get(key)
        if value in (None, ""):
            window[key] = None
            continue
        value = value.isoformat() if hasattr(value, "isoformat") else value  # TOML dates
        if not isinstance(value, str) or parse_iso_date(value) is None:
            raise BriefError(f"{where}: field '{key}' must be an ISO date such as 2026-12-01")
        window[key] = value[:10]
    if (
        window["active_from"]
        and window["active_until"]
        and (window["active_from"] > window["active_until"])
    ):
        raise BriefError(f"{where}: field 'active_until' is before 'active_from'")
    return Brief(
        id=raw["id"].strip(),
        codename=raw["codename"].strip(),
        summary=raw["summary"].strip(),
        details=[d.strip() for d in details],
        recipients=list(recipients),
        **window,
    )


def seal_brief(brief: Brief, vault: Vault) -> dict:
    """The stored row: codename, window and recipients plain; summary and details sealed."""
    sealed = vault.seal_json(
        {"summary": brief.summary, "details": brief.details}, brief_context(brief.id)
    )
    return {
        "id": brief.id,
        "codename": brief.codename,
        "active_from": brief.active_from,
        "active_until": brief.active_until,
        "recipients": json.dumps(brief.recipients),
        "status": "active",
        "n_details": len(brief.details),
        "sealed": sealed,
        "added_at": now(),
        "retired_at": None,
    }


def open_brief(row: dict, vault: Vault) -> Brief:
    """Decrypt a stored row into a Brief held in memory only."""
    secret = vault.open_json(row["sealed"], brief_context(row["id"]))
    return Brief(
        id=row["id"],
        codename=row["codename"],
        summary=secret["summary"],
        details=list(secret["details"]),
        active_from=row["active_from"],
        active_until=row["active_until"],
        recipients=json.loads(row["recipients"] or "[]"),
    )


def window_ended(active_until: str | None, today: date | None = None) -> bool:
    """The brief's window is wholly past: nothing published from now on can be its leak."""
    until = parse_iso_date(active_until)
    return until is not None and until < (today or clock.now().date())


def status_of(row: dict, today: date | None = None) -> str:
    """A brief's status as shown: active, ended (active, but its window is wholly past) or
    retired."""
    if row["status"] == "active" and window_ended(row.get("active_until"), today):
        return "ended"
    return row["status"]


def add_brief_files(store, vault: Vault, paths: list[str | Path]) -> list[Brief]:
    """Validate every file first, then store all briefs sealed in one transaction.

    Refused: a brief id twice, or a codename an active brief (stored or in the files) already
    has: an alert names the codename, so two would be told apart by no one."""
    entries = [entry for path in paths for entry in read_brief_entries(path)]
    seen: set[str] = set()
    for where, brief in entries:
        if brief.id in seen:
            raise BriefError(f"{where}: brief id {brief.id!r} appears in more than one file")
        seen.add(brief.id)
    ids = {brief.id for _, brief in entries}
    holders = {
        row["codename"].casefold(): (row["id"], "stored active brief")
        for row in store.brief_rows("active")
        if row["id"] not in ids
    }
    for where, brief in entries:
        holder = holders.get(brief.codename.casefold())
        if holder:
            raise BriefError(
                f"{where}: codename {brief.codename!r} is already used by {holder[1]} "
                f"{holder[0]!r}; choose another codename, or retire {holder[0]!r} first"
            )
        holders[brief.codename.casefold()] = (brief.id, "brief")
    briefs = [brief for _, brief in entries]
    with sealing(vault, store):  # refused if the key was rotated since the vault was opened
        store.add_briefs([seal_brief(brief, vault) for brief in briefs])
    return briefs
