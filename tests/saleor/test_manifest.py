"""build_manifest() against the golden manifest/manifest.json, and the logo it points to.

Regenerate the golden file after an intended change with:
    uv run python -m tests.saleor.test_manifest
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from saleor_gordon.saleor.manifest import build_manifest

GOLDEN = Path(__file__).resolve().parents[2] / "manifest" / "manifest.json"
GOLDEN_APP_URL = "https://gordon.example.com"
GOLDEN_VERSION = "0.0.0-golden"
LOGO = Path(__file__).resolve().parents[2] / "saleor_gordon" / "static" / "logo.png"


def golden_manifest() -> dict[str, object]:
    return build_manifest(app_url=GOLDEN_APP_URL, version=GOLDEN_VERSION)


def render(manifest: dict[str, object]) -> str:
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"


def test_manifest_matches_golden_file() -> None:
    """Any change to the manifest is deliberate (regenerate with python -m tests.saleor.test_manifest)."""
    assert render(golden_manifest()) == GOLDEN.read_text(encoding="utf-8")


def test_urls_follow_app_url() -> None:
    """A trailing slash on APP_URL does not double up."""
    manifest = build_manifest(app_url="http://localhost:8000/", version="1.2.3")

    assert manifest["tokenTargetUrl"] == "http://localhost:8000/api/register"
    assert manifest["appUrl"] == "http://localhost:8000/app"
    assert manifest["brand"] == {"logo": {"default": "http://localhost:8000/static/logo.png"}}
    assert manifest["version"] == "1.2.3"


def test_manifest_events_and_permissions() -> None:
    manifest = golden_manifest()
    webhooks = {w["name"]: w for w in manifest["webhooks"]}  # type: ignore[attr-defined]

    assert manifest["permissions"] == ["MANAGE_ORDERS", "MANAGE_SHIPPING"]
    assert "MANAGE_APPS" not in manifest["permissions"]  # type: ignore[operator]
    assert webhooks["gordon-orders"]["asyncEvents"] == [
        "ORDER_CREATED", "ORDER_CONFIRMED", "ORDER_FULLY_PAID", "ORDER_UPDATED",
        "ORDER_CANCELLED", "ORDER_EXPIRED", "ORDER_METADATA_UPDATED", "FULFILLMENT_CREATED",
    ]  # fmt: skip
    assert webhooks["gordon-app-deleted"]["asyncEvents"] == ["APP_DELETED"]
    assert all(w["isActive"] is True for w in webhooks.values())


def test_extensions_are_the_order_widget_and_the_send_popup() -> None:
    """Absolute URLs below APP_URL, each needing MANAGE_ORDERS (so its token carries it), each
    with the identifier the pages open it by (openPopup, Saleor 3.23.19+)."""
    manifest = build_manifest(app_url="http://localhost:8000/", version="1")

    assert manifest["extensions"] == [
        {
            "identifier": "order-widget",
            "label": "Gordon Delivery",
            "mount": "ORDER_DETAILS_WIDGETS",
            "target": "WIDGET",
            "url": "http://localhost:8000/app/order-widget",
            "permissions": ["MANAGE_ORDERS"],
        },
        {
            "identifier": "send-to-gordon",
            "label": "Send to Gordon",
            "mount": "ORDER_DETAILS_MORE_ACTIONS",
            "target": "POPUP",
            "url": "http://localhost:8000/app/send-to-gordon",
            "permissions": ["MANAGE_ORDERS"],
        },
    ]


def test_extension_identifiers_are_what_saleor_accepts() -> None:
    """Saleor 3.23.28 (manifest_validations._clean_extension_identifier): at most 256 characters
    once stripped, not blank, unique within the app."""
    identifiers = [e["identifier"] for e in golden_manifest()["extensions"]]  # type: ignore[attr-defined]

    assert len(set(identifiers)) == len(identifiers)
    assert all(0 < len(i.strip()) == len(i) <= 256 for i in identifiers)


def test_logo_is_a_png_of_at_least_256_px() -> None:
    """Saleor only takes image/png logos of at least 256 x 256."""
    data = LOGO.read_bytes()
    width, height = struct.unpack(">II", data[16:24])

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    assert width >= 256
    assert height >= 256
    assert len(data) < 50_000


if __name__ == "__main__":
    GOLDEN.write_text(render(golden_manifest()), encoding="utf-8")
