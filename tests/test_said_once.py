"""Issue 11 C, "Said once, clearly": each test is a scenario an operator met.

Fixtures are fictional.
"""

from __future__ import annotations

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
