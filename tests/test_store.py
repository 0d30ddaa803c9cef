"""The store, on both backends (SQLite file, PostgreSQL server): migrations once, items
de-duplicated, the matcher's queue, briefs sealed as bytes, alerts, the outbox, operators."""

import subprocess
import sys
import threading
import time

import pytest

from leaksentry.records import Item
from leaksentry.storage import describe, is_postgres, open_store, postgres_schema, sqlite_schema


def make_item(n: int, text: str = "text", published: str | None = None) -> Item:
    return Item(f"i{n}", f"http://127.0.0.1/{n}", "news", "s", published, f"title {n}", text)


def match_row(item_id: str, brief_id: str = "B", score: float = 0.9) -> dict:
    return {
        "brief_id": brief_id,
        "item_id": item_id,
        "score": score,
        "details_matched": "[]",
        "evidence": "[]",
        "alert": 1,
    }


def test_migrations_apply_once_and_are_recorded(database):
    open_store(database).close()
    with open_store(database) as store:
        schema = postgres_schema if store.backend == "postgresql" else sqlite_schema
        assert store.applied_migrations() == [name for name, _ in sorted(schema.MIGRATIONS)]
        assert {"sources", "items", "briefs", "matches", "alerts", "runs", "outbox"} <= set(
            store.table_names()
        )


def test_both_schemas_end_at_the_same_migration():
    """PostgreSQL's m009 stands for SQLite's m001..m009; every later schema change is one
    migration of the same name in both lists (storage/migrate.py)."""
    later = [{n for n, _ in s.MIGRATIONS if n > "m009_~"} for s in (sqlite_schema, postgres_schema)]
    assert later[0] == later[1]
    assert max(sqlite_schema.MIGRATIONS)[0][:4] == max(postgres_schema.MIGRATIONS)[0][:4]


def test_both_schemas_have_the_same_columns(tmp_path, postgres_server):
    url = postgres_server.create_database("columns")
    columns = {}
    for database in (tmp_path / "a.db", url):
        with open_store(database) as store:
            columns[store.backend] = {
                table: sorted(_columns(store, table))
                for table in store.table_names()
                if not table.startswith("items_fts") and table != "_migrations"
            }
    assert columns["sqlite"] == columns["postgresql"]


def _columns(store, table: str) -> list[str]:
    cursor = store.sql.execute(f'select * from "{table}" limit 0')
    return [column[0] for column in cursor.description]


def test_database_choice_and_the_password_never_shown():
    assert is_postgres("postgresql://ls@db.example/leaksentry")
    assert not is_postgres("data/leaksentry.db")
    shown = describe("postgresql://ls:s3cret@db.example:5432/leaksentry")
    assert "s3cret" not in shown and shown == "postgresql://ls:***@db.example:5432/leaksentry"


def test_items_are_unique_by_url_and_copies_join_a_story(database):
    with open_store(database) as store:
        assert store.add_item(make_item(1), "http://127.0.0.1/1", "h1")
        assert not store.add_item(make_item(2), "http://127.0.0.1/1", "h2")  # same URL
        assert store.story_of_content("h1") == "i1"
        copy = make_item(3)
        copy.story = store.story_of_content("h1")
        assert store.add_item(copy, "http://127.0.0.1/3", "h1")  # same text elsewhere: a copy
        assert [i.story for i in store.items()] == ["i1", "i1"]
        assert store.stored_urls(["http://127.0.0.1/1", "http://127.0.0.1/2"]) == {
            "http://127.0.0.1/1"
        }
        assert store.has_url("http://127.0.0.1/3") and not store.has_url("x")
        assert store.item_texts(["i1", "i9"]) == {"i1": "text"}
        assert [i.id for i in store.items_by_ids(["i3", "i9", "i1"])] == ["i3", "i1"]
        assert store.item_counts_by_source() == {"s": 2}
        assert store.count("items") == 2


def test_signatures_are_kept_as_bytes(database):
    signature = bytes(range(256)) * 4
    with open_store(database) as store:
        store.add_item(make_item(1), "u1", "h1", signature=signature)
        [(item_id, story, kept)] = list(store.recent_signatures("2000-01-01"))
        assert (item_id, story, bytes(kept)) == ("i1", "i1", signature)
        assert list(store.recent_signatures("9999-01-01")) == []


def test_a_batch_is_written_as_add_item_writes_one_item_at_a_time(database):
    """add_items (the crawl's store writer): the same rows as add_item, a URL stored or
    earlier in the batch not written again, the text searchable, the raw capture kept."""
    body = b"<html>" + b"evidence " * 50 + b"</html>"
    with open_store(database) as store:
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
        assert store.sql.scalar("select count(*) from item_signatures") == 1
        assert [i.id for i in store.unmatched_items()] == ["i1", "i2", "i3"]


def test_raw_capture_is_kept_compressed_and_purged_unless_matched(database):
    body = b"<html>" + b"evidence " * 500 + b"</html>"
    with open_store(database) as store:
        for n in (1, 2):
            store.add_item(make_item(n), f"u{n}", f"h{n}", raw=("text/html", body))
        assert store.raw_capture("i1") == ("text/html", body)
        stored = store.sql.scalar("select length(body) from raw_captures")
        assert stored < len(body) / 5
        store.record_match(match_row("i2"))
        assert store.purge_raw_captures(older_than="9999-01-01", dry_run=True) == 1
        assert store.purge_raw_captures(older_than="9999-01-01") == 1
        assert store.raw_capture("i1") is None
        assert store.raw_capture("i2") == ("text/html", body)  # matched: kept


def test_purges_keep_matched_items_and_the_latest_runs(database):
    with open_store(database) as store:
        for n in range(4):
            store.add_item(make_item(n), f"u{n}", f"h{n}", signature=b"s", raw=("t", b"b"))
        store.mark_matched(["i0", "i1", "i2"])  # i3 is still in the queue: never purged
        store.record_match(match_row("i1"))
        assert store.purge_items("9999-01-01", limit=1) == 1
        assert store.purge_items("9999-01-01") == 1
        assert sorted(i.id for i in store.items()) == ["i1", "i3"]
        assert store.count("item_signatures") == 2 and store.count("raw_captures") == 2
        for job in ("crawl", "crawl", "match"):
            store.finish_run(store.start_run(job), "ok")
        assert store.purge_runs("9999-01-01") == 1  # the latest crawl and match stay
        assert store.last_finished_run("crawl")["status"] == "ok"
        store.put_vectors({"k": [0.5, 0.25]})
        assert store.purge_vectors("9999-01-01") == 1 and store.get_vectors(["k"]) == {}


def test_unmatched_items_are_the_matchers_queue(database):
    with open_store(database) as store:
        for n in range(3):
            store.add_item(make_item(n), f"u{n}", f"h{n}")
        assert [i.id for i in store.unmatched_items()] == ["i0", "i1", "i2"]
        store.mark_matched(["i0", "i2"])
        assert [i.id for i in store.unmatched_items()] == ["i1"]
        with open_store(database) as other:  # committed: another process sees it
            assert [i.id for i in other.unmatched_items()] == ["i1"]
        assert store.count_items_since("2000-01-01") == 3
        assert store.items_stored_since(["s", "other"], "2000-01-01") == 3
        assert [i.id for i in store.recent_items("2000-01-01", 2)] == ["i0", "i1"]


def test_full_text_search_finds_words_and_phrases(database):
    with open_store(database) as store:
        store.add_item(
            make_item(1, "The harbour master closed the north quay at dawn."), "u1", "h1"
        )
        store.add_item(make_item(2, "A bakery opened on the north side of town."), "u2", "h2")
        store.add_item(make_item(3, "Nothing to see here."), "u3", "h3")
        assert [i.id for i in store.search_items(["north quay"], 10)] == ["i1"]
        assert {i.id for i in store.search_items(["north", "bakery"], 10)} == {"i1", "i2"}
        assert store.search_items(["north", "bakery"], 10)[0].id == "i2"  # both words: first
        assert store.search_items([], 10) == []
        store.mark_matched(["i1"])
        assert store.purge_items("9999-01-01") == 1  # its search entry goes with it
        assert store.search_items(["quay"], 10) == []


def test_marking_items_matched_leaves_their_search_entries_alone(tmp_path):
    """The matcher marks every item it read; that must not rewrite the item's full-text
    entry (an update trigger on every column did: three writes per item where one will do)."""
    with open_store(tmp_path / "ls.db") as store:
        for n in range(20):
            store.add_item(make_item(n, f"The north quay closes on day {n}."), f"u{n}", f"h{n}")
        connection = store.db.conn
        before = connection.total_changes
        store.mark_matched([f"i{n}" for n in range(20)])
        assert connection.total_changes - before == 20  # the items' rows, nothing else
        assert len(store.search_items(["quay"], 50)) == 20  # still found
        connection.execute("update items set text = 'A bakery opened.' where id = 'i3'")
        assert [i.id for i in store.search_items(["bakery"], 50)] == ["i3"]  # text re-indexed
        assert len(store.search_items(["quay"], 50)) == 19


def test_vectors_round_trip_as_float32(database):
    import numpy as np

    with open_store(database) as store:
        store.put_vectors({"a": np.array([0.1, 0.2], dtype=np.float64), "b": [1.0, -1.0]})
        store.put_vectors({"a": [3.0, 4.0]})  # replaced
        found = store.get_vectors(["a", "b", "c"])
        assert sorted(found) == ["a", "b"] and found["a"].tolist() == [3.0, 4.0]
        assert found["b"].dtype == np.float32


def test_sealed_briefs_are_stored_and_rotated_as_bytes(database):
    sealed = b"\x00\xff sealed \x80" * 10
    brief = {
        "id": "OP-1",
        "codename": "GREY GULL",
        "active_from": "2026-01-01",
        "active_until": "2026-12-31",
        "recipients": ["desk@example.org"],
        "status": "active",
        "sealed": sealed,
        "added_at": "2026-01-01T00:00:00+00:00",
        "n_details": 3,
    }
    with open_store(database) as store:
        store.add_briefs([brief])
        row = store.brief_row("OP-1")
        assert bytes(row["sealed"]) == sealed and row["recipients"] == '["desk@example.org"]'
        store.put_sealed_brief_vectors("OP-1", "m", b"\x01vectors")
        assert bytes(store.sealed_brief_vectors("OP-1", "m")) == b"\x01vectors"
        values = store.sealed_values()
        assert [(t, k) for t, k, _ in values] == [
            ("briefs", ("OP-1",)),
            ("brief_vectors", ("OP-1", "m")),
        ]
        for table, key, _ in values:
            store.replace_sealed(table, key, b"resealed")
        assert {bytes(blob) for _, _, blob in store.sealed_values()} == {b"resealed"}
        store.add_briefs([brief])  # replaced: its sealed vectors are stale
        assert store.sealed_brief_vectors("OP-1", "m") is None
        assert store.retire_brief("OP-1") and not store.retire_brief("OP-1")
        assert [r["id"] for r in store.brief_rows("retired")] == ["OP-1"]
        assert store.brief_rows("active") == []


def test_matches_once_per_pair_and_alerts_ordered_by_publication(database):
    with open_store(database) as store:
        store.add_item(make_item(1, published="2026-11-20T09:00:00+02:00"), "u1", "h1")
        store.add_item(make_item(2, published="2026-11-20T08:00:00+00:00"), "u2", "h2")
        store.add_item(make_item(3, published="not a date"), "u3", "h3")
        first = store.record_match(match_row("i1", score=0.75))
        assert first is not None and store.record_match(match_row("i1")) is None
        alert = store.insert_alert({"brief_id": "B", "story": "i1", "status": "open", "retro": 0})
        for item_id in ("i1", "i2", "i3"):
            match_id = first if item_id == "i1" else store.record_match(match_row(item_id))
            store.link_match(match_id, alert)
        # 09:00+02:00 is 07:00 UTC: before 08:00 UTC; an unreadable date counts from matching
        assert [row["item_id"] for row in store.alert_items(alert)] == ["i1", "i2", "i3"]
        assert store.alert_items(alert)[0]["score"] == 0.75
        assert store.story_urls() == {alert: "http://127.0.0.1/1"}
        assert store.alert_has_story(alert, "i2") and not store.alert_has_story(alert, "zz")
        assert sorted(store.alert_texts(alert)) == ["text"] * 3
        assert store.matched_pairs("B") == {"i1", "i2", "i3"}
        store.update_alert(alert, {"id": alert, "items": 3, "max_score": 0.9})
        assert store.alert_row(alert)["items"] == 3
        assert [a["id"] for a in store.alerts_for_brief("B")] == [alert]


def test_verdicts_are_audited_and_counted(database):
    with open_store(database) as store:
        ids = [store.insert_alert({"brief_id": b, "status": "open"}) for b in ("A", "A", "C")]
        store.set_verdict(ids[0], "confirmed", "ana", "seen")
        store.set_verdict(ids[1], "dismissed", "ana", None)
        assert store.verdict_counts() == {"A": (1, 1), "C": (0, 0)}
        assert [r["id"] for r in store.alert_rows("confirmed")] == [ids[0]]
        store.record_audit("login", "bo")
        assert [r["action"] for r in store.audit_rows()] == ["login", "dismissed", "confirmed"]
        assert [r["action"] for r in store.audit_rows(alert_id=ids[0])] == ["confirmed"]
        assert [r["action"] for r in store.audit_rows(brief_ids=[], unlinked_by="bo")] == ["login"]
        assert len(store.audit_rows(brief_ids=["A"], unlinked_by="ana")) == 2


def test_the_outbox_retries_then_gives_up(database):
    with open_store(database) as store:
        first = store.queue_message({"brief_id": "B", "kind": "alert", "subject": "s1"})
        second = store.queue_message({"brief_id": "B", "kind": "alert", "subject": "s2"})
        assert [m["id"] for m in store.due_messages("2026-01-01")] == [first, second]
        store.mark_message_sent(first)
        for _ in range(2):
            store.mark_message_refused(second, "451 later", "2026-01-02", give_up_after=2)
        assert store.message_rows("failed")[0]["attempts"] == 2
        assert store.message_rows("sent")[0]["id"] == first
        assert store.last_message_for_brief("B")["id"] == second
        store.queue_message({"brief_id": "B", "kind": "alert", "subject": "s3"})
        store.note_delivery_problem("server down")
        assert store.message_rows("queued")[0]["last_error"] == "server down"


def test_meta_sources_and_runs(database):
    with open_store(database) as store:
        assert store.get_meta("k") is None
        store.set_meta("k", "1")
        store.set_meta("k", "2")
        assert store.get_meta("k") == "2"
        store.delete_meta("k")
        assert store.get_meta("k") is None
        store.save_source_state("feed", "feed", "http://127.0.0.1/", {"etag": "x"})
        store.record_source_result(
            "feed", "feed", "http://127.0.0.1/", ok=False, items=0, error="e"
        )
        assert store.source_state("feed") == {"etag": "x"}  # the result keeps the state
        assert store.source_rows()[0]["last_error"] == "e"
        store.record_source_run(
            {"source": "feed", "started_at": "t", "ok": True, "statuses": {"200": 2}}
        )
        [run] = store.source_runs("feed")
        assert run["ok"] == 1 and run["statuses"] == '{"200": 2}'


def test_operators_and_their_rights(database):
    with open_store(database) as store:
        assert store.set_operator_password("ana", "hash1", "n1")
        assert not store.set_operator_password("ana", "hash2", "n2", briefs="*")
        row = store.operator_row("ana")
        assert (row["password_hash"], row["session_nonce"], row["briefs"]) == ("hash2", "n2", "[]")
        store.set_operator_briefs("ana", '["OP-1"]')
        store.end_operator_sessions("ana", "n3")
        store.record_operator_login("ana", "hash3")
        row = store.operator_row("ana")
        assert (row["briefs"], row["session_nonce"], row["password_hash"]) == (
            '["OP-1"]',
            "n3",
            "hash3",
        )
        assert "password_hash" not in store.operator_rows()[0]


def test_a_failed_transaction_leaves_nothing(database):
    with open_store(database) as store:
        with pytest.raises(RuntimeError), store.atomic():
            store.add_item(make_item(1), "u1", "h1")
            with store.atomic():  # nested: a savepoint
                store.add_item(make_item(2), "u2", "h2")
            raise RuntimeError("stop")
        assert store.count("items") == 0


def test_a_second_connection_reads_while_one_writes(database):
    with open_store(database) as writer, open_store(database) as reader:
        with writer.atomic():
            writer.add_item(make_item(1), "u1", "h1")
            assert reader.count("items") == 0  # not committed yet, and no lock error
        assert reader.count("items") == 1


def test_immediate_transactions_take_turns(database):
    """What an immediate() block reads stays true until it commits: a second one waits."""
    open_store(database).close()
    events = []

    def later():
        with open_store(database) as second, second.immediate():
            events.append("second")

    with open_store(database) as first:
        with first.immediate():
            thread = threading.Thread(target=later)
            thread.start()
            time.sleep(0.5)
            events.append("first")
        thread.join(timeout=60)
        assert events == ["first", "second"]


WRITER = """
import sys
from leaksentry.records import Item
from leaksentry.storage import open_store

database, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open_store(database) as store:
    for n in range(count):
        item = Item(f"{name}{n}", f"http://127.0.0.1/{name}/{n}", "news", name, None, "t", "x")
        assert store.add_item(item, item.url, f"h-{name}-{n}")
        with store.atomic():  # as match_new records a batch: read, then write
            match = {"brief_id": "B", "item_id": item.id, "score": 0.5, "details_matched": "[]",
                     "evidence": "[]", "alert": 0}
            assert store.record_match(match) is not None
            assert store.record_match(match) is None
            store.mark_matched([item.id])
"""


def test_two_writers_at_full_speed_never_get_database_is_locked(database, tmp_path):
    """SQLite: WAL and deferred transactions: a read, then a write, fails at once with
    SQLITE_BUSY when another process committed in between; every write transaction takes the
    lock first. PostgreSQL: the same two writers, each row stored once."""
    open_store(database).close()
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
    with open_store(database) as store:
        assert store.count("items") == 800 and store.count("matches") == 800


def test_no_postgresql_installed_is_a_clear_failure_not_a_skip(monkeypatch):
    """The PostgreSQL tests fail (tests/conftest.py: pytest.fail) with this message."""
    from leaksentry import localpostgres

    monkeypatch.setattr(localpostgres.shutil, "which", lambda name: None)
    monkeypatch.setattr(localpostgres.glob, "glob", lambda pattern: [])
    with pytest.raises(localpostgres.PostgresMissing, match="apt-get install postgresql"):
        localpostgres.LocalPostgres()


def test_an_unreachable_server_is_one_line_never_a_traceback(tmp_path):
    from conftest import cli_run, write_config

    url = "postgresql://leaksentry:s3cret@127.0.0.1:1/leaksentry"
    done = cli_run(
        "brief", "list", "--config", str(write_config(tmp_path, database=url)), check=False
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "cannot open the database postgresql://leaksentry:***@127.0.0.1:1" in done.stderr
    assert "s3cret" not in done.stderr
