"""Encryption of secrets at rest (Saleor app tokens, Gordon client secrets).

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived with HKDF-SHA256
from ``SALEOR_GORDON_SECRET_KEY``. Stored form: ``v1:<fernet token>``; the prefix leaves room for
key rotation.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from saleor_gordon.errors import ConfigurationError, SecretsError
from saleor_gordon.settings import Settings

logger = logging.getLogger(__name__)

_PREFIX = "v1:"
MIN_SECRET_KEY_LENGTH = 32
SECRET_KEY_FILE_SUFFIX = ".secret-key"  # noqa: S105 - a file name suffix, not a secret


class SecretBox:
    """Encrypts and decrypts short strings with a key derived from the app's secret key."""

    def __init__(self, secret_key: str) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"saleor-gordon secrets v1"
        ).derive(secret_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def encrypt(self, plaintext: str) -> str:
        return _PREFIX + self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, stored: str) -> str:
        if not stored.startswith(_PREFIX):
            raise SecretsError("A stored secret has an unknown format.")
        try:
            return self._fernet.decrypt(stored.removeprefix(_PREFIX).encode()).decode()
        except InvalidToken as exc:
            raise SecretsError from exc


def secret_key_path(database_path: Path) -> Path:
    """Where the generated key of an embedded SQLite database lives: beside the database file."""
    return database_path.with_name(database_path.name + SECRET_KEY_FILE_SUFFIX)


def load_secret_key(settings: Settings) -> str:
    """Return the secret key from settings, or (embedded SQLite only) from/into its key file.

    Raises:
        ConfigurationError: no key is set and none can be generated (PostgreSQL, in-memory SQLite).
    """
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    database_path = settings.sqlite_path
    if database_path is None:
        raise ConfigurationError(
            "SALEOR_GORDON_SECRET_KEY is not set. It encrypts app tokens and Gordon secrets; every "
            "process sharing this database needs the same value (generate one: openssl rand -hex 32)."
        )
    key_file = secret_key_path(database_path)
    try:
        return _read_key_file(key_file) if key_file.exists() else _create_key_file(key_file)
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot use the key file {key_file}: {exc.strerror or exc}. Check that the database "
            "directory exists and is writable, or set SALEOR_GORDON_SECRET_KEY."
        ) from exc


def _read_key_file(key_file: Path) -> str:
    key = key_file.read_text().strip()
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigurationError(
            f"The key file {key_file} holds no usable key (fewer than {MIN_SECRET_KEY_LENGTH} "
            "characters). Restore it from your backup; deleting it makes stored tokens unreadable."
        )
    return key


def _create_key_file(key_file: Path) -> str:
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
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
    return key
