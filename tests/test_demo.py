"""`leaksentry demo`: the acceptance of the foundation, end to end, run twice."""

import json
import re
import shutil
import subprocess
import sys
import time
from email import message_from_bytes, policy
from http.cookiejar import CookieJar
from urllib.error import URLError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, build_opener

import pytest

from leaksentry.briefs import read_brief_file
from leaksentry.localservers import free_port
from leaksentry.records import Brief

from conftest import REPO, assert_no_sealed_text, assert_no_sealed_wording, cli_run

pytestmark = pytest.mark.slow


def demo_briefs(folder) -> list[Brief]:
    return [b for path in sorted((folder / "briefs").glob("*.*")) for b in read_brief_file(path)]


def decoded(path) -> str:
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    parts = [str(message["Subject"])]
    parts += [p.get_content() for p in message.walk() if p.get_content_maintype() == "text"]
    return "\n".join(parts)


def browse_triage_pages(config) -> list[str]:
    """Log in to a real `leaksentry serve`, open every page, dismiss an alert with a note."""
    password = "a long enough demo passphrase"
    subprocess.run(
        [sys.executable, "-m", "leaksentry", "operator", "add", "duty", "--all-briefs"]
        + ["--password-stdin", "--config", str(config)],
        input=password + "\n",
        text=True,
        check=True,
        capture_output=True,
    )
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "leaksentry", "serve", "--config", str(config)]
        + ["--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base, browser = f"http://127.0.0.1:{port}", build_opener(HTTPCookieProcessor(CookieJar()))

    def get(path: str) -> str:
        return browser.open(base + path, timeout=10).read().decode()

    def post(path: str, form: dict, page: str) -> str:
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        body = urlencode(form | {"csrf_token": token}).encode()
        return browser.open(base + path, body, timeout=10).read().decode()

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                login = get("/login")
                break
            except URLError:
                assert server.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.2)
        pages = [post("/login", {"name": "duty", "password": password}, login)]
        alert_ids = sorted(set(re.findall(r'href="/alerts/(\d+)"', pages[0])))
        assert alert_ids, "the triage page lists no alert after the demo"
        pages += [get(f"/alerts/{n}") for n in alert_ids]
        note = {"verdict": "dismiss", "note": "demo: checked by the duty desk"}
        pages.append(post(f"/alerts/{alert_ids[0]}/verdict", note, pages[1]))
        pages += [get(path) for path in ("/briefs", "/coverage", "/audit")]
        assert "demo: checked by the duty desk" in pages[-1]
    finally:
        server.terminate()
        server.wait(timeout=15)
    return pages


def test_demo_alerts_exposed_briefs_only_and_keeps_sealed_text_sealed(tmp_path):
    folder = tmp_path / "demo"
    shutil.copytree(REPO / "data" / "demo", folder, ignore=shutil.ignore_patterns("out"))
    expected = json.loads((folder / "expected.json").read_text())
    briefs = {b.id: b for b in demo_briefs(folder)}
    for _ in range(2):  # running it twice works and gives the same result
        result = cli_run("demo", "--data-dir", str(folder))
        summary = json.loads((folder / "out" / "summary.json").read_text())
        for brief_id, brief in briefs.items():
            alerted = summary["alerts_by_codename"].get(brief.codename, 0)
            if expected["exposes"][brief_id]:
                assert alerted >= 1, f"{brief.codename} exposed but not alerted\n{result.stdout}"
            else:
                assert alerted == 0, f"{brief.codename} not exposed but alerted\n{result.stdout}"
        mails = sorted((folder / "out" / "mail").glob("*.eml"))
        assert summary["alert_mails"] == sum(summary["alerts_by_codename"].values())
        assert len(mails) == summary["mails"] > summary["alert_mails"]  # and the digests
    for path in mails:
        text = decoded(path)
        if "digest:" not in text:
            assert any(b.codename in text for b in briefs.values())
            assert "http://127.0.0.1:" in text and "/articles/" in text
        assert_no_sealed_text(text, briefs.values())
        for brief in briefs.values():
            for sentence in brief.summary.split(". "):
                if len(sentence) >= 30:
                    assert sentence.strip()[:60] not in text
    for page in browse_triage_pages(folder / "out" / "leaksentry.toml"):
        assert_no_sealed_text(page, briefs.values())
    written = [p for p in (folder / "out").rglob("*") if p.is_file()]
    assert {p.suffix for p in written} >= {".db", ".eml", ".log", ".json", ".toml", ".key"}
    for path in written:  # no six-word run of sealed text in any file the demo wrote
        text = (
            decoded(path) if path.suffix == ".eml" else path.read_bytes().decode("utf-8", "replace")
        )
        assert_no_sealed_text(text, briefs.values())
    out_text = b"".join(p.read_bytes() for p in written).decode("utf-8", "replace")
    assert_no_sealed_wording(out_text, briefs.values(), "the demo's files")


def test_the_service_path_and_the_backtest_agree_on_the_same_input(tmp_path):
    """crawl -> match (the service's steps, in the demo) and `leaksentry backtest` over the same
    stored items, each calibrating on that same stream, alert on the same (brief, item) pairs."""
    import sqlite3

    folder = tmp_path / "demo"
    shutil.copytree(REPO / "data" / "demo", folder, ignore=shutil.ignore_patterns("out"))
    cli_run("demo", "--data-dir", str(folder))
    config = str(folder / "out" / "leaksentry.toml")
    items = tmp_path / "items.jsonl"
    cli_run("export", "items", "--out", str(items), "--config", config)
    with sqlite3.connect(folder / "out" / "leaksentry.db") as db:
        service = set(db.execute("select brief_id, item_id from matches where alert = 1"))
    briefs = [str(p) for p in sorted((folder / "briefs").glob("*.*"))]
    out = tmp_path / "alerts.jsonl"
    args = [a for path in briefs for a in ("--briefs", path)]
    cli_run("backtest", *args, "--items", str(items), "--out", str(out), "--config", config)
    backtest = {(r["brief_id"], r["item_id"]) for r in map(json.loads, out.open())}
    assert service, "the demo alerted nothing: the comparison would say nothing"
    assert backtest == service
