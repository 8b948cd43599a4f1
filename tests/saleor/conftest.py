"""Fixtures for Saleor-side tests; reusable by end-to-end tests.

``saleor_fake`` serves a fresh fake Saleor (tests.support.saleor_fake) on a real loopback
socket for one test and yields ``RunningSaleorFake(api_url, state)``:

    async def test_x(saleor_fake):
        api_url, state = saleor_fake
        token = state.issue_token()
        order = state.add_order()            # a copy of the recorded order 45, fresh id
        ...                                  # talk to api_url over HTTP
        assert state.requests["OrderForGordon"] == 1

``saleor_fake_factory()`` starts more of them (several shops in one test).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from tests.support.saleor_fake import SaleorFakeState, load_schema, running_saleor_fake


class RunningSaleorFake(NamedTuple):
    api_url: str
    state: SaleorFakeState


@pytest.fixture(scope="session")
def _fake_schema(saleor_schema_path: Path) -> None:
    """Build the schema once for the session; fails (never skips) when it is missing."""
    load_schema(saleor_schema_path)


@pytest.fixture
def saleor_fake_factory(_fake_schema: None) -> Iterator[Callable[[], RunningSaleorFake]]:
    """Start as many fake Saleors as a test needs; all stop at the end of the test."""
    with ExitStack() as stack:

        def start() -> RunningSaleorFake:
            api_url, state = stack.enter_context(running_saleor_fake())
            return RunningSaleorFake(api_url, state)

        yield start


@pytest.fixture
def saleor_fake(saleor_fake_factory: Callable[[], RunningSaleorFake]) -> RunningSaleorFake:
    """One fake Saleor on 127.0.0.1 with a fresh key, no tokens and no orders."""
    return saleor_fake_factory()


@pytest.fixture(scope="session")
def recorded_order(samples_dir: Path) -> dict[str, Any]:
    """Order 45 as Saleor answered ``order(id)`` (samples/graphql_responses)."""
    path = samples_dir / "graphql_responses" / "order_by_id_app_token.json"
    order: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["body"]["data"]["order"]
    return order
