"""Every command explains itself: help text with an example."""

import click

from leaksentry.cli import cli


def walk(command, path=("leaksentry",)):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from walk(sub, (*path, name))


def test_every_command_has_help_and_every_leaf_an_example():
    missing = []
    for path, command in walk(cli):
        if not (command.help or "").strip():
            missing.append(" ".join(path))
        elif not isinstance(command, click.Group) and "Example:" not in command.help:
            missing.append(" ".join(path) + " (no example)")
    assert not missing, f"commands without help: {missing}"


def test_every_option_has_help():
    missing = [
        f"{' '.join(path)} {param.name}"
        for path, command in walk(cli)
        for param in command.params
        if isinstance(param, click.Option) and not param.help and param.name != "version"
    ]
    assert not missing


def test_every_test_the_threat_model_names_exists():
    """docs/SECURITY.md names the test behind each protection; a renamed test breaks it."""
    import ast
    import re
    from pathlib import Path

    root = Path(__file__).parent.parent
    text = (root / "docs" / "SECURITY.md").read_text(encoding="utf-8")
    named, current = [], None
    for file, test in re.findall(r"`(tests/\w+\.py)?(?:::(\w+))?`", text):
        current = file or current
        if test:
            named.append((current, test))
        elif file:
            assert (root / file).is_file(), f"SECURITY.md names {file}, which does not exist"
    assert len(named) >= 20
    missing = []
    for file, test in named:
        tree = ast.parse((root / file).read_text(encoding="utf-8"))
        names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        if test not in names:
            missing.append(f"{file}::{test}")
    assert not missing, f"SECURITY.md names tests that do not exist: {missing}"
