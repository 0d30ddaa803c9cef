"""Sealed storage: round trip, wrong key, tampering, swapping, key file rules."""

import os
import stat

import pytest

from leaksentry.config import load_config
from leaksentry.errors import VaultError
from leaksentry.storage import open_store
from leaksentry.vault import (
    Vault,
    encode_key,
    initialise,
    load_key,
    new_key,
    open_vault,
    write_key_file,
)


def test_round_trip_and_authenticated_context():
    vault = Vault(new_key())
    sealed = vault.seal(b"sealed words", "brief:A")
    assert b"sealed words" not in sealed
    assert vault.open(sealed, "brief:A") == b"sealed words"
    with pytest.raises(VaultError, match="does not open"):
        vault.open(sealed, "brief:B")  # a ciphertext moved onto another brief


def test_wrong_key_and_tampered_ciphertext_give_clear_errors():
    sealed = Vault(new_key()).seal(b"secret plan", "brief:A")
    with pytest.raises(VaultError, match="wrong key, or the value was tampered with"):
        Vault(new_key()).open(sealed, "brief:A")
    vault = Vault(new_key())
    sealed = bytearray(vault.seal(b"secret plan", "brief:A"))
    sealed[-1] ^= 0x01
    with pytest.raises(VaultError, match="tampered"):
        vault.open(bytes(sealed), "brief:A")
    with pytest.raises(VaultError, match="damaged"):
        vault.open(b"\x01short", "brief:A")


def test_init_writes_a_private_key_and_binds_the_database(tmp_path, database):
    config = load_config(None, env={"LEAKSENTRY_DATABASE": str(database)})
    with open_store(config.database) as store:
        assert initialise(config, store) is True
        assert stat.S_IMODE(os.stat(config.key_file).st_mode) == 0o600
        assert initialise(config, store) is False  # never overwrites
        open_vault(config, store)


def test_another_key_is_refused_by_a_bound_database(tmp_path, database):
    config = load_config(None, env={"LEAKSENTRY_DATABASE": str(database)})
    with open_store(config.database) as store:
        initialise(config, store)
        with pytest.raises(VaultError, match="does not open the database"):
            open_vault(config, store, env={"LEAKSENTRY_KEY": encode_key(new_key())})


def test_key_from_environment_and_bad_keys(tmp_path):
    key = new_key()
    assert load_key(tmp_path / "none", env={"LEAKSENTRY_KEY": encode_key(key)}) == key
    with pytest.raises(VaultError, match="LEAKSENTRY_KEY: not a leaksentry key"):
        load_key(tmp_path / "none", env={"LEAKSENTRY_KEY": "short"})
    with pytest.raises(VaultError, match="key file not found"):
        load_key(tmp_path / "none", env={})


def test_key_file_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "ls.key"
    write_key_file(path, new_key())
    os.chmod(path, 0o644)
    with pytest.raises(VaultError, match="readable by others"):
        load_key(path, env={})
    with pytest.raises(VaultError, match="already exists"):
        write_key_file(path, new_key())


def seeded(tmp_path, database=None):
    """A store with a sealed brief and sealed vectors, and its configuration; `database` (a
    file or a PostgreSQL URL) if given, else the default file."""
    import numpy as np

    from leaksentry.briefs import add_brief_files
    from leaksentry.jobs import seal_vectors

    from conftest import FIXTURES

    config = load_config(None, env={"LEAKSENTRY_DATABASE": str(database)} if database else {})
    store = open_store(config.database)
    initialise(config, store)
    vault = open_vault(config, store)
    add_brief_files(store, vault, [FIXTURES / "briefs" / "tidewater.toml"])
    vectors = np.ones((3, 4), dtype=np.float32)
    store.put_sealed_brief_vectors("T-DOCK", "m", seal_vectors(vault, "T-DOCK", "m", vectors))
    return config, store


def test_key_rotate_reseals_everything_and_retires_the_old_key(tmp_path, database):
    from leaksentry.briefs import open_brief
    from leaksentry.jobs import open_vectors
    from leaksentry.vault import rotate_key

    config, store = seeded(tmp_path, database)
    old_key = config.key_file.read_text()
    assert rotate_key(config, store, env={}) == 2
    assert config.key_file.read_text() != old_key
    assert stat.S_IMODE(os.stat(config.key_file).st_mode) == 0o600
    vault = open_vault(config, store, env={})
    assert open_brief(store.brief_row("T-DOCK"), vault).codename == "AMBER KESTREL"
    sealed = store.sealed_brief_vectors("T-DOCK", "m")
    assert open_vectors(vault, "T-DOCK", "m", sealed).shape == (3, 4)
    with pytest.raises(VaultError, match="does not open the database"):
        open_vault(config, store, env={"LEAKSENTRY_KEY": old_key})
    store.close()


def test_rotation_interrupted_after_commit_is_completed_on_next_open(
    tmp_path, monkeypatch, database
):
    from leaksentry import vault as vault_module

    config, store = seeded(tmp_path, database)
    monkeypatch.setattr(
        vault_module.os, "replace", lambda *a: (_ for _ in ()).throw(OSError("killed"))
    )
    with pytest.raises(OSError):
        vault_module.rotate_key(config, store, env={})
    monkeypatch.undo()
    assert vault_module.staged_key_path(config.key_file).exists()
    open_vault(config, store, env={})  # finds the staged key, finishes the rotation
    assert not vault_module.staged_key_path(config.key_file).exists()
    open_vault(config, store, env={})
    store.close()


def test_rotation_refuses_an_environment_key(tmp_path):
    from leaksentry.vault import rotate_key

    config, store = seeded(tmp_path)
    with pytest.raises(VaultError, match="LEAKSENTRY_KEY is set"):
        rotate_key(config, store, env={"LEAKSENTRY_KEY": encode_key(new_key())})
    store.close()


def test_brief_vectors_are_stored_sealed(tmp_path):
    import numpy as np

    config, store = seeded(tmp_path)
    store.close()
    raw = np.ones((3, 4), dtype=np.float32).tobytes()
    database = config.database.read_bytes() + b"".join(
        p.read_bytes() for p in config.database.parent.glob("*.db-*")
    )
    assert raw[:16] not in database


def test_key_rotation_beside_a_running_step_never_seals_with_the_old_key(tmp_path, embedder):
    """A match step (the service's) and a `brief add` opened the vault, then `key rotate` ran
    in another process, then they stored sealed values: those must not be sealed with the
    old key (they would never open again). They are refused with one clear line, nothing is
    stored, and the next step, opening the vault anew, stores them with the new key."""
    from leaksentry import jobs
    from leaksentry.briefs import add_brief_files
    from leaksentry.vault import _context, rotate_key
    from matcher import Matcher, MatcherSettings

    from conftest import FIXTURES

    config, store = seeded(tmp_path)
    store.db.execute("delete from brief_vectors")  # the step below will embed the brief
    matcher = Matcher(embedder, MatcherSettings.from_dict({}))
    step_vault = open_vault(config, store, env={})  # the step starts with the old key
    briefs = jobs.active_briefs(store, step_vault)

    with open_store(config.database) as rotating:  # `leaksentry key rotate`, another connection
        rotate_key(config, rotating, env={})

    with pytest.raises(VaultError, match="key was rotated") as refused:
        jobs.prepare_briefs(store, step_vault, matcher, briefs)
    assert "\n" not in str(refused.value)
    with pytest.raises(VaultError, match="key was rotated"):  # `brief add` with the old vault
        add_brief_files(store, step_vault, [FIXTURES / "briefs" / "others.jsonl"])
    assert store.brief_row("T-LIB") is None

    new_vault = open_vault(config, store, env={})
    for table, key, blob in store.sealed_values():  # everything opens with the new key
        new_vault.open(blob, _context(table, key))
    jobs.prepare_briefs(store, new_vault, matcher, jobs.active_briefs(store, new_vault))
    (vectors,) = [v for v in store.sealed_values() if v[0] == "brief_vectors"]
    new_vault.open(vectors[2], _context(*vectors[:2]))
    store.close()
