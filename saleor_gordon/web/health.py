"""``/healthz`` (the process answers) and ``/readyz`` (database reachable, migrations current)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from saleor_gordon.errors import StoreUnavailable
from saleor_gordon.runtime import Runtime
from saleor_gordon.store.database import migration_status


def health_router(runtime: Runtime) -> APIRouter:
    router = APIRouter()

    @router.get("/healthz")
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        try:
            status = await migration_status(runtime.engine)
        except StoreUnavailable as exc:
            return JSONResponse({"status": "unavailable", "database": exc.message}, 503)
        if not status.up_to_date:
            return JSONResponse(
                {
                    "status": "unavailable",
                    "database": "reachable",
                    "migrations": f"at {status.current or 'none'}, expected {status.head}; "
                    "run `saleor-gordon migrate`",
                },
                503,
            )
        return JSONResponse({"status": "ok", "database": "reachable", "migrations": status.head})

    return router
