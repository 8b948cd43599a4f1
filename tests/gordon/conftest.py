"""Fixtures for the Gordon adapter: clients for the sandbox (``start_gordon_sandbox``,
tests/support/fixtures.py), a clock, a valid order."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from saleor_gordon.fakes.gordon_sandbox import RunningSandbox
from saleor_gordon.gordon.client import GordonClient
from saleor_gordon.gordon.tokens import TokenCache
from saleor_gordon.outbound import outbound_client
from saleor_gordon.settings import Settings
from tests.support.shop import CLIENT_ID, CLIENT_SECRET


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


MakeClient = Callable[..., GordonClient]


LOOPBACK_GORDON = Settings(
    app_url="https://gordon-app.example.com", allowed_gordon_urls=r"http://127\.0\.0\.1:\d+"
)


@pytest.fixture(params=["outbound", "httpx"])
async def http(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    """The app's own outbound client (``outbound.exchange`` straight to its transport: policy,
    pool, connections), and a plain httpx client (what ``exchange`` does with any other)."""
    client = (
        outbound_client(LOOPBACK_GORDON) if request.param == "outbound" else httpx.AsyncClient()
    )
    async with client:
        yield client


@pytest.fixture
def token_cache() -> TokenCache:
    return TokenCache()


@pytest.fixture
def make_client(http: httpx.AsyncClient, token_cache: TokenCache) -> MakeClient:
    """Build a ``GordonClient`` for a sandbox; keyword arguments override the defaults."""

    def make(sandbox: RunningSandbox, **overrides: Any) -> GordonClient:
        arguments: dict[str, Any] = {
            "base_url": sandbox.base_url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "http": http,
            "token_cache": token_cache,
            "timeout": 5.0,
            **overrides,
        }
        return GordonClient(**arguments)

    return make


def gordon_order(ref: str = "1001", **changes: object) -> dict[str, object]:
    """A valid Gordon order (the API article's example, gordon-api.md B5)."""
    order: dict[str, object] = {
        "external_ref": ref,
        "customer-name": "Anna Svensson",
        "address": "Segeltorpsvägen 42",
        "zip": "12553",
        "city": "Älvsjö",
        "country_code": "SE",
        "mobile": "+46702286810",
        "deliverydate": "2030-02-25",
        "time-window": "14:00 - 16:00",
        "deliverygroup": "Gordon Store",
        "notes": "Knock please",
        "inventory": [{"quantity": 1, "name": "En låda mat"}],
    }
    order.update(changes)
    return {key: value for key, value in order.items() if value is not None}
