"""Stories of translate_order: one table per rule of the translation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from saleor_gordon.core.order import SaleorOrder
from saleor_gordon.core.translate import (
    Problem,
    Skipped,
    Translated,
    TranslationResult,
    Untranslatable,
    translate_document,
    translate_order,
)
from tests.core.builders import (
    DANISH_ADDRESS,
    NORWEGIAN_ADDRESS,
    SHIPPING_METHOD_17_21_ID,
    config,
    config_data,
    line_data,
    metadata,
    order,
    order_data,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def translate(
    order_overrides: dict[str, Any] | None = None, **config_overrides: Any
) -> TranslationResult:
    return translate_order(order(**(order_overrides or {})), config(**config_overrides), now=NOW)


def translated(
    order_overrides: dict[str, Any] | None = None, **config_overrides: Any
) -> Translated:
    result = translate(order_overrides, **config_overrides)
    assert isinstance(result, Translated), result
    return result


def body(
    order_overrides: dict[str, Any] | None = None, **config_overrides: Any
) -> dict[str, object]:
    return translated(order_overrides, **config_overrides).gordon_order.to_json()


def problems(
    order_overrides: dict[str, Any] | None = None, **config_overrides: Any
) -> list[Problem]:
    result = translate(order_overrides, **config_overrides)
    assert isinstance(result, Untranslatable), result
    return list(result.problems)


def problem_pairs(
    order_overrides: dict[str, Any] | None = None, **config_overrides: Any
) -> list[tuple[str, str]]:
    """The (field, reason) of every problem, in order: what a test asserts, exactly."""
    return [(p.field, p.reason) for p in problems(order_overrides, **config_overrides)]


NO_NAME = "the shipping address has neither a person's name nor a company name"
NO_LINES = "the order has no lines to deliver"


def test_swedish_example_of_the_api_article() -> None:
    """Segeltorpsvägen 42, 125 53 Älvsjö, +46 70 228 68 10 becomes Gordon's example body."""
    result = translated()

    assert result.gordon_order.to_json() == {
        "external_ref": "45",
        "customer-name": "Andreas Viklund",
        "address": "Segeltorpsvägen 42",
        "zip": "12553",
        "city": "ÄLVSJÖ",
        "country_code": "SE",
        "mobile": "+46702286810",
        "email": "andreas.viklund@example.com",
        "notes": "Knock please",
        "deliverydate": "2026-12-02",
        "time-window": "14:00 - 16:00",
        "deliverygroup": "Gordon Store",
        "inventory": [
            {
                "name": "Middagskasse 4 portioner (3 middagar)",
                "quantity": 1,
                "type": "chilled",
                "weight": 6.5,
            }
        ],
    }
    assert result.warnings == ()
    assert result.rule_index == 0


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        pytest.param(
            NORWEGIAN_ADDRESS,
            {"zip": "0575", "city": "OSLO", "country_code": "NO", "mobile": "+4741234567"},
            id="norway-leading-zero-national-phone",
        ),
        pytest.param(
            DANISH_ADDRESS,
            {
                "zip": "2100",
                "city": "KØBENHAVN Ø",
                "country_code": "DK",
                "mobile": "+4520123456",
                "address2": "3. th.",
            },
            id="denmark",
        ),
        pytest.param(
            {"postalCode": " 125\u00a053 ", "phone": "070-228 68 10"},
            {"zip": "12553", "mobile": "+46702286810"},
            id="sweden-odd-spacing-national-phone",
        ),
    ],
)
def test_addresses_of_the_nordic_countries(
    address: dict[str, Any], expected: dict[str, str]
) -> None:
    """Zips lose their spaces but keep leading zeros; phones become E.164 with the address country."""
    shipping = {**order_data()["shippingAddress"], **address}

    result = body({"shippingAddress": shipping})

    assert expected == {key: result[key] for key in expected}


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (
            {"firstName": "Andreas", "lastName": "Viklund", "companyName": "Matglad AB"},
            "Andreas Viklund",
        ),
        ({"firstName": "", "lastName": "", "companyName": "Matglad AB"}, "Matglad AB"),
        ({"firstName": " Cher ", "lastName": "", "companyName": ""}, "Cher"),
        ({"firstName": "", "lastName": "Viklund", "companyName": ""}, "Viklund"),
    ],
)
def test_customer_name_is_the_person_else_the_company(names: dict[str, str], expected: str) -> None:
    """customer-name: first + last name; the company when no person is named."""
    shipping = {**order_data()["shippingAddress"], **names}

    assert expected == body({"shippingAddress": shipping})["customer-name"]


def test_nameless_address_is_a_problem() -> None:
    """No person and no company: the shop owner is told which field to fill in."""
    shipping = {
        **order_data()["shippingAddress"],
        "firstName": "",
        "lastName": "",
        "companyName": "",
    }

    assert problem_pairs({"shippingAddress": shipping}) == [("shippingAddress.firstName", NO_NAME)]


def test_every_missing_required_field_is_reported_at_once() -> None:
    """Street, zip and city missing, no lines, no number: all problems come back together."""
    shipping = {
        **order_data()["shippingAddress"],
        "streetAddress1": "",
        "postalCode": " ",
        "city": None,
    }

    found = problem_pairs({"shippingAddress": shipping, "lines": [], "number": ""})

    assert found == [
        ("number", "the order has no number"),
        ("lines", NO_LINES),
        ("shippingAddress.streetAddress1", "the shipping address has no street address"),
        ("shippingAddress.postalCode", "the shipping address has no postal code"),
        ("shippingAddress.city", "the shipping address has no city"),
    ]


def test_missing_shipping_address_is_one_problem() -> None:
    """An order without a shipping address gets one problem, not one per address field."""
    assert problem_pairs({"shippingAddress": None}) == [
        ("shippingAddress", "the order has no shipping address")
    ]


@pytest.mark.parametrize(
    ("shipping_phone", "billing_phone", "expected_mobile", "warning_field"),
    [
        ("+46 70 228 68 10", "", "+46702286810", None),
        ("", "+46 73 987 65 43", "+46739876543", None),
        ("", "", "", "shippingAddress.phone"),
        ("12", "+46 73 987 65 43", "+46739876543", "shippingAddress.phone"),
        ("", "not a phone", "", "billingAddress.phone"),
        ("+46 70 228 68 10", "12", "+46702286810", None),
    ],
    ids=[
        "shipping",
        "billing-fallback",
        "missing",
        "invalid-shipping-valid-billing",
        "invalid-billing",
        "billing-not-tried",
    ],
)
def test_mobile_missing_or_invalid_is_a_warning(
    shipping_phone: str, billing_phone: str, expected_mobile: str, warning_field: str | None
) -> None:
    """Gordon texts the customer; without a usable number the order still goes, with a warning."""
    data = order_data()
    data["shippingAddress"]["phone"] = shipping_phone
    data["billingAddress"]["phone"] = billing_phone

    result = translated(
        {"shippingAddress": data["shippingAddress"], "billingAddress": data["billingAddress"]}
    )

    assert expected_mobile == result.gordon_order.mobile
    assert ([warning_field] if warning_field else []) == [w.field for w in result.warnings]
    if expected_mobile == "":
        assert "mobile" not in result.gordon_order.to_json()


def test_invalid_shipping_phone_falls_back_to_a_valid_billing_phone() -> None:
    """The first VALID number wins; the invalid shipping number is still reported (without the number)."""
    data = order_data()
    data["shippingAddress"]["phone"] = "070-12"
    data["billingAddress"]["phone"] = "+47 412 34 567"

    result = translated(
        {"shippingAddress": data["shippingAddress"], "billingAddress": data["billingAddress"]}
    )

    assert result.gordon_order.mobile == "+4741234567"
    [warning] = result.warnings
    assert warning.field == "shippingAddress.phone"
    assert warning.reason == "the number is not a valid phone number for SE"
    assert "billingAddress.phone is sent instead" in warning.fix
    assert "070-12" not in warning.message


def test_both_phones_invalid_are_both_warned_about() -> None:
    """Neither number is usable: no mobile, one warning per number tried."""
    data = order_data()
    data["shippingAddress"]["phone"] = "12"
    data["billingAddress"]["phone"] = "34"

    result = translated(
        {"shippingAddress": data["shippingAddress"], "billingAddress": data["billingAddress"]}
    )

    assert result.gordon_order.mobile == ""
    assert [w.field for w in result.warnings] == ["shippingAddress.phone", "billingAddress.phone"]
    assert all("cannot text the customer" in w.fix for w in result.warnings)


def test_optional_fields_come_from_the_order_and_its_metadata() -> None:
    """email = userEmail, notes = customerNote, entrycode = metadata gordon.entry_code, prefix + number."""
    result = body(
        {
            "metadata": metadata(entry_code=" 1234# "),
            "customerNote": "",
            "userEmail": "a@example.com",
        },
        external_ref_prefix="SE-",
    )

    assert (
        result["external_ref"],
        result["entrycode"],
        result["email"],
    ) == ("SE-45", "1234#", "a@example.com")
    assert "notes" not in result


# --- skipping and rule matching -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "reason_part"),
    [
        ({"status": "DRAFT"}, "draft"),
        ({"isShippingRequired": False}, "needs no shipping"),
        (
            {
                "deliveryMethod": {
                    "__typename": "Warehouse",
                    "id": "V2FyZWhvdXNlOjE=",
                    "name": "Lager Västberga",
                }
            },
            "click and collect at 'Lager Västberga'",
        ),
        (
            {"channel": {"id": "x", "slug": "norge"}},
            "channel 'norge' / shipping method 'Gordon hemleverans 17-21'",
        ),
    ],
    ids=["draft", "no-shipping", "click-and-collect", "no-matching-rule"],
)
def test_orders_not_for_gordon_are_skipped(overrides: dict[str, Any], reason_part: str) -> None:
    """Skipped, not an error: even an otherwise broken order is simply not Gordon's."""
    result = translate({**overrides, "shippingAddress": None})

    assert isinstance(result, Skipped)
    assert reason_part in result.reason


def test_no_matching_rule_names_channel_and_shipping_method() -> None:
    """The skip reason tells the shop owner what to add a rule for."""
    result = translate({"channel": {"slug": "norge"}})

    assert (
        Skipped(
            "no delivery-group rule matches channel 'norge' / shipping method 'Gordon hemleverans 17-21'"
        )
        == result
    )


@pytest.mark.parametrize(
    ("rules", "expected_index"),
    [
        ([{"deliverygroup": "A"}], 0),
        (
            [
                {"deliverygroup": "A", "channel": "norge"},
                {"deliverygroup": "B", "channel": "SVERIGE"},
            ],
            1,
        ),
        ([{"deliverygroup": "A", "shipping_method": "gordon HEMLEVERANS 17-21"}], 0),
        (
            [
                {"deliverygroup": "A", "shipping_method": "Gordon hemleverans 08-12"},
                {"deliverygroup": "B"},
            ],
            1,
        ),
        ([{"deliverygroup": "A", "shipping_method": SHIPPING_METHOD_17_21_ID}], 0),
        ([{"deliverygroup": "A", "shipping_method": "U2hpcHBpbmdNZXRob2RUeXBlOjIx"}], 0),
        (
            [
                {"deliverygroup": "A", "shipping_method": "U2hpcHBpbmdNZXRob2RUeXBlOjIy"},
                {"deliverygroup": "B"},
            ],
            1,
        ),
        ([{"deliverygroup": "A", "warehouse": "lager-vastberga"}], 0),
        ([{"deliverygroup": "A", "warehouse": "lager västberga"}], 0),
        ([{"deliverygroup": "A", "warehouse": "V2FyZWhvdXNlOjE="}], 0),
        (
            [
                {"deliverygroup": "A", "warehouse": "other"},
                {"deliverygroup": "B", "channel": "sverige"},
            ],
            1,
        ),
        (
            [
                {"deliverygroup": "A", "channel": "sverige"},
                {"deliverygroup": "B", "channel": "sverige"},
            ],
            0,
        ),
    ],
    ids=[
        "no-conditions",
        "channel-case-insensitive",
        "method-name-case-insensitive",
        "method-name-mismatch",
        "method-id",
        "method-type-id-from-dashboard",
        "other-method-type-id",
        "warehouse-slug",
        "warehouse-name",
        "warehouse-id",
        "warehouse-mismatch",
        "first-match-wins",
    ],
)
def test_first_matching_rule_wins(rules: list[dict[str, str]], expected_index: int) -> None:
    """Rules match on channel slug, shipping method id or name, and warehouse; in order."""
    result = translated(delivery_groups=rules)

    assert expected_index == result.rule_index
    assert rules[expected_index]["deliverygroup"] == result.gordon_order.deliverygroup


def test_warehouse_rule_does_not_match_unallocated_lines() -> None:
    """A line without allocations has no warehouse to match."""
    result = translate(
        {"lines": [line_data(allocations=[])]},
        delivery_groups=[{"deliverygroup": "A", "warehouse": "lager-vastberga"}],
    )

    assert isinstance(result, Skipped)


def test_metadata_delivery_group_overrides_the_rule() -> None:
    """Order metadata gordon.delivery_group wins over the matched rule."""
    assert (
        body({"metadata": metadata(delivery_group="Gordon Göteborg")})["deliverygroup"]
        == "Gordon Göteborg"
    )


# --- time window ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_window", "rule_window", "method_window", "default_window", "expected"),
    [
        ("08:00 - 12:00", "17:00 - 21:00", "18:00 - 22:00", "14:00 - 16:00", "08:00 - 12:00"),
        (None, "17:00 - 21:00", "18:00 - 22:00", "14:00 - 16:00", "17:00 - 21:00"),
        (None, None, "18:00 - 22:00", "14:00 - 16:00", "18:00 - 22:00"),
        (None, None, None, "14:00 - 16:00", "14:00 - 16:00"),
        ("17:00-21:00", None, None, None, "17:00 - 21:00"),
        ("8:00 – 12:00", None, None, None, "08:00 - 12:00"),
        ("  ", None, None, "14:00 - 16:00", "14:00 - 16:00"),
    ],
    ids=[
        "order",
        "rule",
        "shipping-method",
        "default",
        "normalised",
        "short-hour-en-dash",
        "blank-order-value",
    ],
)
def test_time_window_precedence(
    order_window: str | None,
    rule_window: str | None,
    method_window: str | None,
    default_window: str | None,
    expected: str,
) -> None:
    """Order metadata > rule > shipping method metadata > default_time_window, as "HH:MM - HH:MM"."""
    data = order_data(
        metadata=metadata(time_window=order_window) if order_window is not None else []
    )
    if method_window is not None:
        data["deliveryMethod"]["metadata"] = metadata(time_window=method_window)
    rule = {"deliverygroup": "Gordon Store", "time_window": rule_window}

    result = translated(data, delivery_groups=[rule], default_time_window=default_window)

    assert expected == result.gordon_order.time_window


@pytest.mark.parametrize(
    ("order_window", "method_window", "field", "reason"),
    [
        ("kväll", None, "metadata gordon.time_window", "'kväll' is not a time window"),
        (
            "21:00 - 17:00",
            None,
            "metadata gordon.time_window",
            "'21:00 - 17:00' does not start before it ends",
        ),
        (
            "25:00 - 26:00",
            None,
            "metadata gordon.time_window",
            "'25:00 - 26:00' holds an impossible time",
        ),
        (
            None,
            "17-21",
            "deliveryMethod.metadata gordon.time_window",
            "'17-21' is not a time window",
        ),
    ],
)
def test_malformed_time_window_is_a_problem_not_replaced(
    order_window: str | None, method_window: str | None, field: str, reason: str
) -> None:
    """A malformed window is reported; the default is not silently used instead."""
    data = order_data(metadata=metadata(time_window=order_window) if order_window else [])
    if method_window is not None:
        data["deliveryMethod"]["metadata"] = metadata(time_window=method_window)

    assert problem_pairs(data) == [(field, reason)]


def test_no_time_window_anywhere_is_a_problem() -> None:
    """Without any source Gordon's required time-window cannot be filled."""
    found = problems(default_time_window=None)

    assert [(p.field, p.reason) for p in found] == [
        ("time-window", "no delivery time window is known for this order")
    ]
    assert "default_time_window" in found[0].fix


# --- delivery date --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        ("2026-12-01T08:00:00+00:00", "2026-12-02"),
        ("2026-12-01T12:59:00+00:00", "2026-12-02"),
        ("2026-12-01T13:00:00+00:00", "2026-12-03"),
        ("2026-12-04T08:00:00+00:00", "2026-12-07"),
        ("2026-12-23T08:00:00+00:00", "2026-12-28"),
        ("2026-12-30T08:00:00+00:00", "2027-01-04"),
    ],
    ids=["next-day", "before-cutoff", "at-cutoff", "friday-to-monday", "christmas", "new-year"],
)
def test_delivery_date_is_computed_from_the_order_time(created: str, expected: str) -> None:
    """No requested date: first allowed day after lead days, cutoff, weekends and Swedish holidays."""
    assert expected == body({"created": created})["deliverydate"]


def test_computed_date_is_never_before_the_first_day_counted_from_now() -> None:
    """Placed Friday after the cutoff (→ Monday), first sent on Tuesday morning:
    Wednesday, not Monday's date in the past."""
    friday_evening = "2026-12-04T15:30:00+00:00"
    tuesday_morning = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)

    result = translate_order(order(created=friday_evening), config(), now=tuesday_morning)

    assert isinstance(result, Translated), result
    assert result.gordon_order.deliverydate == "2026-12-09"


def test_a_repush_keeps_the_date_gordon_has_so_the_hash_is_the_same() -> None:
    """Pushed on 1 Dec for 2 Dec; translated again after that day's cutoff (first day from then:
    3 Dec), the date Gordon has is kept and the content hash does not change."""
    first = translate_order(order(), config(), now=NOW)
    assert isinstance(first, Translated), first
    assert first.gordon_order.deliverydate == "2026-12-02"
    after_cutoff = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)

    again = translate_order(
        order(), config(), now=after_cutoff, pushed_delivery_date=date(2026, 12, 2)
    )
    unkept = translate_order(order(), config(), now=after_cutoff)

    assert isinstance(again, Translated), again
    assert again.gordon_order.content_hash() == first.gordon_order.content_hash()
    assert isinstance(unkept, Translated), unkept
    assert unkept.gordon_order.deliverydate == "2026-12-03"


def test_a_pushed_date_in_the_past_is_not_kept() -> None:
    """A week later the date Gordon had has passed: the first allowed day from now is sent."""
    later = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)

    result = translate_order(order(), config(), now=later, pushed_delivery_date=date(2026, 12, 2))

    assert isinstance(result, Translated), result
    assert result.gordon_order.deliverydate == "2026-12-09"


def test_a_requested_date_wins_over_the_pushed_date() -> None:
    """The storefront's gordon.delivery_date is sent even when Gordon has another date."""
    result = translate_order(
        order(metadata=metadata(delivery_date="2026-12-10")),
        config(),
        now=NOW,
        pushed_delivery_date=date(2026, 12, 2),
    )

    assert isinstance(result, Translated), result
    assert result.gordon_order.deliverydate == "2026-12-10"


@pytest.mark.parametrize("requested", ["2026-12-01", "2026-12-24", " 2027-03-05 "])
def test_requested_delivery_date_wins(requested: str) -> None:
    """Metadata gordon.delivery_date is sent as is (today is allowed), even on a day Gordon rarely drives."""
    assert (
        requested.strip() == body({"metadata": metadata(delivery_date=requested)})["deliverydate"]
    )


@pytest.mark.parametrize(
    ("requested", "reason"),
    [
        ("1/12/2026", "'1/12/2026' is not a date"),
        ("2026-13-01", "'2026-13-01' is not a date"),
        ("2026-12-1", "'2026-12-1' is not a date"),
        ("tomorrow", "'tomorrow' is not a date"),
        ("2026-11-30", "2026-11-30 is in the past (today is 2026-12-01)"),
    ],
)
def test_bad_or_past_requested_date_is_a_problem(requested: str, reason: str) -> None:
    """A malformed or past date is reported, never replaced by a computed one."""
    found = problem_pairs({"metadata": metadata(delivery_date=requested)})

    assert found == [("metadata gordon.delivery_date", reason)]


def test_past_is_judged_in_the_shop_time_zone() -> None:
    """At 23:30 UTC on 30 Nov it is already 1 Dec in Stockholm, so 30 Nov is past."""
    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)

    result = translate_order(
        order(metadata=metadata(delivery_date="2026-11-30")), config(), now=late
    )

    assert isinstance(result, Untranslatable)
    assert [(p.field, p.reason) for p in result.problems] == [
        ("metadata gordon.delivery_date", "2026-11-30 is in the past (today is 2026-12-01)")
    ]


def test_no_creation_time_and_no_requested_date_is_a_problem() -> None:
    """Without `created` no date can be computed."""
    assert problem_pairs({"created": None}) == [("created", "the order has no creation time")]


# --- inventory ------------------------------------------------------------------------------------


def _variant(**changes: Any) -> dict[str, Any]:
    variant: dict[str, Any] = line_data()["variant"]
    variant.update(changes)
    return variant


def _product(**changes: Any) -> dict[str, Any]:
    product: dict[str, Any] = line_data()["variant"]["product"]
    product.update(changes)
    return product


@pytest.mark.parametrize(
    ("variant_meta", "product_meta", "default", "expected"),
    [
        (metadata(type="frozen"), metadata(type="chilled"), "ambient", "frozen"),
        ([], metadata(type="chilled"), "ambient", "chilled"),
        (metadata(temperature="frozen"), metadata(temperature="chilled"), "ambient", "frozen"),
        ([], metadata(temperature="chilled"), "ambient", "chilled"),
        (metadata(temperature="frozen"), metadata(type="chilled"), None, "chilled"),
        ([], [], "ambient", "ambient"),
        ([], [], None, None),
        (metadata(type=" Frozen "), [], None, "frozen"),
    ],
    ids=[
        "variant-type",
        "product-type",
        "variant-legacy",
        "product-legacy",
        "type-beats-legacy",
        "config-default",
        "omitted",
        "case-and-spaces",
    ],
)
def test_item_type_precedence(
    variant_meta: list[dict[str, str]],
    product_meta: list[dict[str, str]],
    default: str | None,
    expected: str | None,
) -> None:
    """Variant gordon.type > product gordon.type > gordon.temperature > default_item_type > omitted."""
    line = line_data(
        variant=_variant(metadata=variant_meta, product=_product(metadata=product_meta))
    )

    item = body({"lines": [line]}, default_item_type=default)["inventory"]

    assert [expected] == [entry.get("type") for entry in item]  # type: ignore[attr-defined]


def test_invalid_item_type_is_a_problem() -> None:
    """An unknown temperature zone names the metadata to correct."""
    line = line_data(variant=_variant(product=_product(metadata=metadata(type="warm"))))

    found = problems({"lines": [line]})

    assert [(p.field, p.reason) for p in found] == [
        ("lines[0].product.metadata gordon.type", "'warm' is not a temperature zone")
    ]
    assert "ambient, chilled, frozen" in found[0].fix


@pytest.mark.parametrize(
    ("weight", "expected"),
    [
        ({"unit": "KG", "value": 6.5}, 6.5),
        ({"unit": "G", "value": 500}, 0.5),
        ({"unit": "LB", "value": 1}, 0.454),
        ({"unit": "OZ", "value": 16}, 0.454),
        ({"unit": "TONNE", "value": 0.001}, 1.0),
        ({"unit": "kg", "value": 2}, 2.0),
        ({"unit": "KG", "value": 0}, None),
        (None, None),
    ],
)
def test_weight_in_kg(weight: dict[str, Any] | None, expected: float | None) -> None:
    """Variant weight per unit, converted to kg and rounded to grams; absent when unknown."""
    line = line_data(variant=_variant(weight=weight))

    assert expected == body({"lines": [line]})["inventory"][0].get("weight")  # type: ignore[index]


def test_unknown_weight_unit_is_left_out_with_a_warning() -> None:
    """An unknown unit cannot be converted; the order still goes."""
    result = translated(
        {"lines": [line_data(variant=_variant(weight={"unit": "STONE", "value": 1}))]}
    )

    assert result.gordon_order.inventory[0].weight is None
    assert [w.field for w in result.warnings] == ["lines[0].variant.weight"]


@pytest.mark.parametrize(
    ("variant_name", "expected"),
    [
        ("3 middagar", "Middagskasse 4 portioner (3 middagar)"),
        ("", "Middagskasse 4 portioner"),
        ("MK4-3", "Middagskasse 4 portioner"),
        ("UHJvZHVjdFZhcmlhbnQ6NDAy", "Middagskasse 4 portioner"),
        ("UHJvZHVjdFZhcmlhbnQ6OTk5", "Middagskasse 4 portioner"),
        ("ProductVariant:402", "Middagskasse 4 portioner"),
        ("ID:402", "Middagskasse 4 portioner"),
        ("4 portioner", "Middagskasse 4 portioner"),
        ("Standard", "Middagskasse 4 portioner (Standard)"),
        ("middagskasse 4 PORTIONER", "Middagskasse 4 portioner"),
        ("S", "Middagskasse 4 portioner (S)"),
        ("M", "Middagskasse 4 portioner (M)"),
        ("L", "Middagskasse 4 portioner (L)"),
        ("4", "Middagskasse 4 portioner"),
        ("2", "Middagskasse 4 portioner (2)"),
        ("portion", "Middagskasse 4 portioner (portion)"),
    ],
    ids=[
        "real",
        "empty",
        "sku",
        "variant-id",
        "other-global-id",
        "raw-global-id",
        "saleor-fallback",
        "repeated",
        "word",
        "equal-ignoring-case",
        "size-s-inside-a-word",
        "size-m-inside-a-word",
        "size-l",
        "digit-word",
        "digit",
        "part-of-a-word",
    ],
)
def test_line_name_has_the_variant_only_when_it_is_a_real_name(
    variant_name: str, expected: str
) -> None:
    """name = "Product (Variant)"; ids, SKUs and repeats of the product name are left out."""
    line = line_data(variantName=variant_name)

    assert expected == body({"lines": [line]})["inventory"][0]["name"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("product", "variant", "expected"),
    [
        ("Tomatsoppa", "S", "Tomatsoppa (S)"),
        ("Tomatsoppa", "M", "Tomatsoppa (M)"),
        ("Tomatsoppa", "L", "Tomatsoppa (L)"),
        ("Tomatsoppa S", "S", "Tomatsoppa S"),
        ("T-shirt L", "l", "T-shirt L"),
        ("Vatten 12-pack", "1", "Vatten 12-pack (1)"),
        ("Vatten 12-pack", "12", "Vatten 12-pack"),
        ("Mjölk 1,5 l", "1,5 l", "Mjölk 1,5 l"),
        ("Mjölk 1,5 l", "5", "Mjölk 1,5 l"),
        ("Kaffe (500 g)", "(500 g)", "Kaffe (500 g)"),
        ("Kaffe (500 g)", "50", "Kaffe (500 g) (50)"),
        ("Ost.*", ".", "Ost.* (.)"),
    ],
)
def test_variant_is_dropped_only_when_it_repeats_whole_words(
    product: str, variant: str, expected: str
) -> None:
    """Sizes and digits hidden inside a longer word are real variant names, not repeats."""
    line = line_data(productName=product, variantName=variant, productSku="SKU-1")

    assert expected == body({"lines": [line]})["inventory"][0]["name"]  # type: ignore[index]


def test_product_name_falls_back_to_the_variant_product() -> None:
    """A line without productName uses variant.product.name."""
    line = line_data(productName="", variantName="")

    assert body({"lines": [line]})["inventory"][0]["name"] == "Middagskasse 4 portioner"  # type: ignore[index]


@pytest.mark.parametrize(
    ("flags", "expected_names"),
    [
        ((True, False, True), ["Middagskasse 4 portioner (3 middagar)", "Tomatsoppa (S)"]),
        ((None, False, None), ["Middagskasse 4 portioner (3 middagar)", "Tomatsoppa (S)"]),
        ((False, True, True), ["Presentkort (500 kr)", "Tomatsoppa (S)"]),
        (
            (None, None, None),
            ["Middagskasse 4 portioner (3 middagar)", "Presentkort (500 kr)", "Tomatsoppa (S)"],
        ),
    ],
    ids=["gift-card", "gift-card-among-unflagged", "first-line-not-shippable", "no-flags-samples"],
)
def test_only_shippable_lines_become_items(
    flags: tuple[bool | None, ...], expected_names: list[str]
) -> None:
    """One item per shippable line; a line with isShippingRequired false is not delivered."""
    lines = [
        line_data(id="1"),
        line_data(id="2", productName="Presentkort", variantName="500 kr", productSku="GC-500"),
        line_data(id="3", productName="Tomatsoppa", variantName="S", productSku="TS-S"),
    ]
    for line, flag in zip(lines, flags, strict=True):
        if flag is not None:
            line["isShippingRequired"] = flag

    names = [item["name"] for item in body({"lines": lines})["inventory"]]  # type: ignore[attr-defined]

    assert expected_names == names


def test_a_mixed_order_keeps_the_field_paths_of_its_lines() -> None:
    """A problem on a line after a gift card still names that line's own index."""
    lines = [
        line_data(id="1", productName="Presentkort", variantName="", isShippingRequired=False),
        line_data(id="2", quantity=-1, isShippingRequired=True),
    ]

    assert problem_pairs({"lines": lines}) == [("lines[1].quantity", "the quantity is -1")]


def test_an_order_of_only_gift_cards_is_skipped() -> None:
    """Every line needs no shipping: the order is not for Gordon (even when the order flag is absent)."""
    lines = [line_data(productName="Presentkort", isShippingRequired=False)]

    result = translate({"lines": lines, "isShippingRequired": None})

    assert isinstance(result, Skipped)
    assert "needs no shipping" in result.reason


def test_quantity_zero_lines_are_dropped() -> None:
    """Lines with nothing to deliver do not reach Gordon."""
    lines = [line_data(quantity=0), line_data(id="2", quantity=3)]

    assert [item["quantity"] for item in body({"lines": lines})["inventory"]] == [3]  # type: ignore[attr-defined]


@pytest.mark.parametrize("lines", [[], [line_data(quantity=0)]], ids=["no-lines", "only-zero"])
def test_no_shippable_lines_is_a_problem(lines: list[dict[str, Any]]) -> None:
    """Gordon needs at least one inventory item."""
    assert problem_pairs({"lines": lines}) == [("lines", NO_LINES)]


def test_nameless_line_and_negative_quantity_are_problems() -> None:
    """Each line problem names the line."""
    lines = [line_data(productName="", variant=None), line_data(quantity=-1)]

    assert problem_pairs({"lines": lines}) == [
        ("lines[0].productName", "the line has no product name"),
        ("lines[1].quantity", "the quantity is -1"),
    ]


# --- results --------------------------------------------------------------------------------------


def test_problem_message_says_where_what_and_how() -> None:
    """The message is one line a shop owner can act on."""
    problem = Problem(
        "shippingAddress.city",
        "the shipping address has no city",
        "Add the city.",
        "problem.no_city",
    )

    assert (
        problem.message == "shippingAddress.city: the shipping address has no city. Add the city."
    )


def test_translate_document_reports_a_non_order_as_a_problem() -> None:
    """Raw JSON that holds no order is Untranslatable, with the reason."""
    result = translate_document({"data": {"order": None}}, config(), now=NOW)

    assert isinstance(result, Untranslatable)
    assert [(p.field, p.reason) for p in result.problems] == [
        ("order", "the GraphQL response holds no order (not found, or the token may not read it)")
    ]


def test_naive_now_is_read_as_utc() -> None:
    """A naive `now` is UTC, not the shop's time: 13:30 is 14:30 in Stockholm, past the 14:00
    cutoff, so Tuesday's order is delivered Thursday (read as Stockholm time: Wednesday)."""
    naive = datetime(2026, 12, 1, 13, 30)  # noqa: DTZ001 - the point of the test

    result = translate_order(order(), config(), now=naive)

    assert result == translate_order(order(), config(), now=naive.replace(tzinfo=UTC))
    assert isinstance(result, Translated)
    assert result.gordon_order.to_json()["deliverydate"] == "2026-12-03"
    as_local = translate_order(order(), config(), now=naive.replace(tzinfo=STOCKHOLM))
    assert isinstance(as_local, Translated)
    assert as_local.gordon_order.to_json()["deliverydate"] == "2026-12-02"


def test_orders_built_in_code_translate_too() -> None:
    """SaleorOrder needs no GraphQL data: a hand-built order with defaults is Untranslatable, not an error."""
    catch_all = config(delivery_groups=[{"deliverygroup": "Gordon Store"}])

    result = translate_order(SaleorOrder(), catch_all, now=NOW)

    assert isinstance(result, Untranslatable)
    assert [(p.field, p.reason) for p in result.problems] == [
        ("number", "the order has no number"),
        ("created", "the order has no creation time"),
        ("lines", NO_LINES),
        ("shippingAddress", "the order has no shipping address"),
    ]


def test_config_data_builder_is_valid() -> None:
    """The builders agree with the validator (guards the other tests)."""
    assert config(**config_data()).delivery_groups[0].deliverygroup == "Gordon Store"
