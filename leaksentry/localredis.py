"""A throwaway Redis server in a temporary folder on 127.0.0.1, for the tests and the
benchmarks of the distributed workers (the binary comes from Debian's ``redis-server``).

It listens on 127.0.0.1 only, on a free port, keeps nothing on disk (no RDB snapshots, no
append-only file: a test broker needs no durability), and its folder is removed when it
stops. Unlike PostgreSQL, Redis runs as root without complaint.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from leaksentry.localservers import free_port, stop_server

START_TIMEOUT_S = 30


class RedisMissing(RuntimeError):
    """The redis-server binary is not installed."""


def server_binary() -> str:
    found = shutil.which("redis-server")
    if not found:
        raise RedisMissing(
            "Redis is not installed (no redis-server on PATH): apt-get install redis-server "
            "(.ci/run does so when it is missing)"
        )
    return found


class LocalRedis:
    """``with LocalRedis() as redis: redis.url -> "redis://127.0.0.1:PORT/0"``."""

    def __init__(self):
        self.binary = server_binary()
        self.port = free_port()
        self.folder: Path | None = None
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return self.database_url(0)

    def database_url(self, number: int) -> str:
        """One of the server's numbered databases (0..15): a broker of its own per test."""
        return f"redis://127.0.0.1:{self.port}/{number}"

    def start(self) -> LocalRedis:
        self.folder = Path(tempfile.mkdtemp(prefix="leaksentry-redis-"))
        log = self.folder / "server.log"
        arguments = {
            "bind": "127.0.0.1",
            "port": str(self.port),
            "dir": str(self.folder),
            "save": "",
            "appendonly": "no",
            "protected-mode": "yes",
            "logfile": str(log),
            "daemonize": "no",
        }
        command = [self.binary] + [part for k, v in arguments.items() for part in (f"--{k}", v)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, cwd=self.folder
        )
        self._wait_ready(log)
        return self

    def _wait_ready(self, log: Path) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                text = log.read_text()[-2000:] if log.exists() else ""
                self.stop()
                raise RuntimeError(f"Redis did not start:\n{text}")
            if self.ping():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Redis not ready in {START_TIMEOUT_S} s")
            time.sleep(0.05)

    def ping(self) -> bool:
        """Whether the server answers PING (plain RESP over a socket: no client needed)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """SIGTERM (with no persistence it exits at once), then the folder is removed."""
        stop_server(self.process, self.folder, signal.SIGTERM, timeout=10)
        self.folder = None

    def __enter__(self) -> LocalRedis:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
