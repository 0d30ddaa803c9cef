"""A throwaway PostgreSQL server in a temporary folder on 127.0.0.1, for the tests and the
benchmarks (the server binaries come from Debian's ``postgresql`` package).

PostgreSQL refuses to run as root: when we are root, the folder is given to the
``postgres`` system user and the server runs as that user. It listens on 127.0.0.1 only, on
a free port, trusts local connections (nothing else can reach it), and its folder is removed
when it stops. ``fsync`` is off: a test server needs no durability.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from leaksentry.localservers import free_port, stop_server

SUPERUSER = "leaksentry"
START_TIMEOUT_S = 60


class PostgresMissing(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


def server_binaries() -> Path:
    """The folder of initdb and postgres: on PATH, else Debian's newest /usr/lib/postgresql."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("postgres"):
        return Path(on_path).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if versions:
        return Path(versions[-1]).parent
    raise PostgresMissing(
        "PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql): "
        "apt-get install postgresql (.ci/run does so when it is missing)"
    )


def _version(path: str) -> float:
    try:
        return float(Path(path).parent.parent.name)
    except ValueError:
        return 0.0


class LocalPostgres:
    """``with LocalPostgres() as pg: pg.create_database("t1") -> URL``."""

    def __init__(self):
        self.bin = server_binaries()
        self.port = free_port()
        self.folder: Path | None = None
        self.process: subprocess.Popen | None = None
        self.user = None  # the system user the server runs as (None: ourselves)

    @property
    def url(self) -> str:
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{name}"

    def _run_as(self) -> dict:
        return {"user": self.user, "group": self.user, "extra_groups": []} if self.user else {}

    def start(self) -> LocalPostgres:
        self.folder = Path(tempfile.mkdtemp(prefix="leaksentry-pg-"))
        if os.geteuid() == 0:
            self.user = "postgres"
            try:
                account = pwd.getpwnam(self.user)
            except KeyError:
                raise PostgresMissing(
                    "PostgreSQL will not run as root, and there is no postgres system user: "
                    "apt-get install postgresql makes one"
                ) from None
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        data = self.folder / "data"
        log = self.folder / "server.log"
        subprocess.run(
            [self.bin / "initdb", "-D", data, "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
             "--locale=C", "--no-sync"],
            check=True, capture_output=True, cwd=self.folder, **self._run_as(),
        )  # fmt: skip
        options = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": "",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "100",
        }
        arguments = [arg for key, value in options.items() for arg in ("-c", f"{key}={value}")]
        with open(log, "wb") as out:  # (opened as root; the server writes through this fd)
            self.process = subprocess.Popen(
                [self.bin / "postgres", "-D", data, *arguments],
                stdout=out, stderr=subprocess.STDOUT, cwd=self.folder, **self._run_as(),
            )  # fmt: skip
        self._wait_ready(log)
        return self

    def _wait_ready(self, log: Path) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"PostgreSQL did not start:\n{log.read_text()[-2000:]}")
            try:
                psycopg.connect(self.url, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"PostgreSQL not ready in {START_TIMEOUT_S} s") from None
                time.sleep(0.1)

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'create database "{name}"')
        return self.database_url(name)

    def stop(self) -> None:
        """Fast shutdown (SIGINT: clients are disconnected), then the folder is removed."""
        stop_server(self.process, self.folder, signal.SIGINT, timeout=30)
        self.folder = None

    def __enter__(self) -> LocalPostgres:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
