"""Stories of `saleor-gordon config set|show` and `migrate` run by an operator."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from saleor_gordon.cli import main
from saleor_gordon.secret_box import SecretBox
from saleor_gordon.store.database import create_engine, head_revision, migrate
from saleor_gordon.store.installations import InstallationStore
from tests.conftest import TEST_SECRET_KEY
from tests.core.builders import config_data

API_URL = "https://shop.example.com/graphql/"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An embedded database with one installed shop, as the environment names it."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("SALEOR_GORDON_DATABASE_URL", url)
    monkeypatch.setenv("SALEOR_GORDON_SECRET_KEY", TEST_SECRET_KEY)
    asyncio.run(_install(url))
    return url


async def _install(url: str) -> None:
    engine = create_engine(url)
    await migrate(engine)
    await InstallationStore(engine, SecretBox(TEST_SECRET_KEY)).save_installation(
        saleor_api_url=API_URL,
        app_id="QXBwOjQ=",
        token="t" * 30,
        jwks={"keys": []},
        now=datetime.now(UTC),
    )
    await engine.dispose()


def _write(tmp_path: Path, data: Any) -> str:
    path = tmp_path / "shop.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def test_set_then_show_masks_the_secret(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_data()
    secret = config["gordon"]["client_secret"]

    assert (
        main(["config", "set", "--saleor-api-url", API_URL, "--file", _write(tmp_path, config)])
        == 0
    )
    assert main(["config", "show", "--saleor-api-url", API_URL]) == 0

    out = capsys.readouterr().out
    shown = json.loads(out[out.index("{") :])
    assert shown["gordon"]["client_id"] == config["gordon"]["client_id"]
    assert shown["gordon"]["client_secret"].startswith("********")
    assert secret not in out
    assert (
        shown["delivery_groups"][0]["deliverygroup"]
        == config["delivery_groups"][0]["deliverygroup"]
    )


def test_secret_is_encrypted_in_the_database_file(database: str, tmp_path: Path) -> None:
    config = config_data()
    config["gordon"]["client_secret"] = "very-secret-gordon-value-123"

    assert (
        main(["config", "set", "--saleor-api-url", API_URL, "--file", _write(tmp_path, config)])
        == 0
    )

    stored = b"".join(path.read_bytes() for path in tmp_path.glob("app.db*"))
    assert b"very-secret-gordon-value-123" not in stored
    assert config["gordon"]["client_id"].encode() in stored


def test_invalid_configuration_lists_every_problem_and_keeps_the_stored_one(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "config",
                "set",
                "--saleor-api-url",
                API_URL,
                "--file",
                _write(tmp_path, config_data()),
            ]
        )
        == 0
    )
    bad = config_data(delivery_groups=[], default_time_window="21:00 - 17:00")
    bad["delivery_days"]["timezone"] = "Europe/Stockhlm"
    capsys.readouterr()

    assert (
        main(["config", "set", "--saleor-api-url", API_URL, "--file", _write(tmp_path, bad)]) == 1
    )

    err = capsys.readouterr().err
    assert "not stored" in err
    assert "delivery_groups" in err
    assert "default_time_window" in err
    assert "Europe/Stockhlm" in err
    assert main(["config", "show", "--saleor-api-url", API_URL]) == 0
    assert '"Europe/Stockholm"' in capsys.readouterr().out


def test_a_misspelt_setting_is_refused_naming_it(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A key the app does not know is never silently ignored: nothing is stored, the key is named."""
    typo = config_data()
    typo["delivery_days"]["cutof"] = "15:00"

    code = main(["config", "set", "--saleor-api-url", API_URL, "--file", _write(tmp_path, typo)])

    assert code == 1
    err = capsys.readouterr().err
    assert "not stored" in err
    assert (
        "delivery_days.cutof: is not a setting this app knows; remove it or correct its spelling"
        in err
    )
    assert main(["config", "show", "--saleor-api-url", API_URL]) == 1  # still none stored


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON (line 1, column 2"),
        ("[1, 2]", "must be a JSON object"),
        ("[" * 100_000, "is not usable JSON: it is nested too deeply"),
        ('{"lead_days": ' + "1" * 5000 + "}", "is not usable JSON: Exceeds the limit"),
    ],
    ids=["malformed", "not-an-object", "deeply-nested", "huge-integer"],
)
def test_unreadable_files_are_refused(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    """Every unusable file is a message and an exit status, never a traceback."""
    code = main(["config", "set", "--saleor-api-url", API_URL, "--file", _write(tmp_path, content)])

    assert code in (1, 2)
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_unknown_shop_is_named(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = "https://other.example.com/graphql/"

    assert (
        main(
            ["config", "set", "--saleor-api-url", other, "--file", _write(tmp_path, config_data())]
        )
        == 2
    )

    err = capsys.readouterr().err
    assert f"No installation for {other}" in err
    assert API_URL in err


def test_show_before_configuration(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "show", "--saleor-api-url", API_URL]) == 1
    assert "no configuration yet" in capsys.readouterr().err


def test_invalid_settings_refuse_to_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SALEOR_GORDON_DATABASE_URL", "mysql://nope")
    monkeypatch.setenv("SALEOR_GORDON_LOG_LEVEL", "LOUD")

    assert main(["migrate"]) == 2

    err = capsys.readouterr().err
    assert "SALEOR_GORDON_DATABASE_URL" in err
    assert "SALEOR_GORDON_LOG_LEVEL" in err


def test_migrate_reports_the_revision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SALEOR_GORDON_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    monkeypatch.setenv("SALEOR_GORDON_SECRET_KEY", TEST_SECRET_KEY)

    assert main(["migrate"]) == 0

    assert f"is at migration {head_revision()}" in capsys.readouterr().out


async def _stored_version(url: str) -> int:
    engine = create_engine(url)
    try:
        store = InstallationStore(engine, SecretBox(TEST_SECRET_KEY))
        installation = await store.get_installation(API_URL)
        assert installation is not None
        return (await store.get_stored_config(installation.id)).version
    finally:
        await engine.dispose()


def test_every_config_set_moves_the_version_on_so_open_pages_are_refused(
    database: str, tmp_path: Path
) -> None:
    """`config set` replaces what is stored (the operator's deliberate choice), and counts as a
    save: a Dashboard page that loaded the configuration before is told when it saves."""
    path = ["--saleor-api-url", API_URL, "--file", _write(tmp_path, config_data())]
    before = asyncio.run(_stored_version(database))

    first = main(["config", "set", *path])
    after_first = asyncio.run(_stored_version(database))
    second = main(["config", "set", *path])  # the same file again: still a new version
    after_second = asyncio.run(_stored_version(database))

    assert (first, second) == (0, 0)
    assert (before, after_first, after_second) == (0, 1, 2)
