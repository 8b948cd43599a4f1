"""Every message translate_order gives, in full: the field, the reason and the fix.

Shop owners read these in the Dashboard and in job history, so their wording is behaviour; the story
tests elsewhere assert fields and reasons, this table also pins each fix and skip reason.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from saleor_gordon.core.order import SaleorOrder
from saleor_gordon.core.translate import (
    Skipped,
    Translated,
    TranslationResult,
    Untranslatable,
    translate_document,
    translate_order,
)
from tests.core.builders import config, line_data, metadata, order_data

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CATCH_ALL = [{"deliverygroup": "Gordon Store"}]


def addr(**changes: Any) -> dict[str, Any]:
    address: dict[str, Any] = copy.deepcopy(order_data()["shippingAddress"])
    address.update(changes)
    return address


def variant(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(line_data()["variant"])
    data.update(changes)
    return data


def answer(result: TranslationResult) -> tuple[str, list[str]]:
    if isinstance(result, Translated):
        return "Translated", [w.message for w in result.warnings]
    if isinstance(result, Untranslatable):
        return "Untranslatable", [p.message for p in result.problems]
    assert isinstance(result, Skipped)
    return "Skipped", [result.reason]


CASES: dict[str, tuple[Any, dict[str, Any], tuple[str, list[str]]]] = {
    "empty-order": (
        SaleorOrder(),
        {"delivery_groups": CATCH_ALL},
        (
            "Untranslatable",
            [
                "number: the order has no number. Re-read the order from Saleor; every order has one.",
                "created: the order has no creation time. Set gordon.delivery_date on the order (YYYY-MM-DD).",
                "lines: the order has no lines to deliver. Add the products to deliver to the order.",
                "shippingAddress: the order has no shipping address. Add the delivery address to the order in the Saleor Dashboard.",
            ],
        ),
    ),
    "address-gaps": (
        order_data(
            shippingAddress=addr(
                firstName="",
                lastName="",
                companyName="",
                streetAddress1=" ",
                postalCode="",
                city="",
            )
        ),
        {},
        (
            "Untranslatable",
            [
                "shippingAddress.firstName: the shipping address has neither a person's name nor a company name. Add the customer's first and last name (or a company name) to the shipping address.",
                "shippingAddress.streetAddress1: the shipping address has no street address. Add the street address to the order's shipping address.",
                "shippingAddress.postalCode: the shipping address has no postal code. Add the postal code to the order's shipping address.",
                "shippingAddress.city: the shipping address has no city. Add the city to the order's shipping address.",
            ],
        ),
    ),
    "no-address": (
        order_data(shippingAddress=None),
        {},
        (
            "Untranslatable",
            [
                "shippingAddress: the order has no shipping address. Add the delivery address to the order in the Saleor Dashboard."
            ],
        ),
    ),
    "order-metadata": (
        order_data(metadata=metadata(time_window="kväll", delivery_date="1/12/2026")),
        {},
        (
            "Untranslatable",
            [
                "metadata gordon.time_window: 'kväll' is not a time window. Correct it in the order's metadata, e.g. 17:00 - 21:00.",
                "metadata gordon.delivery_date: '1/12/2026' is not a date. Write it as YYYY-MM-DD, e.g. 2026-12-01.",
            ],
        ),
    ),
    "past-date": (
        order_data(metadata=metadata(delivery_date="2026-11-30")),
        {},
        (
            "Untranslatable",
            [
                "metadata gordon.delivery_date: 2026-11-30 is in the past (today is 2026-12-01). Set a delivery date from today on."
            ],
        ),
    ),
    "method-window": (
        order_data(
            deliveryMethod={
                **order_data()["deliveryMethod"],
                "metadata": metadata(time_window="17-21"),
            }
        ),
        {},
        (
            "Untranslatable",
            [
                "deliveryMethod.metadata gordon.time_window: '17-21' is not a time window. Correct it in the shipping method's metadata, e.g. 17:00 - 21:00."
            ],
        ),
    ),
    "no-window": (
        order_data(),
        {"default_time_window": None},
        (
            "Untranslatable",
            [
                "time-window: no delivery time window is known for this order. Set default_time_window in the shop configuration, or gordon.time_window on the order or its shipping method (e.g. 17:00 - 21:00)."
            ],
        ),
    ),
    "no-created": (
        order_data(created=None),
        {},
        (
            "Untranslatable",
            [
                "created: the order has no creation time. Set gordon.delivery_date on the order (YYYY-MM-DD)."
            ],
        ),
    ),
    "line-problems": (
        order_data(
            lines=[
                line_data(productName="", variant=None),
                line_data(quantity=-2),
                line_data(variant=variant(metadata=metadata(type="warm"))),
                line_data(
                    variant=variant(
                        product={
                            **line_data()["variant"]["product"],
                            "metadata": metadata(temperature="hot"),
                        }
                    )
                ),
            ]
        ),
        {},
        (
            "Untranslatable",
            [
                "lines[0].productName: the line has no product name. Give the product a name in Saleor.",
                "lines[1].quantity: the quantity is -2. Correct the line's quantity.",
                "lines[2].variant.metadata gordon.type: 'warm' is not a temperature zone. Use one of: ambient, chilled, frozen.",
                "lines[3].product.metadata gordon.temperature: 'hot' is not a temperature zone. Use one of: ambient, chilled, frozen.",
            ],
        ),
    ),
    "no-lines": (
        order_data(lines=[]),
        {},
        (
            "Untranslatable",
            ["lines: the order has no lines to deliver. Add the products to deliver to the order."],
        ),
    ),
    "weight-unit": (
        order_data(lines=[line_data(variant=variant(weight={"unit": "STONE", "value": 2}))]),
        {},
        (
            "Translated",
            ["lines[0].variant.weight: unknown weight unit 'STONE'. The weight is left out."],
        ),
    ),
    "no-phone": (
        order_data(shippingAddress=addr(phone=""), billingAddress=None),
        {},
        (
            "Translated",
            [
                "shippingAddress.phone: the order has no phone number. Gordon cannot text the customer about the delivery; add a mobile number to the shipping address."
            ],
        ),
    ),
    "billing-used": (
        order_data(shippingAddress=addr(phone="070-99")),
        {},
        (
            "Translated",
            [
                "shippingAddress.phone: the number is not a valid phone number for SE. billingAddress.phone is sent instead; correct the number, with country code (e.g. +46 70 228 68 10)."
            ],
        ),
    ),
    "both-invalid-no-country": (
        order_data(
            shippingAddress=addr(phone="12", country={"code": ""}),
            billingAddress=addr(phone="34", country={"code": ""}),
        ),
        {},
        (
            "Translated",
            [
                "shippingAddress.phone: the number is not a valid phone number. Gordon cannot text the customer about the delivery; correct the number, with country code (e.g. +46 70 228 68 10).",
                "billingAddress.phone: the number is not a valid phone number. Gordon cannot text the customer about the delivery; correct the number, with country code (e.g. +46 70 228 68 10).",
            ],
        ),
    ),
    "draft": (
        order_data(status="DRAFT"),
        {},
        ("Skipped", ["order 45 is a draft"]),
    ),
    "draft-no-number": (
        order_data(status="DRAFT", number=""),
        {},
        ("Skipped", ["order T3JkZXI6YjAzMGFmOTYtYmE3Zi00YjkyLTlmOGEtM2M4MTdmMDRhNmRk is a draft"]),
    ),
    "no-shipping": (
        order_data(isShippingRequired=False),
        {},
        ("Skipped", ["order 45 needs no shipping"]),
    ),
    "click-and-collect": (
        order_data(
            deliveryMethod={"__typename": "Warehouse", "id": "W", "name": "Lager Västberga"}
        ),
        {},
        ("Skipped", ["order 45 is click and collect at 'Lager Västberga'"]),
    ),
    "click-and-collect-unnamed": (
        order_data(
            deliveryMethod={"__typename": "Warehouse", "id": "W", "name": ""},
            collectionPointName="Hämtställe",
        ),
        {},
        ("Skipped", ["order 45 is click and collect at 'Hämtställe'"]),
    ),
    "no-rule": (
        order_data(channel={"id": "x", "slug": "norge"}),
        {},
        (
            "Skipped",
            [
                "no delivery-group rule matches channel 'norge' / shipping method 'Gordon hemleverans 17-21'"
            ],
        ),
    ),
    "no-rule-no-method": (
        order_data(
            channel={"id": "x", "slug": "norge"}, deliveryMethod=None, shippingMethodName="Hem"
        ),
        {},
        ("Skipped", ["no delivery-group rule matches channel 'norge' / shipping method 'Hem'"]),
    ),
    "not-an-order": (
        {"data": {"order": None}},
        {},
        (
            "Untranslatable",
            [
                "order: the GraphQL response holds no order (not found, or the token may not read it). Give a Saleor order as returned by the GraphQL API."
            ],
        ),
    ),
}


@pytest.mark.parametrize("name", CASES.keys())
def test_every_message_in_full(name: str) -> None:
    document, config_changes, expected = CASES[name]
    shop = config(**config_changes)

    if isinstance(document, SaleorOrder):
        result = translate_order(document, shop, now=NOW)
    else:
        result = translate_document(document, shop, now=NOW)

    assert answer(result) == expected


SHIPPING_METHOD_21 = "U2hpcHBpbmdNZXRob2Q6MjE="  # ShippingMethod:21


@pytest.mark.parametrize(
    ("delivery_method", "method_name", "wanted", "matches"),
    [
        (None, "Gordon hemleverans", "gordon HEMLEVERANS", True),
        ({"__typename": "ShippingMethod", "id": "", "name": ""}, "Hem", "hem", True),
        (None, "", "Hem", False),
        (
            {"__typename": "ShippingMethod", "id": "", "name": "Gordon hem"},
            "Other",
            "gordon hem",
            True,
        ),
        (
            {"__typename": "ShippingMethod", "id": SHIPPING_METHOD_21, "name": "X"},
            "",
            "U2hpcHBpbmdNZXRob2RUeXBlOjIx",  # ShippingMethodType:21, as the Dashboard shows it
            True,
        ),
        (
            {"__typename": "ShippingMethod", "id": SHIPPING_METHOD_21, "name": "X"},
            "",
            "UHJvZHVjdFZhcmlhbnQ6MjE=",  # ProductVariant:21: same key, another type
            False,
        ),
        (
            {"__typename": "ShippingMethod", "id": SHIPPING_METHOD_21, "name": "X"},
            "",
            SHIPPING_METHOD_21,
            True,
        ),
    ],
    ids=[
        "order-name",
        "empty-method-name",
        "no-name",
        "method-name-first",
        "type-id",
        "other-type",
        "same-id",
    ],
)
def test_rule_shipping_method_by_name_or_primary_key(
    delivery_method: dict[str, Any] | None, method_name: str, wanted: str, matches: bool
) -> None:
    """The name falls back to the order's shippingMethodName; ids match by type and primary key."""
    data = order_data(deliveryMethod=delivery_method, shippingMethodName=method_name)
    shop = config(delivery_groups=[{"deliverygroup": "Gordon Store", "shipping_method": wanted}])

    result = translate_document(data, shop, now=NOW)

    if matches:
        assert isinstance(result, Translated)
    else:
        shown = (delivery_method or {}).get("name") or method_name
        assert answer(result) == (
            "Skipped",
            [f"no delivery-group rule matches channel 'sverige' / shipping method {shown!r}"],
        )


@pytest.mark.parametrize(
    ("variant_name", "variant_id", "shown"),
    [
        ("U2hpcDox", "v-1", False),  # 8 characters, Ship:1: an id
        ("QToxMjM", "v-1", True),  # 7 characters: too short to be read as an id
        ("U2hpcDoxMjM", "v-1", False),  # Ship:123 without its padding
        ("U2hp*cDox", "v-1", True),  # not base64
        ("aGVsbG8gd28", "v-1", True),  # base64 of "hello wo": no Type:pk inside
        ("v-402", "v-402", False),  # the variant's own id
        ("ID:402", "v-1", False),  # Saleor's name for a variant without name nor SKU
    ],
)
def test_variant_names_that_are_ids_are_left_out(
    variant_name: str, variant_id: str, shown: bool
) -> None:
    line = line_data(variantName=variant_name, variant=variant(id=variant_id))

    result = translate_document(order_data(lines=[line]), config(), now=NOW)

    assert isinstance(result, Translated)
    name = "Middagskasse 4 portioner" + (f" ({variant_name})" if shown else "")
    assert [item.name for item in result.gordon_order.inventory] == [name]


@pytest.mark.parametrize(
    ("weight", "kilograms"),
    [
        ({"unit": "G", "value": 0.0004}, None),  # rounds to 0 g: left out
        ({"unit": "G", "value": 0.6}, 0.001),
        ({"unit": "KG", "value": None}, None),
        ({"unit": "KG", "value": float("inf")}, None),
        ({"unit": "KG", "value": 0}, None),
    ],
    ids=repr,
)
def test_weights_that_cannot_be_sent_are_left_out(
    weight: dict[str, Any], kilograms: float | None
) -> None:
    line = line_data(variant=variant(weight=weight))

    result = translate_document(order_data(lines=[line]), config(), now=NOW)

    assert isinstance(result, Translated)
    assert [item.weight for item in result.gordon_order.inventory] == [kilograms]
    assert result.warnings == ()


def test_an_invalid_legacy_temperature_on_the_variant_names_the_variant() -> None:
    product = {**line_data()["variant"]["product"], "metadata": []}
    line = line_data(variant=variant(metadata=metadata(temperature="lukewarm"), product=product))

    result = translate_document(order_data(lines=[line]), config(), now=NOW)

    assert answer(result) == (
        "Untranslatable",
        [
            "lines[0].variant.metadata gordon.temperature: 'lukewarm' is not a temperature zone. "
            "Use one of: ambient, chilled, frozen."
        ],
    )


def test_a_line_without_its_variant_keeps_its_names_and_has_no_weight() -> None:
    """Saleor gives no variant for a deleted one; the line's own names and quantity still go."""
    line = line_data(variant=None, productName="Presentask", variantName="Stor")

    result = translate_document(order_data(lines=[line]), config(), now=NOW)

    assert isinstance(result, Translated)
    assert [item.to_json() for item in result.gordon_order.inventory] == [
        {"name": "Presentask (Stor)", "quantity": 1}
    ]


# What the Dashboard pages get of each message above: its code and parameters (no field path;
# the pages word it in the staff user's language, core.messages.ORDER_PROBLEMS).
CODES: dict[str, list[tuple[str, dict[str, object]]]] = {
    "empty-order": [
        ("problem.no_number", {}),
        ("problem.no_created", {}),
        ("problem.no_lines", {}),
        ("problem.no_shipping_address", {}),
    ],
    "address-gaps": [
        ("problem.no_customer_name", {}),
        ("problem.no_street_address", {}),
        ("problem.no_postal_code", {}),
        ("problem.no_city", {}),
    ],
    "no-address": [("problem.no_shipping_address", {})],
    "order-metadata": [
        ("problem.order_time_window", {"value": "kväll"}),
        ("problem.delivery_date_invalid", {"value": "1/12/2026"}),
    ],
    "past-date": [("problem.delivery_date_past", {"date": "2026-11-30", "today": "2026-12-01"})],
    "method-window": [("problem.method_time_window", {"value": "17-21"})],
    "no-window": [("problem.no_time_window", {})],
    "no-created": [("problem.no_created", {})],
    "line-problems": [
        ("problem.no_product_name", {"line": 1}),
        ("problem.negative_quantity", {"line": 2, "quantity": -2}),
        ("problem.item_type_invalid", {"line": 3, "value": "warm"}),
        ("problem.item_type_invalid", {"line": 4, "value": "hot"}),
    ],
    "no-lines": [("problem.no_lines", {})],
    "weight-unit": [("problem.weight_unit_unknown", {"line": 1, "unit": "STONE"})],
    "no-phone": [("problem.no_phone", {})],
    "billing-used": [("problem.shipping_phone_invalid_billing_used", {"country": "SE"})],
    "both-invalid-no-country": [
        ("problem.shipping_phone_invalid", {"country": ""}),
        ("problem.billing_phone_invalid", {"country": ""}),
    ],
    "not-an-order": [("problem.order_unreadable", {})],
}


@pytest.mark.parametrize("name", CODES.keys())
def test_every_problem_and_warning_is_a_code_with_its_parameters(name: str) -> None:
    document, config_changes, _ = CASES[name]
    shop = config(**config_changes)
    if isinstance(document, SaleorOrder):
        result = translate_order(document, shop, now=NOW)
    else:
        result = translate_document(document, shop, now=NOW)

    assert isinstance(result, Translated | Untranslatable)
    found = result.warnings if isinstance(result, Translated) else result.problems
    assert [(p.advice.code, dict(p.advice.params)) for p in found] == CODES[name]
    assert [p.advice for p in found] == [f"{p.reason}. {p.fix}" for p in found]


def test_every_case_with_problems_or_warnings_has_its_codes() -> None:
    assert set(CODES) == {name for name, case in CASES.items() if case[2][0] != "Skipped"}
