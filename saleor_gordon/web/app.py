"""The FastAPI application: Saleor protocol endpoints, health and public pages."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from saleor_gordon import __version__
from saleor_gordon.runtime import Runtime
from saleor_gordon.saleor.manifest import build_manifest
from saleor_gordon.web.dashboard_api import dashboard_router
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
from saleor_gordon.web.webhooks import webhook_router


def create_app(runtime: Runtime) -> FastAPI:
    """The web app over ``runtime``; the caller owns the runtime's lifetime."""
    app = FastAPI(
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
    app.include_router(webhook_router(runtime))
    app.include_router(health_router(runtime))
    app.include_router(metrics_router(runtime))
    app.include_router(dashboard_router(runtime))
    app.include_router(dashboard_pages_router())
    app.mount(STATIC_PATH, DashboardStaticFiles(directory=STATIC_DIR), name="dashboard-static")
    app.include_router(pages_router(runtime.settings))
    return app
