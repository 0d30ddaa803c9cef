"""Cluster mode (issue 13): `leaksentry run` enqueues, `leaksentry worker` works, on a real
PostgreSQL store and a real Redis broker; every effect happens once, however often a task
is delivered."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from leaksentry.cluster import claims, work
from leaksentry.cluster.app import CRAWL, MATCH, QUEUES, SEND, enqueue, make_app
from leaksentry.config import load_config
from leaksentry.storage import open_store
from leaksentry.vault import open_vault

from conftest import FIXTURES, cli_run, write_config

FEED_ARTICLES = {"mill-lane-bridge.html", "library-hours.html", "dock-checks.html"}
_numbers = itertools.count()


def cluster_config(tmp_path: Path, postgres_server, redis_server, site, mail) -> Path:
    """An installation on its own PostgreSQL database and Redis database, one feed source,
    the tidewater brief (one of the feed's articles leaks it)."""
    n = next(_numbers)
    database = postgres_server.create_database(f"cluster{n}")
    sources = [{"name": "main", "kind": "feed", "url": site.url + "/feeds/main.rss", "every": "1h"}]
    config = write_config(tmp_path, sources, smtp_port=mail.port, database=database)
    with config.open("a") as out:
        out.write(f'[cluster]\nbroker = "{redis_server.database_url(n % 16)}"\n')
    cli_run("init", "--config", str(config))
    cli_run("brief", "add", str(FIXTURES / "briefs" / "tidewater.toml"), "--config", str(config))
    return config


def scalar(database: str, sql: str):
    with psycopg.connect(database) as conn:
        return conn.execute(sql).fetchone()[0]


def wait_for(condition, what: str, processes=(), timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for process, log in processes:
            assert process.poll() is None, f"exited while waiting for {what}:\n{log.read_text()}"
        if time.monotonic() > deadline:
            logs = "\n".join(log.read_text()[-3000:] for _, log in processes)
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.25)


def start(tmp_path: Path, name: str, *args: str) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / f"{name}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "leaksentry", *args], stdout=out, stderr=subprocess.STDOUT
        )
    return process, log


def stop(process: subprocess.Popen, log: Path) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return log.read_text()


def queues_empty(config) -> bool:
    """Nothing waiting on the broker and nothing a worker holds unacknowledged."""
    import redis

    client = redis.Redis.from_url(config.broker)
    waiting = sum(client.llen(queue) for queue in QUEUES)
    return waiting == 0 and client.hlen("unacked") == 0


@pytest.mark.slow
def test_scheduler_and_worker_store_match_and_mail_each_thing_once(
    tmp_path, postgres_server, redis_server, site, mail
):
    path = cluster_config(tmp_path, postgres_server, redis_server, site, mail)
    config = load_config(path, env={})
    db = config.database
    worker = start(tmp_path, "worker", "worker", "--config", str(path), "--concurrency", "2")
    scheduler = start(tmp_path, "run", "run", "--config", str(path))
    processes = [worker, scheduler]
    try:
        wait_for(lambda: len(mail.messages) >= 1, "the alert mail", processes)
        wait_for(lambda: queues_empty(config), "the queues to drain", processes)
        # the same work delivered again (a retry, a duplicate, a second scheduler)
        app = make_app(config)
        for queue, args in [(CRAWL, ["main"]), (CRAWL, ["main"]), (MATCH, []), (MATCH, [])]:
            enqueue(app, queue, *args)
        enqueue(app, SEND)
        enqueue(app, SEND)
        wait_for(lambda: queues_empty(config), "the repeated tasks", processes)
        time.sleep(1)  # a mail that was wrongly sent again would have arrived by now
    finally:
        logs = {"scheduler": stop(*scheduler), "worker": stop(*worker)}
    assert worker[0].returncode == 0 and scheduler[0].returncode == 0, logs
    assert "Traceback" not in logs["worker"] + logs["scheduler"], logs
    assert "crawl main: enqueued" in logs["scheduler"]

    urls = scalar(db, "select string_agg(url, ' ') from items").split()
    assert sorted(u.rsplit("/", 1)[-1] for u in urls) == sorted(FEED_ARTICLES)  # stored once
    assert scalar(db, "select count(*) from items where matched_at is null") == 0
    pairs = scalar(db, "select count(*) from matches")
    assert pairs == scalar(db, "select count(distinct (brief_id, item_id)) from matches")
    assert scalar(db, "select count(*) from alerts") == 1
    assert scalar(db, "select count(*) from outbox where state = 'sent'") == 1
    assert len(mail.messages) == 1  # mailed once
    assert "[leaksentry]" in str(mail.messages[0]["Subject"])


def test_a_second_scheduler_stands_by_and_takes_over_when_the_first_dies(
    tmp_path, postgres_server, redis_server, site, mail
):
    path = cluster_config(tmp_path, postgres_server, redis_server, site, mail)
    scheduling = "this process schedules"
    first = start(tmp_path, "first", "run", "--config", str(path))
    second = None
    try:
        wait_for(lambda: scheduling in first[1].read_text(), "the first to schedule", [first])
        second = start(tmp_path, "second", "run", "--config", str(path))
        wait_for(lambda: "standing by" in second[1].read_text(), "the second to wait", [second])
        assert scheduling not in second[1].read_text()
        first[0].kill()  # SIGKILL: no goodbye; the server ends its session, and the lock
        first[0].wait()
        wait_for(lambda: "crawl main: enqueued" in second[1].read_text(), "takeover", [second])
        third = start(tmp_path, "third", "run", "--config", str(path))
        wait_for(lambda: "standing by" in third[1].read_text(), "a standby", [third])
        assert "leaksentry stopped" in stop(*third) and third[0].returncode == 0  # SIGTERM
    finally:
        stop(*first)
        log = stop(*second) if second else ""
    assert second[0].returncode == 0 and "Traceback" not in log, log
    assert scheduling in log


def test_a_scheduler_knows_when_its_lock_is_gone(postgres_server):
    """The server ended the session (restart, network): the lock is free for a standby, and
    the holder notices at its next check (then `run` stops with exit 1)."""
    from leaksentry.cluster.leader import SCHEDULER_LOCK, SchedulerLock

    database = postgres_server.create_database(f"lock{next(_numbers)}")
    holder, other = SchedulerLock(database), SchedulerLock(database)
    stopping = threading.Event()
    assert holder.acquire(stopping) and holder.held()
    # the server notices a vanished scheduler in seconds, not the OS's two hours
    assert holder.conn.execute("show tcp_keepalives_idle").fetchone()[0] in ("10", "10s")
    with psycopg.connect(database, autocommit=True) as admin:
        admin.execute(
            "select pg_terminate_backend(pid) from pg_locks "
            "where locktype = 'advisory' and objid = %s",
            [SCHEDULER_LOCK],
        )
    assert not holder.held()
    assert other.acquire(stopping) and other.held()
    other.close()
    holder.close()


@pytest.mark.slow
def test_a_match_or_send_task_run_twice_does_nothing_the_second_time(
    tmp_path, postgres_server, redis_server, site, mail, embedder
):
    from leaksentry import jobs
    from matcher import Matcher, MatcherSettings

    path = cluster_config(tmp_path, postgres_server, redis_server, site, mail)
    cli_run("crawl", "--config", str(path))
    config = load_config(path, env={})
    with open_store(config.database) as store:
        vault = open_vault(config, store)
        cache = jobs.StoreVectorCache(store)
        matcher = Matcher(embedder, MatcherSettings.from_dict(config.matcher), cache=cache)
        first = work.match_claimed(config, store, vault, matcher)
        counts = {t: store.count(t) for t in ("matches", "alerts", "outbox", "runs")}
        second = work.match_claimed(config, store, vault, matcher)
        assert first.counts["items"] == len(FEED_ARTICLES) and first.counts["alerts"] == 1
        assert first.counts["queued"] == 1
        assert second.counts == {"items": 0, "matches": 0, "alerts": 0, "queued": 0}
        assert {t: store.count(t) for t in counts} == counts

        sent = work.send_claimed(config, store)
        again = work.send_claimed(config, store)
    assert sent.counts["sent"] == 1 and again.counts == {"sent": 0, "failed": 0}
    assert len(mail.messages) == 1


def test_claims_skip_rows_another_worker_holds(tmp_path, postgres_server):
    """Two workers claiming at once get disjoint batches and disjoint outbox rows; a row
    freed by a rollback (a crash) is claimed again; a marked one never."""
    database = postgres_server.create_database(f"claims{next(_numbers)}")
    with open_store(database) as setup:
        for n in range(5):
            setup.sql.insert(
                "items",
                {"id": f"i{n}", "url": f"https://example.org/{n}", "source": "s", "kind": "news",
                 "title": "t", "text": "x", "fetched_at": f"2026-01-0{n + 1}T00:00:00+00:00"},
            )  # fmt: skip
        for n in range(2):
            setup.queue_message({"subject": f"m{n}", "recipients": "[]", "kind": "alert"})
    with open_store(database) as one, open_store(database) as two:
        with one.atomic():
            first = [item.id for item in claims.claim_unmatched(one, 3)]
            assert first == ["i0", "i1", "i2"]
            with two.atomic():
                assert [item.id for item in claims.claim_unmatched(two, 3)] == ["i3", "i4"]
                held = claims.claim_message(one, "9999")["subject"]
                assert claims.claim_message(two, "9999")["subject"] != held
            one.mark_matched(first[:2])  # committed: i0 and i1 are done, i2 only released
        with pytest.raises(RuntimeError), one.atomic():
            claims.claim_unmatched(one, 5)
            raise RuntimeError("a worker dies mid-batch")
        with two.atomic():
            assert [item.id for item in claims.claim_unmatched(two, 5)] == ["i2", "i3", "i4"]


def test_a_batchs_vectors_are_shared_at_once_and_never_hold_another_batch(postgres_server):
    """The match task's vector cache writes on a connection of its own (work.vector_cache),
    committed at once: a second worker, in the middle of its own batch, finds the first
    one's vectors and writes the same keys (in the other order) without waiting for the
    first batch to commit. On the batch's connection it would wait for that batch's end."""
    import numpy as np

    database = postgres_server.create_database(f"vectors{next(_numbers)}")
    vectors = {f"k{n:03d}": np.full(4, n, dtype=np.float32) for n in range(100)}
    with (
        open_store(database) as one,
        open_store(database) as two,
        one.atomic(),
        work.vector_cache(database) as cache_one,
    ):
        claims.claim_unmatched(one, 10)  # a batch in flight: its transaction stays open
        cache_one.put_vectors(vectors)
        with two.atomic(), work.vector_cache(database) as cache_two:
            cache_two.store.sql.execute("set lock_timeout = '5s'")  # a wait fails
            assert set(cache_two.get_vectors(list(vectors))) == set(vectors)
            cache_two.put_vectors(dict(reversed(vectors.items())))


def test_vectors_written_in_opposite_orders_at_once_do_not_deadlock(postgres_server):
    """Two writers of the same passage vectors, listed in opposite orders, inside open
    transactions: keys are written in one order, so one waits for the other, and neither
    is aborted as a deadlock."""
    import numpy as np

    from leaksentry import jobs

    database = postgres_server.create_database(f"vectors{next(_numbers)}")
    keys = [f"k{n:03d}" for n in range(200)]
    both = threading.Barrier(2, timeout=30)
    errors = []

    def writer(order: list[str]) -> None:
        with open_store(database) as store:
            try:
                with store.atomic():
                    both.wait()
                    jobs.StoreVectorCache(store).put_vectors(
                        {k: np.ones(4, dtype=np.float32) for k in order}
                    )
                    time.sleep(0.3)
            except psycopg.Error as exc:
                errors.append(type(exc).__name__)

    threads = [threading.Thread(target=writer, args=(o,)) for o in (keys, keys[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert scalar(database, "select count(*) from embeddings") == len(keys)


def test_worker_without_a_cluster_table_says_what_to_set(tmp_path):
    config = write_config(tmp_path)
    done = cli_run("worker", "--config", str(config), check=False)
    assert done.returncode == 1
    assert "no [cluster] broker" in done.stderr and "Traceback" not in done.stderr
    bad = cli_run("worker", "--queues", "crawl,mail", "--config", str(config), check=False)
    assert bad.returncode in (1, 2) and "mail" in bad.stderr


def test_the_local_redis_answers_and_keeps_nothing_on_disk(redis_server):
    import redis

    client = redis.Redis.from_url(redis_server.database_url(15))
    client.set("k", "v")
    assert client.get("k") == b"v"
    assert client.config_get("save")["save"] == "" and client.config_get("appendonly") == {
        "appendonly": "no"
    }
    assert os.path.isdir(redis_server.folder)


def test_two_workers_recording_one_story_at_once_make_one_alert(tmp_path, postgres_server):
    """Two workers score batches holding items of the same story side by side; recording
    takes the store's write lock, so the second finds the alert the first opened (one
    process would make one alert, and so does the cluster)."""
    from click.testing import CliRunner

    from leaksentry import jobs
    from leaksentry.alerts.exposures import AlertSettings
    from leaksentry.cli import cli
    from leaksentry.records import Item, Match

    database = postgres_server.create_database(f"story{next(_numbers)}")
    config = write_config(tmp_path, database=database)
    brief = str(FIXTURES / "briefs" / "tidewater.toml")
    for args in (["init"], ["brief", "add", brief, "--no-retro"]):
        assert CliRunner().invoke(cli, [*args, "--config", str(config)]).exit_code == 0
    with open_store(database) as store:
        for n in range(2):  # the second is a copy of the first: one story
            item = Item(f"i{n}", f"https://site{n}.example/a", "news", f"site{n}.example",
                        "2026-11-04T08:00:00Z", "Dock checks", f"Customs at the dock {n}",
                        story="i0")  # fmt: skip
            store.add_item(item, item.url, f"h{n}")
        rows = {row["id"]: row for row in store.brief_rows()}
    context = jobs.MatchContext(AlertSettings.from_dict({}), rows, prepared=[object()])
    both_scoring = threading.Barrier(2, timeout=30)

    class Matcher:  # scores each item as a leak of the brief, once both workers are scoring
        def prepare_items(self, batch):
            return batch

        def score(self, prepared, items):
            both_scoring.wait()
            return [Match("T-DOCK", i.id, 0.9, [0], ["Customs at the dock"]) for i in items]

    reports = [jobs.StepReport({"items": 0, "matches": 0}) for _ in range(2)]

    def worker(n: int) -> None:
        with open_store(database) as store:
            work.match_one_batch(store, Matcher(), context, 1, reports[n])

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [r.counts["items"] for r in reports] == [1, 1]  # one item each, side by side
    assert scalar(database, "select count(*) from alerts") == 1
    assert scalar(database, "select items from alerts") == 2


@pytest.mark.slow
def test_a_pool_process_killed_mid_batch_loses_and_repeats_nothing(
    tmp_path, postgres_server, redis_server, mail
):
    """SIGKILL to the worker's pool process while it holds a claimed batch: Celery puts the
    task back (reject_on_worker_lost), a new pool process claims the same items, and each is
    matched once and its alert mailed once."""
    from leaksentry.jobs import MATCH_BATCH
    from leaksentry.records import Item

    n = next(_numbers)
    database = postgres_server.create_database(f"kill{n}")
    path = write_config(tmp_path, smtp_port=mail.port, database=database)
    # a small background: the batch's items are embedded while it is claimed, not before
    text = path.read_text().replace("small_stream_margin = 0", "small_stream_margin = 0\n"
                                    "background_items = 10")  # fmt: skip
    path.write_text(text + f'[cluster]\nbroker = "{redis_server.database_url(n % 16)}"\n')
    cli_run("init", "--config", str(path))
    brief = str(FIXTURES / "briefs" / "tidewater.toml")
    cli_run("brief", "add", brief, "--no-retro", "--config", str(path))
    posts = MATCH_BATCH + 44  # two batches
    with open_store(database) as store:
        for k in range(posts):
            words = (
                "a haulier says forty officers and two scanner vans will wait at the Fernwick "
                "dock east gate from a quarter past five on Friday, searching refrigerated "
                "loads for smuggled tobacco"
                if k % 50 == 0  # the rest name the place too: the matcher embeds them
                else f"long queue of lorries at the Fernwick dock east gate, number {k}"
            )
            post = Item(f"p{k}", f"https://social.example/p/{k}", "social", "social.example",
                        "2026-11-04T08:00:00Z", "", f"Post {k}: {words}")  # fmt: skip
            store.add_item(post, post.url, f"h{k}")
    config = load_config(path, env={})
    unmatched = "select count(*) from items where matched_at is null"
    claimed = (  # FOR UPDATE holds a row-share lock on the table until the batch commits
        "select count(*) from pg_locks where relation = 'items'::regclass and mode = 'RowShareLock'"
    )
    worker = start(
        tmp_path, "worker", "worker", "--queues", "match,send", "--concurrency", "1",
        "--config", str(path),
    )  # fmt: skip
    try:
        enqueue(make_app(config), MATCH)
        wait_for(lambda: scalar(database, claimed) > 0, "a claimed batch", [worker], 90)
        assert scalar(database, unmatched) == posts  # in the middle of the first batch
        children = Path(f"/proc/{worker[0].pid}/task/{worker[0].pid}/children").read_text()
        (pool,) = [int(pid) for pid in children.split()]
        os.kill(pool, signal.SIGKILL)
        wait_for(lambda: scalar(database, unmatched) == 0, "the batches", [worker], 90)
        wait_for(lambda: queues_empty(config), "the queues to empty", [worker])
        wait_for(lambda: len(mail.messages) >= 1, "the alert's mail", [worker])
        time.sleep(0.5)
    finally:
        log = stop(*worker)
    assert "WorkerLostError" in log
    pairs = scalar(database, "select count(distinct brief_id || item_id) from matches")
    assert scalar(database, "select count(*) from matches") == pairs
    assert scalar(database, "select count(*) from outbox where state != 'sent'") == 0
    sent = scalar(database, "select count(*) from outbox where state = 'sent'")
    assert sent == len(mail.messages) == len({m["Message-ID"] for m in mail.messages})
