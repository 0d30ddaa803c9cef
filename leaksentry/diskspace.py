"""Free disk space where the database lives, and how a full disk shows itself.

Why a floor: on a full disk SQLite refuses every write, so an alert found then could not be
recorded. The crawler is by far the biggest writer (items, raw captures, vectors), so below
`min_free_disk_mb` the service stops collecting and keeps the remaining room for matching,
alerts, the outbox and the digest, which says the disk is nearly full. Collecting resumes by
itself once space is freed, and picks up what the feeds and APIs still hold (a pause longer
than a source keeps its entries loses those entries: the digest and the log say so daily).
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from leaksentry.config import Config
from leaksentry.storage import is_postgres

MIB = 1024 * 1024


@dataclass(frozen=True)
class DiskSpace:
    path: Path
    free: int  # bytes
    total: int  # bytes
    floor: int  # bytes

    @property
    def low(self) -> bool:
        return self.free < self.floor

    def describe(self) -> str:
        return (
            f"{self.free // MIB} MiB free of {self.total // MIB} MiB on {self.path} "
            f"(min_free_disk_mb = {self.floor // MIB})"
        )


def measure(config: Config) -> DiskSpace:
    """Free space on the file system that holds the database (its folder may not exist yet).

    A PostgreSQL database lives on its server's disk, which its own monitoring watches; here
    the folder of the key file (this machine's data folder) is measured instead."""
    place = config.key_file if is_postgres(config.database) else config.database
    folder = place.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    usage = shutil.disk_usage(folder)
    return DiskSpace(place.parent, usage.free, usage.total, config.min_free_disk_mb * MIB)


def paused_message(space: DiskSpace) -> str:
    return (
        f"disk nearly full: {space.describe()}; crawling is paused until space is freed "
        "(matching, alerts and mail go on)"
    )


def is_disk_full(exc: BaseException) -> bool:
    """SQLite's 'database or disk is full' (Store raises it too when a full disk keeps the
    database from opening), or the system's ENOSPC."""
    if isinstance(exc, sqlite3.OperationalError):
        return "full" in str(exc).lower()
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
