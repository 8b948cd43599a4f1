"""Public pages the manifest links to: homepage, support and data privacy, plus the logo.

The pages the Dashboard embeds are in ``dashboard_pages.py``.
"""

from __future__ import annotations

from html import escape
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from saleor_gordon import __version__
from saleor_gordon.settings import Settings

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem;"
    "line-height:1.5;color:#1f2933}h1{font-size:1.6rem}code{background:#f0f2f5;padding:0 .25rem}"
)


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def pages_router(settings: Settings) -> APIRouter:
    router = APIRouter()
    manifest_url = escape(settings.app_url + "/api/manifest")

    @router.get("/", response_class=HTMLResponse)
    async def homepage() -> HTMLResponse:
        return _page(
            "Gordon Delivery for Saleor",
            "<p>This app sends your Saleor orders to Gordon Delivery for home delivery, keeps "
            "them up to date when they change, withdraws them when they are cancelled, and "
            "writes Gordon's tracking ID back on the order.</p>"
            "<h2>Install</h2><p>In the Saleor Dashboard open <em>Apps → Install external app"
            f"</em> and paste <code>{manifest_url}</code>.</p>"
            f"<p>Version {escape(__version__)}.</p>",
        )

    @router.get("/support", response_class=HTMLResponse)
    async def support() -> HTMLResponse:
        return _page(
            "Support",
            "<p>The app's page in the Saleor Dashboard (Apps → Gordon Delivery) lists every "
            "order with its sync status and what to fix, and retries orders; each order's page "
            "shows its Gordon status in the Gordon Delivery card. The status is also in the "
            "order's private metadata (<code>gordon.status</code>, <code>gordon.error</code>). "
            "Operators can list and retry jobs with <code>saleor-gordon jobs list</code> and "
            "<code>saleor-gordon jobs retry</code>.</p><p>Installation fails with "
            "<em>could not use the token</em>? Saleor's <code>PUBLIC_URL</code> must be set so "
            "that the API URL it sends is reachable from this app.</p>",
        )

    @router.get("/privacy", response_class=HTMLResponse)
    async def privacy() -> HTMLResponse:
        return _page(
            "Data privacy",
            "<p>The app reads orders from your Saleor and sends the delivery details (name, "
            "address, phone, e-mail, note, items) to Gordon Delivery, who deliver the order and "
            "text the customer.</p><p>It stores your Saleor app token and Gordon credentials "
            "encrypted. Of orders it keeps identifiers, content hashes, statuses and messages "
            "only, never names, addresses, phone numbers or e-mail addresses; job history is "
            "deleted after the configured retention period.</p><p>Its logs name orders by ID and "
            "number. E-mail addresses and phone numbers are masked wherever they appear in a log "
            "line, for example in the text of an error; other details of an order, such as a "
            "name, may appear in the text of an unexpected error.</p>"
            "<p>Uninstalling the app deletes its token, configuration and job records for your "
            "shop.</p>",
        )

    @router.get("/static/logo.png")
    async def logo() -> Response:
        data = files("saleor_gordon").joinpath("static/logo.png").read_bytes()
        return Response(data, media_type="image/png", headers={"Cache-Control": "max-age=86400"})

    return router
