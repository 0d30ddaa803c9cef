"""Alerts through a real SMTP server (aiosmtpd): stories and threads, content without sealed
text, severity and the digest, the outbox under outage, recipients, verdicts."""

import json
from email.utils import make_msgid

import pytest
from click.testing import CliRunner

from leaksentry import jobs
from leaksentry.alerts import digest
from leaksentry.alerts.exposures import AlertSettings, attach
from leaksentry.briefs import read_brief_file, seal_brief
from leaksentry.cli import cli
from leaksentry.config import load_config
from leaksentry.localservers import MailCatcher, free_port
from leaksentry.records import Item, Match
from leaksentry.storage import open_store
from leaksentry.vault import Vault, new_key

from conftest import FIXTURES, assert_no_sealed_text, write_config

BRIEF = read_brief_file(FIXTURES / "briefs" / "tidewater.toml")[0]
EVIDENCE = "A haulier said about forty officers and two scanner vans would be at the east gate."

HARMLESS = (
    "The harbour board met on Tuesday to discuss the east gate's new lighting, the cost of "
    "resurfacing the lorry park and a proposal for a second weighbridge near the ferry ramp."
)
LEAK = (
    "Drivers were told to keep away from the Fernwick east gate on Friday morning: forty-two "
    "officers with two scanner vans will search southbound reefers from a quarter past five."
)


def item(
    n: int,
    host: str,
    story: str | None = None,
    kind="news",
    published="2026-11-04T06:45:00Z",
    text=EVIDENCE,
):
    return Item(
        id=f"i{n}",
        url=f"http://{host}/story-{n}.html",
        kind=kind,
        source=host,
        published=published,
        title=f"Customs at the dock gates ({n})",
        text=text,
        story=story,
    )


class World:
    """A store with the fixture brief sealed, and a function standing in for one match step."""

    def __init__(self, tmp_path, smtp_port: int, database=None, **alerts):
        """`database`: a SQLite file or PostgreSQL URL (the `database` fixture); ls.db if None."""
        path = write_config(tmp_path, smtp_port=smtp_port, database=database or "ls.db")
        self.config = load_config(path)
        self.config.alerts = alerts
        self.config.smtp.recipients = ["desk@example.org"]
        self.store = open_store(self.config.database)
        self.store.add_briefs([seal_brief(BRIEF, Vault(new_key()))])
        self.brief_row = self.store.brief_row(BRIEF.id)

    def match_run(self, *scored: tuple[Item, float, list[int], bool], evidence=None) -> int:
        """Record items and their matcher decisions as match_new does; queue mail."""
        settings = AlertSettings.from_dict(self.config.alerts)
        with self.store.atomic():
            for it, score, details, alert in scored:
                self.store.add_item(it, it.url, f"hash-{it.id}")
                match = Match(BRIEF.id, it.id, score, details, evidence or [EVIDENCE], alert)
                match_id = self.store.record_match(jobs._match_row(match))
                if alert:
                    attach(self.store, self.brief_row, it, match, match_id, settings)
            self.store.mark_matched([it.id for it, *_ in scored])
        return jobs.notify_alerts(self.config, self.store)

    def send(self):
        return jobs.send_queued(self.config, self.store)

    def rows(self) -> list[dict]:
        """The outbox, read afresh on a connection of its own."""
        with open_store(self.config.database) as store:
            return store.message_rows()


@pytest.fixture
def world(tmp_path, mail, database):
    """Once per backend (SQLite, PostgreSQL): alerts are store logic as much as mail."""
    w = World(tmp_path, mail.port, database)
    yield w
    w.store.close()


def message_text(message) -> str:
    """Every part decoded (base64 and quoted-printable undone), with the headers."""
    parts = [str(message["Subject"])]
    parts += [p.get_content() for p in message.walk() if p.get_content_maintype() == "text"]
    return "\n".join(parts)


def test_alert_mail_names_codename_url_evidence_and_details_but_no_sealed_text(world, mail):
    world.match_run((item(1, "courier.example"), 0.81, [0, 2], True))
    assert world.send().counts["sent"] == 1
    (message,) = mail.messages
    assert message["Subject"] == "[leaksentry] AMBER KESTREL: high severity exposure (score 0.81)"
    assert sorted(a.strip() for a in message["To"].split(",")) == [
        "desk@example.org",
        "duty@example.org",
    ]
    assert message.get_content_type() == "multipart/alternative"
    body = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for text in (body, html):
        assert "http://courier.example/story-1.html" in text
        assert "forty officers and two scanner vans" in text
    assert "Details revealed: #1, #3 of 5" in body
    assert_no_sealed_text(message_text(message), [BRIEF])


def parse_html(html: str) -> tuple[set[str], str, list[str]]:
    """The tags, the text (entities undone) and the link targets of an HTML part."""
    from html.parser import HTMLParser

    class Parser(HTMLParser):
        tags, text, links = set(), [], []

        def handle_starttag(self, tag, attrs):
            self.tags.add(tag)
            self.links += [value for name, value in attrs if name == "href"]

        def handle_data(self, data):
            self.text.append(data)

    parser = Parser()
    parser.feed(html)
    return parser.tags, "".join(parser.text), parser.links


def test_public_text_is_escaped_in_the_alert_mails_html(world, mail):
    """Evidence, URLs and sources come from public items: markup in them is shown, not run."""
    hostile = 'Officers at the east gate <script>alert("x")</script> on <b>Friday</b> & later'
    leak = item(1, "courier.example", text=hostile)
    leak.url = "http://courier.example/a?b=1&c=<x>"
    world.match_run((leak, 0.81, [0, 2], True), evidence=[hostile])
    assert world.send().counts["sent"] == 1
    (message,) = mail.messages
    html = message.get_body(("html",)).get_content()
    tags, text, links = parse_html(html)
    assert "script" not in tags and "b" not in tags  # shown as text, never markup
    assert hostile in text
    assert leak.url in links and leak.url in text
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert hostile in message.get_body(("plain",)).get_content()  # plain text as it was


def test_one_story_one_alert_one_follow_up_threaded(world, mail):
    first = item(1, "courier.example")
    copies = [item(n, f"site{n}.example", story="i1") for n in (2, 3, 4)]
    # run 1: the article and three syndicated copies of it
    world.match_run(*[(it, 0.8, [0, 2], True) for it in [first, *copies]])
    world.send()
    # run 2: two social posts retelling it, and an unrelated same-topic article (no alert)
    posts = [
        item(5, "social.example", kind="social", published="2026-11-04T20:00:00Z"),
        item(6, "forum.example", kind="social", published="2026-11-05T07:00:00Z"),
    ]
    unrelated = item(7, "valleypost.example", published="2026-11-05T09:00:00Z")
    world.match_run(*[(p, 0.78, [0], True) for p in posts], (unrelated, 0.41, [], False))
    world.send()
    # run 3: one more copy on a site already counted adds nothing
    world.match_run((item(8, "site2.example", story="i1"), 0.8, [0, 2], True))
    world.send()
    assert len(world.store.alert_rows()) == 1
    subjects = [str(m["Subject"]) for m in mail.messages]
    assert subjects == [
        "[leaksentry] AMBER KESTREL: high severity exposure (score 0.80)",
        "Re: [leaksentry] AMBER KESTREL: spreading, 6 site(s), high severity (score 0.80)",
    ]
    first_mail, follow_up = mail.messages
    assert follow_up["In-Reply-To"] == first_mail["Message-ID"]
    assert first_mail["Message-ID"] in follow_up["References"]
    spread = follow_up.get_body(("plain",)).get_content()
    assert "Spread over time:" in spread and "social.example" in spread
    assert "valleypost.example" not in spread


def test_smtp_down_three_runs_then_every_alert_arrives_once_in_order(tmp_path):
    port = free_port()
    world = World(tmp_path, port)
    texts = [EVIDENCE, LEAK, "Scanner vans and forty officers are due at the east gate early."]
    stories = [
        item(n, f"site{n}.example", published=f"2026-10-{10 + 5 * n}T08:00:00Z", text=texts[n])
        for n in range(3)
    ]
    for run, story in enumerate(stories):  # three runs, each finding a new story, server down
        world.match_run((story, 0.8, [run], True))
        down = world.send()
        assert down.counts["sent"] == 0 and "not usable" in down.errors[0]
    assert [m["state"] for m in world.store.message_rows()] == ["queued"] * 3
    with MailCatcher(port=port) as mail:
        world.send()
        world.send()
    assert [str(m["Subject"]).startswith("[leaksentry]") for m in mail.messages] == [True] * 3
    sent_ids = [m["Message-ID"] for m in mail.messages]
    queued_ids = [m["message_id"] for m in world.store.message_rows()]
    assert sent_ids == queued_ids  # once each, in order
    world.store.close()


def test_refused_mail_backs_off_then_fails_and_is_shown(tmp_path):
    class Refusing(MailCatcher):
        async def handle_RCPT(self, server, session, envelope, address, options):
            return "550 mailbox unavailable"

    port = free_port()
    world = World(tmp_path, port)
    world.match_run((item(1, "courier.example"), 0.8, [0], True))
    from datetime import UTC, datetime, timedelta

    at = datetime.now(UTC)
    with Refusing(port=port):
        for _ in range(5):
            report = jobs.send_queued(world.config, world.store, at=at)
            assert report.counts["failed"] == 1
            assert jobs.send_queued(world.config, world.store, at=at).counts["due"] == 0
            at += timedelta(hours=1)  # past the back-off
    (row,) = world.store.message_rows()
    assert row["state"] == "failed" and row["attempts"] == 5 and "refused" in row["last_error"]
    text = digest.build(world.config, world.store)[0].body_text
    assert f"message {row['id']}" in text and "Mail that could not be delivered" in text
    world.store.close()


def test_low_severity_waits_for_the_digest_with_coverage_health(world, mail):
    world.config.alerts = {"high_score": 0.9}
    queued = world.match_run(
        (item(1, "courier.example", published="2026-10-25T08:00:00Z"), 0.62, [1], True)
    )
    assert queued == 0  # low severity: no mail at once
    world.store.record_source_result(
        "city-feed", "feed", "http://127.0.0.1:9/", False, 0, "HTTP 503"
    )
    world.store.record_source_run(
        {"source": "city-feed", "ok": 0, "stored": 0, "error": "HTTP 503"}
    )
    world.config.sources = load_config(
        write_config(
            world.config.path.parent,
            [{"name": "city-feed", "kind": "feed", "url": "http://127.0.0.1:9/"}],
        )
    ).sources
    assert digest.queue(world.config, world.store) == 2  # desk@ (default) and duty@ (brief)
    world.send()
    assert len(mail.messages) == 2
    for message in mail.messages:
        text = message.get_body(("plain",)).get_content()
        assert "Low-severity alerts since the last digest:" in text and "AMBER KESTREL" in text
        assert "city-feed (feed): failing" in text and "HTTP 503" in text
        assert_no_sealed_text(message_text(message), [BRIEF])
    assert digest.build(world.config, world.store)[0].waiting == []  # carried once


def test_verdicts_are_audited_and_a_dismissed_story_stays_silent(world, mail):
    world.match_run((item(1, "courier.example"), 0.8, [0], True))
    world.send()
    runner = CliRunner()
    config = str(world.config.path)
    result = runner.invoke(
        cli, ["alert", "dismiss", "1", "--by", "ana", "--note", "other op", "--config", config]
    )
    assert result.exit_code == 0, result.output
    # more copies of the dismissed story, on new sites, with a new detail: nothing is sent
    world.match_run(*[(item(n, f"s{n}.example", story="i1"), 0.9, [0, 3], True) for n in (2, 3)])
    world.send()
    assert len(mail.messages) == 1
    (audit,) = world.store.audit_rows()
    assert (audit["who"], audit["action"], audit["alert_id"], audit["note"]) == (
        "ana",
        "dismissed",
        1,
        "other op",
    )
    listing = runner.invoke(cli, ["alerts", "--config", config]).output
    assert "dismissed" in listing and "by ana" in listing
    missing = runner.invoke(cli, ["alert", "confirm", "99", "--config", config])
    assert missing.exit_code == 1 and "no alert with id 99" in missing.output


def test_alert_goes_only_to_its_briefs_recipients(world, mail):
    other = read_brief_file(FIXTURES / "briefs" / "others.jsonl")[0]
    world.store.add_briefs([seal_brief(other, Vault(new_key()))])
    world.match_run((item(1, "courier.example"), 0.8, [0], True))
    world.send()
    (message,) = mail.messages
    assert "council@example.org" not in message["To"]
    assert json.loads(world.store.message_rows()[0]["recipients"]) == [
        "duty@example.org",
        "desk@example.org",
    ]
    assert make_msgid()  # the helper the outbox uses is available


class Hook:
    """A real local HTTP endpoint that keeps what chat notifications POST to it."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_chat_channel_gets_the_alert_even_while_smtp_is_down(tmp_path):
    hook = Hook()
    try:
        world = World(tmp_path, free_port(), channels={"T-DOCK": ["ops-chat"]})
        world.config.channels = {"ops-chat": hook.url}
        assert world.match_run((item(1, "courier.example"), 0.8, [0, 2], True)) == 1
        report = world.send()
        assert report.counts["sent"] == 1  # the chat message; the mail waits for its server
        (note,) = hook.received
        assert "AMBER KESTREL" in note["title"] and "courier.example" in note["message"]
        assert_no_sealed_text(note["title"] + "\n" + note["message"], [BRIEF])
        states = {(m["transport"], m["state"]) for m in world.store.message_rows()}
        assert states == {(None, "queued"), ("apprise", "sent")}
        world.store.close()
    finally:
        hook.stop()


def test_alerts_routed_to_an_undefined_channel_are_a_config_error(tmp_path):
    from leaksentry.errors import ConfigError

    path = write_config(tmp_path)
    path.write_text(path.read_text() + '\n[alerts]\nchannels = { "*" = ["nowhere"] }\n')
    with pytest.raises(ConfigError, match=r"unknown channel\(s\) \['nowhere'\]"):
        load_config(path)


def test_a_dismissed_story_never_swallows_a_real_leak_of_the_same_brief_on_the_same_site(
    world, mail
):
    # a harmless article alerts (a false alert) and the operator dismisses it
    harmless = item(1, "courier.example", published="2026-11-01T08:00:00Z", text=HARMLESS)
    world.match_run((harmless, 0.8, [0], True))
    world.send()
    runner = CliRunner()
    config = str(world.config.path)
    assert runner.invoke(cli, ["alert", "dismiss", "1", "--config", config]).exit_code == 0
    # 68 hours later a real leak of the same brief on the same site, sharing detail #1
    leak = item(2, "courier.example", published="2026-11-04T04:00:00Z", text=LEAK)
    world.match_run((leak, 0.86, [0, 1, 2], True))
    world.send()
    assert len(world.store.alert_rows()) == 2, "the leak joined the dismissed story"
    assert [str(m["Subject"]) for m in mail.messages][-1] == (
        "[leaksentry] AMBER KESTREL: high severity exposure (score 0.86)"
    )
    # a copy of the harmless article (same content elsewhere) is the dismissed story: silent
    world.match_run((item(3, "harbour.example", text=HARMLESS), 0.8, [0], True))
    world.send()
    assert len(mail.messages) == 2 and len(world.store.alert_rows()) == 2


def test_an_open_story_is_joined_only_by_retellings_never_for_brief_site_or_time_window(world):
    world.match_run((item(1, "courier.example", text=LEAK), 0.86, [0, 1, 2], True))
    # same brief, same site, same details, an hour later, but another text: its own alert
    other = item(2, "courier.example", published="2026-11-04T07:45:00Z", text=HARMLESS)
    world.match_run((other, 0.7, [0, 1], True))
    # the same text at another URL, no story id from ingest: it retells item 1
    world.match_run((item(3, "social.example", kind="social", text=LEAK), 0.8, [0], True))
    alerts = world.store.alert_rows()
    assert [a["items"] for a in alerts] == [2, 1]
    assert [r["item_id"] for r in world.store.alert_items(alerts[0]["id"])] == ["i1", "i3"]


def test_a_confirmed_leak_that_spreads_to_a_second_site_is_followed_up(world, mail):
    world.match_run((item(1, "courier.example", text=LEAK), 0.86, [0, 1, 2], True))
    world.send()
    runner = CliRunner()
    config = str(world.config.path)
    result = runner.invoke(cli, ["alert", "confirm", "1", "--by", "ana", "--config", config])
    assert result.exit_code == 0, result.output
    # the leak reaches a second site (a copy, linked at ingest)
    world.match_run((item(2, "harbour.example", story="i1", text=LEAK), 0.86, [0, 1, 2], True))
    world.send()
    subjects = [str(m["Subject"]) for m in mail.messages]
    assert subjects == [
        "[leaksentry] AMBER KESTREL: high severity exposure (score 0.86)",
        "Re: [leaksentry] AMBER KESTREL: spreading, 2 site(s), high severity (score 0.86)",
    ]
    assert "harbour.example" in mail.messages[1].get_body(("plain",)).get_content()


DECOY = (
    "Fernwick's dock museum opens a tobacco warehouse exhibition with guided tours of the old "
    "refrigerated sheds, closed to visitors until nine on weekdays."
)


def test_a_muddled_story_shows_details_and_time_per_item_and_an_item_can_be_detached(world, mail):
    # an unrelated article, wrongly linked at ingest, is older than the leak and "reveals" #4, #5
    decoy = item(1, "museum.example", published="2026-10-28T09:00:00Z", text=DECOY)
    leak = item(2, "courier.example", story="i1", published="2026-11-04T04:00:00Z", text=LEAK)
    world.match_run((decoy, 0.7, [3, 4], True), (leak, 0.86, [0, 1, 2], True))
    world.send()
    (first,) = mail.messages
    body = first.get_body(("plain",)).get_content()
    # the best item's details, then the union, and each item with its time, score and details
    assert (
        "Details revealed: #1, #2, #3 of 5 (best item); #1, #2, #3, #4, #5 of 5 over 2 items"
        in body
    )
    assert (
        "  2026-10-28T09:00:00Z  museum.example  http://museum.example/story-1.html"
        "  score 0.70, details #4, #5 of 5" in body
    )
    assert (
        "  2026-11-04T04:00:00Z  courier.example  http://courier.example/story-2.html"
        "  score 0.86, details #1, #2, #3 of 5" in body
    )
    # the operator takes the decoy out of the story (audited); the story is the leak again
    runner = CliRunner()
    config = str(world.config.path)
    args = ["alert", "detach", "1", "i1", "--by", "ana", "--note", "museum piece", "--config"]
    result = runner.invoke(cli, [*args, config])
    assert result.exit_code == 0, result.output
    assert "item i1 taken out of alert 1: now alert 2" in result.output
    alert, moved = world.store.alert_rows()
    assert json.loads(alert["details"]) == [0, 1, 2] and alert["items"] == 1
    assert json.loads(alert["domains"]) == ["courier.example"]
    assert alert["last_published"] == "2026-11-04T04:00:00Z"
    assert [r["item_id"] for r in world.store.alert_items(alert["id"])] == ["i2"]
    assert [r["item_id"] for r in world.store.alert_items(moved["id"])] == ["i1"]
    assert moved["status"] == "open" and json.loads(moved["details"]) == [3, 4]
    (audit,) = world.store.audit_rows()
    assert (audit["who"], audit["action"], audit["alert_id"]) == ("ana", "detached", 1)
    assert "i1" in audit["note"] and "museum piece" in audit["note"]
    world.send()
    assert len(mail.messages) == 1  # the operator has seen the detached item: no new mail
    # the last item cannot be detached; an item not in the alert is refused
    for alert_id, item_id in (("1", "i2"), ("1", "i9")):
        refused = runner.invoke(cli, ["alert", "detach", alert_id, item_id, "--config", config])
        assert refused.exit_code == 1


def test_a_site_is_an_origin_two_ports_on_one_host_are_two_sites():
    from leaksentry.alerts.exposures import site_of

    assert site_of("http://127.0.0.1:8001/a.html", "x") != site_of("http://127.0.0.1:8002/a", "x")
    assert site_of("https://www.courier.example:443/a", "x") == "courier.example"
    assert site_of("http://courier.example:80/a", "x") == "courier.example"
    assert site_of("http://courier.example:8080/a", "x") == "courier.example:8080"
    assert site_of("http://courier.example:port/a", "x") == "courier.example"
    assert site_of(None, "harbour-toots") == "harbour-toots"
