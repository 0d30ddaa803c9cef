"""``python -m leaksentry`` is the same as the ``leaksentry`` command."""

from leaksentry.cli import cli

cli(prog_name="leaksentry")
