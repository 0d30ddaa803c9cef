"""Brief files through the CLI: validation, sealing at rest, listing, retiring, key errors."""

import json
import sqlite3

import pytest
from click.testing import CliRunner

from leaksentry.briefs import read_brief_file
from leaksentry.cli import cli
from leaksentry.vault import encode_key, new_key

from conftest import FIXTURES, write_config

DOCK = FIXTURES / "briefs" / "tidewater.toml"
OTHERS = FIXTURES / "briefs" / "others.jsonl"


def invoke(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def home(tmp_path):
    config = write_config(tmp_path)
    assert invoke("init", "--config", str(config)).exit_code == 0
    return config


def test_add_toml_and_jsonl_then_list_without_sealed_text(home):
    result = invoke("brief", "add", str(DOCK), str(OTHERS), "--config", str(home))
    assert result.exit_code == 0, result.output
    assert "sealed T-DOCK AMBER KESTREL" in result.output
    listing = invoke("brief", "list", "--config", str(home)).output
    assert "AMBER KESTREL" in listing and "2026-10-20 .. 2026-11-06" in listing
    assert "PALE LANTERN" in listing and "open .. open" in listing
    for brief in read_brief_file(DOCK) + read_brief_file(OTHERS):
        assert brief.summary[:30] not in listing


def test_database_holds_no_plain_summary_or_detail(home, tmp_path):
    invoke("brief", "add", str(DOCK), str(OTHERS), "--config", str(home))
    raw = (tmp_path / "ls.db").read_bytes()
    for wal in tmp_path.glob("ls.db-*"):
        raw += wal.read_bytes()
    for brief in read_brief_file(DOCK) + read_brief_file(OTHERS):
        assert brief.summary[:24].encode() not in raw
        for detail in brief.details:
            assert detail.encode() not in raw
    row = sqlite3.connect(tmp_path / "ls.db").execute("select codename from briefs").fetchall()
    assert ("AMBER KESTREL",) in row  # the codename may stay plain


def test_retire_ends_monitoring(home):
    invoke("brief", "add", str(OTHERS), "--config", str(home))
    assert "retired T-LIB" in invoke("brief", "retire", "T-LIB", "--config", str(home)).output
    assert "T-LIB" not in invoke("brief", "list", "--config", str(home)).output
    assert "retired" in invoke("brief", "list", "--all", "--config", str(home)).output
    missing = invoke("brief", "retire", "NOPE", "--config", str(home))
    assert missing.exit_code == 1 and "no brief with id 'NOPE'" in missing.output


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("b.json", '{"id": "X", "codename": "C", "summary": ""}', "field 'summary' is required"),
        ("b.json", '{"id": "X", "codename": "C", "summary": "s", "details": "one"}', "'details'"),
        (
            "b.json",
            '{"id": "X", "codename": "C", "summary": "s", "details": ["d"], "recipients": ["nope"]}',
            "not an email",
        ),
        (
            "b.json",
            '{"id": "X", "codename": "C", "summary": "s", "details": ["d"], "active_until": "soon"}',
            "ISO date",
        ),
        ("b.json", '{"id": "X", "codename": "C", "summary": "s", "detials": []}', "unknown field"),
        ("b.toml", 'id = "X"\ncodename = ', "not valid TOML"),
        ("b.txt", "x", "unknown brief file type"),
    ],
)
def test_bad_brief_file_gets_one_clear_line(home, tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_text(content)
    result = invoke("brief", "add", str(path), "--config", str(home))
    assert result.exit_code == 1
    assert expected in result.output and str(path) in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_error_names_the_line_and_stores_nothing(home, tmp_path):
    good = json.dumps(
        {"id": "G", "codename": "GOOD ONE", "summary": "a fine plan", "details": ["a fact"]}
    )
    bad = json.dumps(
        {"id": "B", "codename": "BAD ONE", "summary": "the very secret words", "details": ["x"]}
    )
    path = tmp_path / "many.jsonl"
    path.write_text(good + "\n" + bad.replace('"summary"', '"summary": 5, "x"') + "\n")
    result = invoke("brief", "add", str(path), "--config", str(home))
    assert result.exit_code == 1 and f"{path} line 2" in result.output
    path.write_text(
        good + "\n" + bad[:-1] + ', "active_from": "2026-12-01", "active_until": "2026-11-01"}\n'
    )
    result = invoke("brief", "add", str(path), "--config", str(home))
    assert "line 2 (brief 'B')" in result.output and "before 'active_from'" in result.output
    assert "the very secret words" not in result.output
    assert "no briefs" in invoke("brief", "list", "--config", str(home)).output


def test_wrong_or_missing_key_is_a_clear_error(home, tmp_path):
    invoke("brief", "add", str(DOCK), "--config", str(home))
    wrong = invoke("match", "--config", str(home), env={"LEAKSENTRY_KEY": encode_key(new_key())})
    assert wrong.exit_code == 1
    assert "does not open the database" in wrong.output
    assert "Traceback" not in wrong.output
    (tmp_path / "ls.key").unlink()
    missing = invoke("brief", "add", str(DOCK), "--config", str(home))
    assert missing.exit_code == 1 and "key file not found" in missing.output
