"""The pages the Saleor Dashboard embeds: the app page, the order widget and the send popup.

Each is a small HTML shell with no data in it (the Dashboard loads every frame twice, and page loads
carry no credentials: dashboard-samples README §1-2); a script module from
``saleor_gordon/static/dashboard`` joins App Bridge, receives the Dashboard token and calls the
JSON API. Everything is served by the app itself: no CDN, no build step.

The Content-Security-Policy allows only this origin's scripts, styles and API, and lets any page
frame these (the Dashboard's origin is not known in advance; the API's token guard decides).
"""

from __future__ import annotations

from html import escape
from importlib.resources import files
from pathlib import Path
from typing import Final

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from saleor_gordon import __version__
from saleor_gordon.saleor.manifest import (
    APP_PAGE_PATH,
    ORDER_WIDGET_PATH,
    SEND_LABEL,
    SEND_POPUP_IDENTIFIER,
    SEND_POPUP_PATH,
    WIDGET_LABEL,
)

STATIC_PATH: Final = "/static/dashboard"
STATIC_DIR: Final = Path(str(files("saleor_gordon").joinpath("static/dashboard")))

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors *"
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class DashboardStaticFiles(StaticFiles):
    """The pages' scripts and styles; revalidated on every load, so an upgrade shows at once."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def dashboard_pages_router() -> APIRouter:
    router = APIRouter()

    @router.get(APP_PAGE_PATH, response_class=HTMLResponse, include_in_schema=False)
    async def app_page(theme: str | None = None) -> HTMLResponse:
        return _shell("Gordon Delivery", "app-page.js", "frame-app", theme)

    @router.get(ORDER_WIDGET_PATH, response_class=HTMLResponse, include_in_schema=False)
    async def order_widget(theme: str | None = None) -> HTMLResponse:
        # The widget opens the popup by its manifest identifier (openPopup).
        return _shell(
            WIDGET_LABEL,
            "order-widget.js",
            "frame-widget",
            theme,
            data={"send-popup": SEND_POPUP_IDENTIFIER},
        )

    @router.get(SEND_POPUP_PATH, response_class=HTMLResponse, include_in_schema=False)
    async def send_popup(theme: str | None = None) -> HTMLResponse:
        return _shell(SEND_LABEL, "send-popup.js", "frame-popup", theme)

    return router


def _shell(
    title: str,
    script: str,
    body_class: str,
    theme: str | None,
    *,
    data: dict[str, str] | None = None,
) -> HTMLResponse:
    mode = "dark" if theme == "dark" else "light"
    version = escape(__version__)
    attributes = "".join(f" data-{name}='{escape(value)}'" for name, value in (data or {}).items())
    html = (
        "<!doctype html>"
        f"<html lang='en' data-theme='{mode}'>"
        "<head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title>"
        f"<link rel='stylesheet' href='{STATIC_PATH}/dashboard.css?v={version}'>"
        f"<script type='module' src='{STATIC_PATH}/{script}?v={version}'></script>"
        "</head>"
        f"<body class='{body_class}'{attributes}><main id='root'>"
        "<p class='spinner' role='status'>Loading…</p>"
        "</main>"
        "<noscript><p>This page of the Gordon Delivery app needs JavaScript. Open it from the "
        "Saleor Dashboard in a browser with JavaScript turned on.</p></noscript>"
        "</body></html>"
    )
    return HTMLResponse(html, headers=SECURITY_HEADERS)
