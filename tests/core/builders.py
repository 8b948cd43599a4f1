"""Builders of order and configuration data for the core tests: a valid Swedish order, changed per test."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from saleor_gordon.core.order import SaleorOrder
from saleor_gordon.core.shop_config import ShopConfig, parse_shop_config
from saleor_gordon.core.sync_decision import OrderState
from saleor_gordon.core.translate import Translated, translate_order

# The Swedish example of Gordon's API article (Gordon API doc B5), shaped like fragment OrderDetails.
SWEDISH_ADDRESS: dict[str, Any] = {
    "firstName": "Andreas",
    "lastName": "Viklund",
    "companyName": "",
    "streetAddress1": "Segeltorpsvägen 42",
    "streetAddress2": "",
    "postalCode": "125 53",
    "city": "ÄLVSJÖ",
    "cityArea": "",
    "countryArea": "",
    "country": {"code": "SE"},
    "phone": "+46 70 228 68 10",
}

NORWEGIAN_ADDRESS: dict[str, Any] = {
    **SWEDISH_ADDRESS,
    "firstName": "Kari",
    "lastName": "Nordmann",
    "streetAddress1": "Sandakerveien 24",
    "postalCode": "0575",
    "city": "OSLO",
    "country": {"code": "NO"},
    "phone": "412 34 567",
}

DANISH_ADDRESS: dict[str, Any] = {
    **SWEDISH_ADDRESS,
    "firstName": "Mette",
    "lastName": "Hansen",
    "streetAddress1": "Østerbrogade 100",
    "streetAddress2": "3. th.",
    "postalCode": "2100",
    "city": "KØBENHAVN Ø",
    "country": {"code": "DK"},
    "phone": "20 12 34 56",
}

SHIPPING_METHOD_17_21_ID = "U2hpcHBpbmdNZXRob2Q6MjE="  # ShippingMethod:21


def line_data(**overrides: Any) -> dict[str, Any]:
    """One line of 'Middagskasse 4 portioner (3 middagar)', chilled by product metadata, 6.5 kg."""
    line: dict[str, Any] = {
        "id": "T3JkZXJMaW5lOjE=",
        "productName": "Middagskasse 4 portioner",
        "variantName": "3 middagar",
        "productSku": "MK4-3",
        "quantity": 1,
        "variant": {
            "id": "UHJvZHVjdFZhcmlhbnQ6NDAy",
            "sku": "MK4-3",
            "weight": {"unit": "KG", "value": 6.5},
            "product": {
                "id": "UHJvZHVjdDoxNjU=",
                "name": "Middagskasse 4 portioner",
                "metadata": [{"key": "gordon.type", "value": "chilled"}],
            },
            "metadata": [],
        },
        "allocations": [
            {
                "warehouse": {
                    "id": "V2FyZWhvdXNlOjE=",
                    "slug": "lager-vastberga",
                    "name": "Lager Västberga",
                }
            }
        ],
    }
    line.update(overrides)
    return line


def order_data(**overrides: Any) -> dict[str, Any]:
    """A paid Swedish home-delivery order 45, created Tuesday 2026-12-01 09:00 Stockholm time."""
    order: dict[str, Any] = {
        "id": "T3JkZXI6YjAzMGFmOTYtYmE3Zi00YjkyLTlmOGEtM2M4MTdmMDRhNmRk",
        "number": "45",
        "created": "2026-12-01T08:00:00+00:00",
        "updatedAt": "2026-12-01T08:00:01+00:00",
        "status": "UNFULFILLED",
        "chargeStatus": "FULL",
        "isPaid": True,
        "userEmail": "andreas.viklund@example.com",
        "customerNote": "Knock please",
        "isShippingRequired": True,
        "shippingMethodName": "Gordon hemleverans 17-21",
        "collectionPointName": None,
        "channel": {"id": "Q2hhbm5lbDoz", "slug": "sverige"},
        "shippingAddress": copy.deepcopy(SWEDISH_ADDRESS),
        "billingAddress": copy.deepcopy(SWEDISH_ADDRESS),
        "deliveryMethod": {
            "__typename": "ShippingMethod",
            "id": SHIPPING_METHOD_17_21_ID,
            "name": "Gordon hemleverans 17-21",
            "metadata": [],
        },
        "lines": [line_data()],
        "metadata": [],
        "privateMetadata": [],
    }
    order.update(overrides)
    return order


def order(**overrides: Any) -> SaleorOrder:
    """``order_data`` parsed."""
    return SaleorOrder.from_graphql(order_data(**overrides))


def metadata(**pairs: str) -> list[dict[str, str]]:
    """Saleor metadata from keyword pairs; ``delivery_date`` becomes ``gordon.delivery_date``."""
    return [{"key": f"gordon.{key}", "value": value} for key, value in pairs.items()]


def config_data(**overrides: Any) -> dict[str, Any]:
    """The README's example configuration for channel ``sverige``, holidays of Sweden."""
    data: dict[str, Any] = {
        "gordon": {
            "base_url": "https://backend.staging.gordondelivery.com",
            "client_id": "client-id",
            "client_secret": "client-secret-42",
        },
        "trigger_events": ["ORDER_FULLY_PAID"],
        "external_ref_prefix": "",
        "delivery_groups": [{"deliverygroup": "Gordon Store", "channel": "sverige"}],
        "default_time_window": "14:00 - 16:00",
        "delivery_days": {
            "timezone": "Europe/Stockholm",
            "cutoff": "14:00",
            "weekdays": [1, 2, 3, 4, 5],
            "lead_days": 1,
            "holiday_country": "SE",
        },
    }
    data.update(overrides)
    return data


def config(**overrides: Any) -> ShopConfig:
    """``config_data`` parsed."""
    return parse_shop_config(config_data(**overrides))


# --- for the decision tests (sync_decision, backfill) ------------------------------------------

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
"""When the decision tests decide."""
PAID = OrderState(status="UNFULFILLED", charge_status="FULL", is_paid=True)
UNPAID = OrderState(status="UNFULFILLED", charge_status="NONE", is_paid=False)


def translated_at_now() -> Translated:
    """The default order translated with the default configuration at ``NOW``."""
    result = translate_order(order(), config(), now=NOW)
    assert isinstance(result, Translated), result
    return result
