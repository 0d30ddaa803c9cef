"""Cluster throughput (issue 13): the same made-up stream (tests/clusterdata.py: ten local
feeds, K briefs each leaked once) crawled, matched and mailed end to end by `leaksentry run`
with 1, 2 and 3 `leaksentry worker` processes (concurrency 1 each) over a local PostgreSQL
and Redis, and by one process over a SQLite file (`leaksentry crawl`, `match`, `send`).

Timed from the scheduler's start (the workers started and ready before) until every item is
matched and every alert mailed; the workers load the model on their first match task, so the
figure includes that once per worker, as a fresh cluster pays it. Printed per setting: wall
seconds, items per second, the CPU seconds of leaksentry's processes (workers, their crawl
children, the scheduler; PostgreSQL's and Redis's own not counted) and items per CPU second,
the per-core rate that docs/SCALING.md sizes a cluster from.

The matcher calibrates as in tests/test_cluster_kill.py (a 20-item sample, a fixed volume):
a fresh store would otherwise embed its whole stream to calibrate, again each time the
stream doubles, which a running service does once a day; these are steady-state rates.

    .venv/bin/python bench/cluster.py [--items 2000] [--briefs 20] [--workers 1,2,3]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
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
MODEL = "all-MiniLM-L6-v2"  # the default: float32 ONNX
MATCHER = ["[matcher]", "background_items = 20", "items_per_day = 300"]


def leaksentry(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "leaksentry", *args], check=True, capture_output=True)


def config_file(folder: Path, feeds: list[str], site: str, mail: int, extra: list[str]) -> Path:
    folder.mkdir(parents=True)
    lines = [*extra, 'key_file = "ls.key"', f'model = "{MODEL}"', *MATCHER]
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


def cpu_seconds() -> float:
    """User + system CPU of this process's children that ended and were waited for (with
    theirs: a worker's pool processes and crawl children count once the worker has ended)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def single(work: Path, feeds, site, brief_files) -> tuple[float, float, dict]:
    with MailCatcher() as mail:
        config = config_file(work / "single", feeds, site, mail.port, ['database = "ls.db"'])
        prepare(config, brief_files)
        began, cpu = time.monotonic(), cpu_seconds()
        steps = {}
        for step in ("crawl", "match", "send"):
            started = time.monotonic()
            leaksentry(step, "--config", str(config))
            steps[step] = time.monotonic() - started
        return time.monotonic() - began, cpu_seconds() - cpu, steps


TASK = re.compile(r"Task leaksentry\.(\w+)\[[^]]*\] succeeded in ([0-9.]+)s")


def cluster(
    work: Path, n: int, feeds, site, brief_files, pg, redis, items, briefs
) -> tuple[float, float, dict]:
    db = pg.create_database(f"bench{n}")
    with MailCatcher() as mail:
        extra = [f'database = "{db}"', "[cluster]", f'broker = "{redis.database_url(n)}"']
        config = config_file(work / f"cluster{n}", feeds, site, mail.port, extra)
        prepare(config, brief_files)
        logs = [work / f"cluster{n}" / f"w{k}.log" for k in range(n)]
        cpu = cpu_seconds()
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "leaksentry", "worker", "--concurrency", "1",
                 "--config", str(config)],
                stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
            )
            for log in logs
        ]  # fmt: skip
        scheduler = None
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
                    if time.monotonic() - began > 1800:
                        raise SystemExit(f"{n} worker(s): not done after 30 minutes; see {logs}")
                    time.sleep(0.2)
            seconds = time.monotonic() - began
        finally:
            running = [*workers, *([scheduler] if scheduler else [])]
            for process in running:
                process.send_signal(signal.SIGTERM)
            for process in running:
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        tasks: dict[str, float] = {}
        for log in logs:
            for kind, took in TASK.findall(log.read_text()):
                tasks[kind] = tasks.get(kind, 0.0) + float(took)
    return seconds, cpu_seconds() - cpu, tasks


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
                f"{os.cpu_count()} cores (crawl + match + send)",
                flush=True,
            )
            print(f"  {'':<24} {'wall':>8} {'items/s':>8} {'CPU':>8} {'items/CPU s':>12}")
            seconds, cpu, steps = single(work, feeds, site.url, brief_files)
            show("one process, SQLite", seconds, cpu, args.items, steps)
            for n in counts:
                seconds, cpu, tasks = cluster(
                    work, n, feeds, site.url, brief_files, pg, redis, args.items, args.briefs
                )
                show(f"{n} worker(s), PostgreSQL", seconds, cpu, args.items, tasks)


def show(name: str, seconds: float, cpu: float, items: int, parts: dict) -> None:
    """One line; then where the time went: the single process's steps (wall), or the
    workers' task time by kind (summed over the workers)."""
    print(
        f"  {name:<24} {seconds:7.1f}s {items / seconds:8.1f} {cpu:7.1f}s {items / cpu:12.1f}",
        flush=True,
    )
    print("  " + " " * 26 + ", ".join(f"{k} {v:.1f} s" for k, v in parts.items()), flush=True)


if __name__ == "__main__":
    main()
