"""The store: migrations once, items de-duplicated, the matcher's queue."""

import sqlite3

from leaksentry.migrations import MIGRATIONS
from leaksentry.records import Item
from leaksentry.store import Store


def make_item(n: int, text: str = "text") -> Item:
    return Item(f"i{n}", f"http://127.0.0.1/{n}", "news", "s", None, f"title {n}", text)


def test_migrations_apply_once_and_are_recorded(tmp_path):
    Store(tmp_path / "a.db").close()
    Store(tmp_path / "a.db").close()
    names = [
        r[0] for r in sqlite3.connect(tmp_path / "a.db").execute("select name from _migrations")
    ]
    assert names == [name for name, _ in sorted(MIGRATIONS)]
    tables = {
        r[0] for r in sqlite3.connect(tmp_path / "a.db").execute("select name from sqlite_master")
    }
    assert {"sources", "items", "briefs", "matches", "alerts", "runs"} <= tables


def test_items_are_unique_by_url_and_copies_join_a_story(tmp_path):
    with Store(tmp_path / "a.db") as store:
        assert store.add_item(make_item(1), "http://127.0.0.1/1", "h1")
        assert not store.add_item(make_item(2), "http://127.0.0.1/1", "h2")  # same URL
        assert store.story_of_content("h1") == "i1"
        copy = make_item(3)
        copy.story = store.story_of_content("h1")
        assert store.add_item(copy, "http://127.0.0.1/3", "h1")  # same text elsewhere: a copy
        assert [i.story for i in store.items()] == ["i1", "i1"]


def test_raw_capture_is_kept_compressed_and_purged_unless_matched(tmp_path):
    body = b"<html>" + b"evidence " * 500 + b"</html>"
    with Store(tmp_path / "a.db") as store:
        for n in (1, 2):
            store.add_item(make_item(n), f"u{n}", f"h{n}", raw=("text/html", body))
        assert store.raw_capture("i1") == ("text/html", body)
        stored = store.db.execute("select length(body) from raw_captures").fetchone()[0]
        assert stored < len(body) / 5
        store.record_match(
            {
                "brief_id": "B",
                "item_id": "i2",
                "score": 0.9,
                "details_matched": "[]",
                "evidence": "[]",
                "alert": 1,
            }
        )
        assert store.purge_raw_captures(older_than="9999-01-01") == 1
        assert store.raw_capture("i1") is None
        assert store.raw_capture("i2") == ("text/html", body)  # matched: kept


def test_unmatched_items_are_the_matchers_queue(tmp_path):
    with Store(tmp_path / "a.db") as store:
        for n in range(3):
            store.add_item(make_item(n), f"u{n}", f"h{n}")
        assert [i.id for i in store.unmatched_items()] == ["i0", "i1", "i2"]
        store.mark_matched(["i0", "i2"])
        assert [i.id for i in store.unmatched_items()] == ["i1"]


def test_wal_lets_a_second_connection_read_while_one_writes(tmp_path):
    with Store(tmp_path / "a.db") as writer, Store(tmp_path / "a.db") as reader:
        with writer.db.atomic():
            writer.add_item(make_item(1), "u1", "h1")
            assert reader.count("items") == 0  # not committed yet, and no lock error
        assert reader.count("items") == 1
