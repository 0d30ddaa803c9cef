"""The SQLite schema as numbered migrations, applied in order on first use of a database.

Each function is given the sqlite-utils Database. A schema change after m009 is written here
and, under the same name, in ``postgres_schema`` (see ``migrate``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlite_utils import Database

from leaksentry.storage.migrate import registry

MIGRATIONS, migration = registry()


@migration
def m001_create_tables(db: Database) -> None:
    db["meta"].create({"key": str, "value": str}, pk="key")
    db["sources"].create(
        {
            "name": str,
            "kind": str,
            "url": str,
            "state": str,  # JSON: per-source crawl state (cursor, etag, ...)
            "last_run_at": str,
            "last_success_at": str,
            "last_error": str,
            "last_items": int,
        },
        pk="name",
    )
    db["items"].create(
        {
            "id": str,
            "url": str,
            "canonical_url": str,
            "kind": str,
            "source": str,
            "published": str,
            "title": str,
            "text": str,
            "lang": str,
            "content_hash": str,
            "fetched_at": str,
            "matched_at": str,  # NULL until the matcher has seen the item
        },
        pk="id",
    )
    db["items"].create_index(["canonical_url"], unique=True)
    db["items"].create_index(["content_hash"])
    db["items"].create_index(["matched_at"])
    db["briefs"].create(
        {
            "id": str,
            "codename": str,
            "active_from": str,
            "active_until": str,
            "recipients": str,  # JSON list
            "status": str,  # active | retired
            "sealed": bytes,  # summary and details, encrypted (see vault.py)
            "added_at": str,
            "retired_at": str,
        },
        pk="id",
    )
    db["brief_vectors"].create(
        {"brief_id": str, "model": str, "sealed": bytes, "created_at": str},
        pk=("brief_id", "model"),
    )
    db["embeddings"].create({"key": str, "vector": bytes}, pk="key")
    db["matches"].create(
        {
            "id": int,
            "brief_id": str,
            "item_id": str,
            "score": float,
            "details_matched": str,  # JSON list of detail numbers (0-based indices)
            "evidence": str,  # JSON list of public sentences
            "alert": int,
            "created_at": str,
        },
        pk="id",
    )
    db["matches"].create_index(["brief_id", "item_id"], unique=True)
    db["alerts"].create(
        {
            "id": int,
            "match_id": int,
            "brief_id": str,
            "item_id": str,
            "recipients": str,  # JSON list
            "subject": str,
            "body_text": str,
            "body_html": str,
            "message_id": str,
            "state": str,  # queued | sent | failed
            "attempts": int,
            "last_error": str,
            "created_at": str,
            "sent_at": str,
        },
        pk="id",
    )
    db["alerts"].create_index(["match_id"], unique=True)
    db["alerts"].create_index(["state"])
    db["runs"].create(
        {
            "id": int,
            "job": str,
            "source": str,
            "started_at": str,
            "finished_at": str,
            "status": str,  # running | ok | error | interrupted
            "count": int,
            "error": str,
        },
        pk="id",
    )


@migration
def m002_stories_raw_and_source_runs(db: Database) -> None:
    db["items"].add_column("story", str)  # id of the first item of its story (syndicated copies)
    db["items"].create_index(["story"])
    db["item_signatures"].create(
        {"item_id": str, "signature": bytes, "created_at": str}, pk="item_id"
    )
    db["item_signatures"].create_index(["created_at"])
    db["raw_captures"].create(
        {
            "item_id": str,
            "url": str,
            "content_type": str,
            "body": bytes,  # zlib-compressed response body, as fetched
            "fetched_at": str,
        },
        pk="item_id",
    )
    db["raw_captures"].create_index(["fetched_at"])
    db["source_runs"].create(
        {
            "id": int,
            "source": str,
            "started_at": str,
            "finished_at": str,
            "ok": int,
            "stored": int,
            "linked": int,  # stored as a copy of an already stored story
            "duplicates": int,
            "statuses": str,  # JSON {"200": 12, "404": 1}
            "robots_blocked": int,
            "truncated": int,  # pages whose text looks cut short (paywall)
            "failed_pages": int,
            "error": str,
        },
        pk="id",
    )
    db["source_runs"].create_index(["source", "id"])


@migration
def m003_alerts_as_stories_and_an_outbox(db: Database) -> None:
    """An alert is now one story exposing one brief; mail lives in a separate outbox."""
    db.rename_table("alerts", "outbox")
    for column, kind in (
        ("alert_id", int),
        ("kind", str),  # alert | follow-up | digest
        ("in_reply_to", str),
        ("refs", str),  # References header
        ("next_attempt_at", str),
    ):
        db["outbox"].add_column(column, kind)
    db["alerts"].create(
        {
            "id": int,
            "brief_id": str,
            "story": str,  # story of the first item; copies and retellings join it
            "status": str,  # open | confirmed | dismissed
            "severity": str,  # high | low
            "retro": int,  # found by the retro-check when the brief was added
            "max_score": float,
            "details": str,  # JSON: union of detail numbers revealed
            "items": int,
            "domains": str,  # JSON: distinct domains (sources) carrying it
            "first_seen_at": str,
            "last_seen_at": str,
            "last_published": str,
            "notified": str,  # JSON: what the last mail said (to decide a follow-up)
            "notified_at": str,
            "digested_at": str,
            "verdict_by": str,
            "verdict_at": str,
            "verdict_note": str,
        },
        pk="id",
    )
    db["alerts"].create_index(["brief_id", "status"])
    db["matches"].add_column("alert_id", int)
    db["matches"].create_index(["alert_id"])
    db["briefs"].add_column("n_details", int)  # a count, not sealed text: shown as "#2 of 5"
    db["audit_log"].create(
        {"id": int, "at": str, "who": str, "action": str, "alert_id": int, "note": str}, pk="id"
    )
    # carry over alerts made before this migration: one story each
    for row in list(db.query("select * from outbox")):
        alert_id = (
            db["alerts"]
            .insert(
                {
                    "brief_id": row["brief_id"],
                    "story": row["item_id"],
                    "status": "open",
                    "severity": "high",
                    "retro": 0,
                    "max_score": 0.0,
                    "details": "[]",
                    "items": 1,
                    "domains": "[]",
                    "first_seen_at": row["created_at"],
                    "last_seen_at": row["created_at"],
                    "notified_at": row["sent_at"],
                }
            )
            .last_pk
        )
        db.execute(
            "update outbox set alert_id = ?, kind = 'alert' where id = ?", [alert_id, row["id"]]
        )
        db.execute("update matches set alert_id = ? where id = ?", [alert_id, row["match_id"]])


@migration
def m004_operators(db: Database) -> None:
    """Operators of the triage page: a name and an argon2 hash, never the password."""
    db["operators"].create(
        {
            "name": str,
            "password_hash": str,  # argon2id, PHC string with its own salt and parameters
            "session_nonce": str,  # changed with the password: ends every earlier session
            "created_at": str,
            "password_set_at": str,
            "last_login_at": str,
        },
        pk="name",
    )


@migration
def m005_item_search(db: Database) -> None:
    """Full-text index of items: the cheap first stage of the retro-check."""
    db["items"].enable_fts(["title", "text"], create_triggers=True)


@migration
def m006_outbox_transport(db: Database) -> None:
    """Chat channels (Apprise) beside email: an outbox row says how it travels."""
    db["outbox"].add_column("transport", str)  # NULL: email; "apprise": a configured channel


@migration
def m007_operator_briefs(db: Database) -> None:
    """Which briefs an operator may see on the triage page: "*" (every brief) or a JSON list
    of brief ids. Operators added before rights existed keep seeing every brief."""
    db["operators"].add_column("briefs", str)
    db.execute("update operators set briefs = '*'")


@migration
def m008_social_identity(db: Database) -> None:
    """A post's uniqueness key lives in a namespace of its own ("social:" + its canonical
    address), so a post naming a news article's address never makes the article count as
    stored (see ``spiders.pipelines.identity``)."""
    db.execute(
        "update items set canonical_url = 'social:' || canonical_url "
        "where kind = 'social' and canonical_url not like 'social:%'"
    )


@migration
def m009_retention(db: Database) -> None:
    """What the daily purge needs: items by fetch time, matches by item, and the embeddings
    cache with the time each vector was written (vectors older than this migration count
    from now)."""
    db["items"].create_index(["fetched_at"], if_not_exists=True)
    db["matches"].create_index(["item_id"], if_not_exists=True)
    db["embeddings"].add_column("created_at", str)
    db.execute(
        "update embeddings set created_at = ?",
        [datetime.now(UTC).isoformat(timespec="seconds")],
    )
    db["embeddings"].create_index(["created_at"], if_not_exists=True)
    db["runs"].create_index(["started_at"], if_not_exists=True)
    db["source_runs"].create_index(["started_at"], if_not_exists=True)


@migration
def m010_search_index_follows_text(db: Database) -> None:
    """The full-text index is rewritten only when an item's title or text changes. The
    update trigger sqlite-utils made fires on any column: marking an item matched rewrote its
    index entry, two extra writes per item on the matcher's busiest statement."""
    db.execute("drop trigger if exists items_au")
    db.execute(
        "create trigger items_au after update of title, text on items begin "
        "insert into items_fts (items_fts, rowid, title, text) "
        "values ('delete', old.rowid, old.title, old.text); "
        "insert into items_fts (rowid, title, text) values (new.rowid, new.title, new.text); "
        "end"
    )
