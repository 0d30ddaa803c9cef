"""The log file: private (0600), and reopened when logrotate moves it away.

The log names codenames, sources and what happened to them; like the database it is
readable by its owner only, also when it is created again after a rotation.
"""

from __future__ import annotations

import os
from logging.handlers import WatchedFileHandler
from pathlib import Path


def _private(name, flags):
    return os.open(name, flags, 0o600)


class PrivateFileHandler(WatchedFileHandler):
    """A WatchedFileHandler whose file is created 0600 (an existing one is made so)."""

    def __init__(self, path: str | Path, **kwargs):
        path = Path(path)
        try:
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)
        except OSError:
            pass  # not there yet (created below) or not ours
        super().__init__(path, **kwargs)

    def _open(self):
        return open(  # noqa: SIM115 (the handler closes it)
            self.baseFilename,
            self.mode,
            encoding=self.encoding,
            errors=self.errors,
            opener=_private,
        )


def private_log_handler(path: str | Path) -> PrivateFileHandler:
    return PrivateFileHandler(path)
