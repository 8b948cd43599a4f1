"""Fixtures for Saleor-side tests.

``saleor_fake`` (tests/support/fixtures.py) serves a fresh fake Saleor for one test and yields
``RunningSaleorFake(api_url, state)``:

    async def test_x(saleor_fake):
        api_url, state = saleor_fake
        token = state.issue_token()
        order = state.add_order()            # a copy of the recorded order 45, fresh id
        ...                                  # talk to api_url over HTTP
        assert state.requests["OrderForGordon"] == 1

``saleor_fake_factory()`` starts more of them (several shops in one test). ``receiver`` is a
stand-in app on loopback that records the webhooks a fake sends it.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from saleor_gordon.saleor.manifest import build_manifest
from tests.support.loopback import serve_on_loopback

GATE_SECONDS = 30.0
"""How long a gated ``Receiver`` holds an answer at most (a test that forgets to open it ends)."""


@pytest.fixture(scope="session")
def recorded_order(samples_dir: Path) -> dict[str, Any]:
    """Order 45 as Saleor answered ``order(id)`` (samples/graphql_responses)."""
    path = samples_dir / "graphql_responses" / "order_by_id_app_token.json"
    order: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["body"]["data"]["order"]
    return order


class Receiver:
    """A stand-in app on loopback: serves a manifest, records every POST, answers ``statuses``;
    with a ``gate``, it records each POST at once and answers it once the gate is open."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.base_url = ""
        self.gate: threading.Event | None = None

    def app(self) -> Starlette:
        async def manifest(_request: Request) -> Response:
            return JSONResponse(build_manifest(app_url=self.base_url, version="1"))

        async def record(request: Request) -> Response:
            self.requests.append((request.url.path, dict(request.headers), await request.body()))
            if self.gate is not None:
                await asyncio.to_thread(self.gate.wait, GATE_SECONDS)
            return Response(status_code=self.statuses.pop(0) if self.statuses else 200)

        return Starlette(
            routes=[
                Route("/api/manifest", manifest, methods=["GET"]),
                Route("/api/{rest:path}", record, methods=["POST"]),
            ]
        )

    async def wait_for(self, count: int) -> None:
        for _ in range(500):
            if len(self.requests) >= count:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"expected {count} requests, got {len(self.requests)}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    with serve_on_loopback(receiver.app()) as base_url:
        receiver.base_url = base_url
        yield receiver
