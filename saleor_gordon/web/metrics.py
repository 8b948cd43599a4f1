"""``GET /metrics``: Prometheus exposition (saleor_gordon.metrics), optionally behind a token."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from saleor_gordon import metrics
from saleor_gordon.runtime import Runtime


def metrics_router(runtime: Runtime) -> APIRouter:
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def scrape(request: Request) -> Response:
        expected = runtime.settings.metrics_token
        if expected is not None:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            given = token.strip().encode() if scheme.lower() == "bearer" else b""
            if not hmac.compare_digest(given, expected.get_secret_value().encode()):
                return Response(
                    "A bearer token is required.\n",
                    status_code=401,
                    media_type="text/plain",
                    headers={"WWW-Authenticate": "Bearer"},
                )
        now = runtime.clock()
        by_state = await runtime.jobs.count_by_status()
        due, oldest = await runtime.jobs.due_jobs(now=now)
        body = metrics.render(by_state, due, oldest, now=now)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return router
