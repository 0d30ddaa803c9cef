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


def test_a_batch_is_written_as_add_item_writes_one_item_at_a_time(tmp_path):
    """add_items (the crawl's store writer): the same rows as add_item, a URL stored or
    earlier in the batch not written again, the text searchable, the raw capture kept."""
    body = b"<html>" + b"evidence " * 50 + b"</html>"
    with Store(tmp_path / "a.db") as store:
        assert store.add_item(make_item(1, "harbour ferry"), "u1", "h1")
        copy = make_item(3, "harbour ferry")
        copy.story = "i1"
        added = store.add_items(
            [
                (make_item(2, "quiet lighthouse"), "u2", "h2", b"sig2", ("text/html", body)),
                (make_item(9), "u1", "h9", None, None),  # stored already
                (copy, "u3", "h1", None, None),  # the same text: its story
                (make_item(8), "u2", "h8", None, None),  # earlier in this batch
            ]
        )
        assert added == [True, False, True, False]
        assert [(i.id, i.story) for i in store.items()] == [
            ("i1", "i1"),
            ("i2", "i2"),
            ("i3", "i1"),
        ]
        assert store.raw_capture("i2") == ("text/html", body)
        assert [i.id for i in store.search_items(["lighthouse"], 10)] == ["i2"]
        assert store.stories_of_contents(["h1", "h2", "nothing"]) == {"h1": "i1", "h2": "i2"}
        assert store.db.execute("select count(*) from item_signatures").fetchone()[0] == 1
        assert [i.id for i in store.unmatched_items()] == ["i1", "i2", "i3"]


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


WRITER = """
import sys
from leaksentry.records import Item
from leaksentry.store import Store

path, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with Store(path) as store:
    for n in range(count):
        item = Item(f"{name}{n}", f"http://127.0.0.1/{name}/{n}", "news", name, None, "t", "x")
        assert store.add_item(item, item.url, f"h-{name}-{n}")
        with store.db.atomic():  # as match_new records a batch: read, then write
            match = {"brief_id": "B", "item_id": item.id, "score": 0.5, "details_matched": "[]",
                     "evidence": "[]", "alert": 0}
            assert store.record_match(match) is not None
            assert store.record_match(match) is None
            store.mark_matched([item.id])
"""


def test_two_writers_at_full_speed_never_get_database_is_locked(tmp_path):
    """WAL and deferred transactions: a read, then a write, fails at once with SQLITE_BUSY when
    another process committed in between; every write transaction takes the lock first."""
    import subprocess
    import sys

    database = tmp_path / "a.db"
    Store(database).close()
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    writers = [
        subprocess.Popen(
            [sys.executable, str(script), str(database), name, "400"],
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    errors = [writer.communicate(timeout=300)[1] for writer in writers]
    assert [writer.returncode for writer in writers] == [0, 0], "\n".join(errors)[-2000:]
    with Store(database) as store:
        assert store.count("items") == 800 and store.count("matches") == 800
