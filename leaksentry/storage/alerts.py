"""Matches, alerts (one per story exposing a brief) and the outbox of mail and chat messages."""

from __future__ import annotations

from leaksentry.storage import stamp
from leaksentry.storage.sql import Sql

# when an item came out: its publication time, else when it matched (``datetime`` reads ISO
# text; the PostgreSQL schema defines one that does the same)
ITEM_TIME = "coalesce(datetime(i.published), datetime(m.created_at))"


class AlertStore:
    sql: Sql

    def record_match(self, match: dict) -> int | None:
        """Insert a match; None when this (brief, item) pair was already recorded.

        One statement (no read before the write): safe beside another writer."""
        row = match | {"created_at": stamp.now()}
        return self.sql.insert_id("matches", row, on_conflict="(brief_id, item_id) do nothing")

    def alerts_for_brief(self, brief_id: str) -> list[dict]:
        return self.sql.query("select * from alerts where brief_id = ? order by id", [brief_id])

    def alert_has_story(self, alert_id: int, story: str) -> bool:
        row = self.sql.one(
            "select 1 from matches m join items i on i.id = m.item_id "
            "where m.alert_id = ? and i.story = ?",
            [alert_id, story],
        )
        return row is not None

    def alert_texts(self, alert_id: int) -> list[str]:
        """The text (or title) of each item of an alert, to tell a retelling from news."""
        return [
            row[0]
            for row in self.sql.iterate(
                "select coalesce(nullif(i.text, ''), i.title) from matches m "
                "join items i on i.id = m.item_id where m.alert_id = ?",
                [alert_id],
            )
        ]

    def insert_alert(self, row: dict) -> int:
        return self.sql.insert_id("alerts", row)

    def update_alert(self, alert_id: int, row: dict) -> None:
        self.sql.update("alerts", {"id": alert_id}, {k: v for k, v in row.items() if k != "id"})

    def link_match(self, match_id: int, alert_id: int) -> None:
        self.sql.execute("update matches set alert_id = ? where id = ?", [alert_id, match_id])

    def alert_row(self, alert_id: int) -> dict | None:
        return self.sql.first("select * from alerts where id = ?", [alert_id])

    def alert_rows(self, status: str | None = None) -> list[dict]:
        sql, params = "select * from alerts", []
        if status:
            sql, params = sql + " where status = ?", [status]
        return self.sql.query(sql + " order by id", params)

    def story_urls(self) -> dict[int, str]:
        """Each alert's public URL: that of its story's first item (the item the story is
        named after), else of its oldest matched item with one."""
        urls = {}
        for row in self.sql.query(
            "select a.id, s.url as story_url, (select i.url from matches m join items i "
            "on i.id = m.item_id where m.alert_id = a.id and i.url is not null and i.url != '' "
            f"order by {ITEM_TIME}, m.id limit 1) "
            "as first_url from alerts a left join items s on s.id = a.story"
        ):
            if url := row["story_url"] or row["first_url"]:
                urls[row["id"]] = url
        return urls

    def alert_items(self, alert_id: int) -> list[dict]:
        """The matches of an alert with their public items, oldest first."""
        return self.sql.query(
            "select m.id as match_id, m.score, m.details_matched, m.evidence, m.created_at, "
            "i.id as item_id, i.url, i.source, i.kind, i.title, i.published, i.story "
            "from matches m join items i on i.id = m.item_id where m.alert_id = ? "
            f"order by {ITEM_TIME}, m.id",
            [alert_id],
        )

    def set_verdict(self, alert_id: int, status: str, who: str, note: str | None) -> None:
        """Record an operator's verdict on the alert and in the audit log, together."""
        moment = stamp.now()
        with self.sql.atomic():
            self.sql.update(
                "alerts",
                {"id": alert_id},
                {"status": status, "verdict_by": who, "verdict_at": moment, "verdict_note": note},
            )
            self.sql.insert_id(
                "audit_log",
                {"at": moment, "who": who, "action": status, "alert_id": alert_id, "note": note},
            )

    def verdict_counts(self) -> dict[str, tuple[int, int]]:
        """brief id -> (confirmed alerts, dismissed alerts)."""
        rows = self.sql.iterate(
            "select brief_id, sum(case when status = 'confirmed' then 1 else 0 end), "
            "sum(case when status = 'dismissed' then 1 else 0 end) from alerts group by brief_id"
        )
        return {
            brief_id: (int(confirmed or 0), int(dismissed or 0))
            for brief_id, confirmed, dismissed in rows
        }

    # -- the outbox -------------------------------------------------------------------------
    def queue_message(self, row: dict) -> int:
        queued = row | {"state": "queued", "attempts": 0, "created_at": stamp.now()}
        return self.sql.insert_id("outbox", queued)

    def last_message_for_brief(self, brief_id: str) -> dict | None:
        return self.sql.first(
            "select * from outbox where brief_id = ? and kind != 'digest' "
            "and transport is null order by id desc limit 1",
            [brief_id],
        )

    def due_messages(self, at: str) -> list[dict]:
        """Queued mail whose next attempt is due, oldest first (mail goes out in order)."""
        return self.sql.query(
            "select * from outbox where state = 'queued' "
            "and (next_attempt_at is null or next_attempt_at <= ?) order by id",
            [at],
        )

    def message_rows(self, state: str | None = None) -> list[dict]:
        sql, params = "select * from outbox", []
        if state:
            sql, params = sql + " where state = ?", [state]
        return self.sql.query(sql + " order by id", params)

    def mark_message_sent(self, message_id: int) -> None:
        self.sql.execute(
            "update outbox set state = 'sent', sent_at = ?, attempts = attempts + 1, "
            "last_error = null where id = ?",
            [stamp.now(), message_id],
        )

    def mark_message_refused(
        self, message_id: int, error: str, retry_at: str, give_up_after: int
    ) -> None:
        """Count a refusal; retry later, and after `give_up_after` refusals mark it failed."""
        self.sql.execute(
            "update outbox set attempts = attempts + 1, last_error = ?, next_attempt_at = ?, "
            "state = case when attempts + 1 >= ? then 'failed' else 'queued' end where id = ?",
            [error, retry_at, give_up_after, message_id],
        )

    def note_delivery_problem(self, error: str) -> None:
        """Show why queued mail waits (server down) without counting it against it."""
        self.sql.execute("update outbox set last_error = ? where state = 'queued'", [error])
