"""Sealed storage: AES-256-GCM with a key kept outside the database.

Every sealed value carries associated data naming what it is (e.g. ``brief:<id>``), so a
ciphertext cannot be moved onto another brief. The key comes from ``LEAKSENTRY_KEY``
(urlsafe base64 of 32 bytes) or from the key file (same text, mode 0600). The database
holds a key check, so a wrong key is reported as such, never as garbage.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import stat
from contextlib import contextmanager
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from leaksentry.errors import VaultError

FORMAT_VERSION = b"\x01"
NONCE_BYTES = 12
KEY_CHECK_META = "vault_key_check"
KEY_CHECK_CONTEXT = "key-check"
KEY_CHECK_PLAINTEXT = b"leaksentry key check v1"
KEY_ID_META = "vault_key_id"  # a key's id (a digest, not the key): which key a database wants


def key_id(key: bytes) -> str:
    """A short public name of a key, shown in errors; the key cannot be derived from it."""
    import hashlib

    return hashlib.sha256(b"leaksentry key id\0" + key).hexdigest()[:12]


class Vault:
    """Seal and open small values with one key."""

    def __init__(self, key: bytes):
        if len(key) != 32:
            raise VaultError("the key must be 32 bytes (urlsafe base64 of 32 random bytes)")
        self._aead = AESGCM(key)
        self.key_id = key_id(key)

    def seal(self, plaintext: bytes, context: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return FORMAT_VERSION + nonce + self._aead.encrypt(nonce, plaintext, context.encode())

    def open(self, blob: bytes, context: str) -> bytes:
        if not blob or blob[:1] != FORMAT_VERSION or len(blob) < 1 + NONCE_BYTES + 16:
            raise VaultError(f"sealed value for {context} is damaged or not sealed by leaksentry")
        nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, context.encode())
        except InvalidTag:
            raise VaultError(
                f"sealed value for {context} does not open with this key "
                "(wrong key, or the value was tampered with)"
            ) from None

    def seal_json(self, value, context: str) -> bytes:
        return self.seal(json.dumps(value, ensure_ascii=False).encode(), context)

    def open_json(self, blob: bytes, context: str):
        return json.loads(self.open(blob, context))

    def check_against(self, store) -> None:
        """Bind the store to this key on first use; afterwards refuse any other key."""
        check = store.get_meta(KEY_CHECK_META)
        if check is None:
            sealed = self.seal(KEY_CHECK_PLAINTEXT, KEY_CHECK_CONTEXT)
            store.set_meta(KEY_CHECK_META, base64.b64encode(sealed).decode())
            store.set_meta(KEY_ID_META, self.key_id)
            return
        try:
            self.open(base64.b64decode(check), KEY_CHECK_CONTEXT)
        except VaultError:
            wanted = store.get_meta(KEY_ID_META)
            raise VaultError(
                f"this key (key id {self.key_id}) does not open the database {store.location}: it "
                f"was sealed with another key"
                + (f" (key id {wanted})" if wanted else "")
                + ". If the database is a backup or copy made before a `leaksentry key rotate`, "
                "it opens only with the key of its day: put that key file in place (or set "
                "LEAKSENTRY_KEY to it); keep each key beside, never inside, the backups it opens. "
                "Otherwise check key_file in the configuration and LEAKSENTRY_KEY."
            ) from None
        if store.get_meta(KEY_ID_META) != self.key_id:
            store.set_meta(KEY_ID_META, self.key_id)  # databases made before key ids

    def assert_current(self, store) -> None:
        """Refuse when the database's key is no longer this one: a `key rotate` committed
        since this vault was opened, and a value sealed now would never open again."""
        check = store.get_meta(KEY_CHECK_META)
        try:
            if check is not None:
                self.open(base64.b64decode(check), KEY_CHECK_CONTEXT)
        except VaultError:
            raise VaultError(
                "the key was rotated while this ran (`leaksentry key rotate`); nothing was "
                "stored with the old key: run it again (the service's next step uses the new key)"
            ) from None


@contextmanager
def sealing(vault: Vault, store):
    """One write transaction for values sealed with `vault`, refused if the database's key is
    no longer the vault's. The write lock is taken first, so a rotation cannot commit between
    the check and the write; a rotation takes the same lock, so it waits for this one and
    re-seals what it stored."""
    with store.immediate():
        vault.assert_current(store)
        yield


def new_key() -> bytes:
    return os.urandom(32)


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


def decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        raise VaultError(f"{where}: not a leaksentry key (expected urlsafe base64)") from None
    if len(key) != 32:
        raise VaultError(f"{where}: not a leaksentry key (expected 32 bytes, got {len(key)})")
    return key


def write_key_file(path: Path, key: bytes) -> None:
    """Create the key file with mode 0600; never overwrite an existing key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise VaultError(f"{path}: a key file already exists; refusing to overwrite it") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(encode_key(key) + "\n")


def load_key(key_file: Path, env: dict | None = None) -> bytes:
    """The key from LEAKSENTRY_KEY, else from the key file (which must not be group/world readable)."""
    env = os.environ if env is None else env
    if env.get("LEAKSENTRY_KEY"):
        return decode_key(env["LEAKSENTRY_KEY"], "LEAKSENTRY_KEY")
    if not key_file.is_file():
        raise VaultError(
            f"{key_file}: key file not found. Run `leaksentry init` to create one, "
            "or set LEAKSENTRY_KEY."
        )
    mode = stat.S_IMODE(key_file.stat().st_mode)
    if mode & 0o077:
        raise VaultError(
            f"{key_file}: key file is readable by others (mode {mode:o}); "
            f"run `chmod 600 {key_file}` and start again"
        )
    return decode_key(key_file.read_text(encoding="utf-8"), str(key_file))


def open_vault(config, store, env: dict | None = None) -> Vault:
    """The vault for this configuration, checked against the store's key check.

    If a key rotation was interrupted after the database was re-sealed but before the new key
    file replaced the old one, the staged new key opens the database: the rotation is
    completed here.
    """
    vault = Vault(load_key(config.key_file, env))
    try:
        vault.check_against(store)
    except VaultError:
        staged = staged_key_path(config.key_file)
        env = os.environ if env is None else env
        if env.get("LEAKSENTRY_KEY") or not staged.is_file():
            raise
        vault = Vault(decode_key(staged.read_text(encoding="utf-8"), str(staged)))
        vault.check_against(store)  # raises the same clear error if this key is wrong too
        os.replace(staged, config.key_file)
    return vault


def staged_key_path(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + ".new")


def rotate_key(config, store, env: dict | None = None) -> int:
    """Re-seal every sealed value with a new key, atomically; returns how many were re-sealed.

    Order: the new key is staged next to the old one (mode 0600), every value and the key
    check are read and re-sealed in one transaction that holds the write lock from its start
    (a value stored beside it is either re-sealed or refused, see ``sealing``), then the
    staged key replaces the old key file.
    A crash before the commit leaves the old key valid; a crash after it is completed by
    open_vault. Backups of the database made before the rotation need the old key.
    """
    env = os.environ if env is None else env
    if env.get("LEAKSENTRY_KEY"):
        raise VaultError(
            "LEAKSENTRY_KEY is set: rotate with a key file (unset it), then put the new key "
            "where LEAKSENTRY_KEY comes from"
        )
    old = open_vault(config, store, env)
    staged = staged_key_path(config.key_file)
    staged.unlink(missing_ok=True)  # a rotation that never committed: its key is worthless
    key = new_key()
    write_key_file(staged, key)
    new = Vault(key)
    with sealing(old, store):  # read and re-seal under the write lock: no value slips past
        values = store.sealed_values()
        for table, row_key, blob in values:
            context = _context(table, row_key)
            store.replace_sealed(table, row_key, new.seal(old.open(blob, context), context))
        sealed_check = new.seal(KEY_CHECK_PLAINTEXT, KEY_CHECK_CONTEXT)
        store.set_meta(KEY_CHECK_META, base64.b64encode(sealed_check).decode())
        store.set_meta(KEY_ID_META, new.key_id)
        store.delete_meta(DERIVED_SEALED_META)  # a kept calibration: measured again, new key
    os.replace(staged, config.key_file)
    return len(values)


# Sealed values derived from the briefs that can be measured again (jobs.calibrate keeps its
# background model here): a rotation drops them rather than re-sealing them.
DERIVED_SEALED_META = "matcher_background_model"


def brief_context(brief_id: str) -> str:
    """Associated data binding a brief's sealed text to that brief."""
    return f"brief:{brief_id}"


def vectors_context(brief_id: str, model: str) -> str:
    """Associated data binding a brief's sealed vectors to that brief and model."""
    return f"brief-vectors:{brief_id}:{model}"


def _context(table: str, row_key: tuple) -> str:
    return brief_context(*row_key) if table == "briefs" else vectors_context(*row_key)


def initialise(config, store) -> bool:
    """Create the key file (unless LEAKSENTRY_KEY is set or one exists) and bind the store to it.

    Returns True when a new key file was written.
    """
    created = False
    if not os.environ.get("LEAKSENTRY_KEY") and not config.key_file.exists():
        write_key_file(config.key_file, new_key())
        created = True
    open_vault(config, store)
    return created
