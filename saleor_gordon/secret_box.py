"""Encryption of secrets at rest (Saleor app tokens, Gordon client secrets).

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived with HKDF-SHA256
from ``SALEOR_GORDON_SECRET_KEY``. Stored form: ``v1:<fernet token>``.

Key rotation (MultiFernet): the setting, or the key file beside an SQLite database, may hold
several keys, comma-separated (the file: one per line). The first one encrypts; every one of them
decrypts. ``saleor-gordon rotate-secret-key`` re-encrypts every stored secret under the first key,
after which the others can be removed (README, docs/deploy.md).
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from saleor_gordon.errors import ConfigurationError, SecretsError
from saleor_gordon.settings import Settings

logger = logging.getLogger(__name__)

_PREFIX = "v1:"
MIN_SECRET_KEY_LENGTH = 32
SECRET_KEY_FILE_SUFFIX = ".secret-key"  # noqa: S105 - a file name suffix, not a secret


class SecretBox:
    """Encrypts short strings under the current key; decrypts under it or any older key."""

    def __init__(self, secret_key: str, *older_keys: str) -> None:
        self._current = _fernet(secret_key)
        self._fernet = MultiFernet([self._current, *(_fernet(key) for key in older_keys)])

    @classmethod
    def from_keys(cls, keys: Sequence[str]) -> SecretBox:
        """The box of ``keys`` as settings give them: the first is current."""
        if not keys:
            raise ValueError("no secret key")
        return cls(keys[0], *keys[1:])

    def encrypt(self, plaintext: str) -> str:
        return _PREFIX + self._current.encrypt(plaintext.encode()).decode()

    def decrypt(self, stored: str) -> str:
        try:
            return self._fernet.decrypt(_token(stored)).decode()
        except InvalidToken as exc:
            raise SecretsError from exc

    def under_current_key(self, stored: str) -> bool:
        """Whether ``stored`` was encrypted under the current key (False: an older one, or none)."""
        try:
            self._current.decrypt(_token(stored))
        except InvalidToken:
            return False
        return True

    def rotate(self, stored: str) -> str:
        """``stored`` re-encrypted under the current key (its original timestamp kept).

        Raises:
            SecretsError: none of the keys decrypts it.
        """
        try:
            return _PREFIX + self._fernet.rotate(_token(stored)).decode()
        except InvalidToken as exc:
            raise SecretsError from exc


def _fernet(secret_key: str) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"saleor-gordon secrets v1"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _token(stored: str) -> bytes:
    if not stored.startswith(_PREFIX):
        raise SecretsError("A stored secret has an unknown format.")
    return stored.removeprefix(_PREFIX).encode()


def split_keys(value: str) -> list[str]:
    """``"new,old"`` (or one key per line) -> ``["new", "old"]``; blanks dropped."""
    return [key.strip() for key in value.replace("\n", ",").split(",") if key.strip()]


def secret_key_path(database_path: Path) -> Path:
    """Where the generated key of an embedded SQLite database lives: beside the database file."""
    return database_path.with_name(database_path.name + SECRET_KEY_FILE_SUFFIX)


def load_secret_keys(settings: Settings, *, create: bool = True) -> list[str]:
    """The secret keys, current first: from settings, or (embedded SQLite only) its key file.

    Without a key in settings, an SQLite database's key file is read, or created with a new key
    when ``create`` (``doctor`` does not create one).

    Raises:
        ConfigurationError: no key is set and none can be used or generated (PostgreSQL,
            in-memory SQLite, an unreadable or missing key file).
    """
    if settings.secret_key is not None:
        return split_keys(settings.secret_key.get_secret_value())
    key_file = key_file_of(settings)
    try:
        if key_file.exists():
            return _read_key_file(key_file)
        if not create:
            raise ConfigurationError(
                f"The key file {key_file} does not exist and SALEOR_GORDON_SECRET_KEY is not set. "
                "`saleor-gordon serve` creates it when it first starts; if shops are installed "
                "already, restore it from your backup."
            )
        return _create_key_file(key_file)
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot use the key file {key_file}: {exc.strerror or exc}. Check that the database "
            "directory exists and is writable, or set SALEOR_GORDON_SECRET_KEY."
        ) from exc


def key_file_of(settings: Settings) -> Path:
    """The key file of the settings' embedded SQLite database.

    Raises:
        ConfigurationError: the database has no key file (PostgreSQL, in-memory SQLite).
    """
    database_path = settings.sqlite_path
    if database_path is None:
        raise ConfigurationError(
            "SALEOR_GORDON_SECRET_KEY is not set. It encrypts app tokens and Gordon secrets; every "
            "process sharing this database needs the same value (generate one: openssl rand -hex 32)."
        )
    return secret_key_path(database_path)


def write_key_file(key_file: Path, keys: Sequence[str]) -> None:
    """Replace the key file with ``keys`` (current first, one per line), mode 0600, atomically."""
    temporary = key_file.with_name(key_file.name + ".new")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("".join(key + "\n" for key in keys))
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(key_file)


def new_secret_key() -> str:
    return secrets.token_hex(32)


def _read_key_file(key_file: Path) -> list[str]:
    keys = split_keys(key_file.read_text())
    if not keys or any(len(key) < MIN_SECRET_KEY_LENGTH for key in keys):
        raise ConfigurationError(
            f"The key file {key_file} holds no usable key (fewer than {MIN_SECRET_KEY_LENGTH} "
            "characters). Restore it from your backup; deleting it makes stored tokens unreadable."
        )
    return keys


def _create_key_file(key_file: Path) -> list[str]:
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = new_secret_key()
    try:
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return _read_key_file(key_file)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key + "\n")
    logger.warning(
        "SALEOR_GORDON_SECRET_KEY is not set; generated one in %s (mode 0600). Back it up with "
        "the database: without it the stored tokens and secrets cannot be read.",
        key_file,
    )
    return [key]
