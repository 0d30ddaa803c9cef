"""The reactor thread only moves bytes: SQLite writes and DNS look-ups happen elsewhere.

Each test runs a real crawl (spiders.crawl, real local servers, a real SQLite file) in a child
process whose store and resolver are watched: which thread wrote each item, which thread
looked each name up, how many transactions the items took.
"""

import json
import subprocess
import sys
import textwrap

from leaksentry.localservers import MastodonServer, StaticSite

from conftest import REPO, mastodon_statuses

WATCHED_CRAWL = """
import json, socket, sys, threading, time
from leaksentry.storage import base as store_module, sqlite as sqlite_module
from spiders import crawl

seen = {"add_item_threads": [], "transactions": 0, "lookups": []}
add_item = store_module.Store.add_item
def watched_add_item(self, *args, **kwargs):
    seen["add_item_threads"].append(threading.current_thread() is threading.main_thread())
    return add_item(self, *args, **kwargs)
store_module.Store.add_item = watched_add_item
add_items = store_module.Store.add_items  # the store writer's batches: one entry an item
def watched_add_items(self, entries):
    main = threading.current_thread() is threading.main_thread()
    seen["add_item_threads"].extend([main] * len(entries))
    return add_items(self, entries)
store_module.Store.add_items = watched_add_items

atomic = sqlite_module.ImmediateDatabase.atomic
def watched_atomic(self):
    if not self.conn.in_transaction:
        seen["transactions"] += 1
    return atomic(self)
sqlite_module.ImmediateDatabase.atomic = watched_atomic

getaddrinfo = socket.getaddrinfo
def slow_getaddrinfo(host, *args, **kwargs):
    if host == "slow-dns.example":  # a DNS server that answers nothing for 1.5 s
        seen["lookups"].append(threading.current_thread() is threading.main_thread())
        time.sleep(1.5)
        raise socket.gaierror("temporary failure in name resolution")
    return getaddrinfo(host, *args, **kwargs)
socket.getaddrinfo = slow_getaddrinfo

status = crawl.main(["--config", sys.argv[1], "--log-level", "WARNING"])
with open(sys.argv[2], "w") as out:
    json.dump(seen, out)
sys.exit(status)
"""


def statuses(count: int) -> list[dict]:
    return mastodon_statuses(
        [
            f"Harbour note {n}: the {n}th ferry of the season left at {n % 24}h."
            for n in range(count)
        ]
    )


def watched_crawl(tmp_path, sources: list[dict]) -> tuple[dict, dict]:
    """Run the crawl in a child process; its per-source results and what was watched."""
    lines = ['database = "ls.db"', 'key_file = "ls.key"']
    for source in sources:
        lines.append("[[source]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in source.items()]
    config = tmp_path / "leaksentry.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    script = tmp_path / "watched_crawl.py"
    script.write_text(textwrap.dedent(WATCHED_CRAWL), encoding="utf-8")
    watched = tmp_path / "watched.json"
    done = subprocess.run(
        [sys.executable, str(script), str(config), str(watched)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])["sources"]
    return results, json.loads(watched.read_text())


def test_items_are_written_off_the_reactor_thread_in_batches(tmp_path):
    with MastodonServer(statuses(200)) as timeline:
        source = {"name": "timeline", "kind": "mastodon", "url": timeline.url}
        results, seen = watched_crawl(tmp_path, [source | {"local_timeline": True}])
    assert results["timeline"]["ok"], results
    assert results["timeline"]["stored"] == 200
    assert len(seen["add_item_threads"]) == 200
    assert not any(seen["add_item_threads"]), "an item was written on the reactor thread"
    # five pages of 40 posts: each page's posts arrive together and share transactions
    assert seen["transactions"] < 200 / 4, seen["transactions"]


FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<link>{{SITE}}/</link><description>d</description>
<item><title>Elsewhere</title><link>http://slow-dns.example/story.html</link><guid>1</guid></item>
<item><title>Here</title><link>{{SITE}}/here.html</link><guid>2</guid></item>
</channel></rss>"""
PAGE = """<!doctype html><html lang="en"><head><title>Here</title></head><body><article>
<h1>Here</h1><p>The harbour master confirmed the winter timetable for the ferries today,
with two sailings a day to the islands until March and a third at weekends.</p>
</article></body></html>"""


def test_a_slow_dns_lookup_runs_off_the_reactor_thread_and_fails_closed(tmp_path):
    """A feed links a page on a host whose look-up takes 1.5 s and fails: the guard looks it
    up in a thread (the timeline beside it is crawled meanwhile) and refuses the page."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "feed.rss").write_text(FEED, encoding="utf-8")
    (site / "here.html").write_text(PAGE, encoding="utf-8")
    with MastodonServer(statuses(120)) as timeline, StaticSite(site) as news:
        sources = [
            {"name": "timeline", "kind": "mastodon", "url": timeline.url, "local_timeline": True},
            {"name": "news", "kind": "feed", "url": news.url + "/feed.rss", "lookback": "3650d"},
        ]
        results, seen = watched_crawl(tmp_path, sources)
    assert seen["lookups"], ("the slow name was never looked up", results)
    assert not any(seen["lookups"]), "a DNS look-up ran on the reactor thread"
    assert results["timeline"]["ok"] and results["timeline"]["stored"] == 120, results
    assert results["news"]["ok"] and results["news"]["stored"] == 1, results
    assert results["news"]["failed_pages"] == 1  # refused: the look-up failed (fails closed)
