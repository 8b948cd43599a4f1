"""The shop's three settings for fulfillments and the tracking link, through the one validation
path (``parse_shop_config``)."""

from __future__ import annotations

from typing import Any

import pytest

from saleor_gordon.core.fulfillment import FulfillmentSettings, TrackingMode
from saleor_gordon.core.shop_config import parse_shop_config
from saleor_gordon.errors import ShopConfigInvalid
from tests.core.builders import config_data


def _problems(data: Any) -> list[str]:
    with pytest.raises(ShopConfigInvalid) as caught:
        parse_shop_config(data)
    return caught.value.problems


def test_a_shop_that_never_chose_adds_the_tracking_id_and_notifies() -> None:
    config = parse_shop_config(config_data())

    assert (config.tracking_on_fulfillment, config.notify_customer, config.tracking_url) == (
        "add",
        True,
        "",
    )
    assert config.fulfillment_settings == FulfillmentSettings("add", True, "")


@pytest.mark.parametrize("mode", ["add", "fulfill", "off"])
def test_each_mode(mode: TrackingMode) -> None:
    data = config_data(
        tracking_on_fulfillment=mode,
        notify_customer=False,
        tracking_url=" https://track.gordon.se/t/{tracking_id} ",
    )

    config = parse_shop_config(data)

    assert config.fulfillment_settings == FulfillmentSettings(
        mode, False, "https://track.gordon.se/t/{tracking_id}"
    )
    assert parse_shop_config(config.to_storage_dict()) == config
    assert config.masked_dict()["tracking_url"] == "https://track.gordon.se/t/{tracking_id}"


def test_a_null_link_is_no_link() -> None:
    assert parse_shop_config(config_data(tracking_url=None)).tracking_url == ""


def test_every_problem_with_what_to_write() -> None:
    data = config_data(
        tracking_on_fulfillment="yes", notify_customer="no", tracking_url="http://t.se/{id}"
    )

    assert _problems(data) == [
        "tracking_on_fulfillment: 'yes' is not allowed; use one of add, fulfill, off",
        "notify_customer: 'no' is not true or false; write true or false",
        "tracking_url: must contain {tracking_id} where the ID goes; "
        "e.g. https://track.example.com/{tracking_id}",
    ]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"tracking_on_fulfillment": None},
         "tracking_on_fulfillment: None is not allowed; use one of add, fulfill, off"),
        ({"tracking_on_fulfillment": "Fulfill"},
         "tracking_on_fulfillment: 'Fulfill' is not allowed; use one of add, fulfill, off"),
        ({"notify_customer": 1}, "notify_customer: 1 is not true or false; write true or false"),
        ({"tracking_url": 42}, "tracking_url: Input should be a valid string (got 42)"),
        ({"tracking_url": "https://t.se/{tracking_id}/{tracking_id}"},
         "tracking_url: must contain {tracking_id} once, not 2 times"),
    ],
)  # fmt: skip
def test_wrong_values(data: dict[str, Any], problem: str) -> None:
    assert _problems(config_data(**data)) == [problem]
