"""Stories at ingest: edited syndicated copies are one story; another article on the same
topic is not. Real crawls of three local sites; the similarities are measured on what was
stored (word 3-grams, exact), so the test stays about the hard case."""

import itertools
import json

from leaksentry.copies import is_copy, shingles, similarity
from spiders import stories
from spiders.stories import signature

from conftest import cli_run, write_config


def exported(config, tmp_path) -> list[dict]:
    out = tmp_path / "items.jsonl"
    cli_run("export", "items", "--out", str(out), "--config", str(config))
    return [json.loads(line) for line in out.read_text().splitlines()]


PAGE = """<!doctype html><html lang="en"><head><title>{title}</title>
<meta property="article:published_time" content="2026-11-06T0{n}:00:00Z"></head>
<body><header><a href="/">{site}</a></header><article><h1>{title}</h1>
{paragraphs}
</article><footer>{site} - all rights reserved</footer></body></html>"""

FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>{site}</title>
<link>{{{{SITE}}}}/</link><description>news</description>
<item><title>{title}</title><link>{{{{SITE}}}}/story.html</link><guid>{{{{SITE}}}}/story.html</guid>
<pubDate>Fri, 06 Nov 2026 0{n}:00:00 +0000</pubDate></item>
{extra}</channel></rss>"""

EXTRA = """<item><title>{title}</title><link>{{{{SITE}}}}/other.html</link>
<guid>{{{{SITE}}}}/other.html</guid><pubDate>Fri, 06 Nov 2026 0{n}:30:00 +0000</pubDate></item>"""

BODY = [
    "Engineers from the valley water board said on Thursday that the Harrowby reservoir dam "
    "would be lowered by two metres over the winter after inspectors found seepage beneath the "
    "spillway.",
    "The work, expected to take fourteen weeks, will close the lakeside footpath between the "
    "boat house and the northern car park. Anglers have been asked to use the southern bank "
    "until spring.",
    "A spokesperson for the board said there was no danger to homes downstream and that the "
    "level would be restored once new drainage had been laid under the spillway apron.",
    "Residents can see the plans at the village hall on Saturday mornings throughout December.",
]
ADVERT = "Advertisement: Pennock's winter sale now on."
EDITIONS = [  # (site, rewritten headline, the wire text as that site printed it)
    (
        "Valley Courier",
        "Harrowby dam to be lowered",
        ["From the wire.", BODY[0], BODY[1].replace("northern", "north"), *BODY[2:]],
    ),
    (
        "Fell Times",
        "Harrowby reservoir dam lowered after seepage",
        ["Agency copy.", *BODY[:2], ADVERT, *BODY[2:]],
    ),
    (
        "Dale Post",
        "Dam works: Harrowby level drops two metres",
        ["By a staff reporter.", BODY[0], BODY[1].replace("boat house", "boathouse"), *BODY[2:]],
    ),
]
SAME_TOPIC = (  # another article about the same works, in its own words
    "The Harrowby reservoir will be partly drained this winter, the valley water board "
    "confirmed, so that engineers can repair a leak found under the dam's spillway. Walkers "
    "will lose the lakeside path for several months and anglers must fish from the southern "
    "bank. The board insisted homes below the dam were safe and promised an exhibition of the "
    "plans in the village hall."
)


def crawl_editions(tmp_path) -> list[dict]:
    from leaksentry.localservers import StaticSite

    servers, sources = [], []
    for n, (site, title, paragraphs) in enumerate(EDITIONS, 1):
        root = tmp_path / f"site{n}"
        root.mkdir()
        fields = {"site": site, "title": title, "n": n}
        body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
        (root / "story.html").write_text(PAGE.format(paragraphs=body, **fields))
        extra = ""
        if n == 3:  # the Dale Post also runs its own piece on the works
            other = {"site": site, "title": "What the dam works mean for walkers", "n": 5}
            (root / "other.html").write_text(
                PAGE.format(paragraphs=f"<p>{SAME_TOPIC}</p>", **other)
            )
            extra = EXTRA.format(**fields)
        (root / "feed.rss").write_text(FEED.format(extra=extra, **fields))
        servers.append(StaticSite(root).start())
        sources.append({"name": f"site{n}", "kind": "feed", "url": servers[-1].url + "/feed.rss"})
    try:
        config = write_config(tmp_path, sources)
        for n in range(1, 4):  # one site after another, as their feeds are read over a day
            cli_run("crawl", "--source", f"site{n}", "--config", str(config))
        return exported(config, tmp_path)
    finally:
        for server in servers:
            server.stop()


def test_edited_syndicated_copies_are_one_story_and_a_same_topic_article_is_not(tmp_path):
    items = crawl_editions(tmp_path)
    copies = [item for item in items if item["url"].endswith("/story.html")]
    (other,) = [item for item in items if item["url"].endswith("/other.html")]
    assert len(copies) == 3
    # measure: the copies are right at the MinHash threshold, the other article far below
    for a, b in itertools.combinations(copies, 2):
        jaccard, containment = similarity(shingles(a["text"]), shingles(b["text"]))
        estimate = signature(a["text"]).jaccard(signature(b["text"]))
        print(f"copies: jaccard {jaccard:.3f} containment {containment:.3f} minhash {estimate:.3f}")
        assert 0.80 <= jaccard <= 0.84 and containment >= 0.9
        assert is_copy(shingles(a["text"]), shingles(b["text"]))
    for copy in copies:
        jaccard, containment = similarity(shingles(copy["text"]), shingles(other["text"]))
        print(f"same topic: jaccard {jaccard:.3f} containment {containment:.3f}")
        assert jaccard < 0.1 and containment < 0.2
        assert not is_copy(shingles(copy["text"]), shingles(other["text"]))
    assert len({item["story"] for item in copies}) == 1, [c["story"] for c in copies]
    assert other["story"] != copies[0]["story"]


def test_the_writers_signature_values_are_datasketchs():
    """spiders.stories.signature_values (the store writer's, no MinHash object) gives the
    values datasketch's MinHash gives: stored signatures stay comparable."""
    import numpy as np
    from datasketch import MinHash

    from spiders.stories import signature_values

    texts = ["", "one", "two words", *(" ".join(BODY[:n]) for n in range(1, 5)), "Ça va? №7 ünï"]
    for text in texts:
        expected = signature(text).hashvalues.astype(np.uint64)
        assert np.array_equal(signature_values(text), expected), text
    # ...and the permutations are the ones datasketch draws itself for the scheme
    own = MinHash(num_perm=stories.NUM_PERM, scheme=stories.SCHEME).permutations
    assert own.dtype == np.uint32 and np.array_equal(own, stories._PERMUTATIONS)


def test_the_index_bands_are_datasketchs_and_a_crawl_starts_without_it():
    """The LSH bands are MinHashLSH's for CANDIDATE; datasketch (and with it scipy, most
    of a crawl process's start) is not imported to crawl."""
    import subprocess
    import sys

    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=stories.CANDIDATE, num_perm=stories.NUM_PERM)
    assert [tuple(map(int, band)) for band in lsh.hashranges] == stories._BANDS
    probe = "import sys, spiders.crawl; print(sorted({'datasketch', 'scipy'} & set(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"
