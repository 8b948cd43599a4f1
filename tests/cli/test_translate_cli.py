"""Stories of `saleor-gordon translate`: a shop owner tries a configuration on a real order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from saleor_gordon.cli import main
from tests.core.builders import config_data, order_data


def _write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(path)


def _run(tmp_path: Path, order: Any, config: Any = None, *extra: str) -> int:
    order_file = _write(tmp_path, "order.json", order)
    config_file = _write(tmp_path, "config.json", config_data() if config is None else config)
    return main(
        [
            "translate",
            order_file,
            "--config",
            config_file,
            "--now",
            "2026-12-01T10:00+01:00",
            *extra,
        ]
    )


@pytest.mark.parametrize(
    "document",
    [
        order_data(),
        {"data": {"order": order_data()}},
        {"__typename": "OrderFullyPaid", "order": order_data()},
    ],
    ids=["order", "graphql-response", "webhook-body"],
)
def test_prints_the_gordon_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: Any
) -> None:
    """Exit 0 with Gordon's JSON (indented, non-ASCII kept) on stdout and nothing on stderr."""
    code = _run(tmp_path, document)

    out, err = capsys.readouterr()
    assert code == 0
    assert err == ""
    assert '"address": "Segeltorpsvägen 42"' in out
    assert {"external_ref": "45", "zip": "12553", "mobile": "+46702286810"}.items() <= json.loads(
        out
    ).items()


def test_warnings_go_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing phone still prints the order, with a warning on stderr."""
    data = order_data()
    data["shippingAddress"]["phone"] = ""
    data["billingAddress"]["phone"] = ""

    code = _run(tmp_path, data)

    out, err = capsys.readouterr()
    assert code == 0
    assert "mobile" not in json.loads(out)
    assert err.startswith("warning: shippingAddress.phone: the order has no phone number.")


def test_problems_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every problem is listed; nothing is printed on stdout."""
    data = order_data(metadata=[{"key": "gordon.delivery_date", "value": "2026-11-30"}])
    data["shippingAddress"]["city"] = ""

    code = _run(tmp_path, data)

    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert "(2 problem(s))" in err
    assert "  - shippingAddress.city: the shipping address has no city." in err
    assert (
        "  - metadata gordon.delivery_date: 2026-11-30 is in the past (today is 2026-12-01)." in err
    )


def test_skipped_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An order that is not for Gordon is explained, with its own exit status."""
    code = _run(tmp_path, order_data(channel={"slug": "norge"}))

    out, err = capsys.readouterr()
    assert (code, out) == (3, "")
    assert "not for Gordon: no delivery-group rule matches channel 'norge'" in err


def test_not_an_order_is_a_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A GraphQL response without an order exits 1 and says so."""
    code = _run(tmp_path, {"data": {"order": None}})

    assert code == 1
    assert "holds no order" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("order", "config", "message"),
    [
        ("{not json", None, "is not valid JSON (line 1, column 2"),
        (order_data(), "[", "config.json is not valid JSON"),
        (order_data(), {"gordon": {}}, "is invalid:\n  - gordon.base_url: is required"),
    ],
    ids=["order-not-json", "config-not-json", "config-invalid"],
)
def test_unusable_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], order: Any, config: Any, message: str
) -> None:
    """Broken files and invalid configurations are input errors."""
    code = _run(tmp_path, order, config)

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ")
    assert message in err


@pytest.mark.parametrize(
    ("order", "message"),
    [
        ([], "is not a Saleor order: expected a JSON object, got a list"),
        (None, "is not a Saleor order: expected a JSON object, got null"),
        (5, "is not a Saleor order: expected a JSON object, got an integer"),
        ({"order": 5}, "is not a Saleor order: 'order' should be an object, got an integer"),
        ({"data": {"order": []}}, "is not a Saleor order: 'order' should be an object, got a list"),
    ],
    ids=["list", "null", "integer", "order-integer", "data-order-list"],
)
def test_an_order_that_is_not_an_object_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], order: Any, message: str
) -> None:
    """--help: exit 2 when the input is unusable; the kind is said in words ("an integer", not "a int")."""
    code = _run(tmp_path, order)

    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.startswith("error: the order file ")
    assert message in err
    assert "a int" not in err


@pytest.mark.parametrize("which", ["order", "config"])
def test_deeply_nested_json_exits_2_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], which: str
) -> None:
    """json.loads raises RecursionError on absurd nesting: an input error, not a crash."""
    deep = "[" * 100_000 + "]" * 100_000

    code = _run(tmp_path, deep) if which == "order" else _run(tmp_path, order_data(), deep)

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ")
    assert "nested too deeply" in err
    assert "Traceback" not in err


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A wrong path is named."""
    config_file = _write(tmp_path, "config.json", config_data())

    code = main(["translate", str(tmp_path / "nope.json"), "--config", config_file])

    assert code == 2
    assert "cannot read the order file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("now", "expected_code"),
    [
        ("2026-12-01", 0),
        ("2026-12-02T00:30", 1),
        ("2026-12-01T22:30Z", 0),
        ("2026-12-01T23:30Z", 1),
        ("yesterday", 2),
    ],
    ids=[
        "date-only",
        "naive-is-shop-local",
        "utc-still-today",
        "utc-already-tomorrow",
        "unreadable",
    ],
)
def test_now_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], now: str, expected_code: int
) -> None:
    """--now decides whether a requested date of 2026-12-01 is already past."""
    order_file = _write(
        tmp_path,
        "order.json",
        order_data(metadata=[{"key": "gordon.delivery_date", "value": "2026-12-01"}]),
    )
    config_file = _write(tmp_path, "config.json", config_data())

    code = main(["translate", order_file, "--config", config_file, "--now", now])

    capsys.readouterr()
    assert expected_code == code


def test_computed_date_counts_from_now(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An order placed on Friday after the cutoff, tried on Tuesday morning, is
    for Wednesday (not Monday, in the past)."""
    order_file = _write(tmp_path, "order.json", order_data(created="2026-12-04T15:30:00+00:00"))
    config_file = _write(tmp_path, "config.json", config_data())

    code = main(
        ["translate", order_file, "--config", config_file, "--now", "2026-12-08T09:00+01:00"]
    )

    assert code == 0
    assert json.loads(capsys.readouterr().out)["deliverydate"] == "2026-12-09"


def test_help_documents_the_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    """--help lists what each exit status means."""
    with pytest.raises(SystemExit):
        main(["translate", "--help"])

    out = capsys.readouterr().out
    assert "3  the order is not for Gordon" in out
    assert "2  the files cannot be read" in out
