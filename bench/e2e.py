"""End to end, as an operator runs it: `leaksentry crawl` then `leaksentry match`, timed.

A local news site (N article pages in an RSS feed) and a local Mastodon-compatible timeline
(M posts, paged with ``max_id`` and ``Link`` headers like the real API) serve texts read at run
time from ``../shared/eval/`` (ECB+ and background articles; background and ECB+ posts).
Each stream is crawled by the real CLI into a fresh data folder, then matched against K briefs
(the development briefs, repeated under new ids and codenames when K is larger).

Steady state, as in the service: before the measured stream, each data folder crawls and
matches a warm-up stream of WARMUP items of the same kind, so the matcher's background sample
is drawn and measured whole once (its vectors stored), as a running service has done; the
bench sets `[matcher] background_items` to WARMUP so the measured stream does not redraw it
(the service redraws it once a day). Then the measured stream goes through the cascade.

Printed per stream: crawl, match and end-to-end rates (items per second of wall time); the
same in steady state, with the `match` process's fixed cost taken out (imports, model load,
the K briefs prepared, the kept calibration restored: a `match` with nothing new, and
printed); the crawl's rate with its own fixed cost taken out (a second crawl, nothing new,
measures it); the bare model's encode rate on the same texts (title and text, truncated at
the model's 256 tokens), measured in the same run; and the peak memory of the `match`
process. Rates are the median of R runs.

Also printed: the service's own work on the same stream (`Service.crawl_source` in a child
process whose model is loaded and calibration restored before the clock starts): the crawl,
with each full batch it stored matched while it goes on, then the rest, then sending. On 2
cores the crawl and the model share the machine instead of taking turns.

    .venv/bin/python bench/e2e.py [--articles 600] [--posts 5000] [--briefs 20] [--runs 3]
    .venv/bin/python bench/e2e.py --briefs 1,200,1000     # how cost grows with briefs
    .venv/bin/python bench/e2e.py --crawl-only            # the crawl alone
    .venv/bin/python bench/e2e.py --model all-MiniLM-L6-v2@onnx-int8   # the int8 runtime
    .venv/bin/python bench/e2e.py --article-texts background   # articles unrelated to the briefs
"""

from __future__ import annotations

import argparse
import html
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from throughput import MODEL, leaksentry  # noqa: E402

from leaksentry.localservers import MastodonServer, StaticSite  # noqa: E402
from matcher.backtest import read_items  # noqa: E402

WARMUP = 300  # items of each kind the service had measured before (the background sample)
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="article:published_time" content="{published}"></head><body>
<header><nav><a href="/">Front page</a> <a href="/feed.rss">Feed</a></nav></header>
<article><h1>{title}</h1>{paragraphs}</article>
<footer><p>The Bench Courier, a local site for measurements.</p></footer></body></html>"""


# -- the texts, read at run time ------------------------------------------------------------------
def texts(eval_dir: Path, files: list[str], kind: str, count: int) -> list[tuple[str, str]]:
    """``count`` (title, text) pairs of one kind; repeated with a numbered title if too few."""
    found = [
        (item.title, item.text)
        for name in files
        for item in read_items(eval_dir / name)
        if item.kind == kind and item.text.strip()
    ]
    if not found:
        raise SystemExit(f"no {kind} texts in {eval_dir}")
    out = []
    for n, (title, text) in zip(range(count), itertools.cycle(found), strict=False):
        if n >= len(found):  # another copy: new words in it, so it is not the same content
            title, text = f"{title} (update {n})", f"Update {n}. {text}"
        out.append((title, text))
    return out


def briefs(eval_dir: Path, count: int) -> list[dict]:
    """``count`` development briefs (ECB+ and leak-dev), unique ids and codenames."""
    pool = [
        json.loads(line)
        for name in ("ecb/briefs.jsonl", "leak-dev/briefs.jsonl")
        for line in (eval_dir / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    out = []
    for n, brief in zip(range(count), itertools.cycle(pool), strict=False):
        codename = brief["codename"] if n < len(pool) else f"{brief['codename']} {n}"
        fields = {"summary": brief["summary"], "details": brief["details"]}
        out.append(fields | {"id": f"B{n:04d}", "codename": codename})
    return out


# -- the local sources ----------------------------------------------------------------------------
def news_site(folder: Path, articles: list[tuple[str, str]]) -> Path:
    """N article pages and an RSS feed listing them all (newest first), under ``folder``."""
    (folder / "articles").mkdir(parents=True)
    start = datetime.now(UTC) - timedelta(minutes=len(articles) + 5)
    entries = []
    for n, (title, text) in enumerate(articles):
        when = start + timedelta(minutes=n)
        paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n") if p.strip())
        page = PAGE.format(
            title=html.escape(title), published=when.isoformat(), paragraphs=paragraphs
        )
        (folder / "articles" / f"a{n}.html").write_text(page, encoding="utf-8")
        entries.append(
            f"<item><title>{html.escape(title)}</title><link>{{{{SITE}}}}/articles/a{n}.html</link>"
            f"<guid>a{n}</guid><pubDate>{format_datetime(when)}</pubDate></item>"
        )
    (folder / "feed.rss").write_text(
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>The Bench Courier</title><link>{{SITE}}/</link><description>news</description>"
        + "".join(reversed(entries))
        + "</channel></rss>",
        encoding="utf-8",
    )
    return folder


def statuses(posts: list[tuple[str, str]], earlier: bool = False) -> list[dict]:
    """Mastodon statuses (a snowflake id from the creation time), one a second up to now
    (earlier: ending an hour ago, for the warm-up stream)."""
    end = datetime.now(UTC) - timedelta(hours=1 if earlier else 0)
    start = end - timedelta(seconds=len(posts) + 60)
    out = []
    for n, (_, text) in enumerate(posts):
        when = start + timedelta(seconds=n)
        snowflake = str((int(when.timestamp() * 1000) << 16) | n % 0xFFFF)
        address = f"https://social.bench.example/statuses/{snowflake}"
        out.append(
            {
                "id": snowflake,
                "created_at": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "in_reply_to_id": None,
                "sensitive": False,
                "spoiler_text": "",
                "visibility": "public",
                "language": "en",
                "uri": address,
                "url": address,
                "replies_count": 0,
                "reblogs_count": 0,
                "favourites_count": 0,
                "edited_at": None,
                "content": f"<p>{html.escape(text)}</p>",
                "reblog": None,
                "account": {"id": "1", "username": "bench", "acct": "bench"},
                "media_attachments": [],
                "mentions": [],
                "tags": [],
            }
        )
    return out


# -- the runs -------------------------------------------------------------------------------------
def data_folder(folder: Path, sources: list[dict] = ()) -> Path:
    """A fresh data folder with its configuration and an initialised database; the config."""
    folder.mkdir(parents=True)
    lines = ['database = "ls.db"', 'key_file = "ls.key"', "[smtp]", "port = 9"]
    lines += ["[matcher]", f"background_items = {WARMUP}"]
    for source in sources:
        lines.append("[[source]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in source.items()]
    config = folder / "leaksentry.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    leaksentry("init", "--config", str(config))
    return config


def add_briefs(config: Path, chosen: list[dict]) -> None:
    path = config.parent / "briefs.jsonl"
    path.write_text("".join(json.dumps(b) + "\n" for b in chosen), encoding="utf-8")
    leaksentry("brief", "add", str(path), "--no-retro", "--config", str(config))


def stored(stdout: str) -> int:
    """Items stored, from `leaksentry crawl`'s lines ('crawl NAME: stored 3, known 0, ...')."""
    return sum(
        int(line.split(": stored ")[1].split(",")[0])
        for line in stdout.splitlines()
        if ": stored " in line
    )


def one_run(work: Path, sources: dict[str, dict], expected: dict, brief_sets: dict) -> dict:
    """Per stream: the warm-up stream crawled once; then, per brief count, a copy matched
    (the background sample drawn and measured), a `match` with nothing new (the fixed cost),
    the measured stream crawled, then matched. No brief count: the crawls only."""
    figures = {}
    for stream, source in sources.items():
        warm = {**source, "name": f"warmup-{source['name']}", "url": source["warmup_url"]}
        measured = {k: v for k, v in source.items() if k != "warmup_url"}
        warm.pop("warmup_url")
        config = data_folder(work / stream, [warm, measured])
        if brief_sets:
            leaksentry("crawl", "--source", warm["name"], "--config", str(config))
        for count, chosen in brief_sets.items() if brief_sets else [(0, None)]:
            copy = work / f"{stream}-{count}"
            shutil.copytree(config.parent, copy)
            copied = str(copy / "leaksentry.toml")
            if chosen:
                add_briefs(copy / "leaksentry.toml", chosen)
                leaksentry("match", "--config", copied)  # the service's first day
                figures[(stream, "fixed", count)] = leaksentry("match", "--config", copied)[0]
                served = work / f"{stream}-{count}-service"
                shutil.copytree(copy, served)
                figures[(stream, "service", count)] = service_cycle(
                    served / "leaksentry.toml", measured["name"]
                )
                shutil.rmtree(served)
            crawl_s, crawl_mib, out = leaksentry(
                "crawl", "--source", measured["name"], "--config", copied
            )
            if stored(out) != expected[stream]:
                print(
                    f"  warning: {stream}: stored {stored(out)} of {expected[stream]}: {out.strip()}"
                )
            again_s, _, _ = leaksentry("crawl", "--source", measured["name"], "--config", copied)
            figures.setdefault((stream, "crawl"), (stored(out), crawl_s, again_s, crawl_mib))
            if chosen:
                match_s, match_mib, out = leaksentry("match", "--config", copied)
                figures[(stream, count)] = (match_s, match_mib, out.strip())
            shutil.rmtree(copy)
    return figures


def service_cycle(config: Path, source: str) -> float:
    """Seconds of the service's work on `source` (crawl, match as the items come, send),
    with the model loaded and the calibration restored before the clock starts, as in a
    running service: in a child process (`--service-child`), away from the bench's
    servers."""
    out = subprocess.run(
        [sys.executable, __file__, "--service-child", str(config), source],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise SystemExit(f"service cycle failed:\n{out.stderr}")
    return float(out.stdout.split()[-1])


def service_child(config_path: str, source: str) -> None:
    from leaksentry.config import load_config
    from leaksentry.service import Service

    service = Service(load_config(config_path))
    service.load_model()
    service.process()  # nothing new: briefs prepared, the kept calibration restored
    time.sleep(2)  # a running service is idle between crawls: its standby crawl has imported
    started = time.perf_counter()
    service.crawl_source(source)
    print(f"{time.perf_counter() - started:.3f}")
    service.close()


def bare_model_rates(corpus: dict[str, list[tuple[str, str]]]) -> dict[str, float]:
    """Texts per second of the model alone on each stream's texts (title and text), as
    sentence-transformers runs it (torch, fp32): the raw model, whatever `--model` says."""
    from matcher import load_embedder

    embedder = load_embedder(f"{MODEL}@torch")
    rates = {}
    for stream, pairs in corpus.items():
        whole = [f"{title}\n{text}".strip() for title, text in pairs]
        embedder._encode(whole[:32])  # warm up
        started = time.perf_counter()
        embedder._encode(whole)
        rates[stream] = len(whole) / (time.perf_counter() - started)
    return rates


def report(args, all_runs: list[dict], bare: dict[str, float], counts: list[int]) -> None:
    med = statistics.median
    print(
        f"\nleaksentry end to end: {args.articles} articles, {args.posts} posts; "
        f"median of {len(all_runs)} run(s); {os.cpu_count()} cores; model {args.model} "
        f"(bare model: {MODEL} in sentence-transformers, fp32); articles from {args.article_texts}"
    )
    crawl_report(args, all_runs)
    for count in counts:
        fixed = {
            stream: med(r[(stream, "fixed", count)] for r in all_runs)
            for stream in ("articles", "posts")
        }
        print(
            f"\n{count} brief(s); match fixed cost (imports, model load, briefs prepared, the "
            f"kept calibration restored; a match with nothing new): "
            f"{fixed['articles']:.1f} s (articles), {fixed['posts']:.1f} s (posts)"
        )
        header = (
            "| stream | items | crawl /s | match /s | end to end /s | steady match /s "
            "| steady end to end /s | bare model /s | steady e2e / bare | crawl s | match s "
            "| match peak MiB |"
        )
        print(header)
        print("|" + "---|" * header.count(" | ") + "---|")
        for stream in ("articles", "posts"):
            rows = []
            for r in all_runs:
                items, crawl_s, _, _ = r[(stream, "crawl")]
                match_s, mib, _ = r[(stream, count)]
                steady_match = max(match_s - r[(stream, "fixed", count)], 1e-6)
                rows.append(
                    {
                        "items": items,
                        "crawl": items / crawl_s,
                        "match": items / match_s,
                        "e2e": items / (crawl_s + match_s),
                        "steady_match": items / steady_match,
                        "steady_e2e": items / (crawl_s + steady_match),
                        "crawl_s": crawl_s,
                        "match_s": match_s,
                        "mib": mib,
                    }
                )
            m = {key: med(row[key] for row in rows) for key in rows[0]}
            print(
                f"| {stream} | {m['items']:.0f} | {m['crawl']:.1f} | {m['match']:.1f} "
                f"| {m['e2e']:.1f} | {m['steady_match']:.1f} | **{m['steady_e2e']:.1f}** "
                f"| {bare[stream]:.1f} | {m['steady_e2e'] / bare[stream]:.2f} "
                f"| {m['crawl_s']:.1f} | {m['match_s']:.1f} | {m['mib']:.0f} |"
            )
        print(
            "\nThe service's work on the same stream, the model loaded (crawl, and match while "
            "the crawl stores, then the rest; the crawl process's start included):"
        )
        print("| stream | items | service s | service items/s |")
        print("|---|---|---|---|")
        for stream in ("articles", "posts"):
            seconds = med(r[(stream, "service", count)] for r in all_runs)
            items = med(r[(stream, "crawl")][0] for r in all_runs)
            print(f"| {stream} | {items:.0f} | {seconds:.1f} | **{items / seconds:.1f}** |")
        last = all_runs[-1]
        for stream in ("articles", "posts"):
            print(f"  {stream}, last run: {last[(stream, count)][2]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=600, help="article pages in the feed")
    parser.add_argument("--posts", type=int, default=5000, help="posts on the timeline")
    parser.add_argument(
        "--briefs", default="20", help="brief count, or several: 1,200,1000 (cost vs briefs)"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs; rates are their median")
    parser.add_argument("--eval", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--crawl-only", action="store_true", help="crawl; no match, no model")
    parser.add_argument(
        "--model", default=MODEL, help="the model setting, e.g. all-MiniLM-L6-v2@onnx-int8"
    )
    parser.add_argument(
        "--article-texts",
        choices=["ecb", "background"],
        default="ecb",
        help="ecb: ECB+ news, about a third on the briefs' topics; background: BBC articles "
        "unrelated to every brief, as most of a real stream is",
    )
    parser.add_argument("--service-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.service_child:
        service_child(*args.service_child)
        return
    os.environ["LEAKSENTRY_MODEL"] = args.model  # the CLI children read it
    article_files = ["ecb/items.jsonl", "background/items.jsonl"]
    if args.article_texts == "background":
        article_files.reverse()
    counts = [] if args.crawl_only else [int(n) for n in args.briefs.split(",")]
    both = {
        "articles": texts(args.eval, article_files, "news", args.articles + WARMUP),
        "posts": texts(
            args.eval, ["background/items.jsonl", "ecb/posts.jsonl"], "social", args.posts + WARMUP
        ),
    }
    warmup = {stream: pairs[-WARMUP:] for stream, pairs in both.items()}
    corpus = {stream: pairs[:-WARMUP] for stream, pairs in both.items()}
    brief_sets = {count: briefs(args.eval, count) for count in counts}
    all_runs = []
    with tempfile.TemporaryDirectory(prefix="leaksentry-e2e-") as folder:
        root = Path(folder)
        with (
            StaticSite(news_site(root / "site", corpus["articles"]), conditional=True) as site,
            StaticSite(news_site(root / "warmup", warmup["articles"]), conditional=True) as early,
            MastodonServer(statuses(corpus["posts"])) as timeline,
            MastodonServer(statuses(warmup["posts"], earlier=True)) as early_timeline,
        ):
            sources = {
                "articles": {
                    "name": "courier",
                    "kind": "feed",
                    "url": f"{site.url}/feed.rss",
                    "warmup_url": f"{early.url}/feed.rss",
                },
                "posts": {
                    "name": "timeline",
                    "kind": "mastodon",
                    "url": timeline.url,
                    "warmup_url": early_timeline.url,
                    "local_timeline": True,
                },
            }
            for source in sources.values():
                source["lookback"] = "2d"
            expected = {"articles": args.articles, "posts": args.posts}
            for run in range(args.runs):
                started = time.perf_counter()
                all_runs.append(one_run(root / f"run{run}", sources, expected, brief_sets))
                print(f"run {run + 1} of {args.runs}: {time.perf_counter() - started:.0f} s")
    if args.crawl_only:
        crawl_report(args, all_runs)
        return
    bare = bare_model_rates(corpus)
    report(args, all_runs, bare, counts)


def crawl_report(args, all_runs: list[dict]) -> None:
    med = statistics.median
    print(
        f"\nleaksentry crawl: {args.articles} articles, {args.posts} posts; "
        f"median of {len(all_runs)} run(s); {os.cpu_count()} cores"
    )
    print(
        "| stream | items | crawl s | crawl /s | nothing-new crawl s | steady crawl /s | peak MiB |"
    )
    print("|---|---|---|---|---|---|---|")
    for stream in ("articles", "posts"):
        rows = [r[(stream, "crawl")] for r in all_runs]
        items = med(row[0] for row in rows)
        seconds, again = med(row[1] for row in rows), med(row[2] for row in rows)
        steady = med(row[0] / max(row[1] - row[2], 1e-6) for row in rows)
        print(
            f"| {stream} | {items:.0f} | {seconds:.1f} | {med(row[0] / row[1] for row in rows):.1f} "
            f"| {again:.1f} | {steady:.1f} | {med(row[3] for row in rows):.0f} |"
        )
    print("steady: items / (crawl s - the same crawl's second run, nothing new: process start,")
    print("imports, reading the feed or the timeline's first page)")


if __name__ == "__main__":
    main()
