"""Stories of GordonOrder: Gordon's exact keys, empty optional keys left out, a stable content hash."""

from __future__ import annotations

import hashlib

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
    """Equal orders hash equally; any change changes the hash."""
    assert MINIMAL.content_hash() == MINIMAL.model_copy().content_hash()
    assert MINIMAL.content_hash() != MINIMAL.model_copy(update={"zip": "12554"}).content_hash()


FULL = MINIMAL.model_copy(
    update={
        "external_ref": "shop-1045",
        "address2": "Lgh 1203",
        "country_code": "SE",
        "mobile": "+46702286810",
        "email": "a@example.com",
        "notes": 'Ring på, "port" 2',
        "entrycode": "1234",
        "inventory": (
            InventoryItem(
                name="Middagskasse (4 portioner)", quantity=2, type="chilled", weight=6.5
            ),
            InventoryItem(name="Glass", quantity=1, type="frozen", weight=0.125),
            InventoryItem(name="Kaffe", quantity=3, type="ambient"),
        ),
    }
)
NORWEGIAN = MINIMAL.model_copy(
    update={
        "external_ref": "46",
        "customer_name": "Åse Ødegård",
        "address": "Storgata 1",
        "zip": "0575",
        "city": "OSLO",
        "country_code": "NO",
        "deliverydate": "2027-01-04",
        "time_window": "08:00 - 12:00",
        "inventory": (InventoryItem(name="Brød", quantity=1, weight=1.0),),
    }
)


# The content-hash FORMAT is pinned by literal digests. Every pushed order's hash is stored
# (sync_jobs.pushed_hash) and compared with the hash of a fresh translation to decide whether Gordon
# already has the content: a change to the canonical form (keys, separators, escaping, number format,
# hash function) would make every stored hash differ and re-push every order after an upgrade.
# Changing it needs a migration plan (e.g. re-hash the stored bodies, or accept the format version
# alongside the hash); do NOT just update these literals.
@pytest.mark.parametrize(
    ("order", "canonical", "digest"),
    [
        (
            MINIMAL,
            '{"address":"Segeltorpsvägen 42","city":"ÄLVSJÖ","customer-name":"Andreas Viklund",'
            '"deliverydate":"2026-12-01","deliverygroup":"Gordon Store","external_ref":"45",'
            '"inventory":[{"name":"En låda mat","quantity":1}],"time-window":"17:00 - 21:00",'
            '"zip":"12553"}',
            "618ea6cdbfa3a08c754d9c5f8318913da42b9b7ef096adfe17fd0dd1454d967c",
        ),
        (
            FULL,
            '{"address":"Segeltorpsvägen 42","address2":"Lgh 1203","city":"ÄLVSJÖ",'
            '"country_code":"SE","customer-name":"Andreas Viklund","deliverydate":"2026-12-01",'
            '"deliverygroup":"Gordon Store","email":"a@example.com","entrycode":"1234",'
            '"external_ref":"shop-1045","inventory":[{"name":"Middagskasse (4 portioner)",'
            '"quantity":2,"type":"chilled","weight":6.5},{"name":"Glass","quantity":1,'
            '"type":"frozen","weight":0.125},{"name":"Kaffe","quantity":3,"type":"ambient"}],'
            '"mobile":"+46702286810","notes":"Ring på, \\"port\\" 2","time-window":"17:00 - 21:00",'
            '"zip":"12553"}',
            "fdf8c0cab22722f6d7c46025d555ef397c6034a613936580907bed849ce94916",
        ),
        (
            NORWEGIAN,
            '{"address":"Storgata 1","city":"OSLO","country_code":"NO","customer-name":"Åse Ødegård",'
            '"deliverydate":"2027-01-04","deliverygroup":"Gordon Store","external_ref":"46",'
            '"inventory":[{"name":"Brød","quantity":1,"weight":1.0}],"time-window":"08:00 - 12:00",'
            '"zip":"0575"}',
            "ff4618904431437a4a43dced8ca9c194fb883ddb13d4e20ba6d74cca897047a1",
        ),
    ],
    ids=["minimal", "full", "norwegian"],
)
def test_content_hash_format_is_pinned(order: GordonOrder, canonical: str, digest: str) -> None:
    """SHA-256 hex of the sorted, spaceless, UTF-8 (not ASCII-escaped) JSON body; see the comment above."""
    assert hashlib.sha256(canonical.encode("utf-8")).hexdigest() == digest
    assert order.content_hash() == digest


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
