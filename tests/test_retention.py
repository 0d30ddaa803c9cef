"""Retention: unmatched items past the horizon go with their vectors, signatures, raw captures
and search rows; matched items, their alerts, the outbox and the audit log stay."""

import sqlite3
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from click.testing import CliRunner
from test_alerts import World, item

from leaksentry import jobs
from leaksentry.cli import cli
from leaksentry.config import load_config
from leaksentry.errors import ConfigError
from leaksentry.records import Item
from leaksentry.retention import RetentionSettings
from leaksentry.service import Service
from leaksentry.storage import Store, open_store

from conftest import write_config

OLD = (datetime.now(UTC) - timedelta(days=40)).isoformat(timespec="seconds")
WORD = "zanzibarquokka"  # in every unmatched item: the search finds exactly the ones kept


def public(n: int, text: str = f"Ferry timetable and {WORD} news") -> Item:
    return Item(f"u{n}", f"http://127.0.0.1/u{n}", "news", "s", None, f"title {n}", text)


def add_unmatched(store: Store, n: int, old: bool, scored: bool = True) -> None:
    store.add_item(public(n), f"http://127.0.0.1/u{n}", f"h{n}", b"sig", ("text/html", b"<p>x"))
    if scored:
        store.mark_matched([f"u{n}"])
    if old:
        age(store, f"u{n}")


def age(store: Store, item_id: str) -> None:
    """Make an item (and what came with it) look fetched 40 days ago."""
    store.sql.execute("update items set fetched_at = ? where id = ?", [OLD, item_id])
    store.sql.execute("update item_signatures set created_at = ? where item_id = ?", [OLD, item_id])
    store.sql.execute("update raw_captures set fetched_at = ? where item_id = ?", [OLD, item_id])


def ids(store: Store, table: str, column: str = "item_id") -> set[str]:
    return {row[0] for row in store.sql.execute(f"select {column} from {table}")}


@pytest.fixture
def world(tmp_path, mail, database):
    w = World(tmp_path, mail.port, database)
    yield w
    w.store.close()


def test_purge_drops_old_unmatched_items_and_keeps_what_alerts_show(world):
    store = world.store
    leak = item(1, "courier.example")
    world.match_run((leak, 0.81, [0, 2], True))
    assert world.send().counts["due"] == 1  # the alert mail: an outbox row (not sent: port)
    age(store, "i1")  # the matched item is old too
    (alert,) = store.alert_rows()
    store.set_verdict(alert["id"], "confirmed", "desk", "seen")
    shown = store.alert_items(alert["id"])
    outbox, audit = store.message_rows(), store.audit_rows()
    for n in (1, 2):
        add_unmatched(store, n, old=True)
    add_unmatched(store, 3, old=False)
    add_unmatched(store, 4, old=True, scored=False)  # never scored yet: the matcher's queue
    store.put_vectors({"old": np.ones(4), "new": np.zeros(4)})
    store.sql.execute("update embeddings set created_at = ? where key = 'old'", [OLD])
    store.finish_run(store.start_run("crawl"), "ok")
    store.sql.execute("update runs set started_at = ?", ["2000-01-01T00:00:00+00:00"])
    store.finish_run(store.start_run("crawl"), "ok")  # the latest of its job: kept

    counts = jobs.purge(world.config, store)

    assert counts["items"] == 2 and counts["vectors"] == 1
    assert ids(store, "items", "id") == {"i1", "u3", "u4"}
    assert ids(store, "item_signatures") == {"u3", "u4"}
    assert ids(store, "raw_captures") == {"u3"}  # u4's is past raw_days: kept only if matched
    assert ids(store, "embeddings", "key") == {"new"}
    assert {i.id for i in store.search_items([WORD], 10)} == {"u3", "u4"}
    if store.backend == "sqlite":  # its search rows went by trigger, and none dangles
        store.sql.execute("insert into items_fts(items_fts) values('integrity-check')")
    # everything the alert shows is intact
    assert store.alert_items(alert["id"]) == shown
    assert store.alert_row(alert["id"])["status"] == "confirmed"
    assert store.message_rows() == outbox and store.audit_rows() == audit
    assert store.item_texts(["i1"])["i1"] == leak.text
    assert len(store.sql.execute("select * from runs where job = 'crawl'").fetchall()) == 1


def test_purge_goes_in_batches_and_a_dry_run_deletes_nothing(tmp_path):
    config = load_config(write_config(tmp_path))
    config.retention = {"batch_size": 3}
    with open_store(config.database) as store:
        for n in range(10):
            add_unmatched(store, n, old=n < 8)
        before = store.count("items")
        assert jobs.purge(config, store, dry_run=True)["items"] == 8
        assert store.count("items") == before
        batches = []
        counts = jobs.purge(config, store, progress=batches.append)
        assert counts["items"] == 8 and store.count("items") == 2
        assert len(batches) >= 3  # 3 + 3 + 2: the lock is let go between batches
        assert store.count("raw_captures") == 2


def test_retention_settings_are_checked_and_keep_raw_days_still_counts(tmp_path):
    config = load_config(write_config(tmp_path, keep_raw_days=5))
    assert RetentionSettings.from_config(config).raw_days == 5
    path = tmp_path / "leaksentry.toml"
    path.write_text(path.read_text() + "[retention]\nitems_days = 60\nraw_days = 7\n")
    settings = RetentionSettings.from_config(load_config(path))
    assert (settings.items_days, settings.raw_days) == (60, 7)
    path.write_text(path.read_text() + "bogus = 1\n")
    with pytest.raises(ConfigError, match="bogus"):
        load_config(path)
    (tmp_path / "bad.toml").write_text("[retention]\nitems_days = -1\n")
    with pytest.raises(ConfigError, match="items_days"):
        load_config(tmp_path / "bad.toml")


def test_the_service_purges_daily_on_a_real_file(tmp_path):
    from scheduler import build_scheduler

    config = load_config(write_config(tmp_path))
    with open_store(config.database) as store:
        add_unmatched(store, 1, old=True)
        add_unmatched(store, 2, old=False)
    service = Service(config)
    assert build_scheduler(service).get_job("purge") is not None
    service.purge()
    db = sqlite3.connect(config.database)
    assert [r[0] for r in db.execute("select id from items")] == ["u2"]
    assert db.execute("select count(*) from raw_captures").fetchone()[0] == 1
    db.close()


def test_purge_command_dry_run_then_for_real(tmp_path):
    path = write_config(tmp_path)
    with open_store(tmp_path / "ls.db") as store:
        add_unmatched(store, 1, old=True)
    result = CliRunner().invoke(cli, ["purge", "--dry-run", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "would delete 1 item(s)" in result.output
    result = CliRunner().invoke(cli, ["purge", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "deleted 1 item(s)" in result.output
    with open_store(tmp_path / "ls.db") as store:
        assert store.count("items") == 0
