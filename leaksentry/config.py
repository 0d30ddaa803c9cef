"""Settings in layers: defaults, one TOML file, then environment variables.

Lookup of the file: ``--config FILE``, else ``LEAKSENTRY_CONFIG``, else ``./leaksentry.toml``
when present, else defaults only. Relative paths in a file resolve against that file's folder
(without a file, against the current folder). Environment variables override secrets and a few
paths: ``LEAKSENTRY_KEY`` (the key itself), ``LEAKSENTRY_SMTP_USER``,
``LEAKSENTRY_SMTP_PASSWORD``, ``LEAKSENTRY_DATABASE``, ``LEAKSENTRY_MODEL``,
``LEAKSENTRY_BROKER`` (``[cluster] broker``, which may hold a password).
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from leaksentry.errors import ConfigError
from leaksentry.retention import RetentionSettings
from leaksentry.storage import is_postgres

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# Each source kind and the extra keys it takes (name -> type).
KIND_OPTIONS: dict[str, dict[str, type]] = {
    "feed": {},
    "sitemap": {},
    "site": {"follow": list},
    "mastodon": {"hashtags": list, "local_timeline": bool},
    "bluesky": {"queries": list, "actors": list},
    "reddit": {"subreddits": list, "queries": list},
    "telegram": {"channels": list},
    "hackernews": {"queries": list},
    "gdelt": {"queries": list},
}
SOURCE_KINDS = tuple(KIND_OPTIONS)
TOP_LEVEL_KEYS = {
    "database",
    "key_file",
    "model",
    "smtp",
    "source",
    "sources",
    "matcher",
    "log_file",
    "keep_raw_days",
    "retention",
    "min_free_disk_mb",
    "alerts",
    "allow_hosts",
    "channels",
    "download_timeout",
    "cluster",
}
CLUSTER_KEYS = {"broker", "visibility_timeout"}
BROKER_SCHEMES = ("redis://", "rediss://")
SMTP_KEYS = {
    "host",
    "port",
    "security",
    "user",
    "password",
    "sender",
    "timeout",
    "recipients",
    "ca_file",
}
SOURCE_KEYS = {"name", "kind", "url", "every", "enabled", "lookback"}
SMTP_SECURITY = ("none", "starttls", "ssl")
_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 25
    security: str = "none"  # none | starttls | ssl
    user: str | None = None
    password: str | None = None
    sender: str = "leaksentry@localhost"
    timeout: float = 30.0
    recipients: list[str] = field(default_factory=list)  # default recipients, beside each brief's
    # PEM bundle of the CA(s) that sign the relay's certificate, trusted instead of the system's
    # (an internal relay); the certificate and its host name are always checked
    ca_file: str | None = None


@dataclass
class Source:
    name: str
    kind: str
    url: str
    every: int = 600  # seconds
    enabled: bool = True
    lookback: int = 86400  # seconds: how far back the first crawl reaches
    options: dict = field(default_factory=dict)  # the kind's extra keys (hashtags, queries, ...)


@dataclass
class Config:
    path: Path | None
    database: Path | str  # a SQLite file, or a PostgreSQL URL (see leaksentry.storage)
    key_file: Path
    model: str = DEFAULT_MODEL
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    sources: list[Source] = field(default_factory=list)
    sources_file: Path | None = None
    matcher: dict = field(default_factory=dict)
    alerts: dict = field(default_factory=dict)  # the [alerts] table (see exposures.AlertSettings)
    log_file: Path | None = None
    keep_raw_days: int = 30  # older name of [retention] raw_days
    retention: dict = field(default_factory=dict)  # the [retention] table (see retention.py)
    # below this much free space where the database lives, crawling pauses (see diskspace.py)
    min_free_disk_mb: int = 200
    # chat channels: name -> Apprise URL (a secret: LEAKSENTRY_CHANNEL_<NAME> overrides)
    channels: dict[str, str] = field(default_factory=dict)
    # hosts with private or loopback addresses the crawler may reach besides the sources' own
    allow_hosts: list[str] = field(default_factory=list)
    # seconds a request may take before it is abandoned (a hanging site must not stall a crawl)
    download_timeout: int = 30
    # [cluster] broker: a Redis URL; set, the work runs on Celery workers (leaksentry.cluster)
    broker: str | None = None
    # [cluster] visibility_timeout: seconds before the broker hands a task that a vanished
    # worker left unacknowledged to another (longer than the longest task; default 2 h)
    visibility_timeout: int = 7200

    def source(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none configured"
        raise ConfigError(f"no source named {name!r} (known: {known})")


def check_table_keys(table: dict | None, known_from, section: str) -> dict:
    """A settings table as a dict, refusing keys the dataclass `known_from` does not have."""
    from dataclasses import fields

    table = dict(table or {})
    known = {f.name for f in fields(known_from)}
    unknown = set(table) - known
    if unknown:
        raise ConfigError(f"[{section}] unknown key(s) {sorted(unknown)}; known: {sorted(known)}")
    return table


def parse_interval(value, where: str, key: str = "every") -> int:
    """'10m' -> 600. Accepts s, m, h, d suffixes or plain seconds."""
    match = _INTERVAL.match(str(value))
    if not match or int(match.group(1)) == 0:
        raise ConfigError(f"{where}: '{key}' must look like 30s, 10m, 1h or 1d, not {value!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def load_config(path: str | os.PathLike | None = None, env: dict | None = None) -> Config:
    """Read the configuration: explicit path, LEAKSENTRY_CONFIG, ./leaksentry.toml, defaults."""
    env = os.environ if env is None else env
    chosen = path or env.get("LEAKSENTRY_CONFIG")
    if not chosen and Path("leaksentry.toml").is_file():
        chosen = "leaksentry.toml"
    if chosen:
        file = Path(chosen).expanduser().resolve()
        data = _read_toml(file)
        base = file.parent
    else:
        file, data, base = None, {}, Path.cwd()
    problems = _problems(file, data, base, env)
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        raise ConfigError(
            f"{file}: {len(problems)} problem(s) in the configuration:\n"
            + "\n".join(f"  - {problem}" for problem in problems)
        )
    return _build(file, data, base, env)


def config_problems(path: str | os.PathLike | None = None, env: dict | None = None) -> list[str]:
    """Every problem of the configuration (and its sources file), each as one line naming the
    file, the key, what is wrong and what to do; [] when it loads. Loads no model."""
    try:
        load_config(path, env)
    except ConfigError as exc:
        lines = str(exc).splitlines()
        return [line.removeprefix("  - ") for line in lines[1:]] if len(lines) > 1 else lines
    return []


# Values that can never make sense, by table: key -> (low, high, low_open, high_open, advice).
_MATCHER_RANGES = {
    "threshold": (
        0,
        1,
        True,
        True,
        "a score above 0 and below 1 (0.5: at the brief's calibrated evidence)",
    ),
    "min_evidence": (0, None, True, False, "above 0 (evidence units; default 6)"),
    "false_alerts_per_brief_per_week": (0, None, True, False, "above 0 (default 1)"),
    "items_per_day": (0, None, False, False, "0 or more (0: measured from the items' times)"),
    "detail_threshold": (0, 1, True, False, "above 0 and at most 1 (a similarity)"),
    "detail_info": (0, None, True, False, "above 0"),
    "max_evidence": (1, None, False, False, "1 or more"),
    "candidate_floor": (0, 1, False, True, "from 0 to below 1 (a score)"),
    "min_background": (0, None, False, False, "0 or more"),
    "background_days": (0, None, True, False, "above 0"),
    "background_items": (1, None, False, False, "1 or more"),
    "recalibrate_hours": (0, None, True, False, "above 0"),
}
_ALERTS_RANGES = {
    "story_window_hours": (0, None, False, False, "0 or more"),
    "high_score": (0, 1, True, False, "a score above 0 and at most 1"),
    "high_details": (1, None, False, False, "1 or more"),
    "high_domains": (1, None, False, False, "1 or more"),
    "urgent_days": (0, None, False, False, "0 or more"),
    "follow_up_domains": (1, None, False, False, "1 or more"),
    "follow_up_score": (0, None, False, False, "0 or more"),
}


def _unknown_key(where: str, section: str, key, known) -> str:
    import difflib

    close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(sorted(known))}"
    place = f"[{section}] " if section else ""
    return f"{where}: {place}unknown key '{key}': {hint} rename or remove it"


def _out_of_range(where: str, section: str, key: str, value, bounds) -> str | None:
    low, high, low_open, high_open, advice = bounds
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None  # the type check reports it
    bad = (
        (low is not None and (value <= low if low_open else value < low))
        or (high is not None and (value >= high if high_open else value > high))
        or value != value  # NaN
    )
    return (
        f"{where}: [{section}] {key} = {value!r} can never work: set it {advice}" if bad else None
    )


def _table_problems(table, known_from, section: str, where: str, ranges: dict) -> list[str]:
    """Each key of a settings table on its own: unknown, wrong type, out of range."""
    from dataclasses import fields

    from matcher.errors import SettingsError
    from matcher.settings import settings_table

    if not isinstance(table, dict):
        return [f"{where}: [{section}] must be a table ([{section}] followed by key = value lines)"]
    known = {f.name for f in fields(known_from)}
    problems = []
    for key, value in table.items():
        if key not in known:
            problems.append(_unknown_key(where, section, key, known))
            continue
        try:
            settings_table({key: value}, known_from, section)
        except SettingsError as exc:
            problems.append(f"{where}: {exc}")
            continue
        problem = _out_of_range(where, section, key, value, ranges[key]) if key in ranges else None
        if problem:
            problems.append(problem)
    return problems


def _alerts_problems(table, where: str) -> list[str]:
    from datetime import datetime

    from leaksentry.alerts.exposures import AlertSettings

    problems = _table_problems(table, AlertSettings, "alerts", where, _ALERTS_RANGES)
    if not isinstance(table, dict):
        return problems
    if "immediate" in table and table["immediate"] not in ("high", "all"):
        problems.append(
            f'{where}: [alerts] immediate = {table["immediate"]!r}: set it to "high" '
            '(mail at once for high severity only) or "all"'
        )
    digest_time = table.get("digest_time")
    if isinstance(digest_time, str):
        try:
            datetime.strptime(digest_time, "%H:%M")
        except ValueError:
            problems.append(
                f"{where}: [alerts] digest_time = {digest_time!r} is not a time: write it as "
                'HH:MM in UTC, such as "07:00"'
            )
    recipients = table.get("digest_recipients")
    if recipients is not None and not (
        isinstance(recipients, list) and all(isinstance(r, str) for r in recipients)
    ):
        problems.append(f"{where}: [alerts] digest_recipients must be a list of email addresses")
    base_url = table.get("base_url")
    if isinstance(base_url, str) and base_url and not re.match(r"^https?://", base_url):
        problems.append(
            f"{where}: [alerts] base_url = {base_url!r}: write the triage page's address, "
            "starting with http:// or https://"
        )
    routes = table.get("channels")
    if routes is not None and not (
        isinstance(routes, dict) and all(isinstance(v, list) for v in routes.values())
    ):
        problems.append(
            f'{where}: [alerts] channels maps a brief id (or "*") to a list of channel names'
        )
    return problems


def _problems(file: Path | None, data: dict, base: Path, env) -> list[str]:
    """Every problem of a configuration's data, each checked on its own (see _build)."""
    where = str(file) if file else "defaults"
    problems = [
        _unknown_key(where, "", key, TOP_LEVEL_KEYS) for key in data if key not in TOP_LEVEL_KEYS
    ]

    def check(step, *args):
        try:
            return step(*args)
        except ConfigError as exc:
            problems.append(str(exc))
            return None

    smtp = data.get("smtp", {})
    if isinstance(smtp, dict):
        problems += [_unknown_key(where, "smtp", k, SMTP_KEYS) for k in smtp if k not in SMTP_KEYS]
        smtp = {k: v for k, v in smtp.items() if k in SMTP_KEYS}
    check(_smtp, smtp, where, env)
    from matcher.scoring import MatcherSettings

    problems += _table_problems(
        data.get("matcher", {}), MatcherSettings, "matcher", where, _MATCHER_RANGES
    )
    problems += _alerts_problems(data.get("alerts", {}), where)
    retention = SimpleNamespace(
        retention=data.get("retention", {}), keep_raw_days=data.get("keep_raw_days", 30)
    )
    if isinstance(retention.retention, dict):
        check(RetentionSettings.from_config, retention)
    else:
        problems.append(f"{where}: [retention] must be a table")
    check(_channels, data.get("channels", {}), where, env)
    check(
        _broker,
        data.get("cluster"),
        env.get("LEAKSENTRY_DATABASE") or data.get("database"),
        where,
        env,
    )
    problems += _scalar_problems(data, where)
    for key in ("database", "key_file", "model", "log_file"):
        if key in data and not isinstance(data[key], str):
            problems.append(
                f"{where}: '{key}' must be a string (a path or name), not {data[key]!r}"
            )
    if "allow_hosts" in data and not (
        isinstance(data["allow_hosts"], list)
        and all(isinstance(h, str) for h in data["allow_hosts"])
    ):
        problems.append(f"{where}: 'allow_hosts' must be a list of host names")
    sources = []
    if "sources" in data:
        if not isinstance(data["sources"], str):
            problems.append(f"{where}: 'sources' must be a path to a sources TOML file")
        else:
            sources += (
                check(load_sources, (base / Path(data["sources"]).expanduser()).resolve()) or []
            )
    inline = data.get("source", [])
    if not isinstance(inline, list):
        problems.append(f"{where}: sources must be [[source]] tables")
    else:
        for n, entry in enumerate(inline, 1):
            source = check(_source, entry, f"{where}: source #{n}")
            sources += [source] if source else []
    check(_check_unique, sources, where)
    if not problems:  # what needs the parts together (paths, routes to channels, ...)
        check(_build, file, data, base, env)
    return problems


def _read_toml(file: Path) -> dict:
    if not file.is_file():
        raise ConfigError(f"{file}: configuration file not found")
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: not UTF-8 text") from None


def _database(value, resolve) -> Path | str:
    """A ``postgresql://`` URL as written; anything else is a SQLite file's path."""
    if isinstance(value, str) and is_postgres(value):
        return value
    return resolve(value, "data/leaksentry.db")


def _build(file: Path | None, data: dict, base: Path, env) -> Config:
    where = str(file) if file else "defaults"
    unknown = set(data) - TOP_LEVEL_KEYS
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(TOP_LEVEL_KEYS)}"
        )

    def resolve(value, default: str) -> Path:
        return (base / Path(str(value or default)).expanduser()).resolve()

    config = Config(
        path=file,
        database=_database(env.get("LEAKSENTRY_DATABASE") or data.get("database"), resolve),
        key_file=resolve(data.get("key_file"), "data/leaksentry.key"),
        model=str(env.get("LEAKSENTRY_MODEL") or data.get("model") or DEFAULT_MODEL),
        smtp=_smtp(data.get("smtp", {}), where, env),
        matcher=_matcher(data.get("matcher", {}), where),
        alerts=dict(data.get("alerts", {})),
        log_file=resolve(data["log_file"], "") if data.get("log_file") else None,
        keep_raw_days=data.get("keep_raw_days", 30),
        retention=dict(data.get("retention", {})),
        min_free_disk_mb=data.get("min_free_disk_mb", 200),
        allow_hosts=list(data.get("allow_hosts", [])),
        download_timeout=data.get("download_timeout", 30),
        channels=_channels(data.get("channels", {}), where, env),
    )
    config.broker = _broker(data.get("cluster"), config.database, where, env)
    cluster = data.get("cluster") or {}  # (a table: _broker checked it)
    if "visibility_timeout" in cluster:
        config.visibility_timeout = parse_interval(
            cluster["visibility_timeout"], where, "[cluster] visibility_timeout"
        )
    if config.smtp.ca_file:
        config.smtp.ca_file = str(resolve(config.smtp.ca_file, ""))
        if not Path(config.smtp.ca_file).is_file():
            raise ConfigError(f"{where}: [smtp] ca_file {config.smtp.ca_file} not found")
    routes = (data.get("alerts") or {}).get("channels") or {}
    for brief_id, names in routes.items():
        unknown = set(names) - set(config.channels)
        if unknown:
            raise ConfigError(
                f"{where}: [alerts] channels for {brief_id!r} names unknown channel(s) "
                f"{sorted(unknown)}; define them in [channels]"
            )
    for problem in _scalar_problems(data, where):
        raise ConfigError(problem)
    try:
        RetentionSettings.from_config(config)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    inline = data.get("source", [])
    if "sources" in data:
        if not isinstance(data["sources"], str):
            raise ConfigError(f"{where}: 'sources' must be a path to a sources TOML file")
        config.sources_file = resolve(data["sources"], "")
        config.sources = load_sources(config.sources_file)
    if inline:
        config.sources += parse_sources(inline, where)
    _check_unique(config.sources, where)
    return config


def _broker(table, database, where: str, env) -> str | None:
    """The [cluster] broker URL (LEAKSENTRY_BROKER overrides), or None: one process.

    Workers on several machines share one store, so cluster mode needs PostgreSQL: a SQLite
    file is one machine's and takes one writer at a time."""
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{where}: [cluster] must be a table")
    table = table or {}
    unknown = set(table) - CLUSTER_KEYS
    if unknown:
        raise ConfigError(_unknown_key(where, "cluster", sorted(unknown)[0], CLUSTER_KEYS))
    broker = env.get("LEAKSENTRY_BROKER") or table.get("broker")
    if broker is None:
        return None
    if not isinstance(broker, str) or not broker.startswith(BROKER_SCHEMES):
        raise ConfigError(
            f'{where}: [cluster] broker must be a Redis URL ("redis://host:6379/0" or '
            f'"rediss://..."), not {_redacted(broker)!r}'
        )
    if not (isinstance(database, str) and is_postgres(database)):
        raise ConfigError(
            f'{where}: [cluster] needs a PostgreSQL store (database = "postgresql://..."): '
            "workers on several machines cannot share a SQLite file; move it with "
            "`leaksentry store migrate --to postgresql://...` (docs/SCALING.md)"
        )
    return broker


def _redacted(value) -> str:
    """A URL without its password (``redis://:secret@host`` -> ``redis://:***@host``)."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", str(value))


def _scalar_problems(data: dict, where: str) -> list[str]:
    def whole(key, default, low, high=None):
        value = data.get(key, default)
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value >= low
            and (high is None or value <= high)
        )

    problems = []
    if not whole("keep_raw_days", 30, 0):
        problems.append(f"{where}: 'keep_raw_days' must be a whole number of days (0 or more)")
    if not whole("download_timeout", 30, 1, 600):
        problems.append(f"{where}: 'download_timeout' must be whole seconds from 1 to 600")
    if not whole("min_free_disk_mb", 200, 0):
        problems.append(f"{where}: 'min_free_disk_mb' must be a whole number of MiB (0 or more)")
    return problems


def _matcher(table, where: str) -> dict:
    """The [matcher] table as written, checked by the matcher's own rules (keys, types)."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [matcher] must be a table")
    if table:
        from matcher.errors import SettingsError
        from matcher.scoring import MatcherSettings

        try:
            MatcherSettings.from_dict(table)
        except SettingsError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return dict(table)


def _smtp(table, where: str, env) -> SmtpSettings:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [smtp] must be a table")
    unknown = set(table) - SMTP_KEYS
    if unknown:
        raise ConfigError(
            f"{where}: [smtp] unknown key(s) {sorted(unknown)}; known: {sorted(SMTP_KEYS)}"
        )
    smtp = SmtpSettings(**table)
    smtp.user = env.get("LEAKSENTRY_SMTP_USER") or smtp.user
    smtp.password = env.get("LEAKSENTRY_SMTP_PASSWORD") or smtp.password
    if smtp.security not in SMTP_SECURITY:
        raise ConfigError(
            f"{where}: [smtp] security must be one of {SMTP_SECURITY}, not {smtp.security!r}"
        )
    if not isinstance(smtp.port, int) or not 0 < smtp.port < 65536:
        raise ConfigError(
            f"{where}: [smtp] port must be a number from 1 to 65535, not {smtp.port!r}"
        )
    if not isinstance(smtp.recipients, list):
        raise ConfigError(f"{where}: [smtp] recipients must be a list of email addresses")
    if smtp.user and smtp.security == "none" and not _is_loopback(smtp.host):
        raise ConfigError(
            f'{where}: [smtp] a user and password with security = "none" would cross the '
            f'network to {smtp.host} in clear; set security = "starttls" or "ssl"'
        )
    return smtp


def _is_loopback(host: str) -> bool:
    """A relay on this machine: nothing crosses a network."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _channels(table, where: str, env) -> dict[str, str]:
    """[channels] name = "apprise://..." with LEAKSENTRY_CHANNEL_<NAME> overriding each URL."""
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise ConfigError(f"{where}: [channels] maps a channel name to an Apprise URL string")
    channels = {}
    for name, url in table.items():
        variable = "LEAKSENTRY_CHANNEL_" + re.sub(r"[^A-Z0-9]", "_", name.upper())
        channels[name] = env.get(variable) or url
    return channels


def load_sources(file: Path) -> list[Source]:
    """Read a sources file: ``[[source]]`` tables with name, kind, url, every, enabled."""
    data = _read_toml(file)
    unknown = set(data) - {"source"}
    if unknown:
        raise ConfigError(
            f"{file}: unknown key(s) {sorted(unknown)}; a sources file holds [[source]] tables"
        )
    sources = parse_sources(data.get("source", []), str(file))
    _check_unique(sources, str(file))
    return sources


def parse_sources(entries, where: str) -> list[Source]:
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: sources must be [[source]] tables")
    return [_source(entry, f"{where}: source #{n}") for n, entry in enumerate(entries, 1)]


def _source(entry: dict, where: str) -> Source:
    """One [[source]] table, checked key by key; errors name file, entry, key and problem."""
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: must be a [[source]] table")
    if "name" in entry:
        where = f"{where} ({entry['name']!r})"
    for key in ("name", "kind", "url"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise ConfigError(f"{where}: '{key}' is required and must be a non-empty string")
    if entry["kind"] not in SOURCE_KINDS:
        raise ConfigError(f"{where}: 'kind' must be one of {SOURCE_KINDS}, not {entry['kind']!r}")
    extra = KIND_OPTIONS[entry["kind"]]
    unknown = set(entry) - SOURCE_KEYS - set(extra)
    if unknown:
        known = sorted(SOURCE_KEYS | set(extra))
        raise ConfigError(
            f"{where}: unknown key(s) {sorted(unknown)} for kind {entry['kind']!r}; known: {known}"
        )
    if not re.match(r"^https?://", entry["url"]):
        raise ConfigError(
            f"{where}: 'url' must start with http:// or https://, not {entry['url']!r}"
        )
    enabled = entry.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}: 'enabled' must be true or false")
    return Source(
        name=entry["name"],
        kind=entry["kind"],
        url=entry["url"],
        every=parse_interval(entry.get("every", "10m"), where, "every"),
        enabled=enabled,
        lookback=parse_interval(entry.get("lookback", "24h"), where, "lookback"),
        options=_kind_options(entry, extra, where),
    )


def _kind_options(entry: dict, extra: dict[str, type], where: str) -> dict:
    options = {}
    for key, kind in extra.items():
        if key not in entry:
            continue
        value = entry[key]
        if kind is list and not (
            isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
        ):
            raise ConfigError(f"{where}: '{key}' must be a list of non-empty strings")
        if kind is bool and not isinstance(value, bool):
            raise ConfigError(f"{where}: '{key}' must be true or false")
        options[key] = value
    return options


def _check_unique(sources: list[Source], where: str) -> None:
    seen = set()
    for source in sources:
        if source.name in seen:
            raise ConfigError(
                f"{where}: two sources are named {source.name!r}; names must be unique"
            )
        seen.add(source.name)
