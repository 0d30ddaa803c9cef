"""The triage page through Flask's test client: login required, CSRF, passwords, verdicts in
the audit log, signed mail links, and no sealed text on any page."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from itsdangerous import TimestampSigner

from leaksentry import jobs
from leaksentry.briefs import read_brief_file, seal_brief
from leaksentry.cli import cli
from leaksentry.config import load_config
from leaksentry.exposures import AlertSettings, attach
from leaksentry.records import Item, Match
from leaksentry.store import Store
from leaksentry.vault import initialise, load_key, open_vault
from leaksentry.web.app import create_app
from leaksentry.web.links import alert_link, check_link
from leaksentry.web.operators import add_operator

from conftest import FIXTURES, assert_no_sealed_text, write_config

BRIEF = read_brief_file(FIXTURES / "briefs" / "tidewater.toml")[0]
EVIDENCE = "A haulier said about forty officers and two scanner vans would be at the east gate."
PASSWORD = "correct horse battery staple"
PAGES = ["/", "/alerts", "/alerts/1", "/briefs", "/coverage", "/audit"]


class TriageWorld:
    """A configuration, a key, the fixture brief sealed, one alert (a story of two items on
    two sites) with its mail queued, and an operator 'ana'."""

    def __init__(self, folder, smtp_port: int = 1, base_url: str = ""):
        sources = [{"name": "city-feed", "kind": "feed", "url": "http://127.0.0.1:9/feed.xml"}]
        self.path = write_config(folder, sources, smtp_port=smtp_port)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(f'[alerts]\nbase_url = "{base_url}"\n')
        self.config = load_config(self.path)
        with Store(self.config.database) as store:
            initialise(self.config, store)
            store.add_briefs([seal_brief(BRIEF, open_vault(self.config, store))])
            add_operator(store, "ana", PASSWORD)
            self.add_alert(store)
            self.queued = jobs.notify_alerts(self.config, store)

    def add_alert(self, store: Store) -> None:
        """Two copies of one story exposing details #1 and #3, as match_new would record."""
        settings = AlertSettings.from_dict(self.config.alerts)
        brief_row = store.brief_row(BRIEF.id)
        for n, host in ((1, "courier.example"), (2, "herald.example")):
            it = Item(
                id=f"i{n}",
                url=f"http://{host}/dock-{n}.html",
                kind="news",
                source=host,
                published=f"2026-11-0{3 + n}T06:45:00Z",
                title=f"Customs at the dock gates ({n})",
                text=EVIDENCE,
                story="i1",
            )
            store.add_item(it, it.url, f"hash-{n}")
            match = Match(BRIEF.id, it.id, 0.81, [0, 2], [EVIDENCE], True)
            attach(
                store, brief_row, it, match, store.record_match(jobs._match_row(match)), settings
            )

    def store(self) -> Store:
        return Store(self.config.database)


@pytest.fixture
def world(tmp_path):
    return TriageWorld(tmp_path, base_url="http://127.0.0.1:8450")


@pytest.fixture
def client(world):
    return create_app(world.config).test_client()


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client, name="ana", password=PASSWORD, next_page=None):
    token = csrf_token(client.get("/login").get_data(as_text=True))
    form = {"csrf_token": token, "name": name, "password": password}
    if next_page:
        form["next"] = next_page
    return client.post("/login", data=form)


def test_every_page_but_login_requires_a_session(client):
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 302, page
        assert response.headers["Location"].startswith("/login?next="), page
    assert client.get("/login").status_code == 200
    token = csrf_token(client.get("/login").get_data(as_text=True))
    refused = client.post("/alerts/1/verdict", data={"csrf_token": token, "verdict": "dismiss"})
    assert refused.status_code == 401


def test_wrong_password_and_unknown_operator_are_refused(client, world):
    for name, password in (("ana", "not the password"), ("bob", PASSWORD), ("", "")):
        response = login(client, name, password)
        assert response.status_code == 401
        assert "Wrong name or password." in response.get_data(as_text=True)
        assert client.get("/alerts").status_code == 302
    ok = login(client)
    assert ok.status_code == 302 and ok.headers["Location"] == "/alerts"
    assert client.get("/alerts").status_code == 200
    with world.store() as store:
        assert store.operator_row("ana")["last_login_at"]


def test_post_without_a_valid_csrf_token_is_refused(client, world):
    login(client)
    for form in ({}, {"csrf_token": "forged"}):
        response = client.post("/alerts/1/verdict", data=form | {"verdict": "dismiss"})
        assert response.status_code == 400
    assert client.post("/logout").status_code == 400
    fresh = create_app(world.config).test_client()  # a login form posted without its token
    assert fresh.post("/login", data={"name": "ana", "password": PASSWORD}).status_code == 400
    with world.store() as store:
        assert store.audit_rows() == [] and store.alert_row(1)["status"] == "open"


def test_verdict_goes_to_the_audit_log(client, world):
    login(client)
    page = client.get("/alerts/1").get_data(as_text=True)
    response = client.post(
        "/alerts/1/verdict",
        data={"csrf_token": csrf_token(page), "verdict": "dismiss", "note": "other op, same dock"},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/alerts/1"
    with world.store() as store:
        (audit,) = store.audit_rows()
        alert = store.alert_row(1)
    assert (audit["who"], audit["action"], audit["alert_id"], audit["note"]) == (
        "ana",
        "dismissed",
        1,
        "other op, same dock",
    )
    assert (alert["status"], alert["verdict_by"]) == ("dismissed", "ana")
    log = client.get("/audit").get_data(as_text=True)
    assert "other op, same dock" in log and "dismissed" in log
    bad = client.post("/alerts/1/verdict", data={"csrf_token": csrf_token(page), "verdict": "x"})
    assert bad.status_code == 400
    missing = client.post("/alerts/9/verdict", data={"csrf_token": csrf_token(page)})
    assert missing.status_code == 404


def test_pages_show_the_story_but_never_sealed_text(client, world):
    login(client)
    with world.store() as store:
        store.set_verdict(1, "confirmed", "ana", "names the gate")
    texts = {}
    for page in [*PAGES, "/alerts?status=open", "/alerts/99", "/login"]:
        response = client.get(page, follow_redirects=True)
        assert response.status_code in (200, 404), page
        texts[page] = response.get_data(as_text=True)
        assert_no_sealed_text(texts[page], [BRIEF])
    alert = texts["/alerts/1"]
    assert "AMBER KESTREL" in alert and "#1, #3 of 5" in alert
    assert "2 item(s) on 2 site(s)" in alert
    assert "http://courier.example/dock-1.html" in alert and "herald.example" in alert
    assert '<mark title="detail #1">east</mark> <mark title="detail #1">gate</mark>' in alert
    assert '<mark title="detail #3">scanner</mark>' in alert
    assert "Spread over time" in alert and "<meter" in alert
    assert re.search(
        r"AMBER KESTREL</td>.*0\.81.*high.*confirmed.*>2<.*>2<", texts["/alerts"], re.S
    )
    assert "T-DOCK" in texts["/briefs"] and "2026-11-06" in texts["/briefs"]
    assert "city-feed" in texts["/coverage"] and "never crawled" in texts["/coverage"]
    assert "names the gate" in texts["/audit"]
    for detail in BRIEF.details:  # no detail's wording, not even a short one
        assert detail not in "\n".join(texts.values())


def test_session_cookie_flags_and_security_headers(client):
    response = client.get("/login")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    # no external resources: only the local stylesheet
    assert re.findall(r'(?:href|src)="(https?:|//)', response.get_data(as_text=True)) == []


def test_signed_mail_link_leads_through_login_to_its_alert(client, world):
    key = load_key(world.config.key_file)
    link = alert_link("http://127.0.0.1:8450", key, 1)
    path = link.removeprefix("http://127.0.0.1:8450")
    first = client.get(path)
    assert first.status_code == 302 and first.headers["Location"] == "/login?next=/alerts/1"
    page = client.get("/login?next=/alerts/1").get_data(as_text=True)
    assert "Log in to open alert 1." in page
    landed = login(client, next_page="/alerts/1")
    assert landed.headers["Location"] == "/alerts/1"
    assert "Alert #1" in client.get(path).get_data(as_text=True)  # logged in: opens directly


def test_tampered_foreign_or_expired_links_do_not_name_the_alert(client, world, monkeypatch):
    key = load_key(world.config.key_file)
    sig = alert_link("", key, 1).split("sig=")[1]
    other = alert_link("", key, 2).split("sig=")[1]
    assert check_link(key, 1, sig, 14) == "ok"
    assert check_link(key, 1, other, 14) == "invalid"
    assert check_link(key, 1, sig[:-2] + "xx", 14) == "invalid"
    assert check_link(b"\0" * 32, 1, sig, 14) == "invalid"  # signed with another key
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) - 15 * 86400)
    old = alert_link("", key, 1).split("sig=")[1]
    monkeypatch.undo()
    assert check_link(key, 1, old, 14) == "expired" and check_link(key, 1, old, 16) == "ok"
    for bad, word in ((other, "invalid"), (old, "expired")):
        response = client.get(f"/alerts/1?sig={bad}")
        assert response.headers["Location"] == "/login"
        assert f"That link is {word}." in client.get("/login").get_data(as_text=True)


def test_alert_mail_carries_the_signed_link(world):
    with world.store() as store:
        (message,) = store.message_rows()
    found = re.search(r"Open: (http://127\.0\.0\.1:8450/alerts/1\?sig=(\S+))", message["body_text"])
    assert found, "no signed link in the alert mail"
    assert check_link(load_key(world.config.key_file), 1, found.group(2), 14) == "ok"
    assert f"href='{found.group(1)}'" in message["body_html"]


def test_no_link_without_base_url(tmp_path):
    world = TriageWorld(tmp_path)
    with world.store() as store:
        (message,) = store.message_rows()
    assert "/alerts/1?sig=" not in message["body_text"]


def test_next_never_leaves_the_site(client):
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x"):
        response = login(client, next_page=target)
        assert response.headers["Location"] == "/alerts", target
        client.post("/logout", data={"csrf_token": csrf_token(client.get("/alerts").text)})


def test_new_password_ends_earlier_sessions_and_logout_ends_this_one(client, world):
    login(client)
    assert client.get("/alerts").status_code == 200
    with world.store() as store:
        add_operator(store, "ana", "a brand new passphrase", replace=True)
    assert client.get("/alerts").status_code == 302
    assert login(client).status_code == 401
    login(client, password="a brand new passphrase")
    token = csrf_token(client.get("/alerts").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/alerts").status_code == 302


def test_repeated_wrong_passwords_lock_the_name_for_a_while(client):
    for _ in range(10):
        assert login(client, password="wrong wrong wrong").status_code == 401
    assert login(client).status_code == 429


def test_operator_commands(world):
    runner = CliRunner()
    config = ["--config", str(world.path)]
    added = runner.invoke(
        cli, ["operator", "add", "bo", "--password-stdin", *config], input=PASSWORD
    )
    assert added.exit_code == 0 and "added operator bo" in added.output
    prompted = runner.invoke(
        cli, ["operator", "add", "cy", *config], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert prompted.exit_code == 0, prompted.output
    again = runner.invoke(
        cli, ["operator", "add", "bo", "--password-stdin", *config], input=PASSWORD
    )
    assert again.exit_code == 1 and "exists; use --replace" in again.output
    short = runner.invoke(
        cli, ["operator", "add", "di", "--password-stdin", *config], input="short"
    )
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    badname = runner.invoke(
        cli, ["operator", "add", "a b", "--password-stdin", *config], input=PASSWORD
    )
    assert badname.exit_code == 1 and "operator name" in badname.output
    listing = runner.invoke(cli, ["operator", "list", *config]).output
    assert [line.split()[0] for line in listing.splitlines()] == ["ana", "bo", "cy"]
    assert "argon2" not in listing
    with world.store() as store:
        stored = store.operator_row("bo")["password_hash"]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_serve_reports_a_busy_port_or_a_missing_key_in_one_line(world, tmp_path):
    import socket

    runner = CliRunner()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(cli, ["serve", "--config", str(world.path), "--port", str(port)])
    assert result.exit_code == 1 and f"cannot listen on 127.0.0.1:{port}" in result.output
    world.config.key_file.unlink()
    result = runner.invoke(cli, ["serve", "--config", str(world.path)])
    assert result.exit_code == 1 and "key file not found" in result.output
    assert "Traceback" not in result.output
