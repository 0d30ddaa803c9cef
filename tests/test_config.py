"""Configuration: one TOML file, relative paths, a sources file, environment overrides, errors."""

import re

import pytest

from leaksentry.config import load_config, parse_interval
from leaksentry.errors import ConfigError


def test_relative_paths_resolve_against_the_config_folder(tmp_path):
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "leaksentry.toml").write_text(
        'database = "db/ls.db"\nkey_file = "../keys/ls.key"\nmodel = "all-MiniLM-L6-v2"\n'
        '[smtp]\nhost = "mail.example.org"\nport = 587\nsecurity = "starttls"\n'
        'password = "from-file"\n'
    )
    config = load_config(folder / "leaksentry.toml", env={})
    assert config.database == folder / "db" / "ls.db"
    assert config.key_file == tmp_path / "keys" / "ls.key"
    assert (config.smtp.host, config.smtp.port, config.smtp.security) == (
        "mail.example.org",
        587,
        "starttls",
    )
    assert config.smtp.password == "from-file"


def test_environment_overrides_secrets_and_finds_the_file(tmp_path):
    path = tmp_path / "custom.toml"
    path.write_text('[smtp]\nuser = "file-user"\npassword = "file-secret"\n')
    config = load_config(
        None,
        env={
            "LEAKSENTRY_CONFIG": str(path),
            "LEAKSENTRY_SMTP_PASSWORD": "env-secret",
            "LEAKSENTRY_SMTP_USER": "env-user",
        },
    )
    assert config.path == path
    assert (config.smtp.user, config.smtp.password) == ("env-user", "env-secret")


def test_defaults_without_a_file_live_under_data(tmp_path):
    config = load_config(None, env={})
    assert config.path is None
    assert config.database == tmp_path / "data" / "leaksentry.db"
    assert config.model == "all-MiniLM-L6-v2"


def test_sources_inline_and_from_a_sources_file(tmp_path):
    (tmp_path / "sources.toml").write_text(
        '[[source]]\nname = "a"\nkind = "feed"\nurl = "http://127.0.0.1:9/a.rss"\nevery = "30s"\n'
    )
    (tmp_path / "leaksentry.toml").write_text(
        'sources = "sources.toml"\n[[source]]\nname = "b"\nkind = "feed"\n'
        'url = "http://127.0.0.1:9/b.rss"\nenabled = false\n'
    )
    config = load_config(tmp_path / "leaksentry.toml", env={})
    assert [(s.name, s.every, s.enabled) for s in config.sources] == [
        ("a", 30, True),
        ("b", 600, False),
    ]
    assert config.sources_file == tmp_path / "sources.toml"


@pytest.mark.parametrize(
    "entry, expected",
    [
        ('name = "x"\nkind = "feed"\nurl = "ftp://host/feed"', "source #1 ('x'): 'url' must start"),
        ('name = "x"\nkind = "gopher"\nurl = "http://h/f"', "'kind' must be one of"),
        ('kind = "feed"\nurl = "http://h/f"', "source #1: 'name' is required"),
        (
            'name = "x"\nkind = "feed"\nurl = "http://h/f"\nevery = "often"',
            "'every' must look like",
        ),
        ('name = "x"\nkind = "feed"\nurl = "http://h/f"\nevry = "1m"', "unknown key(s) ['evry']"),
    ],
)
def test_a_bad_source_names_file_entry_key_and_problem(tmp_path, entry, expected):
    path = tmp_path / "leaksentry.toml"
    path.write_text(f"[[source]]\n{entry}\n")
    with pytest.raises(ConfigError) as error:
        load_config(path, env={})
    assert str(path) in str(error.value)
    assert expected in str(error.value)


def test_unknown_top_level_key_and_bad_toml_are_reported(tmp_path):
    path = tmp_path / "leaksentry.toml"
    path.write_text('databse = "x.db"\n')
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(path, env={})
    path.write_text("database = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, env={})
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.toml", env={})


@pytest.mark.parametrize(
    "table, expected",
    [
        ("threshhold = 0.6", "[matcher] unknown key 'threshhold': did you mean 'threshold'?"),
        ('threshold = "high"', "[matcher] threshold must be a number, not 'high'"),
        ("max_evidence = 2.5", "[matcher] max_evidence must be a whole number, not 2.5"),
        ("threshold = true", "[matcher] threshold must be a number, not True"),
        ("threshold = 1" + "0" * 400, "[matcher] threshold is too large: 1000"),
    ],
)
def test_a_bad_matcher_setting_names_file_key_and_problem(tmp_path, table, expected):
    """The matcher checks its own settings (matcher.errors.SettingsError); the configuration
    reports them as its own error, with the file."""
    path = tmp_path / "leaksentry.toml"
    path.write_text(f"[matcher]\n{table}\n")
    with pytest.raises(ConfigError) as error:
        load_config(path, env={})
    assert str(error.value).startswith(f"{path}: {expected}")


def test_matcher_settings_are_read_as_numbers(tmp_path):
    from matcher.scoring import MatcherSettings

    path = tmp_path / "leaksentry.toml"
    path.write_text("[matcher]\nmin_evidence = 7\nmax_evidence = 2\nmin_background = 10.0\n")
    settings = MatcherSettings.from_dict(load_config(path, env={}).matcher)
    assert (settings.min_evidence, settings.max_evidence, settings.min_background) == (7.0, 2, 10)
    assert isinstance(settings.min_evidence, float) and isinstance(settings.min_background, int)
    path.write_text("matcher = 3\n")
    with pytest.raises(ConfigError, match=r"\[matcher\] must be a table"):
        load_config(path, env={})


def test_duplicate_source_names_are_refused(tmp_path):
    source = '[[source]]\nname = "x"\nkind = "feed"\nurl = "http://h/f"\n'
    path = tmp_path / "leaksentry.toml"
    path.write_text(source + source)
    with pytest.raises(ConfigError, match="two sources are named 'x'"):
        load_config(path, env={})


@pytest.mark.parametrize("text, seconds", [("10m", 600), ("30s", 30), ("2h", 7200), ("45", 45)])
def test_intervals(text, seconds):
    assert parse_interval(text, "here") == seconds


@pytest.mark.parametrize(
    ("host", "security", "refused"),
    [
        ("mail.example.org", "none", True),
        ("mail.example.org", "starttls", False),
        ("mail.example.org", "ssl", False),
        ("127.0.0.1", "none", False),  # a relay on this machine: nothing crosses a network
        ("localhost", "none", False),
    ],
)
def test_a_password_never_crosses_the_network_in_clear(tmp_path, host, security, refused):
    path = tmp_path / "leaksentry.toml"
    path.write_text(
        f'[smtp]\nhost = "{host}"\nsecurity = "{security}"\nuser = "ls"\npassword = "pw"\n'
    )
    if refused:
        with pytest.raises(ConfigError, match="in clear; set security"):
            load_config(path, env={})
    else:
        assert load_config(path, env={}).smtp.user == "ls"


PG = "postgresql://leaksentry@db.example.org/leaksentry"


def test_cluster_broker_is_read_and_the_environment_overrides_it(tmp_path):
    path = tmp_path / "ls.toml"
    path.write_text(f'database = "{PG}"\n[cluster]\nbroker = "redis://queue.example.org:6379/0"\n')
    assert load_config(path, env={}).broker == "redis://queue.example.org:6379/0"
    env = {"LEAKSENTRY_BROKER": "rediss://:pw@queue.example.org/1"}
    assert load_config(path, env=env).broker == "rediss://:pw@queue.example.org/1"
    (tmp_path / "plain.toml").write_text(f'database = "{PG}"\n')
    assert load_config(tmp_path / "plain.toml", env={}).broker is None
    # the broker from the environment alone: no [cluster] table needed
    plain = load_config(tmp_path / "plain.toml", env=env)
    assert plain.broker == env["LEAKSENTRY_BROKER"] and plain.visibility_timeout == 7200


@pytest.mark.parametrize(
    "text, expected",
    [
        ('database = "ls.db"\n[cluster]\nbroker = "redis://q/0"\n', "needs a PostgreSQL store"),
        (f'database = "{PG}"\n[cluster]\nbroker = "amqp://q"\n', "must be a Redis URL"),
        (f'database = "{PG}"\n[cluster]\nbroker = 5\n', "must be a Redis URL"),
        (f'database = "{PG}"\n[cluster]\nbrokr = "redis://q"\n', "did you mean 'broker'"),
        (f'database = "{PG}"\ncluster = "redis://q"\n', "[cluster] must be a table"),
        (
            f'database = "{PG}"\n[cluster]\nbroker = "redis://q/0"\nvisibility_timeout = "2x"\n',
            "'[cluster] visibility_timeout' must look like 30s",
        ),
    ],
)
def test_a_bad_cluster_table_is_refused_clearly(tmp_path, text, expected):
    from leaksentry.config import config_problems

    path = tmp_path / "ls.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_config(path, env={})
    assert any(expected in problem for problem in config_problems(path, env={}))


def test_a_broker_password_is_not_repeated_in_the_error(tmp_path):
    path = tmp_path / "ls.toml"
    path.write_text(f'database = "{PG}"\n[cluster]\nbroker = "http://:hunter2@q/0"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    assert "hunter2" not in str(caught.value)
