"""Every real order recorded from Saleor 3.23 (../shared/saleor/samples) parses and translates."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from saleor_gordon.core.order import SaleorOrder, extract_order_data
from saleor_gordon.core.translate import Skipped, Translated, translate_document
from tests.core.builders import config

# scenario/event → (deliverydate, time-window, warning fields); None for "Skipped".
EXPECTED: dict[str, tuple[str, str, list[str]] | None] = {
    "s01_se_paid/01_order_metadata_updated": None,  # still a DRAFT
    "s01_se_paid/02_order_created": ("2026-12-01", "17:00 - 21:00", []),
    "s02_se_address_change/03_order_updated": ("2026-12-02", "08:00 - 12:00", []),
    "s05_metadata_by_staff/01_order_created": (
        "2026-11-30",
        "17:00 - 21:00",
        [],
    ),  # computed, method window
    "s05_metadata_by_staff/03_order_metadata_updated": ("2026-12-03", "17:00 - 21:00", []),
    "s06_company_no_phone/03_order_fully_paid": (
        "2026-12-02",
        "08:00 - 12:00",
        ["shippingAddress.phone"],
    ),
    "s10_fulfilled/07_order_fulfilled": ("2026-12-01", "17:00 - 21:00", []),
}


def _webhook_bodies(samples_dir: Path) -> dict[str, dict[str, Any]]:
    bodies = {}
    for path in sorted(samples_dir.glob("s*/*/body.raw")):
        document = json.loads(path.read_bytes())
        if "order" in document:
            bodies[f"{path.parent.parent.name}/{path.parent.name}"] = document
    return bodies


def _shop_config() -> Any:
    return config(
        delivery_groups=[{"deliverygroup": "Gordon Store", "channel": "sverige"}],
        default_time_window=None,
    )


def test_every_recorded_order_translates_or_is_skipped(samples_dir: Path) -> None:
    """All webhook bodies with an order: drafts are skipped, all others become Gordon orders."""
    bodies = _webhook_bodies(samples_dir)
    results = {
        name: translate_document(body, _shop_config(), now=datetime.fromisoformat(body["issuedAt"]))
        for name, body in bodies.items()
    }

    assert len(results) == 30
    assert {"s01_se_paid/01_order_metadata_updated"} == {
        n for n, r in results.items() if isinstance(r, Skipped)
    }
    assert all(isinstance(r, (Translated, Skipped)) for r in results.values()), results


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_order_details(samples_dir: Path, name: str) -> None:
    """Dates, windows and warnings of selected recorded events."""
    body = _webhook_bodies(samples_dir)[name]

    result = translate_document(body, _shop_config(), now=datetime.fromisoformat(body["issuedAt"]))

    expected = EXPECTED[name]
    if expected is None:
        assert isinstance(result, Skipped)
        return
    assert isinstance(result, Translated), result
    assert expected == (
        result.gordon_order.deliverydate,
        result.gordon_order.time_window,
        [w.field for w in result.warnings],
    )


def test_recorded_events_of_one_order_hash_alike(samples_dir: Path) -> None:
    """Order 45's created, confirmed, paid and updated events give one Gordon body."""
    bodies = _webhook_bodies(samples_dir)
    names = [
        f"s01_se_paid/0{i}_{e}"
        for i, e in (
            (2, "order_created"),
            (3, "order_confirmed"),
            (4, "order_fully_paid"),
            (5, "order_updated"),
        )
    ]
    hashes = set()
    for name in names:
        result = translate_document(
            bodies[name], _shop_config(), now=datetime.fromisoformat(bodies[name]["issuedAt"])
        )
        assert isinstance(result, Translated)
        hashes.add(result.gordon_order.content_hash())

    assert len(hashes) == 1


def test_company_order_without_phone(samples_dir: Path) -> None:
    """s06: the company is the customer, streetAddress2 is kept, no mobile, both lines typed by legacy key."""
    body = _webhook_bodies(samples_dir)["s06_company_no_phone/01_order_created"]

    result = translate_document(body, _shop_config(), now=datetime.fromisoformat(body["issuedAt"]))

    assert isinstance(result, Translated)
    assert result.gordon_order.to_json() == {
        "external_ref": "50",
        "customer-name": "Matglad AB",
        "address": "Sveavägen 44",
        "address2": "Lgh 1102",
        "zip": "11134",
        "city": "STOCKHOLM",
        "country_code": "SE",
        "email": "inkop@matglad.example.com",
        "deliverydate": "2026-12-02",
        "time-window": "08:00 - 12:00",
        "deliverygroup": "Gordon Store",
        "inventory": [
            {
                "name": "Middagskasse 4 portioner (3 middagar)",
                "quantity": 2,
                "type": "chilled",
                "weight": 6.5,
            },
            {"name": "Kaffe 500 g (Mellanrost)", "quantity": 3, "type": "ambient", "weight": 0.5},
        ],
    }


def test_graphql_order_response(samples_dir: Path) -> None:
    """order(id) with fragment O, as the app token reads it, gives the Swedish example."""
    response = json.loads(
        (samples_dir / "graphql_responses" / "order_by_id_app_token.json").read_text()
    )["body"]
    order = SaleorOrder.from_graphql(extract_order_data(response))

    result = translate_document(
        response, _shop_config(), now=datetime.fromisoformat("2026-11-27T01:00:00+00:00")
    )

    assert (
        order.number,
        order.channel_slug,
        order.delivery_method.name if order.delivery_method else None,
    ) == ("45", "sverige", "Gordon hemleverans 17-21")
    assert isinstance(result, Translated)
    body = result.gordon_order.to_json()
    assert (
        body["address"],
        body["zip"],
        body["mobile"],
        body["notes"],
    ) == ("Segeltorpsvägen 42", "12553", "+46702286810", "Knock please")
