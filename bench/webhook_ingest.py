"""Webhooks per second through the real web app, against a bare Starlette baseline in the same run.

The app side is what production runs for an order webhook: ``create_app`` over ``open_runtime`` on a
migrated database (SQLite file in a temporary directory, or ``--postgres URL``), one installation
saved with the Saleor fake's JWKS, and ``ORDER_FULLY_PAID`` webhooks rendered from the app's own
subscription query and signed by the fake's key, each for a different order (so none is a
duplicate). Each request is verified (RS256), recorded in the inbox and gets its sync job.

The baseline is a minimal Starlette app with one POST endpoint that reads the body and parses the
JSON. Both are driven identically: the same signed requests through ``httpx.ASGITransport``
(in-process, no sockets), ``--concurrency`` requests in flight. Rounds alternate baseline and app
so that both see the same machine noise; the medians and their ratio are printed.

    uv run python bench/webhook_ingest.py [--seconds 1.5] [--rounds 5] [--concurrency 8]
    uv run python bench/webhook_ingest.py --postgres postgresql://user:pass@host/db
    uv run python bench/webhook_ingest.py --short     # a few seconds: proves it runs
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from saleor_gordon import __version__
from saleor_gordon.runtime import open_runtime
from saleor_gordon.saleor.manifest import build_manifest
from saleor_gordon.settings import Settings
from saleor_gordon.store.database import migrate
from saleor_gordon.web.app import create_app
from tests.support.saleor_fake import SaleorFakeState, global_id

APP_URL = "http://gordon.bench"
ORDERS_PATH = "/api/webhooks/orders"
EVENT = "ORDER_FULLY_PAID"
SECRET_KEY = "bench-secret-key-0123456789abcdef0123456789abcdef"  # noqa: S105 - throwaway data


@dataclass(frozen=True)
class SignedRequest:
    headers: dict[str, str]
    body: bytes


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--seconds",
        type=float,
        default=1.5,
        help="target duration of one round of each side; sets --count from the warm-up (1.5)",
    )
    parser.add_argument(
        "--count",
        type=int,
        default=None,
        help="requests per app round (overrides --seconds; the baseline gets as many per round)",
    )
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds per side (5)")
    parser.add_argument("--warmup", type=int, default=60, help="warm-up requests per side (60)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (8)")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=None,
        help="run the app on this PostgreSQL database (postgresql://...) instead of SQLite; "
        "it is migrated, and the benchmark's installation is deleted again at the end",
    )
    parser.add_argument(
        "--short",
        action="store_true",
        help="20 warm-up requests, 2 rounds of 50: proves it runs (CI)",
    )
    args = parser.parse_args(argv)
    if args.short:
        args.warmup, args.rounds, args.count = 20, 2, args.count or 50
    return args


# --------------------------------------------------------------------------------------------
# Requests


class RequestFactory:
    """Distinct signed ORDER_FULLY_PAID webhooks, shaped by the app's own subscription query."""

    def __init__(self) -> None:
        self.saleor = SaleorFakeState(
            api_url=f"http://saleor-{uuid.uuid4().hex[:8]}.bench/graphql/"
        )
        self.saleor.install(build_manifest(app_url=APP_URL, version=__version__))
        order = self.saleor.add_order()
        # Rendered once against the Saleor schema (slow: builds the schema); copies vary the order.
        self._template = self.saleor.order_event_payload(EVENT, order["id"])
        self._serial = 0

    def make(self, count: int) -> list[SignedRequest]:
        requests = []
        for _ in range(count):
            self._serial += 1
            payload: dict[str, Any] = copy.deepcopy(self._template)
            payload["issuedAt"] = datetime.now(UTC).isoformat()
            payload["order"]["id"] = global_id("Order", str(uuid.uuid4()))
            payload["order"]["number"] = str(100_000 + self._serial)
            headers, body = self.saleor.webhook_request(EVENT, payload)
            requests.append(SignedRequest(headers, body))
        return requests


# --------------------------------------------------------------------------------------------
# The two sides


def baseline_app() -> Starlette:
    """The least an endpoint must do with a webhook: read the body and parse it."""

    async def receive(request: Request) -> JSONResponse:
        payload = json.loads(await request.body())
        return JSONResponse({"success": True, "keys": len(payload)})

    return Starlette(routes=[Route(ORDERS_PATH, receive, methods=["POST"])])


@asynccontextmanager
async def real_app(database_url: str, saleor: SaleorFakeState) -> AsyncIterator[ASGIApp]:
    """The production app on a migrated database with one installation of ``saleor``."""
    settings = Settings(
        database_url=database_url, secret_key=SECRET_KEY, app_url=APP_URL, log_level="WARNING"
    )
    async with open_runtime(settings) as runtime:
        await migrate(runtime.engine)
        installation = await runtime.installations.save_installation(
            saleor_api_url=saleor.api_url,
            app_id=saleor.app_id,
            token=saleor.issue_token(),
            jwks=saleor.jwks,
            now=datetime.now(UTC),
        )
        try:
            yield create_app(runtime)
        finally:
            await runtime.installations.delete_installation(installation.id)


async def drive(
    client: httpx.AsyncClient, requests: Sequence[SignedRequest], concurrency: int
) -> float:
    """Send ``requests`` with ``concurrency`` in flight; return requests per second."""
    position = 0

    async def sender() -> None:
        nonlocal position
        while position < len(requests):
            request = requests[position]
            position += 1
            response = await client.post(ORDERS_PATH, content=request.body, headers=request.headers)
            if response.status_code != 200:
                raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    return len(requests) / (time.perf_counter() - started)


def client_for(app: ASGIApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=APP_URL)


# --------------------------------------------------------------------------------------------
# Run


async def run(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    factory = RequestFactory()
    warmup = factory.make(args.warmup)
    with tempfile.TemporaryDirectory(prefix="bench-webhook-") as tmp:
        database_url = args.postgres or f"sqlite:///{Path(tmp) / 'saleor-gordon.db'}"
        async with (
            real_app(database_url, factory.saleor) as app,
            client_for(app) as app_client,
            client_for(baseline_app()) as baseline_client,
        ):
            # Warm-up: first requests pay for imports, connection pools, SQLite pages.
            await drive(baseline_client, warmup, args.concurrency)
            app_warm_rate = await drive(app_client, warmup, args.concurrency)
            count = args.count or max(50, round(app_warm_rate * args.seconds))
            baseline_count = args.count or count * 8  # the baseline is cheaper; keep rounds long
            app_requests = [factory.make(count) for _ in range(args.rounds)]
            baseline_requests = (warmup * (baseline_count // len(warmup) + 1))[:baseline_count]

            app_rates: list[float] = []
            baseline_rates: list[float] = []
            for round_requests in app_requests:
                baseline_rates.append(
                    await drive(baseline_client, baseline_requests, args.concurrency)
                )
                app_rates.append(await drive(app_client, round_requests, args.concurrency))

    app_rate = statistics.median(app_rates)
    baseline_rate = statistics.median(baseline_rates)
    database = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"webhook ingest ({database}, {args.concurrency} in flight, {count} requests x "
        f"{args.rounds} rounds): {app_rate:.0f} req/s; baseline {baseline_rate:.0f} req/s; "
        f"ratio {baseline_rate / app_rate:.1f}x"
    )
    print(
        "  rounds app: "
        + " ".join(f"{rate:.0f}" for rate in app_rates)
        + " | baseline: "
        + " ".join(f"{rate:.0f}" for rate in baseline_rates)
        + f" | total {time.perf_counter() - started:.0f} s"
    )


def main(argv: Sequence[str] | None = None) -> None:
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
