"""Issue 4's acceptance: one source of every kind in one sources file, pointed at saved payloads
on 127.0.0.1 and crawled by `leaksentry crawl`, stores the expected items; a second crawl stores
nothing new; and with briefs loaded no request carries a brief's words."""

import re
from urllib.parse import urlencode

from leaksentry.config import SOURCE_KINDS

from payloads import (
    FIRST_CRAWL,
    SERVE,
    PayloadServer,
    crawl,
    exported,
    run_cli,
    urls,
    write_sources,
)

# a fictional brief on the same harbour as the payloads; its details must never leave
BRIEF = """
id = "T-SLIPWAY"
codename = "GREY CORMORANT"
summary = "Salvage divers lift the sunken pontoon by the Gull Point slipway before dawn on Tuesday."
details = [
  "Place: Gull Point lighthouse slipway",
  "Start 04:30 on Tuesday 1 December 2026",
  "Twelve divers and one crane barge",
  "Harbour closed to small boats until noon",
]
active_from = 2026-11-20
active_until = 2026-12-01
recipients = ["duty@example.org"]
"""


def test_one_source_of_every_kind_then_a_second_crawl_stores_nothing_new(tmp_path):
    assert set(SERVE) == set(SOURCE_KINDS)
    with PayloadServer() as server:
        config = write_sources(tmp_path, [serve(server) for serve in SERVE.values()])
        (tmp_path / "brief.toml").write_text(BRIEF, encoding="utf-8")
        for command in (["init"], ["brief", "add", str(tmp_path / "brief.toml")]):
            assert run_cli(*command, "--config", str(config)).returncode == 0

        first = crawl(config)
        items = exported(config)
        second = crawl(config)
        again = exported(config)
        requests = list(server.requests)

    assert first.status == 0
    for kind in SOURCE_KINDS:
        stored = [item for item in items if item["source"] == kind]
        assert urls(stored, server.url) == FIRST_CRAWL[kind], kind
        assert first[kind]["error"] is None and first[kind]["stored"] == len(FIRST_CRAWL[kind])
        assert second[kind]["error"] is None and second[kind]["stored"] == 0, kind
    assert len(again) == len(items)

    # no request (path, query or header) carries three words in a row of a brief's detail
    details = re.findall(r'^  "(.+)",?$', BRIEF, re.M)
    runs = {" ".join(w[i : i + 3]) for d in details for w in [words(d)] for i in range(len(w) - 2)}
    for seen in requests:
        sent = " ".join(words(f"{seen.path} {urlencode(seen.query)} {seen.headers}"))
        assert not [run for run in runs if run in sent], seen.path


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())
