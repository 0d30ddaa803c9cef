"""The demo: a full crawl -> match -> alert cycle on the bundled fictional site.

Serves data/demo/site on 127.0.0.1, starts a local SMTP server (aiosmtpd), seals the demo
briefs, runs one cycle through the same functions as the service, and writes everything
(database, key, log, configuration, received mail as .eml) under data/demo/out/, which it
empties first so that every run shows the same thing.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections import Counter
from pathlib import Path

from leaksentry import jobs
from leaksentry.alerts import digest
from leaksentry.briefs import add_brief_files
from leaksentry.config import load_config
from leaksentry.localservers import MailCatcher, StaticSite
from leaksentry.logfile import private_log_handler
from leaksentry.storage import Store, open_store
from leaksentry.vault import initialise, open_vault

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "demo"


def write_demo_config(out: Path, data_dir: Path, site_url: str, smtp_port: int) -> Path:
    sources = (data_dir / "sources.toml").read_text(encoding="utf-8").replace("{{SITE}}", site_url)
    (out / "sources.toml").write_text(sources, encoding="utf-8")
    config = out / "leaksentry.toml"
    config.write_text(
        "# Written by `leaksentry demo`; paths are relative to this file.\n"
        'database = "leaksentry.db"\n'
        'key_file = "leaksentry.key"\n'
        'sources = "sources.toml"\n'
        'log_file = "demo.log"\n\n'
        "[smtp]\n"
        'host = "127.0.0.1"\n'
        f"port = {smtp_port}\n"
        'security = "none"\n'
        'sender = "leaksentry-demo@localhost"\n'
        'recipients = ["duty-desk@example.org"]\n\n'
        "[alerts]\n"
        'immediate = "all"  # the demo mails every alert at once; low severity normally waits\n',
        encoding="utf-8",
    )
    return config


def run_demo(data_dir: Path | None = None, echo=print) -> dict:
    """Run the demo and return its figures (items, matches, alerts per codename, mails)."""
    data_dir = Path(data_dir or DEFAULT_DATA_DIR).resolve()
    out = data_dir / "out"
    if out.exists():
        shutil.rmtree(out)
    (out / "mail").mkdir(parents=True)
    started = time.perf_counter()
    with StaticSite(data_dir / "site") as site, MailCatcher(out / "mail") as mail:
        config = load_config(write_demo_config(out, data_dir, site.url, mail.port))
        logging.basicConfig(
            level=logging.INFO,
            handlers=[private_log_handler(config.log_file)],
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            force=True,
        )
        echo(f"demo site   {site.url}/  (data/demo/site)")
        echo(f"demo SMTP   127.0.0.1:{mail.port}  (mail saved under {out / 'mail'})")
        with open_store(config.database) as store:
            initialise(config, store)
            vault = open_vault(config, store)
            briefs = add_brief_files(store, vault, sorted((data_dir / "briefs").glob("*.*")))
            echo(f"briefs      {len(briefs)} sealed: {', '.join(b.codename for b in briefs)}")
            sources = [s for s in config.sources if s.enabled]
            echo(f"crawling    {len(sources)} feed(s)...")
            crawled = jobs.crawl(config, sources, store)
            for name, result in crawled.counts.get("results", {}).items():
                echo(
                    f"  {name}: {result['stored']} items stored, {result['failed_pages']} "
                    f"page(s) failed, {result['malformed']} malformed entr(ies)"
                )
            for error in crawled.errors:
                echo(f"  error: {error}")
            echo("matching    (loading the embedding model)...")
            matcher = jobs.make_matcher(config, store)
            matched = jobs.match_new(config, store, vault, matcher)
            jobs.notify_alerts(config, store)
            sent = jobs.send_queued(config, store)
            queued = digest.queue(config, store)
            echo(f"digest      {queued} queued (one per recipient with news; all quiet: Mondays)")
            digested = jobs.send_queued(config, store)
            figures = _figures(store, briefs, mail, out)
    figures["seconds"] = round(time.perf_counter() - started, 1)
    echo(f"collected   {figures['items']} items")
    echo(
        f"matched     {matched.counts['matches']} match(es), {matched.counts['alerts']} alert(s) "
        "(an alert is one story exposing one brief)"
    )
    for brief in briefs:
        count = figures["alerts_by_codename"].get(brief.codename, 0)
        echo(f"  {brief.codename:<16} {count} alert(s)")
        for url in figures["alert_urls"].get(brief.codename, []):
            echo(f"      {url}")
    echo(
        f"sent        {sent.counts['sent']} alert mail(s), {digested.counts['sent']} digest(s); "
        f"{len(mail.messages)} received by the SMTP server"
    )
    for error in sent.errors + digested.errors:
        echo(f"  error: {error}")
    echo(f"output      {out}  ({figures['seconds']}s)")
    return figures


def _figures(store: Store, briefs, mail: MailCatcher, out: Path) -> dict:
    codename = {b.id: b.codename for b in briefs}
    alerts = store.alert_rows()
    urls: dict[str, list[str]] = {}
    for row in alerts:
        for match in store.alert_items(row["id"]):
            urls.setdefault(codename[row["brief_id"]], []).append(match["url"])
    figures = {
        "items": store.count("items"),
        "alerts_by_codename": dict(Counter(codename[row["brief_id"]] for row in alerts)),
        "alert_urls": urls,
        "mails": len(mail.messages),
        "alert_mails": sum(1 for m in mail.messages if "digest" not in str(m["Subject"])),
        "mail_files": sorted(str(p) for p in (out / "mail").glob("*.eml")),
    }
    (out / "summary.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return figures
