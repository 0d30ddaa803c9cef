"""`leaksentry backup`: a consistent copy while writers work, sealed like the database, no key."""

from __future__ import annotations

import sqlite3
import stat
import threading

from leaksentry.briefs import read_brief_file
from leaksentry.records import Item
from leaksentry.storage import open_store

from conftest import FIXTURES, assert_no_sealed_text, cli_run, write_config

BRIEF_FILE = FIXTURES / "briefs" / "tidewater.toml"


def test_backup_while_items_are_written_is_consistent_sealed_and_needs_the_key(tmp_path):
    config = write_config(tmp_path)
    cli_run("init", "--config", str(config))
    cli_run("brief", "add", str(BRIEF_FILE), "--config", str(config), "--no-retro")
    database = tmp_path / "ls.db"
    with open_store(database) as store:
        for n in range(3000):  # a database of some size, so the copy takes several steps
            item = Item(
                f"a{n}",
                f"https://news.example/{n}",
                "news",
                "news.example",
                None,
                f"Story {n}",
                f"Harbour news item {n}. " * 40,
            )
            store.add_item(item, item.url, f"h{n}")

    stop, written = threading.Event(), []

    def writer():  # the crawler, meanwhile
        with open_store(database) as store:
            n = 0
            while not stop.is_set():
                item = Item(
                    f"w{n}",
                    f"https://post.example/{n}",
                    "social",
                    "post.example",
                    None,
                    "",
                    f"Post {n} about the weather",
                )
                store.add_item(item, item.url, f"w{n}")
                written.append(n)
                n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        out = tmp_path / "backups" / "ls-backup.db"
        done = cli_run("backup", str(out), "--config", str(config))
    finally:
        stop.set()
        thread.join()
    assert written, "the writer never wrote"
    assert "sealed briefs); the key is not in it" in done.stdout

    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not out.with_name(out.name + ".partial").exists()
    copy = sqlite3.connect(out)
    assert copy.execute("pragma integrity_check").fetchone()[0] == "ok"
    copied = copy.execute("select count(*) from items").fetchone()[0]
    assert 3000 <= copied <= 3000 + len(written)
    # one moment: every copied item has its full-text row too (no half-written item)
    assert copy.execute("select count(*) from items_fts").fetchone()[0] == copied
    copy.close()
    assert_no_sealed_text(out.read_bytes().decode("utf-8", "replace"), read_brief_file(BRIEF_FILE))
    key = (tmp_path / "ls.key").read_bytes().strip()
    assert key and key not in out.read_bytes()  # the key never travels with the data

    # the copy opens with the key, and only with it
    listed = cli_run(
        "brief", "list", "--config", str(config), env={"LEAKSENTRY_DATABASE": str(out)}
    )
    assert "AMBER KESTREL" in listed.stdout
    other = tmp_path / "other"
    other.mkdir()
    other_config = write_config(other)
    cli_run("init", "--config", str(other_config))
    refused = cli_run(
        "match", "--config", str(other_config), check=False, env={"LEAKSENTRY_DATABASE": str(out)}
    )
    assert refused.returncode == 1 and "key" in refused.stderr


def test_backup_never_overwrites_and_says_why(tmp_path):
    config = write_config(tmp_path)
    cli_run("init", "--config", str(config))
    out = tmp_path / "existing.db"
    out.write_bytes(b"yesterday's backup")
    done = cli_run("backup", str(out), "--config", str(config), check=False)
    assert done.returncode == 1 and "exists: choose a new file name" in done.stderr
    assert out.read_bytes() == b"yesterday's backup"
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = cli_run(
        "backup", str(tmp_path / "b.db"), "--config", str(write_config(empty)), check=False
    )
    assert missing.returncode == 1 and "no database to back up" in missing.stderr
