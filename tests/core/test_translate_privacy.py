"""Translation messages carry no customer data.

The worker keeps problem and warning messages in job history and in the order's metadata, and customer
data is not kept after a job succeeds: messages name the field and the reason only.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from saleor_gordon.core.translate import (
    Skipped,
    Translated,
    TranslationResult,
    Untranslatable,
    translate_document,
)
from tests.core.builders import config, line_data, metadata, order_data

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

# Customer data of the orders below; none of it may appear in any message. (Malformed delivery dates,
# time windows and types ARE quoted: they are storefront or shop values, and quoting them helps.)
PERSONAL = {
    "firstName": "Zlatana",
    "lastName": "Quarnström",
    "companyName": "Quarnströms Bageri AB",
    "streetAddress1": "Hemligavägen 77",
    "streetAddress2": "Lgh 1402",
    "postalCode": "XQ9 ZZ7",
    "city": "Hemligstad",
    "phone": "070-99",
}
BILLING_PHONE = "+46 1"
EMAIL = "zlatana.q@@example..com"
NOTE = "Portkod 4711, ring Zlatana"


def _customer_values() -> list[str]:
    values = [*PERSONAL.values(), BILLING_PHONE, EMAIL, NOTE]
    digits = [
        "".join(ch for ch in phone if ch.isdigit()) for phone in (PERSONAL["phone"], BILLING_PHONE)
    ]
    return values + [d for d in digits if len(d) >= 3]


def _order(**changes: Any) -> dict[str, Any]:
    data = order_data(userEmail=EMAIL, customerNote=NOTE)
    data["shippingAddress"].update(PERSONAL)
    data["billingAddress"] = copy.deepcopy(data["shippingAddress"])
    data["billingAddress"]["phone"] = BILLING_PHONE
    for key, value in changes.items():
        if key.startswith("shipping_"):
            data["shippingAddress"][key.removeprefix("shipping_")] = value
        else:
            data[key] = value
    return data


ORDERS = {
    "invalid-phones-email-zip": _order(),
    "missing-street-and-city": _order(shipping_streetAddress1="", shipping_city=""),
    "no-name": _order(shipping_firstName="", shipping_lastName="", shipping_companyName=""),
    "bad-metadata": _order(
        metadata=metadata(delivery_date="31/12/2026", time_window="17-21", entry_code="4711")
    ),
    "past-date": _order(metadata=metadata(delivery_date="2020-01-01")),
    "bad-lines": _order(
        lines=[
            line_data(productName="", variant=None),
            line_data(quantity=-2),
            line_data(variant={**line_data()["variant"], "weight": {"unit": "STONE", "value": 2}}),
        ]
    ),
    "no-lines": _order(lines=[]),
    "wrong-types": _order(userEmail=["zlatana.q@@example..com"], shipping_phone={"n": "070-99"}),
    "billing-only-invalid": _order(shipping_phone=""),
    "no-shipping-address": _order(shippingAddress=None),
    "click-and-collect": _order(
        deliveryMethod={"__typename": "Warehouse", "id": "W", "name": "Lager"}
    ),
}


# What each order above must give: the kind of result and its (field, reason) pairs, exactly. Without
# this, a field function that raised, or reported the wrong field, would still leak nothing and pass.
INVALID_SE = "the number is not a valid phone number for SE"
EXPECTED: dict[str, tuple[type[TranslationResult], list[tuple[str, str]]]] = {
    "invalid-phones-email-zip": (
        Translated,
        [("shippingAddress.phone", INVALID_SE), ("billingAddress.phone", INVALID_SE)],
    ),
    "missing-street-and-city": (
        Untranslatable,
        [
            ("shippingAddress.streetAddress1", "the shipping address has no street address"),
            ("shippingAddress.city", "the shipping address has no city"),
        ],
    ),
    "no-name": (
        Untranslatable,
        [
            (
                "shippingAddress.firstName",
                "the shipping address has neither a person's name nor a company name",
            )
        ],
    ),
    "bad-metadata": (
        Untranslatable,
        [
            ("metadata gordon.time_window", "'17-21' is not a time window"),
            ("metadata gordon.delivery_date", "'31/12/2026' is not a date"),
        ],
    ),
    "past-date": (
        Untranslatable,
        [("metadata gordon.delivery_date", "2020-01-01 is in the past (today is 2026-12-01)")],
    ),
    "bad-lines": (
        Untranslatable,
        [
            ("lines[0].productName", "the line has no product name"),
            ("lines[1].quantity", "the quantity is -2"),
        ],
    ),
    "no-lines": (Untranslatable, [("lines", "the order has no lines to deliver")]),
    "wrong-types": (
        Untranslatable,
        [
            (
                "order",
                "not a readable Saleor order: userEmail: Input should be a valid string; "
                "shippingAddress.phone: Input should be a valid string",
            )
        ],
    ),
    "billing-only-invalid": (Translated, [("billingAddress.phone", INVALID_SE)]),
    "no-shipping-address": (
        Untranslatable,
        [("shippingAddress", "the order has no shipping address")],
    ),
    "click-and-collect": (Skipped, [("", "order 45 is click and collect at 'Lager'")]),
}


def _answer(result: TranslationResult) -> tuple[type[TranslationResult], list[tuple[str, str]]]:
    """The kind of result and its (field, reason) pairs; a Skipped has only a reason."""
    if isinstance(result, Translated):
        return Translated, [(w.field, w.reason) for w in result.warnings]
    if isinstance(result, Untranslatable):
        return Untranslatable, [(p.field, p.reason) for p in result.problems]
    return Skipped, [("", result.reason)]


def _messages(result: TranslationResult) -> list[str]:
    if isinstance(result, Translated):
        return [w.message for w in result.warnings]
    if isinstance(result, Untranslatable):
        return [p.message for p in result.problems]
    return [result.reason]


def test_every_order_has_its_expected_answer() -> None:
    """The table of expected answers covers every order above, no more."""
    assert list(EXPECTED) == list(ORDERS)


@pytest.mark.parametrize("name", ORDERS.keys())
def test_each_order_gives_exactly_its_problems(name: str) -> None:
    """The privacy checks below look at real answers: each order gives the named fields and reasons."""
    result = translate_document(ORDERS[name], config(), now=NOW)

    assert _answer(result) == EXPECTED[name]


@pytest.mark.parametrize("document", ORDERS.values(), ids=ORDERS.keys())
def test_no_message_quotes_customer_data(document: dict[str, Any]) -> None:
    """Every problem and warning names the field and the reason, never the customer's values."""
    result = translate_document(document, config(), now=NOW)
    messages = _messages(result)

    assert messages  # each of these orders says something
    leaks = [
        (value, message)
        for message in messages
        for value in _customer_values()
        if value.casefold() in message.casefold()
    ]
    assert leaks == []


def test_an_invalid_phone_is_named_by_field_and_country() -> None:
    """The message tells the shop owner where to look, not what the customer typed."""
    result = translate_document(_order(), config(), now=NOW)

    assert isinstance(result, Translated)
    assert [w.message.split(". ")[0] for w in result.warnings] == [
        "shippingAddress.phone: the number is not a valid phone number for SE",
        "billingAddress.phone: the number is not a valid phone number for SE",
    ]
