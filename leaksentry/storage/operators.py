"""Operators of the triage page (only argon2 hashes are stored) and the audit log."""

from __future__ import annotations

from collections.abc import Iterable

from leaksentry.storage import stamp
from leaksentry.storage.sql import Sql


class OperatorStore:
    sql: Sql

    def operator_row(self, name: str) -> dict | None:
        return self.sql.first("select * from operators where name = ?", [name])

    def operator_rows(self) -> list[dict]:
        """Operators without their hashes, for listing."""
        return self.sql.query(
            "select name, created_at, password_set_at, last_login_at, briefs from operators "
            "order by name"
        )

    def set_operator_password(
        self, name: str, password_hash: str, session_nonce: str, briefs: str = "[]"
    ) -> bool:
        """Create the operator or give it a new password (ending its sessions); True if new.

        A new operator gets `briefs` (its rights: "*" or a JSON list of brief ids; by default
        none); a known one keeps its rights.
        """
        moment = stamp.now()
        with self.sql.atomic():
            new = self.operator_row(name) is None
            row = {"name": name, "password_hash": password_hash, "session_nonce": session_nonce}
            row |= {"password_set_at": moment}
            row |= {"created_at": moment, "briefs": briefs} if new else {}
            self.sql.upsert("operators", row, pk=("name",))
        return new

    def set_operator_briefs(self, name: str, briefs: str) -> None:
        """Replace the operator's rights ("*" or a JSON list of brief ids)."""
        self.sql.execute("update operators set briefs = ? where name = ?", [briefs, name])

    def end_operator_sessions(self, name: str, session_nonce: str) -> None:
        """A new session nonce: every session cookie issued before stops working."""
        self.sql.execute(
            "update operators set session_nonce = ? where name = ?", [session_nonce, name]
        )

    def record_operator_login(self, name: str, password_hash: str | None = None) -> None:
        """Note the login; store a re-hash when the KDF parameters were raised."""
        row = {"last_login_at": stamp.now()}
        row |= {"password_hash": password_hash} if password_hash else {}
        self.sql.update("operators", {"name": name}, row)

    # -- the audit log ----------------------------------------------------------------------
    def record_audit(
        self, action: str, who: str, note: str | None = None, alert_id: int | None = None
    ) -> None:
        """One row of the audit log: a login, a logout, a change of an operator's rights."""
        self.sql.insert_id(
            "audit_log",
            {"at": stamp.now(), "who": who, "action": action, "alert_id": alert_id, "note": note},
        )

    def audit_rows(
        self,
        limit: int = 100,
        alert_id: int | None = None,
        brief_ids: Iterable[str] | None = None,
        unlinked_by: str | None = None,
    ) -> list[dict]:
        """The audit log, newest first; only `alert_id`'s rows when given.

        With `brief_ids` (an operator's rights), only rows about alerts of those briefs, plus
        rows about no alert whose `who` is `unlinked_by` (the operator's own logins).
        """
        where, params = [], []
        if alert_id is not None:
            where.append("a.alert_id = ?")
            params.append(alert_id)
        if brief_ids is not None:
            ids = sorted(brief_ids)
            marks = ",".join("?" * len(ids))
            permitted = f"al.brief_id in ({marks})" if ids else "1 = 0"
            where.append(
                f"((a.alert_id is not null and {permitted}) or (a.alert_id is null and a.who = ?))"
            )
            params += [*ids, unlinked_by]
        sql = "select a.* from audit_log a left join alerts al on al.id = a.alert_id"
        if where:
            sql += " where " + " and ".join(where)
        return self.sql.query(sql + " order by a.id desc limit ?", [*params, limit])
