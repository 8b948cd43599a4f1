"""The fakes' faults and counts the chaos suite relies on (fast, in-process).

The Gordon sandbox counts every write per order (``OrderWrites``); the Saleor fake times GraphQL
requests out without executing them, and executes mutations whose answer it then loses.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from saleor_gordon.errors import SaleorUnavailable
from saleor_gordon.fakes.gordon_sandbox import (
    DELETED_CONTENT,
    OrderWrites,
    SandboxOptions,
    create_gordon_sandbox,
    sandbox_state,
)
from saleor_gordon.saleor.graphql_client import SaleorClient
from tests.gordon.conftest import gordon_order
from tests.support.fixtures import RunningSaleorFake
from tests.support.saleor_fake import (
    DEFAULT_EVENT_QUERY,
    GraphQLFaults,
    InstalledWebhook,
    SaleorFakeState,
)
from tests.support.shop import CLIENT_ID, CLIENT_SECRET

# --- the Gordon sandbox's count of writes ----------------------------------------------------


@pytest.fixture
async def gordon() -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    options = SandboxOptions(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, hang_seconds=0.05)
    app = create_gordon_sandbox(options)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
        token = await http.post(
            "/oauth/token",
            json={
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "grant_type": "client_credentials",
            },
        )
        http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield http, sandbox_state(app)


async def test_the_sandbox_counts_contents_sent_writes_applied_and_answers_lost(
    gordon: tuple[httpx.AsyncClient, Any],
) -> None:
    http, state = gordon
    a, b, c = (gordon_order("1001", notes=note) for note in ("a", "b", "c"))

    statuses = [
        (await http.put("/api/orders/1001", json=a)).status_code,  # not found: not applied
        (await http.post("/api/orders", json=a)).status_code,  # created
        (await http.put("/api/orders/1001", json=a)).status_code,  # the same content again
    ]
    state.script_faults([503])
    statuses.append((await http.put("/api/orders/1001", json=b)).status_code)  # refused
    statuses.append((await http.put("/api/orders/1001", json=b)).status_code)
    state.script_faults(["lost"])
    statuses.append((await http.put("/api/orders/1001", json=c)).status_code)  # done, then lost
    statuses.append((await http.delete("/api/orders/1001")).status_code)
    statuses.append((await http.delete("/api/orders/1001")).status_code)  # already gone
    statuses.append((await http.get("/api/orders/1001")).status_code)  # a read is no write

    assert statuses == [404, 200, 200, 503, 200, 504, 200, 404, 404]
    # contents a, b, c, deleted: four; applied: POST a, PUT a, PUT b, PUT c, DELETE
    assert state.writes == {
        "1001": OrderWrites(
            contents_sent=4, applied=5, deleted=1, answers_lost=1, last_content=DELETED_CONTENT
        )
    }
    listed = await http.get("/_sandbox/writes")
    assert listed.json() == {
        "writes": {"1001": {"contents_sent": 4, "applied": 5, "deleted": 1, "answers_lost": 1}}
    }
    assert state.orders == {}


async def test_a_content_sent_again_after_another_counts_again(
    gordon: tuple[httpx.AsyncClient, Any],
) -> None:
    http, state = gordon
    a, b = gordon_order("1001", notes="a"), gordon_order("1001", notes="b")

    await http.post("/api/orders", json=a)
    await http.put("/api/orders/1001", json=b)
    await http.put("/api/orders/1001", json=a)  # back to a: a change Gordon must get
    await http.post("/api/orders", json=gordon_order("1002"))
    await http.post("/api/orders", json=gordon_order("1002"))  # refused: "External Ref in Use"

    assert (state.writes["1001"].contents_sent, state.writes["1001"].applied) == (3, 3)
    assert (state.writes["1002"].contents_sent, state.writes["1002"].applied) == (1, 1)
    state.reset()
    assert state.writes == {}


# --- the Saleor fake's GraphQL faults --------------------------------------------------------


def _client(saleor: RunningSaleorFake) -> SaleorClient:
    return SaleorClient(
        saleor_api_url=saleor.api_url, token=saleor.state.issue_token(), timeout=0.5
    )


def _echo_to_nowhere(state: SaleorFakeState, closed_port: int) -> None:
    """An installed ORDER_METADATA_UPDATED webhook whose deliveries fail (a closed port): the
    fake records each attempt in ``deliveries`` all the same."""
    state.webhooks = [
        InstalledWebhook(
            name="echo",
            events=frozenset({"ORDER_METADATA_UPDATED"}),
            target_url=f"http://127.0.0.1:{closed_port}/api/webhooks",
            query=DEFAULT_EVENT_QUERY,
        )
    ]


async def _until(condition: Any, what: str, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {timeout} s"
        await asyncio.sleep(0.02)


async def test_a_lost_metadata_write_is_made_echoed_and_never_answered(
    saleor_fake: RunningSaleorFake, closed_port: int
) -> None:
    state = saleor_fake.state
    order = state.add_order()
    _echo_to_nowhere(state, closed_port)
    state.inject_graphql_faults(GraphQLFaults(lost_rate=1.0, hang_seconds=30, seed=1))

    async with _client(saleor_fake) as saleor:
        fetched = await saleor.fetch_order(order["id"])  # a query is never "lost"
        with pytest.raises(SaleorUnavailable, match="ReadTimeout"):
            await saleor.write_metadata(
                order["id"], public={"gordon.tracking_id": "ABC123xyz"}, private={}
            )

    assert fetched is not None
    assert fetched["id"] == order["id"]
    assert {"key": "gordon.tracking_id", "value": "ABC123xyz"} in state.order(order["id"])[
        "metadata"
    ]
    [mutation] = state.mutations
    assert (mutation.field, mutation.changed) == ("updateMetadata", True)
    assert state.lost_answers == [mutation]
    assert state.faults_injected == {"lost": 1}
    await _until(
        lambda: [d.event for d in state.deliveries] == ["order_metadata_updated"],
        "the ORDER_METADATA_UPDATED of the lost write is sent",
    )


async def test_a_timed_out_request_is_not_executed(saleor_fake: RunningSaleorFake) -> None:
    state = saleor_fake.state
    order = state.add_order()
    state.inject_graphql_faults(GraphQLFaults(timeout_rate=1.0, hang_seconds=30, seed=1))

    async with _client(saleor_fake) as saleor:
        with pytest.raises(SaleorUnavailable):
            await saleor.write_metadata(
                order["id"], public={"gordon.tracking_id": "ABC123xyz"}, private={}
            )
        with pytest.raises(SaleorUnavailable):
            await saleor.fetch_order(order["id"])

    assert state.mutations == []
    assert state.lost_answers == []
    assert state.order(order["id"])["metadata"] == order["metadata"]
    assert state.faults_injected == {"timeout": 2}


async def test_without_faults_every_request_is_answered(saleor_fake: RunningSaleorFake) -> None:
    state = saleor_fake.state
    order = state.add_order()
    state.inject_graphql_faults(GraphQLFaults(timeout_rate=1.0, seed=1))
    state.inject_graphql_faults(GraphQLFaults())  # switched off again

    async with _client(saleor_fake) as saleor:
        await saleor.write_metadata(
            order["id"], public={"gordon.tracking_id": "ABC123xyz"}, private={}
        )

    assert state.faults_injected == {}
    assert [m.field for m in state.mutations] == ["updateMetadata"]


def test_the_faults_follow_the_seed() -> None:
    def rolls(seed: int) -> list[str | None]:
        state = SaleorFakeState()
        state.inject_graphql_faults(GraphQLFaults(timeout_rate=0.3, lost_rate=0.3, seed=seed))
        return [state._next_graphql_fault(mutation=n % 2 == 0) for n in range(200)]

    first = rolls(7)
    assert first == rolls(7)
    assert first != rolls(8)
    kinds = set(first)
    assert kinds == {None, "timeout", "lost"}
    assert all(kind != "lost" for n, kind in enumerate(first) if n % 2)  # queries never lose
