"""Fixtures for Saleor-side tests.

``saleor_fake`` (tests/support/fixtures.py) serves a fresh fake Saleor for one test and yields
``RunningSaleorFake(api_url, state)``:

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
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def recorded_order(samples_dir: Path) -> dict[str, Any]:
    """Order 45 as Saleor answered ``order(id)`` (samples/graphql_responses)."""
    path = samples_dir / "graphql_responses" / "order_by_id_app_token.json"
    order: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["body"]["data"]["order"]
    return order
