"""The matcher stands alone: nothing under matcher/ imports leaksentry (DESIGN.md, "matcher/").

leaksentry may import the matcher, never the reverse, so the matcher can be tested and reused
on its own: it takes plain records and settings and returns decisions.
"""

from __future__ import annotations

import ast
import os
import pkgutil
import re
import subprocess
import sys

import pytest

from matcher.backtest import read_items
from matcher.errors import MatcherError, SettingsError
from matcher.scoring import MatcherSettings

from conftest import FIXTURES, REPO, cli_run

MATCHER = REPO / "matcher"


def matcher_modules() -> list[str]:
    """Every module of the matcher package, found on disk (nothing imported here)."""
    found = ["matcher"]
    for info in pkgutil.walk_packages([str(MATCHER)], prefix="matcher."):
        found.append(info.name)
    return sorted(found)


def leaksentry_imports(path) -> list[str]:
    """The leaksentry modules a Python file imports, as written (any depth, any form)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.append(node.args[0].value)
    return [n for n in names if n == "leaksentry" or n.startswith("leaksentry.")]


def test_the_package_has_the_modules_we_expect():
    modules = matcher_modules()
    for name in ("matcher.scoring", "matcher.backtest", "matcher.embedder", "matcher.records"):
        assert name in modules


def test_no_file_under_matcher_imports_leaksentry():
    offenders = {
        str(path.relative_to(REPO)): found
        for path in sorted(MATCHER.rglob("*.py"))
        if (found := leaksentry_imports(path))
    }
    assert not offenders, f"matcher/ must not import leaksentry: {offenders}"


def test_importing_every_matcher_module_loads_no_leaksentry_module():
    modules = matcher_modules()
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print('\\n'.join(sorted(m for m in sys.modules"
        " if m == 'leaksentry' or m.startswith('leaksentry.'))))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert completed.returncode == 0, completed.stderr
    loaded = completed.stdout.split()
    assert not loaded, f"importing the matcher loaded {loaded}"


def test_settings_errors_are_the_matchers_own():
    assert MatcherSettings.from_dict(None) == MatcherSettings()
    assert MatcherSettings.from_dict({"max_evidence": 2}).max_evidence == 2
    assert MatcherSettings.from_dict({"cascade": False}).cascade is False
    with pytest.raises(SettingsError, match=r"\[matcher\] unknown key\(s\) \['treshold'\]"):
        MatcherSettings.from_dict({"treshold": 0.4})
    with pytest.raises(MatcherError, match=r"\[matcher\] max_evidence must be a whole number"):
        MatcherSettings.from_dict({"max_evidence": "2"})
    with pytest.raises(MatcherError, match=r"\[matcher\] cascade must be true or false"):
        MatcherSettings.from_dict({"cascade": "yes"})


def test_reading_items_names_file_and_line(tmp_path):
    path = tmp_path / "items.jsonl"
    path.write_bytes(b'{"id": "a", "text": "fine"}\n\n{"text": "no id"}\n')
    with pytest.raises(
        MatcherError, match=rf"^{re.escape(str(path))} line 3: an item needs at least an 'id'$"
    ):
        list(read_items(path))
    path.write_bytes(b'{"id": "a"}\n{"id": "b", "text": "caf\xe9"}\n')
    with pytest.raises(MatcherError, match=rf"^{re.escape(str(path))} line 2: not UTF-8 text$"):
        list(read_items(path))
    path.write_bytes(b'{"id": "a"}\n{"id": \n')
    with pytest.raises(MatcherError, match=rf"^{re.escape(str(path))} line 2: not valid JSON"):
        list(read_items(path))
    with pytest.raises(MatcherError, match="file not found"):
        list(read_items(tmp_path / "missing.jsonl"))


def test_a_matcher_error_is_one_line_from_the_command(tmp_path):
    items = tmp_path / "items.jsonl"
    items.write_text('{"id": "a"}\n[1, 2]\n', encoding="utf-8")
    result = cli_run(
        "backtest",
        "--briefs",
        str(FIXTURES / "backtest" / "briefs.jsonl"),
        "--items",
        str(items),
        "--out",
        str(tmp_path / "a.jsonl"),
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == f"Error: {items} line 2: an item needs at least an 'id'\n"
