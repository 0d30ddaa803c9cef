"""A consistent copy of the database, taken while the service runs.

SQLite's online backup copies page by page and restarts a step when a writer changed what
it copied, so the copy is one consistent moment even mid-crawl; copying the file (and its
WAL) by hand is not. The copy holds the briefs sealed, exactly as the database does, and never
the key: a stolen backup is as closed as a stolen disk, and restoring needs the key (or, after
`key rotate`, the key of that day, which leaksentry does not keep).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from leaksentry.config import Config
from leaksentry.diskspace import is_disk_full
from leaksentry.errors import LeaksentryError
from leaksentry.storage import is_postgres

PAGES_PER_STEP = 4096  # 16 MiB at SQLite's default page size: writers wait at most one step


@dataclass
class BackupReport:
    path: Path
    size: int
    items: int
    briefs: int


def backup(config: Config, out: str | os.PathLike) -> BackupReport:
    """Copy the database to `out` (a new file, mode 0600), checked before it is named `out`."""
    out = Path(out).resolve()
    if is_postgres(config.database):
        raise LeaksentryError(
            "backup copies a SQLite file; back up a PostgreSQL database with pg_dump "
            "(see docs/SCALING.md)"
        )
    if not config.database.is_file():
        raise LeaksentryError(f"{config.database}: no database to back up (run leaksentry init)")
    if out.exists():
        raise LeaksentryError(f"{out} exists: choose a new file name (a backup never overwrites)")
    if out == config.database:
        raise LeaksentryError("the backup must be another file than the database itself")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.unlink(missing_ok=True)
    partial.touch(mode=0o600)
    try:
        source = sqlite3.connect(config.database, timeout=30)
        target = sqlite3.connect(partial)
        try:
            source.backup(target, pages=PAGES_PER_STEP)
            target.execute("pragma journal_mode = delete")  # one self-contained file
            problem = target.execute("pragma integrity_check").fetchone()[0]
            items = target.execute("select count(*) from items").fetchone()[0]
            briefs = target.execute("select count(*) from briefs").fetchone()[0]
        finally:
            target.close()
            source.close()
        if problem != "ok":
            raise LeaksentryError(f"the copy does not check out ({problem}); nothing written")
        os.replace(partial, out)
    except (OSError, sqlite3.Error) as exc:
        partial.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise LeaksentryError(f"no room for the backup at {out.parent}: {exc}") from None
        raise LeaksentryError(f"backup to {out} failed: {exc}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupReport(out, out.stat().st_size, items, briefs)
