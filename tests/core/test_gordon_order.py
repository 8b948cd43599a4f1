"""Stories of GordonOrder: Gordon's exact keys, empty optional keys left out, a stable content hash."""

from __future__ import annotations

import pytest

from saleor_gordon.core.gordon_order import GordonOrder, InventoryItem, format_time_window

MINIMAL = GordonOrder(
    external_ref="45",
    customer_name="Andreas Viklund",
    address="Segeltorpsvägen 42",
    zip="12553",
    city="ÄLVSJÖ",
    deliverydate="2026-12-01",
    time_window="17:00 - 21:00",
    deliverygroup="Gordon Store",
    inventory=(InventoryItem(name="En låda mat", quantity=1),),
)


def test_required_keys_only_when_optional_ones_are_empty() -> None:
    """Empty optional fields are not sent."""
    assert MINIMAL.to_json() == {
        "external_ref": "45",
        "customer-name": "Andreas Viklund",
        "address": "Segeltorpsvägen 42",
        "zip": "12553",
        "city": "ÄLVSJÖ",
        "deliverydate": "2026-12-01",
        "time-window": "17:00 - 21:00",
        "deliverygroup": "Gordon Store",
        "inventory": [{"name": "En låda mat", "quantity": 1}],
    }


def test_all_keys_spelled_as_gordon_documents_them() -> None:
    """Every optional key appears, hyphens where Gordon has them."""
    full = MINIMAL.model_copy(
        update={
            "address2": "Lgh 1203",
            "country_code": "SE",
            "mobile": "+46702286810",
            "email": "a@example.com",
            "notes": "Knock please",
            "entrycode": "1234",
            "inventory": (InventoryItem(name="Box", quantity=2, type="frozen", weight=6.5),),
        }
    )

    assert list(full.to_json()) == [
        "external_ref",
        "customer-name",
        "address",
        "address2",
        "zip",
        "city",
        "country_code",
        "mobile",
        "email",
        "notes",
        "entrycode",
        "deliverydate",
        "time-window",
        "deliverygroup",
        "inventory",
    ]
    assert full.to_json()["inventory"] == [
        {"name": "Box", "quantity": 2, "type": "frozen", "weight": 6.5}
    ]


def test_content_hash_is_stable_and_sensitive() -> None:
    """Equal orders hash equally (known value); any change changes the hash."""
    assert MINIMAL.content_hash() == MINIMAL.model_copy().content_hash()
    assert len(MINIMAL.content_hash()) == 64
    assert MINIMAL.content_hash() != MINIMAL.model_copy(update={"zip": "12554"}).content_hash()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("17:00 - 21:00", "17:00 - 21:00"),
        ("17:00-21:00", "17:00 - 21:00"),
        ("8.00 – 12.00", "08:00 - 12:00"),
    ],
)
def test_time_windows_are_normalised(text: str, expected: str) -> None:
    """Windows become Gordon's API form "HH:MM - HH:MM"."""
    assert expected == format_time_window(text)


@pytest.mark.parametrize(
    "text", ["17-21", "21:00 - 17:00", "12:00 - 12:00", "24:00 - 25:00", "10:60 - 11:00", ""]
)
def test_malformed_time_windows_are_refused(text: str) -> None:
    """Anything but a start before an end is a ValueError with a fix."""
    with pytest.raises(ValueError, match=r"e\.g\."):
        format_time_window(text)


def test_invalid_values_cannot_be_built() -> None:
    """A Gordon order without inventory or with a quantity of 0 does not exist."""
    with pytest.raises(ValueError, match="inventory"):
        MINIMAL.model_copy(update={}).model_validate({**MINIMAL.model_dump(), "inventory": ()})
    with pytest.raises(ValueError, match="quantity"):
        InventoryItem(name="Box", quantity=0)
