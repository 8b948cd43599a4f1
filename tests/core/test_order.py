"""Stories of SaleorOrder: tolerant parsing of what Saleor sends, clear refusal of what is no order."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from saleor_gordon.core.order import (
    NotAnOrderObject,
    OrderIdentifierUnusable,
    OrderPayloadInvalid,
    SaleorOrder,
    extract_order_data,
)
from tests.core.builders import line_data, metadata, order_data


def test_order_details_fields_are_read() -> None:
    """The fields of fragment OrderDetails land in snake_case attributes."""
    order = SaleorOrder.from_graphql(order_data(metadata=metadata(delivery_date="2026-12-01")))

    assert (
        order.number,
        order.channel_slug,
        order.shipping_address.street_address_1 if order.shipping_address else "",
        order.shipping_address.country_code if order.shipping_address else "",
        order.lines[0].warehouses[0].slug,
    ) == ("45", "sverige", "Segeltorpsvägen 42", "SE", "lager-vastberga")
    assert datetime(2026, 12, 1, 8, tzinfo=UTC) == order.created
    assert order.metadata_value("gordon.delivery_date") == "2026-12-01"
    assert order.metadata_value("gordon.nothing") is None


def test_missing_and_null_values_become_defaults() -> None:
    """An order with little more than an id parses; text is "", objects None, lists empty."""
    order = SaleorOrder.from_graphql(
        {
            "id": "T3JkZXI6MQ==",
            "shippingAddress": {"firstName": None, "country": None},
            "lines": [{"variant": None}],
        }
    )

    assert (
        order.number,
        order.created,
        order.shipping_address.first_name if order.shipping_address else None,
        order.shipping_address.country_code if order.shipping_address else None,
        order.lines[0].quantity,
        order.metadata,
    ) == ("", None, "", "", 0, ())


def test_last_metadata_entry_wins_and_private_metadata_is_separate() -> None:
    """Duplicated keys (never sent by Saleor, but possible) resolve to the last one."""
    order = SaleorOrder.from_graphql(
        order_data(
            metadata=[{"key": "k", "value": "1"}, {"key": "k", "value": "2"}],
            privateMetadata=[{"key": "gordon.status", "value": "synced"}],
        )
    )

    assert (
        order.metadata_value("k"),
        order.metadata_value("gordon.status"),
        order.private_metadata_value("gordon.status"),
    ) == ("2", None, "synced")


@pytest.mark.parametrize(
    ("data", "message_part"),
    [
        ([], "expected a Saleor order object, got a list"),
        ("order", "got a string"),
        ({"errors": []}, "its keys are: errors"),
        ({"id": "x", "lines": "many"}, "lines: Input should be a valid tuple"),
        ({"id": "x", "lines": [{"quantity": "two"}]}, "lines[0].quantity"),
        ({"id": "x", "created": "yesterday"}, "created"),
    ],
)
def test_what_is_no_order_is_refused_clearly(data: Any, message_part: str) -> None:
    """OrderPayloadInvalid (a ValueError) names what is wrong."""
    with pytest.raises(OrderPayloadInvalid) as caught:
        SaleorOrder.from_graphql(data)

    assert message_part in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_orders_are_frozen() -> None:
    """A parsed order cannot be changed by accident."""
    order = SaleorOrder.from_graphql(order_data())

    with pytest.raises(ValidationError):
        order.number = "46"  # type: ignore[misc]


@pytest.mark.parametrize(
    "document",
    [
        order_data(),
        {"data": {"order": order_data()}},
        {
            "__typename": "OrderCreated",
            "issuedAt": "2026-11-27T00:29:13+00:00",
            "order": order_data(),
        },
    ],
    ids=["order", "graphql-response", "webhook-body"],
)
def test_extract_order_data_finds_the_order(document: dict[str, Any]) -> None:
    """An order, a GraphQL response and a webhook body all lead to the order."""
    assert extract_order_data(document)["number"] == "45"


@pytest.mark.parametrize(
    ("document", "message_part"),
    [
        ({"data": {"order": None}}, "holds no order"),
        ({"data": None, "errors": [{"message": "Invalid ID"}]}, "holds no order"),
        ({"order": [1]}, "'order' should be an object, got a list"),
        (None, "expected a JSON object, got null"),
    ],
)
def test_extract_order_data_refuses_documents_without_order(
    document: Any, message_part: str
) -> None:
    """A response without an order (not found, no permission) is told apart from a broken one."""
    with pytest.raises(OrderPayloadInvalid) as caught:
        extract_order_data(document)

    assert message_part in str(caught.value)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "expected a JSON object, got a list"),
        (None, "expected a JSON object, got null"),
        (5, "expected a JSON object, got an integer"),
        (1.5, "expected a JSON object, got a number"),
        (True, "expected a JSON object, got a boolean"),
        ("x", "expected a JSON object, got a string"),
        ({"order": 5}, "'order' should be an object, got an integer"),
        ({"order": None}, "'order' should be an object, got null"),
        ({"data": [1]}, "'data' should be an object, got a list"),
        ({"data": {"order": False}}, "'order' should be an object, got a boolean"),
    ],
)
def test_a_document_that_cannot_hold_an_order_says_its_kind_in_words(
    document: Any, message: str
) -> None:
    """NotAnOrderObject (an OrderPayloadInvalid) with "an integer", never Python's "a int"."""
    with pytest.raises(NotAnOrderObject) as caught:
        extract_order_data(document)

    assert str(caught.value) == message


def test_a_response_without_an_order_is_not_malformed() -> None:
    """{"data": {"order": null}} is a well-formed answer (not found): not a NotAnOrderObject."""
    with pytest.raises(OrderPayloadInvalid) as caught:
        extract_order_data({"data": {"order": None}})

    assert not isinstance(caught.value, NotAnOrderObject)


@pytest.mark.parametrize(("value", "expected"), [(True, True), (False, False), (None, None)])
def test_lines_read_is_shipping_required(value: bool | None, expected: bool | None) -> None:
    """OrderLine.isShippingRequired; absent (the recorded samples) or null reads as None."""
    line = line_data() if value is None else line_data(isShippingRequired=value)

    order = SaleorOrder.from_graphql(order_data(lines=[line]))

    assert order.lines[0].is_shipping_required is expected


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [
        ("number", "9" * 65, 64),
        ("number", "45\x00", 64),
        ("number", "45\n46", 64),
        ("id", "O" * 256, 255),
        ("id", "T3JkZXI6MQ==\x00", 255),
        ("id", "\ud800", 255),
    ],
    ids=["long-number", "nul-number", "two-line-number", "long-id", "nul-id", "surrogate-id"],
)
def test_an_id_or_number_the_app_cannot_keep_is_refused_naming_it(
    field: str, value: str, limit: int
) -> None:
    """The webhook events and the jobs keep both (255 and 64 characters): a longer one failed
    the job's insert on PostgreSQL ("the database failed")."""
    with pytest.raises(OrderIdentifierUnusable) as exc:
        SaleorOrder.from_graphql(order_data(**{field: value}))

    assert (exc.value.field, exc.value.limit) == (field, limit)
    assert str(exc.value) == (
        f"the order {field} is longer than {limit} characters or is not one line of text, so "
        "the app cannot keep it"
    )


def test_the_longest_id_and_number_the_app_keeps_are_read() -> None:
    order = SaleorOrder.from_graphql(order_data(id="O" * 255, number="9" * 64))

    assert (order.id, order.number) == ("O" * 255, "9" * 64)
