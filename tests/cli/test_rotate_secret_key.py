"""`saleor-gordon rotate-secret-key`: secrets stored under the old key, readable with the new alone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from saleor_gordon.cli import main
from saleor_gordon.errors import SecretsError
from saleor_gordon.secret_box import SecretBox
from saleor_gordon.store.database import create_engine, migrate
from saleor_gordon.store.installations import InstallationStore
from saleor_gordon.store.tables import installations
from tests.core.builders import config

OLD_KEY = "old-secret-key-0123456789abcdef0123456789"
NEW_KEY = "new-secret-key-fedcba9876543210fedcba9876"
OTHER_KEY = "unrelated-key-00000000000000000000000000"
SHOPS = ("https://a.example.com/graphql/", "https://b.example.com/graphql/")
TOKENS = {SHOPS[0]: "a" * 30, SHOPS[1]: "b" * 30}
GORDON_SECRET = "client-secret-42"  # config()'s


async def _store_under(database_url: str, key: str, *, configured: tuple[str, ...]) -> None:
    engine = create_engine(database_url)
    await migrate(engine)
    store = InstallationStore(engine, SecretBox(key))
    for url in SHOPS:
        installation = await store.save_installation(
            saleor_api_url=url, app_id="QXBwOjQ=", token=TOKENS[url], jwks={}, now=_now()
        )
        if url in configured:
            await store.save_config(installation.id, config(), now=_now())
    await engine.dispose()


async def _read_with(database_url: str, *keys: str) -> dict[str, tuple[str, str | None]]:
    """Each shop's token and Gordon client secret, decrypted with ``keys`` (first current)."""
    engine = create_engine(database_url)
    store = InstallationStore(engine, SecretBox.from_keys(keys))
    try:
        result = {}
        for installation in await store.list_installations():
            document = await store.get_config_document(installation.id)
            secret = document[1] if document is not None else None
            result[installation.saleor_api_url] = (installation.token, secret)
        return result
    finally:
        await engine.dispose()


async def _raw(database_url: str) -> list[tuple[str, str | None]]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(
                    installations.c.token_encrypted, installations.c.gordon_secret_encrypted
                ).order_by(installations.c.id)
            )
            return [(row[0], row[1]) for row in rows]
    finally:
        await engine.dispose()


def _now() -> datetime:
    return datetime.now(UTC)


EXPECTED = {SHOPS[0]: (TOKENS[SHOPS[0]], GORDON_SECRET), SHOPS[1]: (TOKENS[SHOPS[1]], None)}


def test_rotation_leaves_every_secret_readable_with_the_new_key_alone(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SALEOR_GORDON_DATABASE_URL", database_url)
    asyncio.run(_store_under(database_url, OLD_KEY, configured=(SHOPS[0],)))
    before = asyncio.run(_raw(database_url))
    monkeypatch.setenv("SALEOR_GORDON_SECRET_KEY", f"{NEW_KEY},{OLD_KEY}")

    assert main(["rotate-secret-key"]) == 0

    out = capsys.readouterr().out
    assert "Re-encrypted 3 secret(s) under the current key; 0 already were." in out
    assert asyncio.run(_read_with(database_url, NEW_KEY)) == EXPECTED
    with pytest.raises(SecretsError):
        asyncio.run(_read_with(database_url, OLD_KEY))
    after = asyncio.run(_raw(database_url))
    assert [row[1] is None for row in after] == [False, True]
    assert all(a != b for a, b in zip(after[0], before[0], strict=True))

    assert main(["rotate-secret-key"]) == 0  # a second run has nothing left to do
    assert "Re-encrypted 0 secret(s) under the current key; 3 already were." in (
        capsys.readouterr().out
    )
    assert asyncio.run(_raw(database_url)) == after


def test_a_secret_no_key_decrypts_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database_url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("SALEOR_GORDON_DATABASE_URL", database_url)
    asyncio.run(_store_under(database_url, OLD_KEY, configured=(SHOPS[0],)))
    before = asyncio.run(_raw(database_url))
    monkeypatch.setenv("SALEOR_GORDON_SECRET_KEY", f"{NEW_KEY},{OTHER_KEY}")

    assert main(["rotate-secret-key"]) == 1

    err = capsys.readouterr().err
    assert f"The token of {SHOPS[0]} decrypts under none of the keys" in err
    assert "Nothing was changed." in err
    assert asyncio.run(_raw(database_url)) == before


def test_one_key_alone_has_nothing_to_rotate_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database_url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("SALEOR_GORDON_DATABASE_URL", database_url)
    asyncio.run(_store_under(database_url, OLD_KEY, configured=()))
    monkeypatch.setenv("SALEOR_GORDON_SECRET_KEY", OLD_KEY)

    assert main(["rotate-secret-key"]) == 0

    out = capsys.readouterr().out
    assert "Re-encrypted 0 secret(s) under the current key; 2 already were." in out
    assert "put the new key first: SALEOR_GORDON_SECRET_KEY=NEW,OLD" in out


def test_the_key_file_of_an_embedded_database_gets_a_new_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database_url = f"sqlite:///{tmp_path / 'app.db'}"
    key_file = tmp_path / "app.db.secret-key"
    key_file.write_text(OLD_KEY + "\n")
    monkeypatch.setenv("SALEOR_GORDON_DATABASE_URL", database_url)
    monkeypatch.delenv("SALEOR_GORDON_SECRET_KEY", raising=False)
    asyncio.run(_store_under(database_url, OLD_KEY, configured=(SHOPS[0],)))

    assert main(["rotate-secret-key"]) == 0

    keys = key_file.read_text().splitlines()
    assert len(keys) == 1
    assert keys[0] != OLD_KEY
    assert len(keys[0]) == 64
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert asyncio.run(_read_with(database_url, keys[0])) == EXPECTED
    with pytest.raises(SecretsError):
        asyncio.run(_read_with(database_url, OLD_KEY))
    out = capsys.readouterr().out
    assert "Re-encrypted 3 secret(s) under the current key; 0 already were." in out
    assert keys[0] not in out


def test_an_interrupted_key_file_rotation_finishes_with_its_first_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run stopped after writing "NEW, OLD" into the file: the next run uses NEW, adds none."""
    database_url = f"sqlite:///{tmp_path / 'app.db'}"
    key_file = tmp_path / "app.db.secret-key"
    monkeypatch.setenv("SALEOR_GORDON_DATABASE_URL", database_url)
    monkeypatch.delenv("SALEOR_GORDON_SECRET_KEY", raising=False)
    asyncio.run(_store_under(database_url, OLD_KEY, configured=(SHOPS[0],)))
    key_file.write_text(f"{NEW_KEY}\n{OLD_KEY}\n")

    assert main(["rotate-secret-key"]) == 0

    assert key_file.read_text() == NEW_KEY + "\n"
    assert asyncio.run(_read_with(database_url, NEW_KEY)) == EXPECTED
