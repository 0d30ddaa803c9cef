"""Is leaksentry itself able to see leaks right now? One report for people and for monitoring.

An unattended watcher that silently stopped watching is worse than none: the organisation
believes it would be told. `leaksentry health` answers from what the running service leaves
behind (runs, sources, outbox) and the disk, and exits 3 when something needs a person, so a
monitoring system (cron, Nagios, systemd) can page someone.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from leaksentry import clock, diskspace
from leaksentry.config import Config
from leaksentry.coverage import source_health
from leaksentry.records import parse_iso_datetime
from leaksentry.storage import Store

IDLE_AFTER_INTERVALS = 3  # no crawl finished for this many of the shortest interval: not running


@dataclass
class Health:
    lines: list[tuple[str, str]] = field(default_factory=list)  # (topic, what is true now)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (topic, what needs a person)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(
    config: Config,
    store: Store,
    now: datetime | None = None,
    sources: list | None = None,
    briefs: Collection[str] | None = None,
) -> Health:
    """`sources`: the coverage report when the caller already has it (source_health).

    `briefs`: the report for a reader who may see only these briefs (the triage page): mail
    only about them (a mail's error names its recipients, its subject the codename; digests
    cover several briefs), and no count of briefs. None: everything (the CLI, monitoring).
    """
    now = now or clock.now()
    health = Health()
    _disk(config, health)
    _sources(sources if sources is not None else source_health(config, store, now), health)
    _service(config, store, now, health)
    _mail(store, health, briefs)
    if briefs is None:
        _briefs(store, health)
    from leaksentry.jobs import calibration_note

    health.lines.append(("matcher", calibration_note(store)[0]))
    return health


def readable(message: dict, briefs: Collection[str] | None) -> bool:
    """May a reader of these briefs (None: every brief) see this outbox row?"""
    return briefs is None or message.get("brief_id") in briefs


def _disk(config: Config, health: Health) -> None:
    space = diskspace.measure(config)
    if space.low:
        health.lines.append(("disk", diskspace.paused_message(space)))
        health.problems.append(("disk", "disk nearly full: crawling is paused"))
    else:
        health.lines.append(("disk", f"ok: {space.describe()}"))


def _sources(coverage: list, health: Health) -> None:
    report = [h for h in coverage if h.health != "disabled"]
    unseen = [h for h in report if h.health != "ok"]
    if not report:
        health.lines.append(("sources", "none enabled: nothing is being watched"))
        health.problems.append(("sources", "no source enabled"))
        return
    text = f"{len(report) - len(unseen)} of {len(report)} read"
    if unseen:
        text += "; not read: " + ", ".join(f"{h.name} ({h.health})" for h in unseen)
        health.problems.append(("sources", f"{len(unseen)} source(s) not read"))
    health.lines.append(("sources", text))


def _service(config: Config, store: Store, now: datetime, health: Health) -> None:
    last = {job: store.last_finished_run(job) for job in ("crawl", "match", "send")}
    text = "; ".join(
        f"last {job} {_ago(row['finished_at'], now) if row else 'never'}"
        for job, row in last.items()
    )
    health.lines.append(("service", text))
    intervals = [s.every for s in config.sources if s.enabled]
    crawled = parse_iso_datetime(last["crawl"]["finished_at"]) if last["crawl"] else None
    if intervals and crawled is None:
        health.problems.append(("service", "never crawled: is `leaksentry run` running?"))
    elif intervals and (now - crawled).total_seconds() > IDLE_AFTER_INTERVALS * min(intervals):
        idle = _span((now - crawled).total_seconds())
        health.problems.append(
            (
                "service",
                f"no crawl for {idle}: is `leaksentry run` running (or the disk nearly full)?",
            )
        )


def _mail(store: Store, health: Health, briefs: Collection[str] | None) -> None:
    queued = [m for m in store.message_rows("queued") if readable(m, briefs)]
    failed = [m for m in store.message_rows("failed") if readable(m, briefs)]
    text = f"{len(queued)} queued, {len(failed)} failed"
    stuck = [row for row in queued if row.get("last_error")]
    if stuck:
        text += f"; last problem: {stuck[-1]['last_error']}"
        health.problems.append(("mail", f"{len(stuck)} mail(s) waiting on a delivery problem"))
    if failed:
        health.problems.append(("mail", f"{len(failed)} mail(s) failed: see `leaksentry alerts`"))
    health.lines.append(("mail", text))


def _briefs(store: Store, health: Health) -> None:
    from leaksentry.briefs import status_of

    active = store.brief_rows("active")
    ended = sum(status_of(row) == "ended" for row in active)
    open_alerts = store.alert_rows("open")
    shown = f"{len(active) - ended} active" + (f", {ended} ended (window past)" if ended else "")
    health.lines.append(("briefs", f"{shown}; {len(open_alerts)} open alert(s)"))
    if not active:
        health.problems.append(("briefs", "no active brief: nothing to compare with"))


def _ago(stamp: str, now: datetime) -> str:
    return f"{stamp} ({_span((now - parse_iso_datetime(stamp)).total_seconds())} ago)"


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} s"
