"""The triage page end to end in a real headless Chromium (Debian's, driven by Playwright):
a real `leaksentry serve` process, an alert mail received by a real SMTP server (aiosmtpd),
its signed link opened, login, dismissal with a note, the audit log; and, with a plain HTTP
client, a request without login and a POST without a CSRF token refused."""

from __future__ import annotations

import http.client
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from leaksentry import jobs
from leaksentry.localservers import MailCatcher, free_port

from conftest import assert_no_sealed_text
from test_web import BRIEF, PASSWORD, TriageWorld

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
)


def request(port: int, method: str, path: str, body: str = "", headers=None):
    """One plain HTTP request (no redirects followed, no cookies unless given)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()


def wait_until_serving(process: subprocess.Popen, port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"leaksentry serve exited: {process.communicate()[1]}")
        try:
            if request(port, "GET", "/login")[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("leaksentry serve did not answer in time")


@pytest.fixture
def served(tmp_path):
    """A store with one alert whose mail a real SMTP server received, and the page serving it."""
    port = free_port()
    with MailCatcher(tmp_path / "mail") as mail:
        world = TriageWorld(tmp_path, smtp_port=mail.port, base_url=f"http://127.0.0.1:{port}")
        with world.store() as store:
            assert jobs.send_queued(world.config, store).counts["sent"] == 1
    process = subprocess.Popen(
        [sys.executable, "-m", "leaksentry", "serve", "--config", str(world.path)]
        + ["--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_serving(process, port)
        yield world, port, mail.messages
    finally:
        process.terminate()
        out, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    assert f"triage page on http://127.0.0.1:{port}/" in out


def test_open_the_mail_link_log_in_and_dismiss_with_a_note(served, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    world, port, messages = served
    (message,) = messages
    body = message.get_body(("plain",)).get_content()
    link = re.search(r"^Open: (\S+)", body, re.M).group(1)
    assert link.startswith(f"http://127.0.0.1:{port}/alerts/1?sig=")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            page.goto(link)
            expect(page).to_have_url(re.compile(r"/login\?next=/alerts/1$"))
            expect(page.get_by_role("status")).to_have_text("Log in to open alert 1.")
            page.get_by_label("Operator").fill("ana")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()

            expect(page).to_have_url(f"http://127.0.0.1:{port}/alerts/1")
            expect(page.get_by_role("heading", level=1)).to_have_text("Alert #1: AMBER KESTREL")
            expect(page.locator("mark").first).to_be_visible()
            assert_no_sealed_text(page.content(), [BRIEF])
            page.screenshot(path=str(tmp_path / "alert.png"), full_page=True)
            page.get_by_label("Note for the audit log").fill("another operation at the same dock")
            page.get_by_role("button", name="Dismiss").click()
            expect(page.get_by_role("status")).to_have_text("Alert 1 dismissed.")
            expect(page.locator(".facts .status")).to_contain_text("dismissed by ana")

            page.get_by_role("link", name="Audit log").click()
            row = page.locator("table.audit tbody tr").first
            expect(row).to_contain_text("ana")
            expect(row).to_contain_text("dismissed")
            expect(row).to_contain_text("#1")
            expect(row).to_contain_text("another operation at the same dock")
            assert_no_sealed_text(page.content(), [BRIEF])
            cookies = {c["name"]: c["value"] for c in page.context.cookies()}
        finally:
            browser.close()

    with world.store() as store:
        (audit,) = store.audit_rows(alert_id=1)
        assert [r["action"] for r in store.audit_rows()][1:] == ["login", "operator added"]
    assert (audit["who"], audit["action"], audit["alert_id"]) == ("ana", "dismissed", 1)
    assert audit["note"] == "another operation at the same dock"

    # a plain HTTP client: no login, no CSRF token
    status, headers, _ = request(port, "GET", "/alerts/1")
    assert status == 302 and headers["Location"].startswith("/login")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert request(port, "POST", "/alerts/1/verdict", "verdict=confirm", form)[0] in (400, 401)
    logged_in = form | {"Cookie": f"leaksentry_session={cookies['leaksentry_session']}"}
    status, _, page_text = request(port, "POST", "/alerts/1/verdict", "verdict=confirm", logged_in)
    assert status == 400 and "Refused" in page_text  # logged in, but no CSRF token
    with world.store() as store:
        assert len(store.audit_rows(alert_id=1)) == 1
        assert store.alert_row(1)["status"] == "dismissed"
