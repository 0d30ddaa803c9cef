"""A week in the life (issue 11's acceptance): seven simulated days of the real service.

Three briefs in two compartments (the harbour desk: W-QUAY, W-BATHS; the roads desk: W-ROAD),
five sources on real local HTTP servers (an RSS feed, a news sitemap, an Atom feed that is down
on days 3 and 6, a hostile feed, a Mastodon hashtag timeline), a real SMTP server that is down
on day 4, a real SQLite file, real Scrapy crawls and the real model. The stream is
tests/fixtures/week/stream.toml: a false alert on day 1 that the operator dismisses, leaks on
days 2, 4 and 6, copies of the first two on other sites the day after (one after the operator
confirmed the leak), and background news and posts every day.

Each simulated day: the daily digest at 07:00 (what the scheduler's digest job runs), the day's
items published, `leaksentry run` at 09:00 until every source was crawled and matched, stopped
with SIGTERM; on two days chosen by the seed it is stopped early instead, once with SIGTERM and
once with SIGKILL, at a random point of its work, and started again. Verdicts at 12:00 with
`leaksentry alert dismiss|confirm`. The simulated clock is LEAKSENTRY_TIME_OFFSET
(leaksentry/clock.py), set in every process. WEEK_SEED=N replays another seed.

At the end: every leak alerted exactly once and every spread followed up; nothing crossed a
compartment (mail, digests, triage pages); every served item stored once and nothing of the
hostile feed's tricks; no traceback anywhere; no sealed text in any file, mail or page.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
import tomllib
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

import pytest
from test_crash import crawl_processes
from test_outages import with_recipients

from leaksentry import clock
from leaksentry.briefs import read_brief_file
from leaksentry.config import load_config
from leaksentry.localservers import MailCatcher, StaticSite, free_port
from leaksentry.service import Service
from leaksentry.storage import open_store
from leaksentry.web.app import create_app
from leaksentry.web.operators import Rights, add_operator

from conftest import (
    FIXTURES,
    assert_no_sealed_text,
    assert_no_sealed_wording,
    cli_run,
    write_config,
)
from test_web import login

pytestmark = pytest.mark.slow

WEEK = FIXTURES / "week"
BRIEFS = read_brief_file(WEEK / "briefs.toml")
STREAM = tomllib.loads((WEEK / "stream.toml").read_text())["item"]
MONDAY = datetime(2026, 11, 16, tzinfo=UTC)  # day 1
DAYS = 7
SEED = int(os.environ.get("WEEK_SEED", "11"))
SOURCES = ("gazette", "courier", "echo", "hostile", "toots")
ECHO_DOWN, SMTP_DOWN = {3, 6}, {4}
DESK = "desk@example.org"  # default recipient: every brief
COMPARTMENTS = {
    "harbour-desk@example.org": {"W-QUAY", "W-BATHS"},
    "roads-desk@example.org": {"W-ROAD"},
}
OPERATORS = {"harbour": {"W-QUAY", "W-BATHS"}, "roads": {"W-ROAD"}}
PASSWORD = "a long enough week-in-the-life passphrase"
VERDICTS = {1: ("dismiss", "dismissed"), 4: ("confirm", "leak")}  # day: (verdict, role judged)
SECRET = "LOCAL-FILE-THE-HOSTILE-FEED-MUST-NOT-READ"
ACCOUNT = "tidewatcher"  # the posts' author: in their public URLs only
AUTHOR = "Morwenna Quayle"  # the author's display name: never stored

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="article:published_time" content="{published}"></head><body>
<header><a href="/">{paper}</a></header><main><article><h1>{title}</h1>
{paragraphs}</article></main><footer><p>{paper}, a fictional paper.</p></footer></body></html>
"""
PAPERS = {
    "gazette": "The Saltmere Gazette",
    "courier": "The Kestrel Courier",
    "echo": "The Eastholm Echo",
    "hostile": "Gull Island Notes",
}


def at(day: int, hour: int) -> datetime:
    return MONDAY + timedelta(days=day - 1, hours=hour)


def published(entry: dict) -> datetime:
    hour, minute = map(int, entry["at"].split(":"))
    return at(entry["day"], hour) + timedelta(minutes=minute)


def status_id(entry: dict) -> int:
    """A Mastodon snowflake id: the time in milliseconds, shifted left 16 bits."""
    return int(published(entry).timestamp() * 1000) << 16


class Week:
    """The servers, the configuration and everything the week's processes said."""

    def __init__(self, home: Path, sites: Path):
        self.home, self.sites = home, sites
        for name in SOURCES:
            (sites / name).mkdir(parents=True)
        self.servers = {name: StaticSite(sites / name).start() for name in SOURCES}
        self.stopped: list[StaticSite] = []
        self.smtp_port = free_port()
        self.mail: MailCatcher | None = None
        self.messages = []  # every message every SMTP server run accepted
        self.transcripts: list[Path] = []  # stderr and stdout of every process started
        self.killed: list[tuple[int, str, int]] = []  # (day, signal, progress at the kill)
        sources = [
            {"name": name, "kind": "feed", "url": self.url(name) + path, "every": "1d"}
            for name, path in (
                ("gazette", "/feed.rss"),
                ("echo", "/atom.xml"),
                ("hostile", "/feed.rss"),
            )
        ]
        sources.insert(1, {"name": "courier", "kind": "sitemap", "every": "1d"})
        sources[1]["url"] = self.url("courier") + "/sitemap.xml"
        sources = [source | {"lookback": "8d"} for source in sources]
        self.config_path = write_config(
            home, sources, smtp_port=self.smtp_port, log_file="service.log"
        )
        with_recipients(self.config_path, DESK)
        # a real installation's matcher: a week of a few sources is a small stream, and the
        # caution for small streams stays on (write_config turns it off for plumbing tests)
        text = self.config_path.read_text().replace("small_stream_margin = 0\n", "")
        self.config_path.write_text(text)
        self.config_path.write_text(
            self.config_path.read_text()
            + '[[source]]\nname = "toots"\nkind = "mastodon"\n'
            + f'url = "{self.url("toots")}"\nhashtags = ["saltmere"]\nevery = "1d"\n'
            + 'lookback = "8d"\n'
        )
        self.config = load_config(self.config_path)
        self.database = home / "ls.db"
        (sites.parent / "secret.txt").write_text(SECRET)

    def url(self, name: str) -> str:
        return self.servers[name].url

    def item_url(self, entry: dict) -> str:
        if entry["source"] == "toots":
            return f"{self.url('toots')}/@{ACCOUNT}/{status_id(entry)}"
        return f"{self.url(entry['source'])}/articles/{entry['slug']}.html"

    # -- the clock ------------------------------------------------------------------------
    def env(self, when: datetime) -> dict[str, str]:
        return {clock.OFFSET_VARIABLE: clock.offset_to(when)}

    def cli(self, when: datetime, *args: str) -> subprocess.CompletedProcess:
        done = cli_run(*args, "--config", str(self.config_path), env=self.env(when))
        self.keep(f"cli-{len(self.transcripts)}.txt", done.stdout + done.stderr)
        return done

    def keep(self, name: str, text: str) -> None:
        path = self.home.parent / "transcripts" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        self.transcripts.append(path)

    # -- what the sources serve ----------------------------------------------------------------
    def publish(self, day: int) -> None:
        """Every source as it stands on `day`: the items published so far, newest first."""
        shown = sorted((e for e in STREAM if e["day"] <= day), key=published, reverse=True)
        for name in SOURCES:
            entries = [e for e in shown if e["source"] == name]
            root = self.sites / name
            (root / "articles").mkdir(parents=True, exist_ok=True)
            for entry in entries:
                if name != "toots":
                    (root / "articles" / f"{entry['slug']}.html").write_text(self.page(entry))
            getattr(self, f"_listing_{name}")(root, entries)

    def page(self, entry: dict) -> str:
        paragraphs = "\n".join(
            f"<p>{escape(p.strip())}</p>" for p in entry["text"].split("\n\n") if p.strip()
        )
        return PAGE.format(
            title=escape(entry["title"]),
            published=published(entry).isoformat().replace("+00:00", "Z"),
            paper=PAPERS[entry["source"]],
            paragraphs=paragraphs,
        )

    def _rss(self, entries: list[dict], extra: str = "", doctype: str = "") -> str:
        items = "".join(
            f"<item><title>{escape(e['title'])}</title><link>{self.item_url(e)}</link>"
            f"<guid>{self.item_url(e)}</guid>"
            f"<pubDate>{format_datetime(published(e))}</pubDate></item>"
            for e in entries
        )
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>{doctype}<rss version="2.0"><channel>'
            "<title>News</title><link>{{SITE}}/</link><description>Local news</description>"
            + items
            + extra
            + "</channel></rss>"
        )

    def _listing_gazette(self, root: Path, entries: list[dict]) -> None:
        (root / "feed.rss").write_text(self._rss(entries))

    def _listing_echo(self, root: Path, entries: list[dict]) -> None:
        stamp = lambda e: published(e).isoformat().replace("+00:00", "Z")  # noqa: E731
        rows = "".join(
            f'<entry><title>{escape(e["title"])}</title><link href="{self.item_url(e)}"/>'
            f"<id>{self.item_url(e)}</id><updated>{stamp(e)}</updated>"
            f"<published>{stamp(e)}</published></entry>"
            for e in entries
        )
        (root / "atom.xml").write_text(
            '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            "<title>The Eastholm Echo</title><id>{{SITE}}/</id>"
            f"<updated>{stamp(entries[0])}</updated>{rows}</feed>"
        )

    def _listing_courier(self, root: Path, entries: list[dict]) -> None:
        rows = "".join(
            f"<url><loc>{self.item_url(e)}</loc><news:news><news:publication>"
            "<news:name>The Kestrel Courier</news:name><news:language>en</news:language>"
            "</news:publication><news:publication_date>"
            f"{published(e).isoformat().replace('+00:00', 'Z')}</news:publication_date>"
            f"<news:title>{escape(e['title'])}</news:title></news:news></url>"
            for e in entries
        )
        (root / "sitemap.xml").write_text(
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">' + rows + "</urlset>"
        )

    def _listing_hostile(self, root: Path, entries: list[dict]) -> None:
        """Its own articles, beside links no spider may follow or store: a local file, data:
        and javascript: URLs, another source's page and the SMTP port (not its own origin),
        a redirect to a private address, a decompression bomb; entities that would read a
        local file or expand a billion laughs."""
        doctype = (
            f'<!DOCTYPE rss [<!ENTITY secret SYSTEM "file://{self.sites.parent}/secret.txt">'
            '<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
            '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        )
        tricks = {
            "A local file &secret;": "file:///etc/passwd",
            "A forged item &lol3;": "data:text/html,&lt;p&gt;forged&lt;/p&gt;",
            "A script": "javascript:alert(document.cookie)",
            "Another source's page": f"{self.url('gazette')}/articles/harbour-lights.html",
            "The mail server": f"http://127.0.0.1:{self.smtp_port}/",
            "A bounce": "{{SITE}}/articles/bounce.html",
            "A bomb": "{{SITE}}/articles/bomb.html",
        }
        extra = "".join(
            f"<item><title>{title}</title><link>{link}</link><guid>{n}</guid>"
            f"<pubDate>{format_datetime(MONDAY)}</pubDate></item>"
            for n, (title, link) in enumerate(tricks.items())
        )
        (root / "feed.rss").write_text(self._rss(entries, extra, doctype))
        (root / "articles" / "bounce.html.redirect").write_text("http://127.0.0.9:8080/inside")
        bomb = root / "articles" / "bomb.html.gz"
        if not bomb.exists():
            page = PAGE.format(title="Bomb", published="", paper="x", paragraphs="")
            bomb.write_bytes(gzip.compress(page.encode() + b" " * (16 * 2**20), 9))

    def _listing_toots(self, root: Path, entries: list[dict]) -> None:
        statuses = [
            {
                "id": str(status_id(e)),
                "created_at": published(e).isoformat().replace("+00:00", ".000Z"),
                "in_reply_to_id": None,
                "sensitive": False,
                "spoiler_text": "",
                "visibility": "public",
                "language": "en",
                "uri": f"{self.url('toots')}/users/{ACCOUNT}/statuses/{status_id(e)}",
                "url": self.item_url(e),
                "content": f"<p>{escape(e['text'])}</p>",
                "reblog": None,
                "account": {"id": "1", "username": ACCOUNT, "display_name": AUTHOR},
            }
            for e in entries
        ]
        timeline = root / "api" / "v1" / "timelines" / "tag"
        timeline.mkdir(parents=True, exist_ok=True)
        (timeline / "saltmere").write_text(json.dumps(statuses))

    # -- outages --------------------------------------------------------------------------------
    def echo_up(self, up: bool) -> None:
        server = self.servers["echo"]
        if server in self.stopped and up:
            port = int(server.url.rsplit(":", 1)[1])
            self.servers["echo"] = StaticSite(self.sites / "echo", port=port).start()
        elif server not in self.stopped and not up:
            server.stop()
            self.stopped.append(server)

    def smtp_up(self, up: bool) -> None:
        if up and self.mail is None:
            self.mail = MailCatcher(port=self.smtp_port).start()
        elif not up and self.mail is not None:
            self.stop_mail()

    def stop_mail(self) -> None:
        if self.mail is not None:
            self.mail.stop()
            self.messages += self.mail.messages
            self.mail = None

    # -- the service ------------------------------------------------------------------------------
    def query(self, sql: str, *args) -> list:
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=30) as db:
            return db.execute(sql, args).fetchall()

    def last_run(self) -> int:
        return self.query("select coalesce(max(id), 0) from runs")[0][0]

    def progress(self, since_run: int, since_items: int) -> int:
        """Steps of work done since a service start: items stored, runs finished."""
        items = self.query("select count(*) from items")[0][0] - since_items
        runs = self.query(
            "select count(*) from runs where id > ? and finished_at is not null", since_run
        )[0][0]
        return items + runs

    def day_done(self, since_run: int) -> bool:
        """Every source crawled and matched after the run `since_run`."""
        rows = self.query(
            "select job, count(*) from runs where id > ? and finished_at is not null group by job",
            since_run,
        )
        done = dict(rows)
        return done.get("crawl", 0) >= len(SOURCES) and done.get("match", 0) >= len(SOURCES)

    def run_service(self, day: int, hour: int, stop_at: tuple[str, int] | None = None) -> bool:
        """`leaksentry run` at `hour` of `day` until the day's work is done, then SIGTERM; or,
        with stop_at (signal, progress), stopped that early. True when the day was done."""
        since_run, since_items = self.last_run(), self.query("select count(*) from items")[0][0]
        started = time.monotonic()
        out = self.home.parent / "transcripts" / f"day{day}-{hour:02d}h.txt"
        out.parent.mkdir(exist_ok=True)
        self.transcripts.append(out)
        with out.open("w") as terminal:
            service = subprocess.Popen(
                [sys.executable, "-m", "leaksentry", "run", "--config", str(self.config_path)],
                stdout=terminal,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env(at(day, hour))},
            )
        try:
            deadline = time.monotonic() + 240
            while not self.day_done(since_run):
                if stop_at and self.progress(since_run, since_items) >= stop_at[1]:
                    break
                assert service.poll() is None, f"the service stopped on day {day}"
                assert time.monotonic() < deadline, f"day {day}: the work was not done in time"
                time.sleep(0.05)
            done = self.day_done(since_run)
            if stop_at and stop_at[0] == "SIGKILL":
                service.kill()  # the service alone, as the OOM killer would
                service.wait()
                deadline = time.monotonic() + 30
                while crawl_processes(self.config_path):
                    assert time.monotonic() < deadline, "a crawl outlived the killed service"
                    time.sleep(0.1)
            else:
                service.send_signal(signal.SIGTERM)
                assert service.wait(timeout=90) == 0, f"day {day}: SIGTERM did not exit 0"
            if stop_at:
                self.killed.append((day, stop_at[0], self.progress(since_run, since_items)))
            print(f"day {day} {hour}:00 {stop_at or ''} {time.monotonic() - started:.1f} s")
            return done
        finally:
            if service.poll() is None:
                service.kill()
                service.wait()

    def digest(self, when: datetime, monkeypatch) -> None:
        """The scheduler's daily digest job, at `when`."""
        monkeypatch.setenv(clock.OFFSET_VARIABLE, clock.offset_to(when))
        Service(load_config(self.config_path)).digest()
        monkeypatch.delenv(clock.OFFSET_VARIABLE)

    def alert_of(self, slug: str) -> int:
        """The alert holding the item published as `slug`."""
        (row,) = self.query(
            "select m.alert_id from matches m join items i on i.id = m.item_id "
            "where i.url like ? and m.alert_id is not null",
            f"%{slug}%",
        )
        return row[0]

    def close(self) -> None:
        self.stop_mail()
        for server in self.servers.values():
            if server not in self.stopped:
                server.stop()
                self.stopped.append(server)


@pytest.fixture
def week(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    w = Week(home, tmp_path / "sites")
    yield w
    w.close()


def body_of(message) -> str:
    parts = [str(message["Subject"])]
    parts += [p.get_content() for p in message.walk() if p.get_content_maintype() == "text"]
    return "\n".join(parts)


def recipients_of(message) -> set[str]:
    return {address.strip() for address in str(message["To"]).split(",")}


def test_a_week_in_the_life(week, monkeypatch):
    rng = random.Random(SEED)
    term_day, kill_day = rng.sample(range(2, DAYS + 1), 2)
    stops = {term_day: ("SIGTERM", rng.randint(1, 14)), kill_day: ("SIGKILL", rng.randint(1, 14))}
    print(f"seed {SEED}: early stops {stops}")  # what to replay with WEEK_SEED

    week.cli(at(1, 6), "init")
    week.cli(at(1, 6), "brief", "add", str(WEEK / "briefs.toml"))
    with open_store(week.database) as store:
        for name, briefs in OPERATORS.items():
            add_operator(store, name, PASSWORD, rights=Rights(brief_ids=frozenset(briefs)))
        add_operator(store, "chief", PASSWORD, rights=Rights(every=True))

    for day in range(1, DAYS + 1):
        week.smtp_up(day not in SMTP_DOWN)
        week.echo_up(day not in ECHO_DOWN)
        week.digest(at(day, 7), monkeypatch)
        week.publish(day)
        hour = 9
        if day in stops:  # stopped early at a random point of its work, then started again
            week.run_service(day, hour, stops[day])
            hour += 1
        assert week.run_service(day, hour), f"day {day}: the service did not finish its work"
        if day in VERDICTS:
            verdict, role = VERDICTS[day]
            (entry,) = [e for e in STREAM if e["day"] == day and e["role"] == role]
            alert_id = week.alert_of(entry["slug"])
            who = next(n for n, briefs in OPERATORS.items() if entry["brief"] in briefs)
            week.cli(at(day, 12), "alert", verdict, str(alert_id), "--by", who, "--note", "seen")
    week.smtp_up(True)
    week.digest(at(DAYS + 1, 7), monkeypatch)  # the last day's digest, and what still waits
    week.stop_mail()
    week.close()
    assert len(week.killed) == 2, week.killed

    check_items(week)
    alerts = check_alerts(week)
    check_mail(week, alerts)
    pages = walk_pages(week, alerts)
    check_no_traceback_and_nothing_sealed(week, pages)


def check_items(week: Week) -> None:
    """Every served item stored once, nothing of the hostile feed's tricks, no author."""
    stored = Counter(url for (url,) in week.query("select url from items"))
    expected = {week.item_url(e) for e in STREAM}
    assert set(stored) == expected, (
        f"missing {sorted(expected - set(stored))}, unexpected {sorted(set(stored) - expected)}"
    )
    assert max(stored.values()) == 1
    assert week.query("select count(*) from items where matched_at is null") == [(0,)]
    assert week.query("pragma integrity_check") == [("ok",)]
    raw = b"".join(p.read_bytes() for p in week.home.iterdir() if p.is_file())
    for forbidden in (SECRET, "lollol", "forged", "root:x:0", AUTHOR):
        assert forbidden.encode() not in raw, f"{forbidden!r} reached the data folder"


def check_alerts(week: Week) -> dict[str, dict]:
    """One alert per exposed story, each with its copies; the false alert dismissed."""
    rows = week.query("select id, brief_id, status from alerts order by id")
    alerts = {}
    for entry in STREAM:
        if entry["role"] in ("leak", "dismissed"):
            alert_id = week.alert_of(entry["slug"])
            status = dict((r[0], r[2]) for r in rows)[alert_id]
            items = sorted(
                url
                for (url,) in week.query(
                    "select i.url from matches m join items i on i.id = m.item_id "
                    "where m.alert_id = ?",
                    alert_id,
                )
            )
            alerts[entry["slug"]] = {
                "id": alert_id,
                "brief": entry["brief"],
                "role": entry["role"],
                "status": status,
                "items": items,
            }
    assert len(rows) == len(alerts), f"{len(rows)} alerts for {len(alerts)} stories"
    for entry in STREAM:
        if entry["role"] == "spread":
            assert week.item_url(entry) in alerts[entry["copy_of"]]["items"]
    assert alerts["slipway-reopens"]["status"] == "dismissed"
    assert alerts["bypass-scrapped"]["status"] == "confirmed"
    assert [a["brief"] for a in alerts.values()] == ["W-QUAY", "W-QUAY", "W-ROAD", "W-BATHS"]
    # only the leaks and their copies alerted: no background item, no other brief
    alerted = {u for a in alerts.values() for u in a["items"]}
    assert alerted == {week.item_url(e) for e in STREAM if e["role"] != "background"}
    return alerts


def check_mail(week: Week, alerts: dict[str, dict]) -> None:
    """Each leak's first message and each spread's follow-up exactly once, to its own
    compartment's recipients and the desk; digests only about the reader's briefs."""
    by_id: dict[str, list] = {}
    for message in week.messages:
        by_id.setdefault(str(message["Message-ID"]), []).append(message)
    # a SIGKILL between the server's "accepted" and the outbox's "sent" may deliver the one
    # message in flight again, under the same Message-ID (mail clients show it once)
    again = sum(len(copies) - 1 for copies in by_id.values())
    assert again <= sum(1 for _, how, _ in week.killed if how == "SIGKILL")
    messages = [copies[0] for copies in by_id.values()]
    spreads = {e["copy_of"] for e in STREAM if e["role"] == "spread"}
    for slug, alert in alerts.items():
        about = [m for m in messages if re.search(rf"(?m)^Alert: {alert['id']} \(", body_of(m))]
        firsts = [m for m in about if not str(m["Subject"]).startswith("Re:")]
        follow_ups = [m for m in about if str(m["Subject"]).startswith("Re:")]
        assert len(firsts) == 1, f"{slug}: {len(firsts)} first messages"
        assert len(follow_ups) == (slug in spreads), f"{slug}: {len(follow_ups)} follow-ups"
        for message in about:
            own = {r for r, briefs in COMPARTMENTS.items() if alert["brief"] in briefs}
            assert recipients_of(message) == own | {DESK}, slug
    codenames = {b.id: b.codename for b in BRIEFS}
    for message in messages:
        text = body_of(message)
        for reader, briefs in COMPARTMENTS.items():
            if reader not in recipients_of(message):
                continue
            for brief_id, codename in codenames.items():
                if brief_id not in briefs:
                    assert codename not in text and brief_id not in text, (
                        f"{message['Subject']!r} to {reader} names {codename}"
                    )
            for other in set(COMPARTMENTS) - {reader}:
                assert other not in text
    digests = Counter(
        r for m in messages if "digest" in str(m["Subject"]) for r in recipients_of(m)
    )
    assert set(digests) == {DESK, *COMPARTMENTS}, digests


def walk_pages(week: Week, alerts: dict[str, dict]) -> list[str]:
    """Every triage page as each operator sees it: only the operator's own briefs."""
    app = create_app(load_config(week.config_path))
    pages = []
    for name, briefs in {**OPERATORS, "chief": {b.id for b in BRIEFS}}.items():
        client = app.test_client()
        assert login(client, name, PASSWORD).status_code == 302
        paths = ["/alerts", "/briefs", "/coverage", "/audit"]
        paths += [f"/alerts?status={s}" for s in ("open", "confirmed", "dismissed")]
        paths += [f"/alerts/{a['id']}" for a in alerts.values()]
        for path in paths:
            response = client.get(path)
            text = response.get_data(as_text=True)
            pages.append(text)
            foreign = [a for a in alerts.values() if a["brief"] not in briefs]
            if path.startswith("/alerts/") and any(path == f"/alerts/{a['id']}" for a in foreign):
                assert response.status_code == 404, f"{name} opened {path}"
                continue
            assert response.status_code == 200, f"{name}: {path}"
            for brief in BRIEFS:
                if brief.id not in briefs:
                    assert brief.codename not in text, f"{name} sees {brief.codename} on {path}"
            for alert in foreign:
                for url in alert["items"]:
                    assert url not in text, f"{name} sees another compartment's item on {path}"
            for reader, readable in COMPARTMENTS.items():
                if not readable <= briefs:
                    assert reader not in text, f"{name} sees {reader} on {path}"
    return pages


def check_no_traceback_and_nothing_sealed(week: Week, pages: list[str]) -> None:
    files = [p for p in week.home.rglob("*") if p.is_file()] + week.transcripts
    texts = {str(p): p.read_bytes().decode("utf-8", "replace") for p in files}
    assert any(p.endswith("service.log") for p in texts)
    for name, text in texts.items():
        assert "Traceback" not in text, f"a traceback in {name}"
    texts |= {f"mail {n}": body_of(m) for n, m in enumerate(week.messages)}
    texts |= {f"page {n}": page for n, page in enumerate(pages)}
    for name, text in texts.items():
        assert_no_sealed_text(text, BRIEFS, where=name)
        assert_no_sealed_wording(text, BRIEFS, where=name)
