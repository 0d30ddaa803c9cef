"""Cluster throughput (issue 13): the same made-up stream (tests/clusterdata.py: ten local
feeds, K briefs each leaked once) crawled, matched and mailed end to end by `leaksentry run`
with 1, 2 and 3 `leaksentry worker` processes (concurrency 1 each) over a local PostgreSQL
and Redis, and by one process over a SQLite file (`leaksentry crawl`, `match`, `send`).

Timed from the scheduler's start (the workers started and ready before) until every item is
matched and every alert mailed; the workers load the model on their first match task, so the
figure includes that once per worker, as a fresh cluster pays it. Printed: seconds and items
per second per setting, and the rate per worker.

    .venv/bin/python bench/cluster.py [--items 2000] [--briefs 20] [--workers 1,2,3]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import clusterdata  # noqa: E402
import psycopg  # noqa: E402

from leaksentry.localpostgres import LocalPostgres  # noqa: E402
from leaksentry.localredis import LocalRedis  # noqa: E402
from leaksentry.localservers import MailCatcher, StaticSite  # noqa: E402

SOURCES = 10
MODEL = "all-MiniLM-L6-v2@onnx-int8"


def leaksentry(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "leaksentry", *args], check=True, capture_output=True)


def config_file(folder: Path, feeds: list[str], site: str, mail: int, extra: list[str]) -> Path:
    folder.mkdir(parents=True)
    lines = [*extra, 'key_file = "ls.key"', f'model = "{MODEL}"']
    lines += ["[smtp]", 'host = "127.0.0.1"', f"port = {mail}", "timeout = 5"]
    for k, feed in enumerate(feeds):
        lines += ["[[source]]", f'name = "s{k}"', 'kind = "feed"', f'url = "{site}{feed}"']
        lines += ['every = "1h"', 'lookback = "36500d"']
    cluster = [line for line in lines if line.startswith(("[cluster]", "broker"))]
    lines = [line for line in lines if line not in cluster] + cluster  # the table last
    path = folder / "leaksentry.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def prepare(config: Path, brief_files: list[str]) -> None:
    leaksentry("init", "--config", str(config))
    leaksentry("brief", "add", "--no-retro", *brief_files, "--config", str(config))


def single(work: Path, feeds, site, brief_files) -> float:
    with MailCatcher() as mail:
        config = config_file(work / "single", feeds, site, mail.port, ['database = "ls.db"'])
        prepare(config, brief_files)
        began = time.monotonic()
        for step in ("crawl", "match", "send"):
            leaksentry(step, "--config", str(config))
        return time.monotonic() - began


def cluster(work: Path, n: int, feeds, site, brief_files, pg, redis, items, briefs) -> float:
    db = pg.create_database(f"bench{n}")
    with MailCatcher() as mail:
        extra = [f'database = "{db}"', "[cluster]", f'broker = "{redis.database_url(n)}"']
        config = config_file(work / f"cluster{n}", feeds, site, mail.port, extra)
        prepare(config, brief_files)
        logs = [work / f"cluster{n}" / f"w{k}.log" for k in range(n)]
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "leaksentry", "worker", "--concurrency", "1",
                 "--config", str(config)],
                stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
            )
            for log in logs
        ]  # fmt: skip
        try:
            while not all("ready." in log.read_text() for log in logs):
                time.sleep(0.2)
            began = time.monotonic()
            scheduler = subprocess.Popen(
                [sys.executable, "-m", "leaksentry", "run", "--config", str(config)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
            with psycopg.connect(db, autocommit=True) as conn:
                while True:
                    (stored, unmatched), = conn.execute(
                        "select count(*), count(*) filter (where matched_at is null) from items"
                    ).fetchall()  # fmt: skip
                    if stored >= items and not unmatched and len(mail.messages) >= briefs:
                        break
                    time.sleep(0.2)
            seconds = time.monotonic() - began
        finally:
            for process in [*workers, scheduler]:
                process.send_signal(signal.SIGTERM)
            for process in [*workers, scheduler]:
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--briefs", type=int, default=20)
    parser.add_argument("--workers", default="1,2,3", help="worker counts, comma-separated")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    briefs, per_source = clusterdata.stream(args.items, args.briefs, SOURCES)
    with tempfile.TemporaryDirectory() as tmp, LocalPostgres() as pg, LocalRedis() as redis:
        work = Path(tmp)
        feeds = clusterdata.write_sites(work / "site", per_source)
        brief_files = [str(p) for p in clusterdata.write_briefs(work / "briefs", briefs)]
        with StaticSite(work / "site") as site:
            print(
                f"{args.items} items, {args.briefs} briefs, {SOURCES} sources, model {MODEL}, "
                f"{os.cpu_count()} cores (crawl + match + send, wall time)",
                flush=True,
            )
            show("one process, SQLite", single(work, feeds, site.url, brief_files), args.items)
            for n in counts:
                seconds = cluster(
                    work, n, feeds, site.url, brief_files, pg, redis, args.items, args.briefs
                )
                show(f"{n} worker(s), PostgreSQL", seconds, args.items)


def show(name: str, seconds: float, items: int) -> None:
    print(f"  {name:<26} {seconds:7.1f} s  {items / seconds:7.1f} items/s", flush=True)


if __name__ == "__main__":
    main()
