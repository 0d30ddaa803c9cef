"""Alerts through a real SMTP server (aiosmtpd): content, no sealed text, the outbox under outage."""

import json

from leaksentry import jobs
from leaksentry.alerts import render_alert
from leaksentry.briefs import read_brief_file
from leaksentry.config import load_config
from leaksentry.localservers import MailCatcher, free_port
from leaksentry.records import Item, Match
from leaksentry.store import Store

from conftest import FIXTURES, assert_no_sealed_text, write_config

BRIEF = read_brief_file(FIXTURES / "briefs" / "tidewater.toml")[0]
ITEM = Item(
    id="i-dock",
    url="http://127.0.0.1:8000/articles/dock-checks.html",
    kind="news",
    source="gazette",
    published="2026-11-04T06:45:00Z",
    title="Customs officers to inspect lorries at Fernwick dock gates early on Friday",
    text="A haulier said about forty officers and two scanner vans would be at the east gate.",
)
MATCH = Match(
    brief_id=BRIEF.id,
    item_id=ITEM.id,
    score=0.8123,
    details_matched=[0, 2],
    evidence=[
        "A haulier said about forty officers and two scanner vans would be at the east gate."
    ],
)


def queue_one_alert(store: Store) -> None:
    store.add_item(ITEM, ITEM.url, "hash-dock")
    alert = render_alert(BRIEF, ITEM, MATCH, ["desk@example.org"])
    store.record_matches([jobs._match_row(MATCH)], [alert], [ITEM.id])


def message_text(message) -> str:
    """Every part decoded (base64 and quoted-printable undone), with the headers."""
    parts = [str(message["Subject"])]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
    return "\n".join(parts)


def test_alert_mail_names_codename_url_evidence_and_details_but_no_sealed_text(tmp_path, mail):
    config = load_config(write_config(tmp_path, smtp_port=mail.port))
    with Store(config.database) as store:
        queue_one_alert(store)
        report = jobs.send_queued(config, store)
    assert report.counts["sent"] == 1
    (message,) = mail.messages
    assert message["Subject"] == "[leaksentry] AMBER KESTREL: possible exposure (score 0.81)"
    assert sorted(a.strip() for a in message["To"].split(",")) == [
        "desk@example.org",
        "duty@example.org",
    ]
    assert message.get_content_type() == "multipart/alternative"
    body = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for text in (body, html):
        assert ITEM.url in text
        assert "forty officers and two scanner vans" in text
    assert "Details revealed: #1, #3 of 5" in body
    assert_no_sealed_text(message_text(message), [BRIEF])
    assert (tmp_path / "mail" / "0001.eml").is_file()


def test_outbox_keeps_alert_while_smtp_is_down_and_sends_it_when_back(tmp_path):
    port = free_port()
    config = load_config(write_config(tmp_path, smtp_port=port))
    with Store(config.database) as store:
        queue_one_alert(store)
        for _ in range(3):  # three runs with the server down
            down = jobs.send_queued(config, store)
            assert down.counts == {"queued": 1, "sent": 0, "failed": 0}
            assert "not usable" in down.errors[0]
        (row,) = store.alert_rows()
        assert row["state"] == "queued" and "not usable" in row["last_error"]
        with MailCatcher(port=port) as mail:
            back = jobs.send_queued(config, store)
            again = jobs.send_queued(config, store)
        assert back.counts["sent"] == 1 and again.counts["sent"] == 0
        assert len(mail.messages) == 1
        (row,) = store.alert_rows()
        assert row["state"] == "sent" and row["sent_at"]


def test_alerts_command_lists_state(tmp_path):
    from click.testing import CliRunner

    from leaksentry.cli import cli

    path = write_config(tmp_path, smtp_port=free_port())
    with Store(load_config(path).database) as store:
        queue_one_alert(store)
    output = CliRunner().invoke(cli, ["alerts", "--config", str(path)]).output
    assert "queued" in output and "AMBER KESTREL" in output
    assert json.loads(json.dumps(output))  # printable text
