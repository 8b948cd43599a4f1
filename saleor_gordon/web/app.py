"""The FastAPI application: Saleor protocol endpoints, health and public pages."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from saleor_gordon import __version__
from saleor_gordon.runtime import Runtime
from saleor_gordon.saleor.manifest import build_manifest
from saleor_gordon.web import dashboard_api, dashboard_knowledge
from saleor_gordon.web.dashboard_pages import (
    STATIC_DIR,
    STATIC_PATH,
    DashboardStaticFiles,
    dashboard_pages_router,
)
from saleor_gordon.web.error_responses import install_error_handlers
from saleor_gordon.web.health import health_router
from saleor_gordon.web.metrics import metrics_router
from saleor_gordon.web.pages import pages_router
from saleor_gordon.web.registration import registration_router
from saleor_gordon.web.webhooks import WebhookEndpoints


class SaleorGordonApp(FastAPI):
    """FastAPI, with Saleor's webhooks served before its request machinery (web/webhooks.py)."""

    def __init__(self, webhooks: WebhookEndpoints, **options: Any) -> None:
        super().__init__(**options)
        self.saleor_webhooks = webhooks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.saleor_webhooks.serves(scope):
            await self.saleor_webhooks(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def create_app(runtime: Runtime) -> FastAPI:
    """The web app over ``runtime``; the caller owns the runtime's lifetime."""
    app = SaleorGordonApp(
        WebhookEndpoints(runtime),
        title="saleor-gordon",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.runtime = runtime  # for dependencies (the Dashboard API's guard)
    install_error_handlers(app)

    @app.get("/api/manifest")
    async def manifest(_request: Request) -> JSONResponse:
        return JSONResponse(build_manifest(app_url=runtime.settings.app_url, version=__version__))

    app.include_router(registration_router(runtime))
    app.include_router(health_router(runtime))
    app.include_router(metrics_router(runtime))
    app.include_router(dashboard_api.router)
    app.include_router(dashboard_knowledge.router)
    app.include_router(dashboard_pages_router())
    app.mount(STATIC_PATH, DashboardStaticFiles(directory=STATIC_DIR), name="dashboard-static")
    app.include_router(pages_router(runtime.settings))
    return app
