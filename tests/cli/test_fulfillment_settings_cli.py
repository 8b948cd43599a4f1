"""`config set|show` and `translate` take the fulfillment settings (tracking_on_fulfillment,
notify_customer, tracking_url) through the one validation path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from saleor_gordon.cli import main
from tests.cli.test_config_cli import API_URL, database
from tests.core.builders import config_data, order_data

__all__ = ["database"]  # the fixture, used by name

SETTINGS = {
    "tracking_on_fulfillment": "fulfill",
    "notify_customer": False,
    "tracking_url": "https://track.gordon.se/t/{tracking_id}",
}


def _write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def _set(tmp_path: Path, config: dict[str, Any]) -> int:
    return main(
        ["config", "set", "--saleor-api-url", API_URL, "--file", _write(tmp_path, "c.json", config)]
    )


@pytest.mark.usefixtures("database")
def test_set_then_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _set(tmp_path, config_data(**SETTINGS)) == 0
    capsys.readouterr()

    assert main(["config", "show", "--saleor-api-url", API_URL]) == 0

    out = capsys.readouterr().out
    shown = json.loads(out[out.index("{") :])
    assert {key: shown[key] for key in SETTINGS} == SETTINGS


@pytest.mark.usefixtures("database")
def test_a_stored_configuration_without_them_shows_the_defaults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _set(tmp_path, config_data()) == 0
    capsys.readouterr()

    assert main(["config", "show", "--saleor-api-url", API_URL]) == 0

    out = capsys.readouterr().out
    shown = json.loads(out[out.index("{") :])
    assert [shown[key] for key in SETTINGS] == ["add", True, ""]


@pytest.mark.usefixtures("database")
def test_a_wrong_link_is_refused_and_nothing_stored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = config_data(tracking_url="http://track.gordon.se/t/{tracking_id}")

    assert _set(tmp_path, bad) == 1

    err = capsys.readouterr().err
    assert "not stored" in err
    assert (
        "tracking_url: must be an https:// link; e.g. https://track.example.com/{tracking_id}"
        in err
    )


def test_translate_accepts_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "translate", _write(tmp_path, "order.json", order_data()),
            "--config", _write(tmp_path, "config.json", config_data(**SETTINGS)),
            "--now", "2026-12-01T10:00+01:00",
        ]
    )  # fmt: skip

    assert code == 0
    assert '"external_ref": "45"' in capsys.readouterr().out


def test_translate_refuses_a_wrong_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "translate", _write(tmp_path, "order.json", order_data()),
            "--config", _write(tmp_path, "c.json", config_data(tracking_on_fulfillment="auto")),
        ]
    )  # fmt: skip

    assert code == 2
    assert (
        "tracking_on_fulfillment: 'auto' is not allowed; use one of add, fulfill, off"
        in capsys.readouterr().err
    )
