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
