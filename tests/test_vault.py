"""Sealed storage: round trip, wrong key, tampering, swapping, key file rules."""

import os
import stat

import pytest

from leaksentry.config import load_config
from leaksentry.errors import VaultError
from leaksentry.store import Store
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


def test_init_writes_a_private_key_and_binds_the_database(tmp_path):
    config = load_config(None, env={})
    with Store(config.database) as store:
        assert initialise(config, store) is True
        assert stat.S_IMODE(os.stat(config.key_file).st_mode) == 0o600
        assert initialise(config, store) is False  # never overwrites
        open_vault(config, store)


def test_another_key_is_refused_by_a_bound_database(tmp_path):
    config = load_config(None, env={})
    with Store(config.database) as store:
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
