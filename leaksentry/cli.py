"""The one entry point: ``leaksentry <command>``. Commands only parse, call the parts, and print.

Library errors (LeaksentryError, and the matcher's MatcherError) become one clear line, never
a traceback.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
import time
from pathlib import Path

import click

from leaksentry import __version__
from leaksentry.config import Config, load_config
from leaksentry.errors import LeaksentryError
from matcher.errors import MatcherError

CONFIG_HELP = "Configuration TOML file (also LEAKSENTRY_CONFIG; default ./leaksentry.toml)."


class Group(click.Group):
    """A click group that turns our own errors, and a full disk, into one line and status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (LeaksentryError, MatcherError) as exc:
            raise click.ClickException(str(exc)) from None
        except (OSError, sqlite3.OperationalError) as exc:
            from leaksentry.diskspace import is_disk_full

            if isinstance(exc, OSError) and exc.filename and not is_disk_full(exc):
                # a file the user named or configured: one line, never a traceback
                raise click.ClickException(
                    f"{exc.filename}: {exc.strerror or exc}; check the path and its permissions"
                ) from None
            if not is_disk_full(exc):
                raise
            raise click.ClickException(
                f"the disk is full ({exc}): nothing stored before this step is lost; "
                "free some space and run the command again"
            ) from None
        except Exception as exc:
            psycopg = sys.modules.get("psycopg")  # (not loaded: not a PostgreSQL store)
            if psycopg is None or not isinstance(exc, psycopg.OperationalError):
                raise
            # the PostgreSQL server went away, refused a statement's lock in time, ...
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise click.ClickException(f"the database: {first}") from None


def config_option(function):
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        envvar="LEAKSENTRY_CONFIG",
        help=CONFIG_HELP,
    )(function)


def open_store(config: Config):
    from leaksentry.storage import open_store

    return open_store(config.database)


def open_store_and_vault(config: Config):
    from leaksentry.vault import open_vault

    store = open_store(config)
    try:
        return store, open_vault(config, store)
    except LeaksentryError:
        store.close()
        raise


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="leaksentry")
def cli():
    """leaksentry: know within minutes when a sealed brief shows up in public.

    Crawls public news and social posts, compares each item with your sealed briefs, and
    emails operators when an item appears to expose one.

    \b
    Start here:
      leaksentry init --config leaksentry.toml
      leaksentry brief add briefs/op.toml
      leaksentry run
    """


# -- setup and briefs ---------------------------------------------------------------------------
@cli.command()
@config_option
def init(config_path):
    """Create the database and a key file (mode 0600).

    LEAKSENTRY_KEY may supply the key instead of a file. An existing key is never overwritten.

    Example: leaksentry init --config leaksentry.toml
    """
    from leaksentry.vault import initialise

    config = load_config(config_path)
    with open_store(config) as store:
        created = initialise(config, store)
    from leaksentry.storage import describe

    click.echo(f"database: {describe(config.database)}")
    click.echo(f"key:      {config.key_file} ({'created' if created else 'existing'})")


@cli.group(cls=Group)
def key():
    """Manage the key that seals briefs."""


@key.command("rotate")
@config_option
def key_rotate(config_path):
    """Re-seal every brief and vector with a new key, atomically, and replace the key file.

    Backups of the database made before the rotation still need the old key.

    Example: leaksentry key rotate --config leaksentry.toml
    """
    from leaksentry.vault import rotate_key

    config = load_config(config_path)
    with open_store(config) as store:
        count = rotate_key(config, store)
    click.echo(f"re-sealed {count} value(s) with a new key: {config.key_file}")


@cli.group(cls=Group)
def brief():
    """Add, list and retire sealed briefs."""


@brief.command("add")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--retro/--no-retro",
    default=True,
    help="Search the stored backlog at once: has the brief already leaked? (default: yes)",
)
@config_option
def brief_add(files, retro, config_path):
    """Add briefs from TOML, JSON or JSON Lines files; all are validated before any is stored.

    Summary and details are sealed (encrypted) at rest. Adding a brief with a known id
    replaces it.

    Example: leaksentry brief add briefs/harbour.toml more.jsonl
    """
    from leaksentry.briefs import add_brief_files, window_ended

    config = load_config(config_path)
    store, vault = open_store_and_vault(config)
    with store:
        briefs = add_brief_files(store, vault, list(files))
        for added in briefs:
            click.echo(f"sealed {added.id} {added.codename}")
            if window_ended(added.active_until):
                click.echo(
                    f"warning: {added.id} {added.codename}: its window ended on "
                    f"{added.active_until}; it is listed as ended: only items published "
                    "inside the window alert (the retro-check of the stored backlog); "
                    f"`leaksentry brief retire {added.id}` when done",
                    err=True,
                )
        if retro and store.count("items"):
            from leaksentry import jobs

            started = time.perf_counter()
            report = jobs.retro_check(
                config, store, vault, _matcher(config, store), [b.id for b in briefs]
            )
            queued = jobs.notify_alerts(config, store)
            click.echo(
                f"retro-check: {report.counts['candidates']} stored item(s) read closely, "
                f"{report.counts['alerts']} alert(s), {queued} message(s) queued "
                f"({time.perf_counter() - started:.1f}s)"
            )


@brief.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include retired briefs.")
@config_option
def brief_list(show_all, config_path):
    """List briefs: id, codename, window and status (never the sealed text).

    Status: active; ended (not retired, but its window is wholly past: only items published
    inside it can still alert); retired (with --all).

    Example: leaksentry brief list --all
    """
    from leaksentry.briefs import status_of

    config = load_config(config_path)
    with open_store(config) as store:
        rows = store.brief_rows(None if show_all else "active")
    if not rows:
        click.echo("no briefs")
    for row in rows:
        window = f"{row['active_from'] or 'open'} .. {row['active_until'] or 'open'}"
        click.echo(f"{row['id']:<16} {row['codename']:<20} {window:<24} {status_of(row)}")


@brief.command("retire")
@click.argument("brief_id")
@config_option
def brief_retire(brief_id, config_path):
    """Stop monitoring a brief (its record and alerts are kept).

    Example: leaksentry brief retire OP-2026-17
    """
    config = load_config(config_path)
    with open_store(config) as store:
        if store.brief_row(brief_id) is None:
            raise click.ClickException(f"no brief with id {brief_id!r}")
        changed = store.retire_brief(brief_id)
    click.echo(f"retired {brief_id}" if changed else f"{brief_id} was already retired")


# -- the cycle ----------------------------------------------------------------------------------
@cli.command()
@click.option("--source", "names", multiple=True, help="Only this source (repeatable).")
@click.option(
    "-v", "--verbose", is_flag=True, help="Show Scrapy's own log, with tracebacks (debugging)."
)
@config_option
def crawl(names, verbose, config_path):
    """Run every enabled source once (or only the named ones) and store what is new.

    One line per source: what it stored, or its error. Exit status 0 when every source was
    read, 3 when at least one failed (what the others stored is kept; like `sources status`),
    1 when nothing could be crawled (configuration, disk).

    Example: leaksentry crawl --source city-news
    """
    from leaksentry import jobs

    config = load_config(config_path)
    sources = [config.source(n) for n in names] or [s for s in config.sources if s.enabled]
    if not sources:
        raise click.ClickException("no sources configured: add [[source]] tables to the config")
    click.echo(f"crawling {len(sources)} source(s)...", err=True)
    with open_store(config) as store:
        report = jobs.crawl(config, sources, store, terse=not verbose)
    _print_crawl(report)
    results = report.counts.get("results")
    if results is None and report.errors:  # no per-source report: the crawl itself failed
        sys.exit(1)
    failed = sum(not result["ok"] for result in (results or {}).values())
    if failed:
        click.echo(f"crawl: {failed} of {len(results)} source(s) failed", err=True)
        sys.exit(3)


@cli.command()
@config_option
def match(config_path):
    """Score every item not yet matched against the active briefs; queue alert mail.

    Example: leaksentry match
    """
    from leaksentry import jobs

    config = load_config(config_path)
    store, vault = open_store_and_vault(config)
    with store:
        report = _match(config, store, vault)
        queued = jobs.notify_alerts(config, store)
    click.echo(f"match: {report}; {queued} message(s) queued")


@cli.command()
@config_option
def send(config_path):
    """Send queued alerts by SMTP; what fails stays queued for the next run.

    Example: leaksentry send
    """
    from leaksentry import jobs

    config = load_config(config_path)
    with open_store(config) as store:
        report = jobs.send_queued(config, store)
    click.echo(f"send: {report}")
    for error in report.errors:
        click.echo(f"  {error}", err=True)


@cli.command()
@config_option
def cycle(config_path):
    """One full cycle now: crawl every enabled source, match, send.

    Example: leaksentry cycle --config leaksentry.toml
    """
    from leaksentry import jobs

    config = load_config(config_path)
    store, vault = open_store_and_vault(config)
    with store:
        sources = [s for s in config.sources if s.enabled]
        # What the crawl stores is matched as it comes, a full batch at a time (the model is
        # loaded when the first is ready, while the crawl goes on), then the rest.
        run = jobs.MatchRun(config, store, lambda: vault, lambda: _matcher(config, store))
        _print_crawl(
            jobs.crawl(config, sources, store, terse=True, meanwhile=lambda: run.step(whole=False))
        )
        click.echo(f"match: {run.complete()}")
        click.echo(f"notify: {jobs.notify_alerts(config, store)} message(s) queued")
        sent = jobs.send_queued(config, store)
        click.echo(f"send: {sent}")
        for error in sent.errors:
            click.echo(f"  {error}", err=True)


@cli.command()
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Log every step and Scrapy's own messages, with tracebacks (default: steps and errors).",
)
@config_option
def run(verbose, config_path):
    """Run as a service: each source at its interval, then match, then send. Stop with Ctrl-C
    or SIGTERM; the current step finishes or is abandoned without damage.

    Example: leaksentry run --config /etc/leaksentry/leaksentry.toml
    """
    import scheduler

    config = load_config(config_path)
    run_logging(config, verbose)
    scheduler.serve(config, verbose=verbose)


@cli.command()
@click.option(
    "--queues",
    default="crawl,match,send",
    show_default=True,
    help="The queues this worker takes tasks from (comma-separated).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    help="Worker processes (default: one per CPU core); each loads the model once.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log Celery's details too (debugging).")
@config_option
def worker(queues, concurrency, verbose, config_path):
    """Run a Celery worker: crawl, match and send tasks that `leaksentry run` enqueues when
    [cluster] broker is set (PostgreSQL store needed). Start as many as the stream needs, on
    any machine that reaches the store and the broker; stop with SIGTERM (tasks finish).

    Example: leaksentry worker --queues match,send --concurrency 2
    """
    from leaksentry.cluster.worker import parse_queues, run_worker

    config = load_config(config_path)
    run_worker(config, parse_queues(queues), concurrency, verbose)


OUR_LOGGERS = ("leaksentry", "matcher", "spiders", "scheduler")


def run_logging(config: Config, verbose: bool) -> None:
    """The service's log: each step (INFO) to the log file, else to the terminal; with a log
    file, the terminal still shows warnings and errors, and where the rest goes. -v adds our
    own details (DEBUG); libraries (the scheduler's internals, HTTP, the model) stay at
    warnings either way, and a failed job's traceback is shown only with -v."""
    from leaksentry.logfile import private_log_handler

    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    terminal = logging.StreamHandler(sys.stderr)
    terminal.setFormatter(formatter)
    root = logging.getLogger()
    root.setLevel(logging.WARNING)
    root.addHandler(terminal)
    if config.log_file:
        log_file = private_log_handler(config.log_file)
        log_file.setFormatter(formatter)
        root.addHandler(log_file)
        terminal.setLevel(logging.WARNING)
        click.echo(
            f"leaksentry run: log: {config.log_file} (warnings and errors here too)", err=True
        )
    for name in OUR_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # scheduler.py logs one line per failed job; the traceback only when verbose
    logging.getLogger("apscheduler.executors").setLevel(
        logging.ERROR if verbose else logging.CRITICAL
    )


# -- inspection and files -----------------------------------------------------------------------
@cli.command()
@click.option(
    "--status",
    type=click.Choice(["open", "confirmed", "dismissed"]),
    help="Only alerts with this verdict status.",
)
@config_option
def alerts(status, config_path):
    """List alerts (one per story exposing a brief) and the delivery state of their mail.

    Example: leaksentry alerts --status open
    """
    config = load_config(config_path)
    with open_store(config) as store:
        rows = store.alert_rows(status)
        codenames = {row["id"]: row["codename"] for row in store.brief_rows()}
        messages = store.message_rows()
        urls = store.story_urls()
    if not rows:
        click.echo("no alerts")
    for row in rows:
        sites = len(json.loads(row["domains"]))
        flags = " retro" if row["retro"] else ""
        click.echo(
            f"{row['id']:>4} {row['status']:<9} {row['severity']:<4} "
            f"{codenames.get(row['brief_id'], row['brief_id']):<18} score {row['max_score']:.2f} "
            f"{row['items']} item(s) on {sites} site(s){flags}"
            + (f" {urls[row['id']]}" if row["id"] in urls else "")
        )
        for message in (m for m in messages if m["alert_id"] == row["id"]):
            error = f" ({message['last_error']})" if message["last_error"] else ""
            click.echo(
                f"       mail {message['id']} {message['kind']:<9} {message['state']:<6} "
                f"tries {message['attempts']}{error}"
            )
        if row["verdict_by"]:
            click.echo(f"       {row['status']} by {row['verdict_by']} at {row['verdict_at']}")
    undelivered = [m for m in messages if m["state"] == "failed"]
    for message in undelivered:
        click.echo(f"FAILED mail {message['id']}: {message['subject']} ({message['last_error']})")


@cli.group(cls=Group)
def alert():
    """Record an operator's verdict on an alert."""


def _verdict(alert_id: int, status: str, who: str | None, note: str | None, config_path):
    import getpass

    config = load_config(config_path)
    with open_store(config) as store:
        if store.alert_row(alert_id) is None:
            raise click.ClickException(f"no alert with id {alert_id}")
        store.set_verdict(alert_id, status, who or getpass.getuser(), note)
    click.echo(f"alert {alert_id} {status}")


@alert.command("confirm")
@click.argument("alert_id", type=int)
@click.option("--by", "who", help="Who decides (default: the login name).")
@click.option("--note", help="Why, for the audit log.")
@config_option
def alert_confirm(alert_id, who, note, config_path):
    """Confirm that an alert is a real exposure (recorded with who and when).

    Example: leaksentry alert confirm 12 --note "post names the street and time"
    """
    _verdict(alert_id, "confirmed", who, note, config_path)


@alert.command("dismiss")
@click.argument("alert_id", type=int)
@click.option("--by", "who", help="Who decides (default: the login name).")
@click.option("--note", help="Why, for the audit log.")
@config_option
def alert_dismiss(alert_id, who, note, config_path):
    """Dismiss an alert: its story stops alerting (recorded with who and when).

    Example: leaksentry alert dismiss 12 --note "another operation, same street"
    """
    _verdict(alert_id, "dismissed", who, note, config_path)


@alert.command("detach")
@click.argument("alert_id", type=int)
@click.argument("item_id")
@click.option("--by", "who", help="Who decides (default: the login name).")
@click.option("--note", help="Why, for the audit log.")
@config_option
def alert_detach(alert_id, item_id, who, note, config_path):
    """Take one item out of an alert's story: it becomes an alert of its own (audited).

    The alert's details, sites and score are worked out again from the items that stay.

    Example: leaksentry alert detach 12 i3f2a9c0d1e4b5a6 --note "another port's story"
    """
    import getpass

    from leaksentry.alerts.exposures import AlertSettings, detach

    config = load_config(config_path)
    with open_store(config) as store:
        settings = AlertSettings.from_dict(config.alerts)
        new_id = detach(store, alert_id, item_id, who or getpass.getuser(), note, settings)
    click.echo(f"item {item_id} taken out of alert {alert_id}: now alert {new_id}")


@cli.command()
@click.option(
    "--send", "send_now", is_flag=True, help="Queue the digest for every recipient and send."
)
@config_option
def digest(send_now, config_path):
    """Render the daily digest now: low-severity alerts, open alerts, undelivered mail and
    sources that could not be read. With --send, mail it to every recipient.

    Example: leaksentry digest --send
    """
    from leaksentry import jobs
    from leaksentry.alerts import digest as digests

    config = load_config(config_path)
    with open_store(config) as store:
        click.echo(digests.build(config, store)[0].body_text)
        if send_now:
            queued = digests.queue(config, store)
            report = jobs.send_queued(config, store)
            click.echo(f"digest: {queued} queued; send: {report}")
            for error in report.errors:
                click.echo(f"  {error}", err=True)


@cli.group(cls=Group)
def export():
    """Export stored data as JSON Lines."""


@export.command("items")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Output .jsonl file.")
@config_option
def export_items(out, config_path):
    """Write every stored item in the public Item format, one JSON object per line.

    Example: leaksentry export items --out items.jsonl
    """
    config = load_config(config_path)
    folder = Path(out).parent
    if not folder.is_dir():
        raise click.ClickException(
            f"cannot write {out}: the folder {folder} does not exist; create it first "
            f"(mkdir -p {folder}) or choose another --out"
        )
    count = 0
    with open_store(config) as store, Path(out).open("w", encoding="utf-8") as handle:
        for item in store.items():
            handle.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
            count += 1
    click.echo(f"wrote {count} items to {out}")


@cli.group(cls=Group)
def config():
    """Check the configuration file."""


@config.command("check")
@config_option
def config_check(config_path):
    """Validate the whole configuration (every table, key and value, and the sources file)
    without loading the model or fetching anything; report every problem in one run.

    Each problem is one line: the file, the key, what is wrong and what to do. Exit status 0
    when the configuration loads, 1 when it has problems. Every other command refuses a
    configuration with problems the same way, before it loads the model.

    Example: leaksentry config check --config /etc/leaksentry/leaksentry.toml
    """
    from leaksentry.config import config_problems

    problems = config_problems(config_path)
    if problems:
        for problem in problems:
            click.echo(f"problem: {problem}")
        click.echo(f"configuration: {len(problems)} problem(s); fix them and check again")
        sys.exit(1)
    config = load_config(config_path)
    enabled = sum(s.enabled for s in config.sources)
    click.echo(
        f"configuration OK: {config.path or 'defaults'}; {len(config.sources)} source(s), "
        f"{enabled} enabled"
    )


@cli.group(cls=Group)
def sources():
    """Check the configured sources."""


@sources.command("check")
@config_option
def sources_check(config_path):
    """Validate the configuration and sources file without fetching anything.

    Also warns when a query (or hashtag, actor, channel) sent to a third party contains a
    distinctive term of an active brief's details: queries must never be derived from briefs.

    Example: leaksentry sources check --config leaksentry.toml
    """
    from leaksentry.querycheck import check_queries

    config = load_config(config_path)
    warnings = check_queries(config.sources, _active_briefs_if_any(config))
    for source in config.sources:
        state = "enabled" if source.enabled else "disabled"
        click.echo(
            f"{source.name:<20} {source.kind:<8} every {source.every:>5}s {state:<8} {source.url}"
        )
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(
        f"{len(config.sources)} source(s) OK"
        + (f", {len(warnings)} warning(s)" if warnings else "")
    )


def _active_briefs_if_any(config: Config) -> list:
    """Active briefs opened in memory; none (with a note) when there is no brief or no key."""
    from leaksentry.jobs import active_briefs
    from leaksentry.storage import is_postgres
    from leaksentry.vault import open_vault

    if not is_postgres(config.database) and not config.database.exists():
        return []
    with open_store(config) as store:
        if not store.brief_rows(status="active"):
            return []
        try:
            return active_briefs(store, open_vault(config, store))
        except LeaksentryError as exc:
            click.echo(f"note: queries not checked against briefs: {exc}", err=True)
            return []


@sources.command("status")
@config_option
def sources_status(config_path):
    """Coverage health per source: last success, last error, HTTP statuses, items per run,
    pages blocked by robots.txt, pages that look truncated (paywall).

    A source that is failing, stale or never crawled is one where "no alert" means "no data".

    Example: leaksentry sources status
    """
    from leaksentry.coverage import source_health

    config = load_config(config_path)
    with open_store(config) as store:
        report = source_health(config, store)
    if not report:
        click.echo("no sources configured")
    for health in report:
        statuses = " ".join(f"{code}x{n}" for code, n in sorted(health.statuses.items())) or "-"
        click.echo(f"{health.name:<20} {health.kind:<10} {health.health.upper()}")
        click.echo(
            f"    last success {health.last_success or 'never'}; items last run "
            f"{health.items_last_run}, per run {health.items_per_run:.1f}, stored "
            f"{health.items_stored}; HTTP {statuses}; robots.txt blocked "
            f"{health.robots_blocked}; truncated {health.truncated}"
        )
        if health.last_error:
            click.echo(f"    last error: {health.last_error}")
    if any(h.health in ("failing", "stale", "never crawled") for h in report):
        sys.exit(3)


@cli.command("backup")
@click.argument("out", type=click.Path(dir_okay=False))
@config_option
def backup_command(out, config_path):
    """Copy the database to OUT, consistently, while the service runs (briefs stay sealed).

    The key is not in the copy: keep it apart from the backups. To restore, stop the service
    and put the copy in place of the database; it opens with the key of the day it was made.

    Example: leaksentry backup /srv/backups/leaksentry-2026-11-28.db
    """
    from leaksentry.backup import backup

    report = backup(load_config(config_path), out)
    click.echo(
        f"backup: {report.path} ({report.size / 2**20:.1f} MiB, {report.items} items, "
        f"{report.briefs} sealed briefs); the key is not in it"
    )


@cli.group(cls=Group)
def store():
    """Move the store between backends (SQLite, PostgreSQL)."""


@store.command("migrate")
@click.option(
    "--to",
    "url",
    required=True,
    metavar="URL",
    help="The PostgreSQL database to fill: postgresql://user@host:5432/db (must be empty; "
    "a password is better in PGPASSWORD or ~/.pgpass).",
)
@click.option(
    "--batch",
    "batch_rows",
    default=2000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Rows per batch (one progress line each).",
)
@config_option
def store_migrate(url, batch_rows, config_path):
    """Copy the configured SQLite installation into an empty PostgreSQL database.

    Every table is copied in one transaction and each table's row count checked before it
    commits: a failed copy leaves the target empty. Sealed briefs stay sealed (their
    encrypted bytes are copied; the same key file opens them). Stop the service first; the
    SQLite file is only read and stays as it was. Afterwards, set `database` in the
    configuration to the URL (docs/SCALING.md, "Moving").

    Example: leaksentry store migrate --to postgresql://leaksentry@db.example.org/leaksentry
    """
    from leaksentry.storage import describe
    from leaksentry.storage.copy import copy_to_postgres, without_password

    config = load_config(config_path)
    click.echo(f"copying {config.database} into {describe(url)}")
    report = copy_to_postgres(
        config.database, url, batch_rows, progress=lambda line: click.echo(f"  {line}")
    )
    click.echo(f"verified: the same row count in both, per table ({report.rows} rows):")
    width = max(len(table) for table in report.counts)
    for table, count in report.counts.items():
        click.echo(f"  {table:<{width}}  {count}")
    where = config.path or "the configuration"
    click.echo(
        f'done. Now set database = "{without_password(url)}" in {where} '
        "(or LEAKSENTRY_DATABASE) and keep key_file as it is"
        + ("; the password goes in PGPASSWORD or ~/.pgpass" if "***" in report.target else "")
    )


@cli.command()
@click.option("--dry-run", is_flag=True, help="Count what would go; delete nothing.")
@config_option
def purge(dry_run, config_path):
    """Delete what [retention] no longer keeps: old unmatched items (with their vectors,
    signatures, raw captures, search rows) and old run figures. Matched items, alerts, the
    outbox and the audit log stay. The service does this daily.

    Example: leaksentry purge --dry-run
    """
    from leaksentry import jobs

    config = load_config(config_path)
    with open_store(config) as store:
        counts = jobs.purge(config, store, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    click.echo(
        f"purge: {verb} {counts['items']} item(s), {counts['raw_captures']} raw capture(s), "
        f"{counts['vectors']} cached vector(s), {counts['runs']} run record(s)"
    )


@cli.command()
@config_option
def health(config_path):
    """Can leaksentry see leaks right now? Disk, sources, the service's last runs, mail, briefs.

    Exit status 0 when nothing needs a person, 3 when something does (for cron or a monitoring
    system), each problem on its own line.

    Example: leaksentry health || mail -s "leaksentry needs a look" ops@example.org
    """
    from leaksentry import health as checks

    config = load_config(config_path)
    with open_store(config) as store:
        report = checks.check(config, store)
    for topic, text in report.lines:
        click.echo(f"{topic:<8} {text}")
    if report.ok:
        click.echo("health: ok")
        return
    click.echo(f"health: {len(report.problems)} problem(s)")
    for _topic, problem in report.problems:
        click.echo(f"  - {problem}")
    sys.exit(3)


@cli.command()
@click.option(
    "--briefs",
    "briefs_paths",
    required=True,
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Briefs file (.jsonl, .json or .toml; repeatable).",
)
@click.option(
    "--items",
    "item_paths",
    required=True,
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Items JSON Lines file (repeatable).",
)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Alerts JSONL out.")
@click.option(
    "--background",
    "background_paths",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Items of an unrelated stream to calibrate on (repeatable; default: the input).",
)
@click.option(
    "--all-scores",
    is_flag=True,
    help="Also write the pairs that do not alert, with an 'alert' field: every pair is scored, "
    "but only pairs scoring at least [matcher] candidate_floor (default 0.05) are written; set "
    "candidate_floor = 0 to write every pair.",
)
@click.option("--model", help="Model name or folder (default: the configured model).")
@config_option
def backtest(briefs_paths, item_paths, out, background_paths, all_scores, model, config_path):
    """Run the live decision over files, with no database and no network.

    Writes one JSON line per (brief, item) it would alert on: brief_id, item_id, score,
    details_matched, evidence. details_matched holds 0-based indices into the brief's
    details (the public alert-line format): index 0 is detail 1, shown "#1" in mail, on the
    triage page and on the command line. The background model (how rarely unrelated items come close to
    each brief) is measured on --background files when given, else on the input itself.

    Example: leaksentry backtest --briefs b.jsonl --items i.jsonl --items posts.jsonl --out a.jsonl
    """
    from leaksentry.backtest import run_backtest
    from matcher.scoring import MatcherSettings

    config = load_config(config_path)
    summary = run_backtest(
        list(briefs_paths),
        list(item_paths),
        out,
        model or config.model,
        MatcherSettings.from_dict(config.matcher),
        all_scores=all_scores,
        progress=sys.stderr.isatty(),
        background_paths=list(background_paths) or None,
    )
    click.echo(
        f"{summary.briefs} briefs x {summary.items} items: {summary.alerts} alerts "
        f"({summary.lines} lines) in {summary.seconds:.1f}s (model load {summary.load_seconds:.1f}s)"
        f" -> {out}"
    )


@cli.command()
@click.option(
    "--data-dir", type=click.Path(file_okay=False), help="Demo folder (default data/demo)."
)
def demo(data_dir):
    """Full crawl -> match -> alert cycle on the bundled fictional site, with a local SMTP server.

    Everything it writes goes under data/demo/out/ (database, key, log, received .eml mails).

    Example: leaksentry demo
    """
    from leaksentry.demo import run_demo

    run_demo(Path(data_dir) if data_dir else None, echo=click.echo)


def _matcher(config: Config, store):
    from leaksentry import jobs

    click.echo(f"loading model {config.model}...", err=True)
    return jobs.make_matcher(config, store)


def _match(config: Config, store, vault):
    from leaksentry import jobs

    return jobs.match_new(config, store, vault, _matcher(config, store))


def _print_crawl(report) -> None:
    for name, result in report.counts.get("results", {}).items():
        status = "ok" if result["ok"] else f"ERROR {result['error']}"
        click.echo(
            f"crawl {name}: stored {result['stored']}, known {result['already_stored']}, "
            f"duplicates {result['duplicates']}, malformed {result['malformed']}, "
            f"failed pages {result['failed_pages']}: {status}"
        )
        if not result["ok"]:  # and one line on stderr, beside the logs
            click.echo(f"crawl {name}: ERROR {result['error']}", err=True)
    for error in report.errors:
        if not report.counts.get("results"):
            click.echo(f"crawl: ERROR {error}", err=True)


# -- the triage page ----------------------------------------------------------------------------
@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8450, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--link-days",
    default=14.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Days a signed link in an alert mail stays valid.",
)
@config_option
def serve(host, port, link_days, config_path):
    """Run the triage page: alerts with their stories, verdicts, briefs, coverage, audit log.

    Operators log in (`leaksentry operator add`). Set [alerts] base_url to the address
    operators use, so that alert mail carries signed links to each alert.

    Example: leaksentry serve --port 8450
    """
    from leaksentry.web.server import serve as serve_page

    serve_page(load_config(config_path), host, port, link_days, echo=click.echo)


@cli.group(cls=Group)
def operator():
    """Add and list the operators who log in to the triage page, and grant or revoke the
    briefs each one may see."""


def brief_options(all_help: str = "Every brief, including briefs added later."):
    def decorate(function):
        function = click.option("--all-briefs", is_flag=True, help=all_help)(function)
        return click.option(
            "--brief",
            "brief_refs",
            multiple=True,
            metavar="ID",
            help="A brief, by id or codename (repeatable).",
        )(function)

    return decorate


def _rights(store, brief_refs, all_briefs, required: bool):
    """Rights from --brief/--all-briefs; None when neither is given and neither is required."""
    from leaksentry.web.operators import EVERY_BRIEF, Rights, resolve_briefs

    if brief_refs and all_briefs:
        raise click.UsageError("give --brief or --all-briefs, not both")
    if all_briefs:
        return EVERY_BRIEF
    if brief_refs:
        return Rights(brief_ids=frozenset(resolve_briefs(store, brief_refs)))
    if required:
        raise click.UsageError("give --brief ID (repeatable) or --all-briefs")
    return None


@operator.command("add")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--replace", is_flag=True, help="Give a known operator a new password.")
@brief_options()
@config_option
def operator_add(name, password_stdin, replace, brief_refs, all_briefs, config_path):
    """Add an operator (the password is asked twice and stored as an argon2 hash).

    The operator sees only the briefs given with --brief (id or codename, repeatable) or, with
    --all-briefs, every brief; with neither, none until `leaksentry operator grant`. A new
    password (--replace) ends the operator's open sessions and keeps its briefs.

    Example: leaksentry operator add ana --brief T-DOCK --brief "QUIET ORCHARD"
    """
    from leaksentry.web.operators import add_operator, codenames

    config = load_config(config_path)
    with open_store(config) as store:
        rights = _rights(store, brief_refs, all_briefs, required=False)
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        new = add_operator(store, name, password, replace=replace, rights=rights)
        shown = rights.describe(codenames(store)) if rights is not None else "none"
    if not new:
        click.echo(f"new password for operator {name}")
    elif shown == "none":
        click.echo(
            f"added operator {name} with no briefs: it sees no alert until "
            f"`leaksentry operator grant {name} --brief ID` (or --all-briefs)"
        )
    else:
        click.echo(f"added operator {name}; briefs: {shown}")


@operator.command("grant")
@click.argument("name")
@brief_options()
@config_option
def operator_grant(name, brief_refs, all_briefs, config_path):
    """Let an operator see more briefs (their alerts, evidence and verdicts) on the triage page.

    Recorded in the audit log; effective on the operator's next request.

    Example: leaksentry operator grant ana --brief T-DOCK
    """
    from leaksentry.web.operators import grant

    _change_rights(grant, name, brief_refs, all_briefs, config_path)


@operator.command("revoke")
@click.argument("name")
@brief_options("Every brief the operator has: it keeps none.")
@config_option
def operator_revoke(name, brief_refs, all_briefs, config_path):
    """Take briefs away from an operator (--all-briefs: every brief it has).

    Recorded in the audit log; effective on the operator's next request, without logging out.
    An operator with every brief loses them all with --all-briefs; then grant what it keeps.

    Example: leaksentry operator revoke ana --brief "AMBER KESTREL"
    """
    from leaksentry.web.operators import revoke

    _change_rights(revoke, name, brief_refs, all_briefs, config_path)


def _change_rights(change, name, brief_refs, all_briefs, config_path) -> None:
    """Grant or revoke (``change``), then show what the operator has now."""
    from leaksentry.web.operators import codenames

    config = load_config(config_path)
    with open_store(config) as store:
        rights = _rights(store, brief_refs, all_briefs, required=True)
        after, changed = change(store, name, rights)
        shown = after.describe(codenames(store))
    click.echo(f"{name} briefs: {shown}" + ("" if changed else " (unchanged)"))


@operator.command("list")
@config_option
def operator_list(config_path):
    """List operators: name, when added, last login, briefs (never a password or hash).

    Example: leaksentry operator list
    """
    from leaksentry.web.operators import Rights, codenames

    config = load_config(config_path)
    with open_store(config) as store:
        rows = store.operator_rows()
        names = codenames(store)
    if not rows:
        click.echo("no operators")
    for row in rows:
        click.echo(
            f"{row['name']:<20} added {row['created_at']}  last login "
            f"{row['last_login_at'] or 'never'}  briefs: {Rights.parse(row['briefs']).describe(names)}"
        )
