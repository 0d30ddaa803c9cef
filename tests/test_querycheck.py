"""Queries are not briefs: `sources check` warns, naming query and codename, not sealed text."""

from click.testing import CliRunner

from leaksentry.cli import cli

from conftest import FIXTURES, write_config


def test_sources_check_warns_when_a_query_carries_a_brief_detail(tmp_path):
    config = write_config(tmp_path)
    text = config.read_text().replace(
        "[smtp]",
        '[[source]]\nname = "sky"\nkind = "bluesky"\nurl = "http://127.0.0.1:9"\n'
        'queries = ["fernwick customs", "harbour weather"]\n'
        '[[source]]\nname = "news"\nkind = "feed"\nurl = "http://127.0.0.1:9/f.rss"\n[smtp]',
    )
    config.write_text(text)
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--config", str(config)]).exit_code == 0
    brief = FIXTURES / "briefs" / "tidewater.toml"
    assert runner.invoke(cli, ["brief", "add", str(brief), "--config", str(config)]).exit_code == 0
    result = runner.invoke(cli, ["sources", "check", "--config", str(config)])
    assert result.exit_code == 0
    assert "2 source(s) OK, 1 warning(s)" in result.output
    warning = next(line for line in result.output.splitlines() if line.startswith("warning:"))
    assert "'sky'" in warning and "'fernwick customs'" in warning and "AMBER KESTREL" in warning
    assert "east gate" not in warning.lower() and "dock" not in warning.lower()
    assert "harbour weather" not in warning
