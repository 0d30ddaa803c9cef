"""The steps of a cycle as plain functions: crawl, match, send. The CLI and the scheduler call them.

Each step reads its input from the store and writes its output there before the next step
acts, so a step can be re-run after a crash without loss or duplicates.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import logging
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from leaksentry import clock, diskspace
from leaksentry.alerts import channels, notify
from leaksentry.alerts.exposures import AlertSettings, attach
from leaksentry.alerts.mailer import Mailer, build_message
from leaksentry.briefs import open_brief
from leaksentry.config import Config, Source
from leaksentry.errors import DeliveryError, LeaksentryError, SmtpUnavailable
from leaksentry.querycheck import distinctive_terms
from leaksentry.records import Item
from leaksentry.storage import Store, now
from leaksentry.vault import DERIVED_SEALED_META, Vault, sealing, vectors_context

log = logging.getLogger("leaksentry")
MATCH_BATCH = 256
GIVE_UP_AFTER_REFUSALS = 5  # a message the server keeps refusing is marked failed, never dropped
RETRY_SECONDS = 60  # back-off after a refusal: 1, 2, 4, 8 minutes
CRAWL_TIMEOUT_SECONDS = 30 * 60


@dataclass
class StepReport:
    """What a step did, for progress output and the runs table."""

    counts: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = ", ".join(f"{key} {value}" for key, value in self.counts.items())
        return text + (f"; {len(self.errors)} error(s)" if self.errors else "")


# -- crawl --------------------------------------------------------------------------------------
def crawl(
    config: Config,
    sources: list[Source],
    store: Store,
    should_stop=lambda: False,
    log_level: str = "WARNING",
    log_file: Path | None = None,
    terse: bool = False,
    meanwhile=None,
    standby: Standby | None = None,
) -> StepReport:
    """Crawl the given sources once, in a child process (a fresh Twisted reactor each time):
    the one `standby` has waiting, if any, else a new one.

    terse: the child logs no Scrapy internals and no tracebacks (the command line's default).

    meanwhile: called about every half second while the child runs (the service and `cycle`
    match what it stored so far: see ``MatchRun``). If it fails, it is not called again in
    this crawl and the crawl goes on; the match after the crawl meets the same failure.

    When should_stop() turns true the child is asked to stop (SIGTERM): Scrapy closes the
    spiders cleanly and whatever was stored stays stored.
    """
    report = StepReport({"sources": len(sources), "stored": 0})
    if not sources:
        return report
    space = diskspace.measure(config)
    if space.low:  # nothing is written: the run itself would take room (see diskspace.py)
        report.counts["paused"] = 1
        report.errors.append(diskspace.paused_message(space))
        return report
    run_id = store.start_run("crawl", ",".join(s.name for s in sources))
    arguments = ["--log-level", log_level]
    if log_file:
        arguments += ["--log-file", str(log_file)]
    if terse:
        arguments.append("--terse")
    if config.path:
        arguments += ["--config", str(config.path)]
    for source in sources:
        arguments += ["--source", source.name]
    started = now()
    output, status, stopped = _run_child(arguments, should_stop, meanwhile, standby)
    if stopped:
        report.errors.append(f"crawl {stopped} (exit status {status})")
    try:
        lines = output.strip().splitlines()
        if status != 0 or not lines:
            raise LeaksentryError(f"crawl process exited with status {status}")
        results = json.loads(lines[-1])["sources"]
    except (LeaksentryError, json.JSONDecodeError, KeyError, TypeError) as exc:
        # no report from the crawl (killed, crashed): what it stored is counted in the store
        report.counts["stored"] = store.items_stored_since([s.name for s in sources], started)
        if not stopped:
            report.errors.append(str(exc))
        store.finish_run(run_id, "error", report.counts["stored"], "; ".join(report.errors))
        return report
    for name, result in results.items():
        report.counts["stored"] += result["stored"]
        if not result["ok"]:
            report.errors.append(f"{name}: {result['error']}")
    report.counts["results"] = results
    store.finish_run(
        run_id,
        "ok" if not report.errors else "error",
        report.counts["stored"],
        "; ".join(report.errors) or None,
    )
    return report


SECRET_VARIABLES = ("LEAKSENTRY_KEY", "LEAKSENTRY_SMTP_USER", "LEAKSENTRY_SMTP_PASSWORD")


def crawl_environment() -> dict[str, str]:
    """This process's environment without leaksentry's secrets: spiders never need the key,
    the SMTP login or a chat channel's URL, so a crawl process cannot leak them."""
    return {
        name: value
        for name, value in os.environ.items()
        if name not in SECRET_VARIABLES and not name.startswith("LEAKSENTRY_CHANNEL_")
    }


CRAWL_MODULE = [sys.executable, "-m", "spiders.crawl"]


def _start_crawl_process(arguments: list[str], stdin=None) -> subprocess.Popen:
    env = crawl_environment() | {"LEAKSENTRY_CRAWL_PARENT": str(os.getpid())}  # see spiders.crawl
    # umask 077: the log file it may create (after logrotate moved it) is private (0600)
    return subprocess.Popen(
        CRAWL_MODULE + arguments,
        stdin=stdin,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        umask=0o077,
    )


class Standby:
    """One crawl process started ahead of time, its imports done, waiting for its arguments
    (``spiders.crawl --standby``). The service keeps one, started when the model is loaded
    and again after each crawl, so the next crawl skips the half second of imports and the
    model does not wait for it. `take` gives it away (None if there is none, or it died);
    `close` ends a waiting one (closing its stdin: it exits)."""

    def __init__(self, config: Config):
        self._lock = threading.Lock()
        self._waiting: subprocess.Popen | None = None
        # the configuration is named only so `ps` tells whose crawl process it is
        self._arguments = ["--standby"] + (["--config", str(config.path)] if config.path else [])

    def prepare(self) -> None:
        with self._lock:
            if self._waiting is None or self._waiting.poll() is not None:
                self._waiting = _start_crawl_process(self._arguments, stdin=subprocess.PIPE)

    def take(self, arguments: list[str]) -> subprocess.Popen | None:
        """The waiting process, running the crawl of these arguments."""
        with self._lock:
            child, self._waiting = self._waiting, None
        if child is None:
            return None
        try:
            child.stdin.write(json.dumps(arguments) + "\n")
            child.stdin.close()
            child.stdin = None  # communicate() would flush it again
        except OSError:  # it died meanwhile (its parent thread ended, a signal): start anew
            child.wait()
            return None
        return child

    def close(self) -> None:
        with self._lock:
            child, self._waiting = self._waiting, None
        if child is not None:
            child.stdin.close()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            child.stdout.close()


def _run_child(
    arguments: list[str], should_stop, meanwhile=None, standby: Standby | None = None
) -> tuple[str, int, str | None]:
    """Run the crawl process (the standby's, if it has one waiting); stop it on request or
    after CRAWL_TIMEOUT_SECONDS; call `meanwhile` between checks.

    Returns its output, its exit status and, when it was stopped, why ("stopped" or "timed
    out"). A crawl stopped with SIGTERM still prints its results (what it stored)."""
    child = standby.take(arguments) if standby is not None else None
    if child is None:
        child = _start_crawl_process(arguments)
    waited = 0.0
    while True:
        try:
            output, _ = child.communicate(timeout=0.5)
            return output, child.returncode, None
        except subprocess.TimeoutExpired:
            waited += 0.5
            if meanwhile is not None and not should_stop():
                started = time.monotonic()
                try:
                    meanwhile()
                except Exception as exc:  # noqa: BLE001 (the match after the crawl meets it)
                    log.error("match while crawling stopped: %s", exc)
                    meanwhile = None
                waited += time.monotonic() - started
            if should_stop() or waited > CRAWL_TIMEOUT_SECONDS:
                child.terminate()
                try:
                    output, _ = child.communicate(timeout=30)
                except subprocess.TimeoutExpired:
                    child.kill()
                    output, _ = child.communicate()
                return output or "", child.returncode, "stopped" if should_stop() else "timed out"


# -- match --------------------------------------------------------------------------------------
class StoreVectorCache:
    """The matcher's view of the store's public embeddings cache (item passages only)."""

    def __init__(self, store: Store):
        self.store = store

    def get_vectors(self, keys):
        return self.store.get_vectors(keys)

    def put_vectors(self, vectors):
        self.store.put_vectors(vectors)


def make_matcher(config: Config, store: Store | None = None):
    """The matcher for this configuration (model loaded once per process, then reused)."""
    from matcher import Matcher, MatcherSettings, load_embedder

    return Matcher(
        load_embedder(config.model),
        MatcherSettings.from_dict(config.matcher),
        cache=StoreVectorCache(store) if store is not None else None,
    )


def seal_vectors(vault: Vault, brief_id: str, model: str, vectors: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(vectors, dtype=np.float32), allow_pickle=False)
    return vault.seal(buffer.getvalue(), vectors_context(brief_id, model))


def open_vectors(vault: Vault, brief_id: str, model: str, sealed: bytes) -> np.ndarray:
    raw = vault.open(sealed, vectors_context(brief_id, model))
    return np.load(io.BytesIO(raw), allow_pickle=False)


def active_briefs(store: Store, vault: Vault):
    """Every active brief, opened in memory."""
    return [open_brief(row, vault) for row in store.brief_rows(status="active")]


def prepare_briefs(store: Store, vault: Vault, matcher, briefs) -> list:
    """Prepared briefs for the matcher; their vectors are kept sealed in the store."""
    model = matcher.embedder.name
    prepared = []
    for brief in briefs:
        sealed = store.sealed_brief_vectors(brief.id, model)
        vectors = open_vectors(vault, brief.id, model, sealed) if sealed else None
        ready = matcher.prepare_brief(brief, vectors)
        if vectors is None or vectors.shape != ready.vectors.shape:
            with sealing(vault, store):  # refused if the key was rotated meanwhile
                store.put_sealed_brief_vectors(
                    brief.id, model, seal_vectors(vault, brief.id, model, ready.vectors)
                )
        prepared.append(ready)
    return prepared


@dataclass
class MatchContext:
    """What every batch of a match run needs: the briefs, opened and prepared once."""

    settings: AlertSettings
    brief_rows: dict
    prepared: list


def prepare_match(config: Config, store: Store, vault: Vault, matcher) -> MatchContext:
    """Open and prepare the active briefs, calibrate, and apply the operators' verdicts."""
    briefs = active_briefs(store, vault)
    prepared = prepare_briefs(store, vault, matcher, briefs)
    if briefs and store.count("items") > 0:
        calibrate(store, matcher, prepared, vault)
    matcher.brief_offsets = feedback_offsets(store)
    brief_rows = {row["id"]: row for row in store.brief_rows()}
    return MatchContext(AlertSettings.from_dict(config.alerts), brief_rows, prepared)


def match_batch(store: Store, matcher, context: MatchContext, batch: list[Item], report) -> None:
    """Score one batch and record its matches, alerts and "matched" marks in one transaction."""
    record_batch(store, context, batch, score_batch(matcher, context, batch), report)


def score_batch(matcher, context: MatchContext, batch: list[Item]) -> list:
    prepared = context.prepared
    return matcher.score(prepared, matcher.prepare_items(batch)) if prepared else []


def record_batch(store: Store, context: MatchContext, batch: list[Item], matches, report) -> None:
    """A batch's matches, alerts and "matched" marks, in one transaction (the cluster's match
    task calls it inside the transaction that claimed the batch, under the write lock)."""
    items = {item.id: item for item in batch}
    with store.atomic():
        for match in matches:
            match_id = store.record_match(_match_row(match))
            if match_id is not None and match.alert:
                item = items[match.item_id]
                brief_row = context.brief_rows[match.brief_id]
                attach(store, brief_row, item, match, match_id, context.settings)
            report.counts["matches"] += match_id is not None
        store.mark_matched(items)
    report.counts["items"] += len(batch)


def match_new(
    config: Config, store: Store, vault: Vault, matcher, should_stop=lambda: False
) -> StepReport:
    """Score every item not yet matched against the active briefs; group alerting matches
    into alerts (one per story).

    Works in batches; each batch's matches, alerts and "matched" marks are one transaction,
    so stopping between batches loses nothing and repeats nothing.
    """
    return MatchRun(config, store, lambda: vault, lambda: matcher, should_stop).complete()


class MatchRun:
    """One match step, which may run in parts: while a crawl is storing items, the full
    batches stored so far (``step(whole=False)``), so the model works while the crawl still
    downloads and a leak early in a long crawl is known before its end; then the rest.

    The briefs are opened and prepared, and the matcher calibrated, once, when the first
    batch is matched (`vault` and `matcher` are called then: a crawl that stores nothing
    new loads no model).
    """

    def __init__(self, config: Config, store: Store, vault, matcher, should_stop=lambda: False):
        self.config, self.store, self.should_stop = config, store, should_stop
        self._vault, self._matcher = vault, matcher
        self.report = StepReport({"items": 0, "matches": 0, "alerts": 0})
        self.context: MatchContext | None = None

    def step(self, whole: bool = True) -> bool:
        """Match what is stored and not matched yet, batch by batch; `whole=False` leaves a
        part batch for a later step. Whether any batch was matched."""
        matched = False
        while not self.should_stop() and (batch := self.store.unmatched_items(MATCH_BATCH)):
            if not whole and len(batch) < MATCH_BATCH:
                break
            if self.context is None:
                self.start()
            match_batch(self.store, self.matcher, self.context, batch, self.report)
            matched = True
        return matched

    def start(self) -> None:
        """Open and prepare the briefs, calibrate, and record the run."""
        self.matcher = self._matcher()
        self.run_id = self.store.start_run("match")
        self.context = prepare_match(self.config, self.store, self._vault(), self.matcher)
        self.alerts_before = self.store.count("alerts")

    def complete(self) -> StepReport:
        """The rest, whole, and the report; the run is recorded, and the matcher
        calibrated, even when nothing was new."""
        if self.context is None:
            self.start()
        self.step()
        return self.finish()

    def finish(self) -> StepReport:
        """The report of every step (and the run recorded in the store, if one started)."""
        if self.context is not None:
            self.report.counts["alerts"] = self.store.count("alerts") - self.alerts_before
            self.store.finish_run(self.run_id, "ok", self.report.counts["alerts"])
        return self.report


RETRO_CANDIDATES = 400  # items the full matcher reads per new brief in the retro-check


def retro_check(config: Config, store: Store, vault: Vault, matcher, brief_ids) -> StepReport:
    """Has a newly added brief already leaked? Search the stored backlog and report at once.

    First stage: the store's full-text index, asked for the brief's names and numbers (in
    process; nothing leaves the machine). Second stage: the matcher, with every active brief
    (scores compare an item across briefs), on those candidates. Alerts are marked retro.
    The window applies as always: coverage after `active_until` is a report.
    """
    report = StepReport({"candidates": 0, "matches": 0, "alerts": 0})
    settings = AlertSettings.from_dict(config.alerts)
    briefs = active_briefs(store, vault)
    new = [brief for brief in briefs if brief.id in set(brief_ids)]
    if not new:
        return report
    prepared = prepare_briefs(store, vault, matcher, briefs)
    found = {}
    for brief in new:
        seen = store.matched_pairs(brief.id)
        terms = sorted(distinctive_terms(brief, with_summary=True))
        found[brief.id] = [
            i for i in store.search_items(terms, RETRO_CANDIDATES) if i.id not in seen
        ]
    # The candidates are embedded cold (no earlier match had a reason to: they name the new
    # brief's terms), in a thread, while the calibration (Python over the background's kept
    # vectors) runs here: the model's work lets go of the interpreter, so the two overlap.
    with ThreadPoolExecutor(1, thread_name_prefix="leaksentry-retro") as pool:
        ready = {
            brief_id: pool.submit(_prepare_candidates, store, matcher, candidates)
            for brief_id, candidates in found.items()
        }
        calibrate(store, matcher, prepared, vault)
        matcher.brief_offsets = feedback_offsets(store)
        ready = {brief_id: future.result() for brief_id, future in ready.items()}
    brief_rows = {row["id"]: row for row in store.brief_rows()}
    alerts_before = store.count("alerts")
    for brief in new:
        candidates = found[brief.id]
        report.counts["candidates"] += len(candidates)
        items = {item.id: item for item in candidates}
        scored = matcher.score(prepared, ready[brief.id]) if candidates else []
        with store.atomic():
            for match in (m for m in scored if m.brief_id == brief.id):
                match_id = store.record_match(_match_row(match))
                if match_id is not None and match.alert:
                    attach(
                        store,
                        brief_rows[brief.id],
                        items[match.item_id],
                        match,
                        match_id,
                        settings,
                        retro=True,
                    )
                report.counts["matches"] += match_id is not None
    report.counts["alerts"] = store.count("alerts") - alerts_before
    return report


def _prepare_candidates(store: Store, matcher, candidates: list[Item]) -> list:
    """The candidates read and their chosen passages embedded, in a worker thread: the same
    matcher (model, settings, the watched briefs' terms), its vector cache on a connection of
    this thread. (`score` would embed fewer, only the candidates that could reach a
    threshold; but the model's time here overlaps the calibration, so all are embedded.)"""
    if not candidates:
        return []
    worker = copy.copy(matcher)
    if matcher.cache is None:
        return _read_and_embed(worker, candidates)
    with store.another_connection() as own:
        worker.cache = StoreVectorCache(own)
        return _read_and_embed(worker, candidates)


def _read_and_embed(matcher, candidates: list[Item]) -> list:
    prepared = matcher.prepare_items(candidates)
    matcher.embed(prepared)
    return prepared


CALIBRATION_META = "matcher_calibration"  # what the last calibration measured (health, digest)


def calibration_note(store: Store) -> tuple[str, bool]:
    """The matcher's last calibration in one line, and whether the stream was too small to
    measure (then the built-in tails and a higher floor are in use: health and the digest
    say so)."""
    raw = store.get_meta(CALIBRATION_META)
    if not raw:
        return "not calibrated yet (no match run with stored items)", False
    row = json.loads(raw)
    text = f"calibrated {row['at']} on {row['items']} item(s), {row['items_per_week']:.0f} a week"
    if row["margin"]:
        text += (
            f"; too few items to measure the stream: built-in tails, and the floor raised by "
            f"{row['margin']:g} (fewer false alerts, later alerts) until it grows"
        )
    elif row["small"]:
        text += f"; too few {' and '.join(row['small'])} items: built-in tails for them"
    return text, bool(row["margin"] or row["small"])


BACKGROUND_META = "matcher_background"  # the fixed sample: its item ids, and when drawn


def background_sample(store: Store, settings) -> list[Item]:
    """The background the matcher is calibrated on: a sample of the recent stored stream,
    drawn once and kept (in the store, so every process uses the same one) until
    recalibrate_hours pass, the recent stream grows to twice its size, or retention removed
    half of it. A fixed sample keeps decisions the same between refreshes, and its vectors
    are computed whole once and then read from the store: a new `match` process does not
    embed the stream again."""
    since = clock.now() - timedelta(days=settings.background_days)
    stamp = since.isoformat(timespec="seconds")
    raw = store.get_meta(BACKGROUND_META)
    if raw:
        kept = json.loads(raw)
        sample = store.items_by_ids(kept["ids"])
        age = clock.now() - datetime.fromisoformat(kept["at"])
        recent = min(store.count_items_since(stamp), settings.background_items)
        if (
            age < timedelta(hours=settings.recalibrate_hours)
            and len(sample) * 2 >= len(kept["ids"])
            and recent < max(len(kept["ids"]), 1) * 2
        ):
            return sample
    sample = store.recent_items(stamp, settings.background_items)
    drawn = {"at": clock.now().isoformat(timespec="seconds"), "ids": [i.id for i in sample]}
    store.set_meta(BACKGROUND_META, json.dumps(drawn))
    return sample


CALIBRATION_SEALED = DERIVED_SEALED_META  # the measured model, sealed (see calibrate)


def calibrate(store: Store, matcher, prepared_briefs: list, vault: Vault | None = None) -> None:
    """Measure the background sample (see background_sample): how rarely its unrelated items
    come close to each brief, and how many items a week the stream brings (the budget's
    denominator).

    Measured again when the briefs or the sample change; the result stays on the matcher for
    the life of the process, so the same item gets the same decision between refreshes.
    With the vault, the result is also kept in the store, sealed (its tails are statistics
    of the briefs' vectors), for every later process with the same model, settings, briefs
    and sample: a new `match` or `brief add` does not measure the sample again.
    """
    settings = matcher.settings
    since = clock.now() - timedelta(days=settings.background_days)
    stamp = since.isoformat(timespec="seconds")
    background = background_sample(store, settings)
    key = (tuple(sorted(b.brief.id for b in prepared_briefs)), tuple(i.id for i in background))
    if matcher.calibrated is not None:
        calibrated_key, when = matcher.calibrated
        fresh = clock.now() - when < timedelta(hours=settings.recalibrate_hours)
        if calibrated_key == key and fresh:
            return
    digest = _calibration_digest(matcher, prepared_briefs, background)
    if vault is not None and _restore_calibration(store, vault, matcher, digest, key):
        return
    volume = store.count_items_since(stamp) / max(settings.background_days, 1e-3) * 7.0
    measured = matcher.prepare_items(background, full=True)  # whole: see Matcher.prepare_items
    raised = matcher.calibrate(prepared_briefs, measured, volume)
    matcher.calibrated = (key, clock.now())
    if vault is not None:
        _keep_calibration(store, vault, matcher, digest)
    small = sorted(
        kind
        for kind in ("news", "social")
        if sum(1 for item in background if (item.kind == "social") == (kind == "social"))
        < settings.min_background
    )
    store.set_meta(
        CALIBRATION_META,
        json.dumps(
            {
                "at": clock.now().isoformat(timespec="seconds"),
                "items": len(background),
                "items_per_week": round(matcher.background.items_per_week, 1),
                "small": small,
                "margin": settings.small_stream_margin
                if len(background) < settings.min_background
                else 0.0,
            }
        ),
    )
    log.info(
        "calibrated on %d background item(s) (%.0f items a week); %d brief(s) above the floor%s",
        len(background),
        matcher.background.items_per_week,
        len(raised),
        f"; too few {' and '.join(small)} items to measure: built-in tails used" if small else "",
    )


def _calibration_digest(matcher, prepared_briefs: list, background: list[Item]) -> str:
    """What a calibration depends on: model, settings, the briefs' vectors, the sample."""
    digest = hashlib.sha256(f"{matcher.embedder.name}\0{matcher.settings!r}".encode())
    for brief in sorted(prepared_briefs, key=lambda b: b.brief.id):
        digest.update(brief.brief.id.encode() + b"\0")
        digest.update(np.ascontiguousarray(brief.vectors, dtype=np.float32).tobytes())
    for item in background:
        digest.update(item.id.encode() + b"\0")
    return digest.hexdigest()


def _keep_calibration(store: Store, vault: Vault, matcher, digest: str) -> None:
    from matcher.calibrate import background_to_bytes

    sealed = vault.seal(background_to_bytes(matcher.background), f"calibration:{digest}")
    at = matcher.calibrated[1].isoformat(timespec="seconds")
    row = {"digest": digest, "at": at, "sealed": base64.b64encode(sealed).decode()}
    try:
        with sealing(vault, store):
            store.set_meta(CALIBRATION_SEALED, json.dumps(row))
    except LeaksentryError as error:  # e.g. a key rotated meanwhile: measured again next time
        log.warning("calibration not kept: %s", error)


def _restore_calibration(store: Store, vault: Vault, matcher, digest: str, key) -> bool:
    """Use the kept calibration when it was made for exactly this and is still fresh."""
    from matcher.calibrate import background_from_bytes

    raw = store.get_meta(CALIBRATION_SEALED)
    if not raw:
        return False
    row = json.loads(raw)
    at = datetime.fromisoformat(row["at"])
    fresh = clock.now() - at < timedelta(hours=matcher.settings.recalibrate_hours)
    if row["digest"] != digest or not fresh:
        return False
    try:
        blob = vault.open(base64.b64decode(row["sealed"]), f"calibration:{digest}")
    except LeaksentryError:  # sealed with a key since rotated: measure again
        return False
    matcher.background = background_from_bytes(blob)
    matcher.calibrated = (key, at)
    return True


DISMISS_STEP, DISMISS_MAX = 0.25, 1.5  # each dismissed alert makes its brief stricter...
CONFIRM_STEP, CONFIRM_MAX = 0.1, 0.5  # ...each confirmed one a little more sensitive


def feedback_offsets(store: Store) -> dict[str, float]:
    """Operators' verdicts move each brief's threshold (evidence units, log10; + is stricter).

    A clear leak is several units above the threshold: three dismissals (+0.75, evidence
    about six times rarer) silence a brief's borderline matches, never its clear ones."""
    offsets = {}
    for brief_id, (confirmed, dismissed) in store.verdict_counts().items():
        offset = min(DISMISS_MAX, DISMISS_STEP * dismissed) - min(
            CONFIRM_MAX, CONFIRM_STEP * confirmed
        )
        if offset:
            offsets[brief_id] = round(offset, 4)
    return offsets


def notify_alerts(config: Config, store: Store) -> int:
    """Queue the mail that alerts call for (first alerts, follow-ups); returns messages queued.

    With ``[alerts] base_url`` set, each mail links to its alert on the triage page (signed).
    """
    from leaksentry.web.links import link_builder

    settings = AlertSettings.from_dict(config.alerts)
    link = link_builder(config, settings.base_url)
    return notify.notify(store, settings, config.smtp.recipients, link=link)


def _match_row(match) -> dict:
    return {
        "brief_id": match.brief_id,
        "item_id": match.item_id,
        "score": float(match.score),
        "details_matched": json.dumps(match.details_matched),
        "evidence": json.dumps(match.evidence, ensure_ascii=False),
        "alert": int(match.alert),
    }


def purge(config: Config, store: Store, dry_run: bool = False, **options) -> dict[str, int]:
    """The daily purge: what the [retention] settings no longer keep (see retention.py)."""
    from leaksentry import retention

    settings = retention.RetentionSettings.from_config(config)
    return retention.purge(store, settings, dry_run=dry_run, **options)


# -- send ---------------------------------------------------------------------------------------
def send_queued(config: Config, store: Store, at: datetime | None = None) -> StepReport:
    """Send the outbox in order. Nothing leaves it until the server has accepted it.

    Server unreachable: every mail stays queued for the next run (in order). A message the
    server or channel refuses is retried with back-off and marked failed after
    GIVE_UP_AFTER_REFUSALS. Chat channels go on when the mail server is down, and the other
    way round.
    """
    at = at or clock.now()
    due = store.due_messages(at.isoformat(timespec="seconds"))
    report = StepReport({"due": len(due), "sent": 0, "failed": 0})
    if not due:
        return report
    run_id = store.start_run("send")
    mails = [row for row in due if not row.get("transport")]
    chats = [row for row in due if row.get("transport") == "apprise"]
    if mails:
        try:
            with Mailer(config.smtp) as mailer:
                for row in mails:
                    _deliver(store, row, report, at, lambda r: _mail(mailer, config, r))
        except SmtpUnavailable as exc:  # server unreachable: mail stays queued, in order
            store.note_delivery_problem(str(exc))
            report.errors.append(str(exc))
    for row in chats:
        _deliver(store, row, report, at, lambda r: _chat(config, r))
    report.counts["queued"] = len(store.message_rows("queued"))
    store.finish_run(
        run_id,
        "ok" if not report.errors else "error",
        report.counts["sent"],
        "; ".join(report.errors) or None,
    )
    return report


def _deliver(store: Store, row: dict, report: StepReport, at: datetime, send) -> None:
    """Send one outbox row; a refusal is counted and retried later with back-off."""
    try:
        send(row)
    except SmtpUnavailable:
        raise
    except DeliveryError as exc:
        retry = at + timedelta(seconds=RETRY_SECONDS * 2 ** row["attempts"])
        store.mark_message_refused(
            row["id"], str(exc), retry.isoformat(timespec="seconds"), GIVE_UP_AFTER_REFUSALS
        )
        report.errors.append(f"message {row['id']}: {exc}")
        report.counts["failed"] += 1
        return
    store.mark_message_sent(row["id"])
    report.counts["sent"] += 1


def _mail(mailer: Mailer, config: Config, row: dict) -> None:
    refused = mailer.send(build_message(row, config.smtp.sender))
    if refused:
        log.warning("message %s: some recipients refused: %s", row["id"], sorted(refused))


def _chat(config: Config, row: dict) -> None:
    (name,) = json.loads(row["recipients"])
    if name not in config.channels:
        raise DeliveryError(f"channel {name!r} is no longer configured in [channels]")
    channels.send(config.channels[name], row["subject"], row["body_text"])
