"""The app manifest Saleor reads at install time (``GET /api/manifest``).

Wire format is camelCase (``saleor/app/manifest_schema.py``). Saleor never re-reads a manifest after
installation: changing webhooks or permissions here reaches existing shops only on reinstall.

``requiredSaleorVersion`` is ``>=3.21 <4``: 3.21 is where MANAGE_ORDERS became the permission for
order metadata writes (what this app asks for) and where metadata writes fire only
ORDER_METADATA_UPDATED; ``tokenTargetUrl`` is set, which 3.20–3.22 require. The app's own
APP_DELETED webhook arrives only from 3.23.5; older versions reveal an uninstall by rejecting the
token, which the app handles too, so 3.23.5 is not required.

Extensions carry an ``identifier`` (Saleor 3.23.19+: the Dashboard's ``openPopup`` names an
extension by it; at most 256 characters, unique per app). Saleor before 3.23.19 ignores the key:
its manifest validation reads only the fields it knows (``extra="ignore"`` from 3.23.0, plain
``.get`` before), so the manifest installs on every Saleor ``requiredSaleorVersion`` allows.
"""

from __future__ import annotations

from typing import Final

from saleor_gordon.core.order_events import ORDER_EVENTS
from saleor_gordon.saleor.documents import load_document

APP_ID: Final = "se.gordondelivery.saleor"
APP_NAME: Final = "Gordon Delivery"
AUTHOR: Final = "Gordon Delivery"
ABOUT: Final = (
    "Sends Saleor orders to Gordon Delivery for home delivery and writes the delivery status "
    "and tracking ID back to the order."
)
# MANAGE_ORDERS: read orders, write their metadata, receive order webhooks, list warehouses.
# MANAGE_SHIPPING: list the shop's shipping methods on the configuration screen (shippingZones).
# Never MANAGE_APPS: Saleor refuses Dashboard tokens to apps that hold it.
PERMISSIONS: Final = ("MANAGE_ORDERS", "MANAGE_SHIPPING")
REQUIRED_SALEOR_VERSION: Final = ">=3.21 <4"

# Paths below APP_URL that the web app must serve.
APP_PAGE_PATH: Final = "/app"
ORDER_WIDGET_PATH: Final = "/app/order-widget"
SEND_POPUP_PATH: Final = "/app/send-to-gordon"
WIDGET_LABEL: Final = "Gordon Delivery"
SEND_LABEL: Final = "Send to Gordon"
# Extension identifiers (stable: the pages open the popup by it with openPopup).
ORDER_WIDGET_IDENTIFIER: Final = "order-widget"
SEND_POPUP_IDENTIFIER: Final = "send-to-gordon"
REGISTER_PATH: Final = "/api/register"
ORDERS_WEBHOOK_PATH: Final = "/api/webhooks/orders"
APP_DELETED_WEBHOOK_PATH: Final = "/api/webhooks/app-deleted"
HOMEPAGE_PATH: Final = "/"
SUPPORT_PATH: Final = "/support"
PRIVACY_PATH: Final = "/privacy"
LOGO_PATH: Final = "/static/logo.png"


def build_manifest(*, app_url: str, version: str) -> dict[str, object]:
    """The manifest of this app served at ``app_url`` (its public base URL)."""
    base = app_url.rstrip("/")
    return {
        "id": APP_ID,
        "version": version,
        "name": APP_NAME,
        "about": ABOUT,
        "author": AUTHOR,
        "permissions": list(PERMISSIONS),
        "appUrl": base + APP_PAGE_PATH,
        "tokenTargetUrl": base + REGISTER_PATH,
        "homepageUrl": base + HOMEPAGE_PATH,
        "supportUrl": base + SUPPORT_PATH,
        "dataPrivacyUrl": base + PRIVACY_PATH,
        "requiredSaleorVersion": REQUIRED_SALEOR_VERSION,
        "brand": {"logo": {"default": base + LOGO_PATH}},
        "webhooks": _webhooks(base),
        "extensions": _extensions(base),
    }


def _extensions(base: str) -> list[dict[str, object]]:
    """The order page's widget and its "Send to Gordon" action (Saleor 3.22+).

    Absolute URLs: the Dashboard resolves relative ones differently for widgets and popups
    (dashboard-samples README §1). Each extension declares MANAGE_ORDERS, so its token carries it
    and staff without it do not see the extension.
    """
    return [
        {
            "identifier": ORDER_WIDGET_IDENTIFIER,
            "label": WIDGET_LABEL,
            "mount": "ORDER_DETAILS_WIDGETS",
            "target": "WIDGET",
            "url": base + ORDER_WIDGET_PATH,
            "permissions": ["MANAGE_ORDERS"],
        },
        {
            "identifier": SEND_POPUP_IDENTIFIER,
            "label": SEND_LABEL,
            "mount": "ORDER_DETAILS_MORE_ACTIONS",
            "target": "POPUP",
            "url": base + SEND_POPUP_PATH,
            "permissions": ["MANAGE_ORDERS"],
        },
    ]


def _webhooks(base: str) -> list[dict[str, object]]:
    return [
        _webhook(
            "gordon-orders",
            ORDER_EVENTS,
            base + ORDERS_WEBHOOK_PATH,
            "subscriptions/OrderEvents",
        ),
        _webhook(
            "gordon-app-deleted",
            ("APP_DELETED",),
            base + APP_DELETED_WEBHOOK_PATH,
            "subscriptions/AppDeleted",
        ),
    ]


def _webhook(
    name: str, events: tuple[str, ...], target_url: str, document: str
) -> dict[str, object]:
    return {
        "name": name,
        "asyncEvents": list(events),
        "query": load_document(document),
        "targetUrl": target_url,
        "isActive": True,
    }
