"""Secrets at rest: SecretBox and the embedded default's generated key."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from saleor_gordon.errors import ConfigurationError, SecretsError
from saleor_gordon.secret_box import SecretBox, load_secret_keys
from saleor_gordon.settings import Settings
from tests.conftest import TEST_SECRET_KEY


def test_round_trip_and_no_plain_text() -> None:
    box = SecretBox(TEST_SECRET_KEY)

    stored = box.encrypt("app-token-123")

    assert "app-token-123" not in stored
    assert box.decrypt(stored) == "app-token-123"


def test_another_key_cannot_read_it() -> None:
    stored = SecretBox(TEST_SECRET_KEY).encrypt("app-token-123")

    with pytest.raises(SecretsError, match="SALEOR_GORDON_SECRET_KEY"):
        SecretBox("another-secret-key-0123456789abcdef0123").decrypt(stored)


def test_embedded_default_generates_a_private_key_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'app.db'}")

    with caplog.at_level(logging.WARNING):
        first = load_secret_keys(settings)
    second = load_secret_keys(settings)

    key_file = tmp_path / "app.db.secret-key"
    assert first == second
    assert len(first) == 1
    assert len(first[0]) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "SALEOR_GORDON_SECRET_KEY is not set" in caplog.text
    assert first[0] not in caplog.text


def test_postgresql_requires_a_key() -> None:
    settings = Settings(database_url="postgresql://user:pass@db.example.com/gordon")

    with pytest.raises(ConfigurationError, match="SALEOR_GORDON_SECRET_KEY is not set"):
        load_secret_keys(settings)


def test_an_empty_key_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "app.db.secret-key").write_text("\n")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'app.db'}")

    with pytest.raises(ConfigurationError, match="holds no usable key"):
        load_secret_keys(settings)


def test_an_unwritable_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    settings = Settings(database_url=f"sqlite:///{blocker / 'app.db'}")

    with pytest.raises(ConfigurationError, match="Cannot use the key file"):
        load_secret_keys(settings)


NEW_KEY = "new-secret-key-fedcba9876543210fedcba9876"


def test_older_keys_still_decrypt_and_the_first_encrypts() -> None:
    stored_old = SecretBox(TEST_SECRET_KEY).encrypt("app-token-123")
    box = SecretBox(NEW_KEY, TEST_SECRET_KEY)

    stored_new = box.encrypt("app-token-456")

    assert box.decrypt(stored_old) == "app-token-123"
    assert SecretBox(NEW_KEY).decrypt(stored_new) == "app-token-456"
    assert not box.under_current_key(stored_old)
    assert box.under_current_key(stored_new)
    assert SecretBox(NEW_KEY).decrypt(box.rotate(stored_old)) == "app-token-123"


def test_several_comma_separated_keys_in_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALEOR_GORDON_SECRET_KEY", f" {NEW_KEY}, {TEST_SECRET_KEY} ")

    assert load_secret_keys(Settings()) == [NEW_KEY, TEST_SECRET_KEY]


def test_each_of_several_keys_must_be_long_enough() -> None:
    with pytest.raises(ValueError, match="each of the comma-separated keys"):
        Settings(secret_key=f"{NEW_KEY},short")  # type: ignore[arg-type]


def test_a_key_file_with_several_keys_lists_them_current_first(tmp_path: Path) -> None:
    (tmp_path / "app.db.secret-key").write_text(f"{NEW_KEY}\n{TEST_SECRET_KEY}\n")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'app.db'}")

    assert load_secret_keys(settings) == [NEW_KEY, TEST_SECRET_KEY]


def test_a_missing_key_file_is_not_created_when_told_not_to(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'app.db'}")

    with pytest.raises(ConfigurationError, match="does not exist"):
        load_secret_keys(settings, create=False)

    assert not (tmp_path / "app.db.secret-key").exists()
