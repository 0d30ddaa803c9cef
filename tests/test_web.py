"""The triage page through Flask's test client: login required, CSRF, passwords, verdicts in
the audit log, signed mail links, no sealed text on any page, per-brief operator rights, and
logins in the audit log."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from itsdangerous import TimestampSigner

from leaksentry import jobs
from leaksentry.alerts.exposures import AlertSettings, attach
from leaksentry.briefs import read_brief_file, seal_brief
from leaksentry.cli import cli
from leaksentry.config import load_config
from leaksentry.records import Item, Match
from leaksentry.storage import Store, open_store
from leaksentry.vault import initialise, load_key, open_vault
from leaksentry.web.app import create_app
from leaksentry.web.links import alert_link, check_link
from leaksentry.web.operators import EVERY_BRIEF, add_operator

from conftest import FIXTURES, assert_no_sealed_text, write_config

BRIEF = read_brief_file(FIXTURES / "briefs" / "tidewater.toml")[0]
OTHER = read_brief_file(FIXTURES / "briefs" / "others.jsonl")[0]  # T-LIB, QUIET ORCHARD
EVIDENCE = "A haulier said about forty officers and two scanner vans would be at the east gate."
ORCHARD_EVIDENCE = "Staff say the Orchard Road depot shuts in March and the gardeners move away."
PASSWORD = "correct horse battery staple"
PAGES = ["/", "/alerts", "/alerts/1", "/briefs", "/coverage", "/audit"]


class TriageWorld:
    """A configuration, a key, the fixture brief sealed, one alert (a story of two items on
    two sites) with its mail queued, and an operator 'ana' who may see every brief."""

    def __init__(self, folder, smtp_port: int = 1, base_url: str = "", database=None):
        sources = [{"name": "city-feed", "kind": "feed", "url": "http://127.0.0.1:9/feed.xml"}]
        database = database or "ls.db"  # or the `database` fixture's file or PostgreSQL URL
        self.path = write_config(folder, sources, smtp_port=smtp_port, database=database)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(f'[alerts]\nbase_url = "{base_url}"\n')
        self.config = load_config(self.path)
        with open_store(self.config.database) as store:
            initialise(self.config, store)
            store.add_briefs([seal_brief(BRIEF, open_vault(self.config, store))])
            add_operator(store, "ana", PASSWORD, rights=EVERY_BRIEF)
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

    def add_other_brief(self) -> int:
        """A second brief (QUIET ORCHARD) with one alert of its own; the alert's id."""
        with self.store() as store:
            store.add_briefs([seal_brief(OTHER, open_vault(self.config, store))])
            it = Item(
                id="i3",
                url="http://gazette.example/depot.html",
                kind="news",
                source="gazette.example",
                published="2026-11-20T09:00:00Z",
                title="Orchard Road depot to close",
                text=ORCHARD_EVIDENCE,
            )
            store.add_item(it, it.url, "hash-3")
            match = Match(OTHER.id, it.id, 0.77, [0], [ORCHARD_EVIDENCE], True)
            settings = AlertSettings.from_dict(self.config.alerts)
            return attach(
                store,
                store.brief_row(OTHER.id),
                it,
                match,
                store.record_match(jobs._match_row(match)),
                settings,
            )

    def store(self) -> Store:
        return open_store(self.config.database)


# the tests that read and write operators, verdicts and the audit through the page run on
# each backend (SQLite, PostgreSQL); they name the `database` fixture
BOTH_BACKENDS = pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def world(tmp_path, request):
    """On SQLite; on each backend for a test marked BOTH_BACKENDS."""
    database = request.getfixturevalue("database") if "database" in request.fixturenames else None
    return TriageWorld(tmp_path, base_url="http://127.0.0.1:8450", database=database)


@pytest.fixture
def client(world):
    return create_app(world.config).test_client()


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def without_csrf_token(html: str) -> str:
    """The page with its CSRF token blanked: the token is signed with the current second, so
    two requests either side of a second's edge differ there and nowhere else."""
    return re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value=""', html)


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
        assert [row["action"] for row in store.audit_rows()] == ["login", "operator added"]
        assert store.alert_row(1)["status"] == "open"


@BOTH_BACKENDS
def test_verdict_goes_to_the_audit_log(client, world, database):
    login(client)
    page = client.get("/alerts/1").get_data(as_text=True)
    response = client.post(
        "/alerts/1/verdict",
        data={"csrf_token": csrf_token(page), "verdict": "dismiss", "note": "other op, same dock"},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/alerts/1"
    with world.store() as store:
        (audit,) = store.audit_rows(alert_id=1)
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


@BOTH_BACKENDS
def test_pages_show_the_story_but_never_sealed_text(client, world, database):
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
    assert "1 source(s) not read" in texts["/coverage"]  # what `leaksentry health` says
    assert "MiB free" in texts["/coverage"] and "open alert(s)" in texts["/coverage"]
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
        assert f"That link is {word}:" in client.get("/login").get_data(as_text=True)


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


def test_a_cookie_saved_before_logout_no_longer_works_after_it(client, world):
    """Logout ends the session on the server: a copy of the cookie (a shared machine, a
    stolen backup of the browser profile) can neither read a page nor record a verdict."""
    login(client)
    page = client.get("/alerts/1").get_data(as_text=True)
    saved = client.get_cookie("leaksentry_session").value
    logout(client)
    replay = client.application.test_client()
    replay.set_cookie("leaksentry_session", saved)
    assert replay.get("/alerts/1").status_code == 302  # to the login page
    refused = replay.post(
        "/alerts/1/verdict",
        data={"csrf_token": csrf_token(page), "verdict": "dismiss", "note": "after logout"},
    )
    assert refused.status_code == 401
    with world.store() as store:
        assert store.alert_row(1)["status"] == "open"
        assert [r["action"] for r in store.audit_rows()][:2] == ["logout", "login"]
    login(client)  # logging in again works
    assert client.get("/alerts/1").status_code == 200


def test_repeated_wrong_passwords_lock_the_name_for_a_while(client):
    for _ in range(10):
        assert login(client, password="wrong wrong wrong").status_code == 401
    assert login(client).status_code == 429


def login_from(client, address: str, name="ana", password=PASSWORD):
    """A login posted from a given client address."""
    token = csrf_token(client.get("/login").get_data(as_text=True))
    form = {"csrf_token": token, "name": name, "password": password}
    return client.post("/login", data=form, environ_base={"REMOTE_ADDR": address})


def test_wrong_passwords_from_one_address_do_not_lock_the_real_user_out_elsewhere(client):
    """Anyone may type a name: ten wrong passwords from one address throttle that address for
    that name, not the operator logging in from its own machine."""
    for _ in range(10):
        assert login_from(client, "203.0.113.9", password="wrong wrong wrong").status_code == 401
    assert login_from(client, "203.0.113.9").status_code == 429  # the guesser waits
    real = client.application.test_client()
    assert login_from(real, "198.51.100.7").status_code == 302  # the real user does not
    assert real.get("/alerts").status_code == 200


def test_parallel_guesses_never_pass_the_limit(world):
    """Sixty guesses at once: at most ten are checked; the limit is taken atomically."""
    import threading

    app = create_app(world.config)
    clients = [app.test_client() for _ in range(60)]
    tokens = [csrf_token(c.get("/login").get_data(as_text=True)) for c in clients]
    start, codes = threading.Barrier(len(clients)), []

    def guess(c, token):
        start.wait()
        form = {"csrf_token": token, "name": "ana", "password": "wrong wrong wrong"}
        codes.append(c.post("/login", data=form).status_code)

    threads = [
        threading.Thread(target=guess, args=pair) for pair in zip(clients, tokens, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(codes)) == [401, 429]
    assert codes.count(401) == 10, f"{codes.count(401)} of 60 parallel guesses were checked"


def test_typed_names_cannot_grow_the_throttle_without_bound(world, monkeypatch):
    """Every name typed (up to 60 KB each) used to stay in memory: names are cut, the table is
    bounded, and the oldest entries go first."""
    from leaksentry.web import throttle

    monkeypatch.setattr(throttle, "MAX_ENTRIES", 20, raising=False)
    app = create_app(world.config)
    client = app.test_client()
    for n in range(40):
        name = f"{n:02d}" + "n" * 60_000
        address = f"192.0.2.{n}"
        assert login_from(client, address, name=name, password="guess").status_code == 401
    table = app.extensions["leaksentry"].throttle
    assert len(table) <= 20
    assert max(len(repr(key)) for key in table.entries()) < 200
    assert login_from(client, "192.0.2.200").status_code == 302


@BOTH_BACKENDS
def test_operator_commands(world, database):
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


# -- per-brief rights ---------------------------------------------------------------------------
def operator_cli(world, *args: str, password: str | None = None):
    """`leaksentry operator ...` against the world's configuration (click's CliRunner)."""
    return CliRunner().invoke(cli, ["operator", *args, "--config", str(world.path)], input=password)


def add_bo(world, *rights: str):
    """Operator 'bo' added with the CLI, with the given --brief/--all-briefs options."""
    added = operator_cli(world, "add", "bo", "--password-stdin", *rights, password=PASSWORD)
    assert added.exit_code == 0, added.output
    return added


def logout(client) -> None:
    token = csrf_token(client.get("/alerts").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302


@BOTH_BACKENDS
def test_operator_sees_and_acts_on_only_the_briefs_granted(client, world, database):
    other = world.add_other_brief()
    added = add_bo(world, "--brief", "amber kestrel")  # a codename, in any case
    assert "added operator bo; briefs: AMBER KESTREL" in added.output
    login(client, "bo")

    listed = client.get("/alerts").get_data(as_text=True)
    assert "AMBER KESTREL" in listed and 'href="/alerts/1"' in listed
    assert "QUIET ORCHARD" not in listed and f'href="/alerts/{other}"' not in listed
    assert "QUIET ORCHARD" not in client.get("/alerts?status=open").get_data(as_text=True)
    assert client.get("/alerts/1").status_code == 200

    hidden = client.get(f"/alerts/{other}")
    missing = client.get("/alerts/999")
    assert hidden.status_code == 404 and missing.status_code == 404
    # Nothing tells "forbidden" from "absent".
    assert without_csrf_token(hidden.text) == without_csrf_token(missing.text)
    sig = alert_link("", load_key(world.config.key_file), other).split("sig=")[1]
    assert client.get(f"/alerts/{other}?sig={sig}").status_code == 404

    token = csrf_token(listed)
    refused = client.post(
        f"/alerts/{other}/verdict",
        data={"csrf_token": token, "verdict": "dismiss", "note": "not mine"},
    )
    assert refused.status_code == 404
    with world.store() as store:
        assert store.alert_row(other)["status"] == "open"
        assert store.alert_row(other)["verdict_by"] is None
        assert store.audit_rows(alert_id=other) == []

    briefs = client.get("/briefs").get_data(as_text=True)
    assert "T-DOCK" in briefs and "AMBER KESTREL" in briefs
    assert "T-LIB" not in briefs and "QUIET ORCHARD" not in briefs
    coverage = client.get("/coverage").get_data(as_text=True)
    assert "MiB free" in coverage and "active;" not in coverage  # no count of all briefs

    # ana (every brief) sees both, as before
    logout(client)
    login(client)
    both = client.get("/alerts").get_data(as_text=True)
    assert "AMBER KESTREL" in both and "QUIET ORCHARD" in both
    assert client.get(f"/alerts/{other}").status_code == 200
    assert "T-LIB" in client.get("/briefs").get_data(as_text=True)


def test_a_revocation_holds_at_the_next_request_without_logging_out(client, world):
    add_bo(world, "--brief", "T-DOCK")
    login(client, "bo")
    assert client.get("/alerts/1").status_code == 200

    revoked = operator_cli(world, "revoke", "bo", "--brief", "T-DOCK")
    assert revoked.exit_code == 0 and "bo briefs: none" in revoked.output
    assert client.get("/alerts/1").status_code == 404
    page = client.get("/alerts")
    assert page.status_code == 200  # still logged in
    assert 'href="/alerts/1"' not in page.get_data(as_text=True)

    granted = operator_cli(world, "grant", "bo", "--all-briefs")
    assert granted.exit_code == 0 and "bo briefs: all" in granted.output
    assert client.get("/alerts/1").status_code == 200
    with world.store() as store:
        changes = [(r["action"], r["who"], r["note"]) for r in store.audit_rows()][:2]
    assert changes == [
        ("grant", "cli", "bo: all briefs; now all briefs"),
        ("revoke", "cli", "bo: T-DOCK (AMBER KESTREL); now no briefs"),
    ]


def test_operator_added_without_briefs_sees_no_alert(client, world):
    added = add_bo(world)
    assert "with no briefs" in added.output and "operator grant bo" in added.output
    login(client, "bo")
    assert "No alerts." in client.get("/alerts").get_data(as_text=True)
    assert client.get("/alerts/1").status_code == 404
    briefs = client.get("/briefs").get_data(as_text=True)
    assert "No briefs." in briefs and "T-DOCK" not in briefs
    listing = operator_cli(world, "list").output.splitlines()
    assert listing[0].startswith("ana") and listing[0].endswith("briefs: all")
    assert listing[1].startswith("bo") and listing[1].endswith("briefs: none")


def test_a_mail_link_to_a_brief_not_permitted_gives_404_after_login(client, world):
    other = world.add_other_brief()
    add_bo(world, "--brief", "T-DOCK")
    link = alert_link("", load_key(world.config.key_file), other)
    first = client.get(link)
    assert first.headers["Location"] == f"/login?next=/alerts/{other}"
    landed = login(client, "bo", next_page=f"/alerts/{other}")
    assert landed.headers["Location"] == f"/alerts/{other}"
    assert client.get(landed.headers["Location"]).status_code == 404


@BOTH_BACKENDS
def test_audit_page_shows_only_rows_about_permitted_briefs(client, world, database):
    other = world.add_other_brief()
    add_bo(world, "--brief", "T-DOCK")
    with world.store() as store:
        store.set_verdict(1, "confirmed", "ana", "dock note")
        store.set_verdict(other, "dismissed", "ana", "orchard note")
    login(client)
    login(client.application.test_client(), "bo")
    everything = client.get("/audit").get_data(as_text=True)
    assert "dock note" in everything and "orchard note" in everything
    assert "operator added" in everything  # rows about no alert: ana sees every brief
    logout(client)
    login(client, "bo")
    mine = client.get("/audit").get_data(as_text=True)
    assert "dock note" in mine and "orchard note" not in mine
    assert f'href="/alerts/{other}"' not in mine
    assert "operator added" not in mine  # rows about no alert that are not bo's own
    logins = re.findall(r"<td>(\w+)</td><td>login</td>", mine)
    assert logins == ["bo", "bo"]  # bo's own logins, not ana's


def test_grant_and_revoke_check_their_arguments(world):
    world.add_other_brief()
    add_bo(world)
    unknown = operator_cli(world, "grant", "bo", "--brief", "T-DOCK", "--brief", "NO SUCH")
    assert unknown.exit_code == 1 and "no brief with id or codename 'NO SUCH'" in unknown.output
    both = operator_cli(world, "grant", "bo", "--brief", "T-DOCK", "--all-briefs")
    neither = operator_cli(world, "revoke", "bo")
    assert both.exit_code == 2 and neither.exit_code == 2
    nobody = operator_cli(world, "grant", "zed", "--all-briefs")
    assert nobody.exit_code == 1 and "no operator 'zed'" in nobody.output
    bad_add = operator_cli(
        world, "add", "cy", "--password-stdin", "--brief", "X", password=PASSWORD
    )
    assert bad_add.exit_code == 1 and "'X'" in bad_add.output

    granted = operator_cli(world, "grant", "bo", "--brief", "T-DOCK", "--brief", "quiet orchard")
    assert "bo briefs: AMBER KESTREL, QUIET ORCHARD" in granted.output
    partly = operator_cli(world, "revoke", "bo", "--brief", "T-LIB")
    assert "bo briefs: AMBER KESTREL" in partly.output
    refused = operator_cli(world, "revoke", "ana", "--brief", "T-LIB")
    assert refused.exit_code == 1 and "revoke --all-briefs" in refused.output
    with world.store() as store:
        assert store.operator_row("bo")["briefs"] == '["T-DOCK"]'
        assert store.operator_row("ana")["briefs"] == "*"
        assert store.operator_row("cy") is None


def test_operators_from_before_rights_keep_every_brief(tmp_path):
    from sqlite_utils import Database

    from leaksentry.storage.sqlite_schema import MIGRATIONS

    path = tmp_path / "old.db"
    db = Database(path)
    db["_migrations"].create({"name": str, "applied_at": str}, pk="name")
    for name, function in sorted(MIGRATIONS):
        if name < "m007":
            function(db)
            db["_migrations"].insert({"name": name, "applied_at": "2026-01-01"})
    db["operators"].insert({"name": "old", "password_hash": "x", "session_nonce": "n"})
    db.close()
    with open_store(path) as store:
        assert store.operator_row("old")["briefs"] == "*"
        store.set_operator_password("new", "x", "n")
        assert store.operator_row("new")["briefs"] == "[]"


# -- logins in the audit log --------------------------------------------------------------------
def test_logins_refusals_throttling_and_logouts_are_audited(client, world):
    long_name = "x" * 100
    assert login(client, "ana", "not the password").status_code == 401
    assert login(client, long_name, PASSWORD).status_code == 401
    for _ in range(10):
        login(client, "zed", "wrong wrong wrong")
    assert login(client, "zed", PASSWORD).status_code == 429
    assert login(client).status_code == 302
    logout(client)
    with world.store() as store:
        rows = store.audit_rows(limit=1000)
    events = [(r["action"], r["who"]) for r in reversed(rows)]
    assert events == [
        ("operator added", "cli"),
        ("login refused", "ana"),
        ("login refused", "x" * 64),
        *[("login refused", "zed")] * 10,
        ("login throttled", "zed"),
        ("login", "ana"),
        ("logout", "ana"),
    ]
    for row in rows:  # no password, right or wrong, in any field
        for value in row.values():
            assert PASSWORD not in str(value) and "wrong wrong" not in str(value)
            assert "not the password" not in str(value)
    login(client)
    log = client.get("/audit").get_data(as_text=True)
    for action in ("login refused", "login throttled", "logout", "<td>login</td>"):
        assert action in log


def test_a_login_spray_cannot_grow_the_audit_log_without_bound(world, caplog):
    """Made-up names and a throttled name hammered: rows stop at the budget, one row says so,
    the service log still counts every attempt, and real logins are still audited."""
    from leaksentry.web.throttle import AuditBudget

    app = create_app(world.config)
    app.extensions["leaksentry"].failed_login_rows = AuditBudget(limit=5)
    client = app.test_client()
    with caplog.at_level("WARNING", logger="leaksentry.web"):
        for n in range(8):
            assert login(client, f"spray{n}", "guess").status_code == 401
        for _ in range(12):  # ten refusals lock the name; then throttled, at no cost to retry
            login(client, "zed", "guess")
    assert login(client).status_code == 302
    with world.store() as store:
        actions = [r["action"] for r in reversed(store.audit_rows(limit=1000))]
    assert actions == [
        "operator added",
        *["login refused"] * 5,
        "failed logins not recorded",
        "login",
    ]
    assert len([r for r in caplog.records if "login" in r.getMessage()]) == 20


@BOTH_BACKENDS
def test_an_operator_detaches_an_item_from_a_story_on_the_alert_page(client, world, database):
    login(client)
    page = client.get("/alerts/1").get_data(as_text=True)
    assert 'action="/alerts/1/detach"' in page
    forged = client.post("/alerts/1/detach", data={"item_id": "i2", "csrf_token": "forged"})
    assert forged.status_code == 400
    form = {"csrf_token": csrf_token(page), "item_id": "i2", "note": "another port"}
    response = client.post("/alerts/1/detach", data=form)
    assert response.status_code == 302 and response.headers["Location"] == "/alerts/1"
    with world.store() as store:
        assert [r["item_id"] for r in store.alert_items(1)] == ["i1"]
        assert [r["item_id"] for r in store.alert_items(2)] == ["i2"]
        (audit,) = store.audit_rows(alert_id=1)
        assert (audit["who"], audit["action"]) == ("ana", "detached")
        assert "another port" in audit["note"]
    page = client.get("/alerts/1").get_data(as_text=True)
    assert 'action="/alerts/1/detach"' not in page  # a single item stays: dismiss instead
    assert client.post("/alerts/1/detach", data={**form, "item_id": "i1"}).status_code == 400
