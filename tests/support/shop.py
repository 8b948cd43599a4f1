"""The shop the tests and benchmarks configure: its Gordon credentials and its configuration."""

from __future__ import annotations

from typing import Any

CLIENT_ID = "test-client"
CLIENT_SECRET = "s3cr3t-Do-Not-Log-4242"

#: The Gordon delivery group of ``shop_config`` (the sandbox accepts it when told).
DELIVERY_GROUP = "Gordon Store"


def shop_config(
    gordon_url: str,
    *,
    client_id: str = CLIENT_ID,
    client_secret: str = CLIENT_SECRET,
    **overrides: Any,
) -> dict[str, Any]:
    """A shop configuration (as ``config set`` reads it and the Dashboard saves it) that sends the
    Saleor fake's orders (shipping method "Gordon hemleverans 17-21") to ``DELIVERY_GROUP`` on
    paid; ``overrides`` replace top-level keys."""
    config: dict[str, Any] = {
        "gordon": {"base_url": gordon_url, "client_id": client_id, "client_secret": client_secret},
        "trigger_events": ["ORDER_FULLY_PAID"],
        "delivery_groups": [
            {"deliverygroup": DELIVERY_GROUP, "shipping_method": "Gordon hemleverans 17-21"}
        ],
        "default_time_window": "14:00 - 16:00",
        "delivery_days": {"timezone": "Europe/Stockholm", "cutoff": "14:00", "lead_days": 1},
    }
    config.update(overrides)
    return config
