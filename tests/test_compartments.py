"""Compartments: two briefs with their own recipients and operators. Every mail (alerts and
digests, through a real SMTP server) and every page of the triage page shows its reader only
what the reader may see: nothing of the other brief (codename, id, recipients, alert ids,
evidence, public URLs)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from leaksentry import jobs
from leaksentry.alerts import digest
from leaksentry.localservers import MailCatcher, free_port
from leaksentry.web.app import create_app
from leaksentry.web.operators import Rights, add_operator

from test_web import EVIDENCE, ORCHARD_EVIDENCE, PASSWORD, TriageWorld, csrf_token, login

DOCK_RECIPIENT, ORCHARD_RECIPIENT = "duty@example.org", "council@example.org"


class RefusingSome(MailCatcher):
    """A real SMTP server that refuses the addresses in `refused` (a mailbox gone away)."""

    refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address in self.refused:
            return "550 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def secrets_of(alert_id: int, codename: str, brief_id: str, recipient: str, evidence: str, hosts):
    """What must never reach a reader of the other compartment."""
    words = [codename, brief_id, recipient, evidence, *hosts]
    return words, re.compile(rf"(?i)alerts?\W{{0,3}}#?{alert_id}\b")


def assert_nothing_of(text: str, compartment, where: str) -> None:
    words, alert_ref = compartment
    for word in words:
        assert word not in text, f"{where} shows {word!r} of the other compartment"
    found = alert_ref.search(text)
    assert found is None, f"{where} names the other compartment's alert: {found and found.group()}"


def test_every_mail_and_page_shows_only_its_readers_compartment(tmp_path):
    port = free_port()
    world = TriageWorld(tmp_path, smtp_port=port, base_url="http://127.0.0.1:8450")
    other = world.add_other_brief()
    with world.store() as store:
        jobs.notify_alerts(world.config, store)  # the orchard alert's mail, to council@
        add_operator(store, "ana", PASSWORD, replace=True)  # every brief (TriageWorld)
        add_operator(store, "bo", PASSWORD, rights=Rights(brief_ids=frozenset({"T-DOCK"})))
        add_operator(store, "cy", PASSWORD, rights=Rights(brief_ids=frozenset({"T-LIB"})))
        assert store.operator_row("ana")["briefs"] == "*"
    dock = secrets_of(
        1,
        "AMBER KESTREL",
        "T-DOCK",
        DOCK_RECIPIENT,
        EVIDENCE,
        ["courier.example", "herald.example"],
    )
    orchard = secrets_of(
        other, "QUIET ORCHARD", "T-LIB", ORCHARD_RECIPIENT, ORCHARD_EVIDENCE, ["gazette.example"]
    )
    readers = {"bo": (1, orchard), "cy": (other, dock)}  # own alert, the other's secrets

    app = create_app(world.config)

    def walk_pages(moment: str) -> None:
        for name, (own, forbidden) in readers.items():
            client = app.test_client()
            assert login(client, name).status_code == 302
            foreign = other if own == 1 else 1
            pages = [
                "/alerts",
                *(f"/alerts?status={s}" for s in ("open", "confirmed", "dismissed")),
                f"/alerts/{own}",
                f"/alerts/{foreign}",
                "/alerts/999",
                "/briefs",
                "/coverage",
                "/audit",
                "/login",
            ]
            for page in pages:
                response = client.get(page, follow_redirects=True)
                assert response.status_code in (200, 404), page
                text = response.get_data(as_text=True)
                assert_nothing_of(text, forbidden, f"{moment}: {page} as {name}")
            assert client.get(f"/alerts/{foreign}").status_code == 404

    at = datetime.now(UTC)
    with RefusingSome(port=port) as mail:
        RefusingSome.refused = {ORCHARD_RECIPIENT}
        with world.store() as store:
            report = jobs.send_queued(world.config, store, at=at)
        assert (report.counts["sent"], report.counts["failed"]) == (1, 1)
        walk_pages("one refusal")  # the orchard mail waits, its error names council@
        for _ in range(4):  # refused until it is marked failed
            at += timedelta(hours=1)
            with world.store() as store:
                jobs.send_queued(world.config, store, at=at)
        with world.store() as store:
            states = {m["brief_id"]: m["state"] for m in store.message_rows()}
            assert states == {"T-DOCK": "sent", "T-LIB": "failed"}
            # a verdict with a note, by ana who sees both; the dock's alert stays open
            store.set_verdict(other, "dismissed", "ana", "orchard depot note")
        walk_pages("failed mail")
        RefusingSome.refused = set()
        with world.store() as store:
            assert digest.queue(world.config, store) == 2  # duty@ and council@
            report = jobs.send_queued(world.config, store, at=at + timedelta(hours=1))
        assert report.counts["sent"] == 2

    by_reader = {DOCK_RECIPIENT: orchard, ORCHARD_RECIPIENT: dock}
    kinds = []
    for message in mail.messages:
        (to,) = [a.strip() for a in str(message["To"]).split(",")]
        text = (
            str(message["Subject"])
            + "\n"
            + "\n".join(
                part.get_content()
                for part in message.walk()
                if part.get_content_maintype() == "text"
            )
        )
        assert_nothing_of(text, by_reader[to], f"mail {message['Subject']!r} to {to}")
        kinds.append((to, "digest" in str(message["Subject"])))
    assert sorted(kinds) == [
        (ORCHARD_RECIPIENT, True),
        (DOCK_RECIPIENT, False),
        (DOCK_RECIPIENT, True),
    ]
    # each digest still reports its own compartment: the open alert, the failed mail
    digests = {
        str(m["To"]): m.get_body(("plain",)).get_content().replace("\r\n", "\n")
        for m in mail.messages
        if "digest" in str(m["Subject"])
    }
    assert "alert 1: AMBER KESTREL" in digests[DOCK_RECIPIENT]
    assert "Mail that could not be delivered:\n  - none" in digests[DOCK_RECIPIENT]
    assert "QUIET ORCHARD" in digests[ORCHARD_RECIPIENT]
    assert ORCHARD_RECIPIENT in digests[ORCHARD_RECIPIENT]  # its own failed mail

    # ana, with every brief, still sees both compartments, the failed mail among them
    client = app.test_client()
    login(client, "ana")
    coverage = client.get("/coverage").get_data(as_text=True)
    assert "1 failed" in coverage
    assert "QUIET ORCHARD" in client.get("/alerts").get_data(as_text=True)
    assert csrf_token(client.get("/alerts").get_data(as_text=True))
