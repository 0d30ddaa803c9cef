"""`leaksentry store migrate --to postgresql://...`: a SQLite installation moved into a real
PostgreSQL database shows the same alerts, briefs and items as before; briefs stay sealed."""

from __future__ import annotations

import pytest

from leaksentry.briefs import read_brief_file
from leaksentry.config import load_config
from leaksentry.jobs import active_briefs
from leaksentry.storage import open_store
from leaksentry.vault import open_vault

from conftest import (
    FIXTURES,
    assert_no_sealed_text,
    assert_no_sealed_wording,
    cli_run,
    write_config,
)

BRIEF_FILES = [FIXTURES / "briefs" / "tidewater.toml", FIXTURES / "briefs" / "others.jsonl"]


def fixture_briefs():
    return [brief for path in BRIEF_FILES for brief in read_brief_file(path)]


def views(config, tmp_path, name: str) -> dict[str, str]:
    """What an operator sees: alerts, the brief list and the exported items."""
    out = tmp_path / f"{name}.jsonl"
    cli_run("export", "items", "--out", str(out), "--config", str(config))
    return {
        "alerts": cli_run("alerts", "--config", str(config)).stdout,
        "brief list": cli_run("brief", "list", "--all", "--config", str(config)).stdout,
        "export items": out.read_text(encoding="utf-8"),
    }


def sealed(database) -> dict:
    with open_store(database) as store:
        briefs = {r["id"]: bytes(r["sealed"]) for r in store.sql.query("select * from briefs")}
        vectors = store.sql.query("select brief_id, model, sealed from brief_vectors")
        return briefs | {(r["brief_id"], r["model"]): bytes(r["sealed"]) for r in vectors}


@pytest.mark.slow
def test_migrate_moves_an_installation_and_it_shows_the_same(site, tmp_path, postgres_server):
    sources = [{"name": "main", "kind": "feed", "url": site.url + "/feeds/main.rss"}]
    config = write_config(tmp_path, sources)  # SQLite: ls.db beside the configuration
    cli_run("init", "--config", str(config))
    cli_run("brief", "add", *map(str, BRIEF_FILES), "--config", str(config))
    cli_run("cycle", "--config", str(config))  # crawl, match, an alert, a mail (that fails)
    cli_run("brief", "retire", "T-OPEN", "--config", str(config))
    before = views(config, tmp_path, "before")
    assert before["alerts"].strip() != "no alerts" and before["export items"].strip()
    assert "retired" in before["brief list"]

    url = postgres_server.create_database("moved")
    done = cli_run("store", "migrate", "--to", url, "--batch", "5", "--config", str(config))
    briefs = fixture_briefs()
    assert_no_sealed_text(done.stdout + done.stderr, briefs, "the migrate output")
    assert_no_sealed_wording(done.stdout + done.stderr, briefs, "the migrate output")
    assert "items: " in done.stdout and "verified" in done.stdout
    assert f'database = "{url}"' in done.stdout

    # every table's rows, and the sealed bytes unchanged: the same key file opens them
    with open_store(tmp_path / "ls.db") as old, open_store(url) as new:
        for table in ("items", "briefs", "alerts", "matches", "outbox", "meta", "runs"):
            assert new.sql.count(table) == old.sql.count(table) > 0, table
            assert f"{table} " in done.stdout
    assert sealed(url) == sealed(tmp_path / "ls.db")

    moved = write_config(tmp_path, sources, database=url)  # same key file, new database
    assert views(moved, tmp_path, "after") == before
    with open_store(url) as store:  # the same key opens the copied briefs (in memory only)
        opened = active_briefs(store, open_vault(load_config(moved), store))
    expected = {b.id: b for b in briefs if b.id != "T-OPEN"}
    assert {b.id for b in opened} == set(expected)
    assert all(b.details == expected[b.id].details for b in opened), "a brief opened differently"

    # the copy carries on: new rows get new ids (the identity columns moved past the copy)
    alert_id = before["alerts"].split()[0]
    cli_run("alert", "confirm", alert_id, "--by", "ops", "--config", str(moved))
    cli_run("alert", "dismiss", alert_id, "--by", "ops", "--config", str(moved))
    with open_store(url) as store:
        assert store.sql.count("audit_log") >= 2


def test_migrate_refuses_a_target_that_is_not_empty(tmp_path, postgres_server):
    config = write_config(tmp_path)
    cli_run("init", "--config", str(config))
    url = postgres_server.create_database("taken")
    taken = tmp_path / "taken"
    taken.mkdir()
    cli_run("init", "--config", str(write_config(taken, database=url)))  # meta rows: not empty

    done = cli_run("store", "migrate", "--to", url, "--config", str(config), check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "is not empty" in done.stderr and "create a new one" in done.stderr
    with open_store(url) as store:
        assert store.sql.count("items") == 0 and store.sql.count("meta") == 2


def test_migrate_refuses_a_source_that_is_not_sqlite_and_a_target_that_is_not_postgres(
    tmp_path, postgres_server
):
    url = postgres_server.create_database("source")
    config = write_config(tmp_path, database=url)
    done = cli_run("store", "migrate", "--to", url, "--config", str(config), check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "already PostgreSQL" in done.stderr and len(done.stderr.strip().splitlines()) == 1

    sqlite_config = write_config(tmp_path)
    cli_run("init", "--config", str(sqlite_config))
    other = str(tmp_path / "other.db")
    done = cli_run("store", "migrate", "--to", other, "--config", str(sqlite_config), check=False)
    assert done.returncode == 1 and "must be a PostgreSQL URL" in done.stderr


def test_a_copy_that_fails_half_way_leaves_the_target_empty(tmp_path, postgres_server):
    """Rows PostgreSQL refuses (a NUL in text) in the last table copied: the tables copied
    before it are rolled back with it, and once the row is fixed the same target takes it."""
    config = write_config(tmp_path)
    cli_run("init", "--config", str(config))
    cli_run("brief", "add", "--no-retro", str(BRIEF_FILES[1]), "--config", str(config))
    with open_store(tmp_path / "ls.db") as store:
        store.save_source_state("bad", "feed", "http://127.0.0.1/", {})
        store.sql.execute("update sources set last_error = ?", ["a\x00b"])
    url = postgres_server.create_database("half")

    done = cli_run(
        "store", "migrate", "--to", url, "--batch", "1", "--config", str(config), check=False
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "copying table sources" in done.stderr and "nothing was committed" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "briefs: 2 rows" in done.stdout  # copied, then rolled back
    with open_store(url) as store:
        assert all(store.sql.count(t) == 0 for t in ("briefs", "meta", "sources"))

    with open_store(tmp_path / "ls.db") as store:
        store.sql.execute("update sources set last_error = ?", ["ab"])
    cli_run("store", "migrate", "--to", url, "--config", str(config))
    with open_store(url) as store:
        assert store.sql.count("briefs") == 2 and store.sql.count("sources") == 1
