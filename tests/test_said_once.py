"""Issue 11 C, "Said once, clearly": each test is a scenario an operator met.

Fixtures are fictional.
"""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

from leaksentry.cli import cli
from leaksentry.config import load_config
from leaksentry.errors import ConfigError
from tests.conftest import cli_run

BAD_CONFIG = """\
database = "ls.db"
key_file = "ls.key"
log_fiel = "ls.log"
[matcher]
threshhold = 0.6
threshold = "high"
min_evidence = -1
false_alerts_per_brief_per_week = 0
[alerts]
digest_tme = "07:00"
digest_time = "7am"
[smtp]
hots = "127.0.0.1"
[[source]]
name = "city"
kind = "feed"
url = "http://127.0.0.1:9/city.rss"
evry = "10m"
"""


# -- 20: one command validates the whole configuration ----------------------------------------
def test_config_check_reports_every_problem_in_one_run_without_the_model(tmp_path):
    path = tmp_path / "leaksentry.toml"
    path.write_text(BAD_CONFIG, encoding="utf-8")
    done = cli_run("config", "check", "--config", str(path), check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "Traceback" not in out
    for key, hint in [
        ("log_fiel", "log_file"),
        ("threshhold", "threshold"),
        ("threshold", "number"),
        ("min_evidence", "above 0"),
        ("false_alerts_per_brief_per_week", "above 0"),
        ("digest_tme", "digest_time"),
        ("digest_time", "07:00"),
        ("hots", "host"),
        ("evry", "every"),
    ]:
        lines = [line for line in out.splitlines() if key in line and hint in line]
        assert lines, f"no line names {key!r} with {hint!r}:\n{out}"
        assert all(str(path) in line for line in lines), out
    assert "9 problem(s)" in out, out
    assert "loading model" not in out


def test_config_check_loads_no_model(tmp_path):
    path = tmp_path / "leaksentry.toml"
    path.write_text(BAD_CONFIG, encoding="utf-8")
    code = (
        "import sys\n"
        "from leaksentry.cli import cli\n"
        "try:\n"
        f"    cli(['config', 'check', '--config', {str(path)!r}])\n"
        "except SystemExit as exc:\n"
        "    print('exit', exc.code)\n"
        "print('model' if 'sentence_transformers' in sys.modules else 'no model')\n"
    )
    import subprocess

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.splitlines()[-2:] == ["exit 1", "no model"], done.stdout + done.stderr


@pytest.mark.parametrize(
    "table, key",
    [
        ("[matcher]\nthreshold = 5\n", "threshold"),
        ("[matcher]\nthreshold = 0\n", "threshold"),
        ("[matcher]\nmin_evidence = 0\n", "min_evidence"),
        ("[matcher]\nfalse_alerts_per_brief_per_week = -2\n", "false_alerts_per_brief_per_week"),
        ('[alerts]\ndigest_time = "7am"\n', "digest_time"),
        ('[alerts]\ndigest_tme = "07:00"\n', "digest_tme"),
        ("[alerts]\nhigh_score = 3\n", "high_score"),
    ],
)
def test_a_value_that_can_never_work_is_refused_at_load(tmp_path, table, key):
    path = tmp_path / "leaksentry.toml"
    path.write_text(table, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert key in str(caught.value) and str(path) in str(caught.value)


def test_config_check_says_ok_for_a_good_configuration(tmp_path):
    path = tmp_path / "leaksentry.toml"
    path.write_text(
        '[matcher]\nthreshold = 0.6\n[alerts]\ndigest_time = "06:30"\n'
        '[[source]]\nname = "city"\nkind = "feed"\nurl = "http://127.0.0.1:9/city.rss"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["config", "check", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "configuration OK" in result.output


# -- 21: no tracebacks --------------------------------------------------------------------------
def test_export_items_into_a_missing_folder_is_one_line_not_a_traceback(tmp_path):
    config = tmp_path / "leaksentry.toml"
    config.write_text('database = "ls.db"\nkey_file = "ls.key"\n', encoding="utf-8")
    cli_run("init", "--config", str(config))
    done = cli_run(
        "export", "items", "--out", "missing/dir/x.jsonl", "--config", str(config), check=False
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "missing/dir" in done.stderr and "folder" in done.stderr


def test_crawl_with_a_refused_port_and_an_unknown_host_is_one_line_each_and_exit_3(tmp_path):
    config = tmp_path / "leaksentry.toml"
    config.write_text(
        'database = "ls.db"\nkey_file = "ls.key"\n'
        '[[source]]\nname = "refused"\nkind = "feed"\nurl = "http://127.0.0.1:9/feed.rss"\n'
        '[[source]]\nname = "nohost"\nkind = "feed"\nurl = "http://no-such-host.invalid/f.rss"\n',
        encoding="utf-8",
    )
    done = cli_run("crawl", "--config", str(config), check=False)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 3, done.stdout + done.stderr
    failed = [line for line in done.stdout.splitlines() if "ERROR" in line]
    assert len(failed) == 2 and any("refused" in line for line in failed), done.stdout
    # "crawling...", one line per failed source, the count: no tracebacks, no retries
    assert len(done.stderr.strip().splitlines()) <= 2 + 2, done.stderr
    assert sum("ERROR" in line for line in done.stderr.splitlines()) == 2, done.stderr
    assert "2 of 2 source(s) failed" in done.stdout + done.stderr


# -- 22: briefs ---------------------------------------------------------------------------------
def brief_line(**fields) -> str:
    brief = {
        "id": "T-GULL",
        "codename": "GREY GULL",
        "summary": "Fictional: the Saltmere ferry office moves to the east quay in spring.",
        "details": ["ferry office moves to the east quay", "move happens in spring"],
    }
    return json.dumps(brief | fields)


@pytest.fixture
def brief_home(tmp_path):
    config = tmp_path / "leaksentry.toml"
    config.write_text('database = "ls.db"\nkey_file = "ls.key"\n', encoding="utf-8")
    assert CliRunner().invoke(cli, ["init", "--config", str(config)]).exit_code == 0
    return config


def add(config, *lines, name="briefs.jsonl"):
    path = config.parent / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return CliRunner().invoke(
        cli, ["brief", "add", "--no-retro", str(path), "--config", str(config)]
    )


@pytest.mark.parametrize("details", [None, []])
def test_a_brief_without_details_is_refused_naming_file_line_and_brief(brief_home, details):
    line = brief_line(id="T-OWL", codename="SNOW OWL", details=details)
    if details is None:
        line = json.dumps({k: v for k, v in json.loads(line).items() if k != "details"})
    result = add(brief_home, brief_line(), line)
    assert result.exit_code == 1, result.output
    assert "briefs.jsonl line 2" in result.output and "T-OWL" in result.output
    assert "details" in result.output and "at least one" in result.output
    listing = CliRunner().invoke(cli, ["brief", "list", "--all", "--config", str(brief_home)])
    assert "no briefs" in listing.output  # nothing stored: all are validated first


def test_two_active_briefs_with_the_same_codename_are_refused(brief_home):
    assert add(brief_home, brief_line()).exit_code == 0
    result = add(brief_home, brief_line(id="T-HERON"), name="more.jsonl")
    assert result.exit_code == 1, result.output
    assert "more.jsonl line 1" in result.output and "GREY GULL" in result.output
    assert "T-GULL" in result.output and "retire" in result.output
    in_one_file = add(
        brief_home,
        brief_line(id="T-A", codename="RED KITE"),
        brief_line(id="T-B", codename="red kite"),
        name="pair.jsonl",
    )
    assert in_one_file.exit_code == 1 and "pair.jsonl line 2" in in_one_file.output
    # replacing a brief (same id) keeps its codename; a retired brief frees it
    assert (
        add(brief_home, brief_line(summary="Fictional: a new text."), name="r.jsonl").exit_code == 0
    )
    CliRunner().invoke(cli, ["brief", "retire", "T-GULL", "--config", str(brief_home)])
    assert add(brief_home, brief_line(id="T-HERON"), name="again.jsonl").exit_code == 0


def test_a_brief_whose_window_is_wholly_past_is_added_as_ended_not_active(brief_home):
    result = add(
        brief_home,
        brief_line(active_from="2020-01-06", active_until="2020-01-20"),
        brief_line(id="T-NOW", codename="BLUE WREN"),
    )
    assert result.exit_code == 0, result.output
    assert "warning" in result.output and "2020-01-20" in result.output
    assert "T-GULL" in result.output and "ended" in result.output
    listing = CliRunner().invoke(cli, ["brief", "list", "--config", str(brief_home)]).output
    gull = next(line for line in listing.splitlines() if "T-GULL" in line)
    assert gull.split()[-1] == "ended", listing
    assert "active" in next(line for line in listing.splitlines() if "T-NOW" in line)
    health = CliRunner().invoke(cli, ["health", "--config", str(brief_home)]).output
    assert "1 active" in health and "1 ended" in health, health


# -- 23: the small things an operator met ---------------------------------------------------------
@pytest.fixture
def fresh_logging():
    import logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    names = ("leaksentry", "apscheduler", "apscheduler.executors", "matcher", "spiders")
    levels = {name: logging.getLogger(name).level for name in names}
    root.handlers = []
    yield
    for handler in root.handlers:
        handler.close()
    root.handlers, root.level = saved
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def test_run_with_a_log_file_still_says_what_goes_wrong_on_the_terminal(
    tmp_path, fresh_logging, capsys
):
    import logging

    from leaksentry.cli import run_logging

    config = load_config(None, env={})
    config.log_file = tmp_path / "ls.log"
    run_logging(config, verbose=False)
    logging.getLogger("leaksentry.scheduler").info("step crawl: 3 stored")
    logging.getLogger("leaksentry.scheduler").error("step crawl failed: feed unreachable")
    for handler in logging.getLogger().handlers:
        handler.flush()
    terminal = capsys.readouterr().err
    assert "step crawl failed" in terminal and f"log: {config.log_file}" in terminal
    assert "3 stored" in config.log_file.read_text() and "failed" in config.log_file.read_text()


def test_run_verbose_shows_our_steps_not_the_scheduler_internals(fresh_logging, capsys):
    import logging

    from leaksentry.cli import run_logging

    run_logging(load_config(None, env={}), verbose=True)
    logging.getLogger("apscheduler.scheduler").info("Added job 'crawl' to job store 'default'")
    logging.getLogger("apscheduler.executors.default").info('Running job "crawl"')
    logging.getLogger("leaksentry.scheduler").debug("crawl city: next in 600 s")
    terminal = capsys.readouterr().err
    assert "next in 600 s" in terminal
    assert "Added job" not in terminal and "Running job" not in terminal


def test_backtest_help_says_what_all_scores_writes_and_how_details_are_numbered():
    text = CliRunner().invoke(cli, ["backtest", "--help"], terminal_width=200).output
    assert "candidate_floor" in text  # --all-scores writes the pairs above it, not every pair
    assert "0-based" in text and "detail 1" in text


def test_an_old_backup_after_key_rotate_gets_advice_about_the_key_of_its_day(tmp_path):
    config = tmp_path / "leaksentry.toml"
    config.write_text('database = "ls.db"\nkey_file = "ls.key"\n', encoding="utf-8")
    cli_run("init", "--config", str(config))
    cli_run("backup", str(tmp_path / "old.db"), "--config", str(config))
    cli_run("key", "rotate", "--config", str(config))
    restored = tmp_path / "restored.toml"
    restored.write_text('database = "old.db"\nkey_file = "ls.key"\n', encoding="utf-8")
    path = tmp_path / "b.jsonl"
    path.write_text(brief_line() + "\n", encoding="utf-8")
    done = cli_run("brief", "add", "--no-retro", str(path), "--config", str(restored), check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "leaksentry init" not in done.stderr, done.stderr
    assert "key rotate" in done.stderr and "backup" in done.stderr, done.stderr
    assert "key id" in done.stderr


@pytest.fixture
def alert_world(tmp_path, mail):
    from tests.test_alerts import World

    world = World(tmp_path, mail.port)
    yield world
    world.store.close()


def test_digest_and_alerts_listing_show_the_public_url_of_the_storys_first_item(alert_world):
    from leaksentry.alerts import digest
    from tests.test_alerts import item

    alert_world.match_run(
        (item(1, "courier.example"), 0.81, [0, 2], True),
        (item(2, "herald.example", story="i1"), 0.70, [0], True),
    )
    text = digest.build(alert_world.config, alert_world.store)[0].body_text
    lines = [line for line in text.splitlines() if line.startswith("  - alert ")]
    assert lines and all("http://courier.example/story-1.html" in line for line in lines), text
    assert "herald.example" not in text
    listing = CliRunner().invoke(cli, ["alerts", "--config", str(alert_world.config.path)])
    (row,) = [line for line in listing.output.splitlines() if "AMBER KESTREL" in line]
    assert "http://courier.example/story-1.html" in row, listing.output
    assert "sig=" not in listing.output


def test_the_alert_mail_subject_says_its_severity(alert_world, mail):
    from tests.test_alerts import item

    alert_world.match_run((item(1, "courier.example"), 0.81, [0, 2], True))
    alert_world.send()
    (message,) = mail.messages
    assert "high severity" in message["Subject"], message["Subject"]


@pytest.mark.parametrize(
    "text, truncated",
    [
        ("The ferry office moves to the east quay in spring. The council confirmed it.", False),
        ("Ferry office moves, council says!", False),
        ('The harbour master said: "We will move."', False),
        ("The ferry office moves to the east quay in", True),
        ("The ferry office moves to the east quay in spring, and the", True),
        ("The ferry office moves to the east quay...", True),
        ("The ferry office moves to the east quay…", True),
        ("The ferry office moves to the east quay. Read more", True),
        ("The ferry office moves. " * 60 + "The council met and then,", True),
    ],
)
def test_a_short_article_ending_with_a_full_sentence_is_not_truncated(text, truncated):
    from spiders.article import looks_truncated

    assert looks_truncated(text, f"<html><body><p>{text}</p></body></html>") is truncated


def test_a_digest_with_no_sources_says_none_are_configured(alert_world):
    from leaksentry.alerts import digest

    alert_world.config.sources = []
    text = digest.build(alert_world.config, alert_world.store)[0].body_text
    assert "no sources configured" in text and "every source was read" not in text, text


def test_an_empty_digest_is_not_mailed_except_an_all_quiet_one_on_monday(alert_world):
    from datetime import date

    from leaksentry.alerts import digest
    from tests.test_alerts import item

    alert_world.config.sources = []
    tuesday, monday = date(2026, 11, 3), date(2026, 11, 2)
    assert digest.queue(alert_world.config, alert_world.store, today=tuesday) == 0
    assert alert_world.store.message_rows() == []
    assert digest.queue(alert_world.config, alert_world.store, today=monday) == 2
    subjects = [m["subject"] for m in alert_world.store.message_rows()]
    assert all("all quiet" in s for s in subjects), subjects
    # `leaksentry digest` still prints the (empty) default view
    printed = CliRunner().invoke(cli, ["digest", "--config", str(alert_world.config.path)])
    assert printed.exit_code == 0 and "Open alerts" in printed.output, printed.output
    # an open alert of the brief: its recipients (desk@ by default, duty@ by the brief) get it
    alert_world.match_run((item(1, "courier.example"), 0.81, [0, 2], True))
    before = len(alert_world.store.message_rows())
    assert digest.queue(alert_world.config, alert_world.store, today=tuesday) == 2
    assert len(alert_world.store.message_rows()) == before + 2


def test_a_mail_link_signed_before_key_rotate_says_so_and_where_to_find_the_alert(tmp_path):
    from leaksentry.web.app import create_app
    from leaksentry.web.links import alert_link
    from tests.test_web import TriageWorld

    world = TriageWorld(tmp_path, base_url="http://127.0.0.1:8450")
    old = alert_link("", b"\1" * 32, 1).split("sig=")[1]  # signed with a key since rotated
    client = create_app(world.config).test_client()
    response = client.get(f"/alerts/1?sig={old}")
    assert response.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert "key rotate" in page and "expired" in page, page
    assert "alerts list" in page and "alert 1" in page, page
