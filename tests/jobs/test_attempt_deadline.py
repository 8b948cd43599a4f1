"""A job attempt has a deadline: past it, the attempt is cancelled where it stands, its outbound
connection slot is given back, and the job is retrying with a history entry that says so.

The pool runs over the bench (tests/jobs/conftest.py) behind the app's real ``OutboundTransport``,
whose inner transport holds chosen requests until the test lets them go: the deadline, not the
server, ends them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import httpx
import pytest
import pytest_asyncio
from pydantic import ValidationError

from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.jobs.lifecycle import NO_ANSWER, NO_ANSWER_MESSAGE
from saleor_gordon.outbound import OutboundPolicy, OutboundTransport
from saleor_gordon.settings import Settings
from tests.jobs.conftest import FIRST_DELAY, Bench, graphql_operation
from tests.jobs.test_worker import logged, running, until

DEADLINE = 1.0


class Holding(httpx.AsyncBaseTransport):
    """Passes requests on, holding those ``held`` matches until ``release``d."""

    def __init__(
        self, inner: httpx.AsyncBaseTransport, held: Callable[[httpx.Request], bool]
    ) -> None:
        self.inner = inner
        self.held = held
        self.entered = asyncio.Event()
        self.released = asyncio.Event()
        self.cancelled = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.held(request) and not self.released.is_set():
            self.entered.set()
            try:
                await self.released.wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        return await self.inner.handle_async_request(request)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="saleor_gordon")
    return caplog


@pytest_asyncio.fixture
async def outbound(bench: Bench) -> AsyncIterator[Callable[..., tuple[OutboundTransport, Holding]]]:
    """Put the app's outbound transport, over a ``Holding`` transport, under the bench."""
    clients: list[httpx.AsyncClient] = []

    def install(held: Callable[[httpx.Request], bool]) -> tuple[OutboundTransport, Holding]:
        holding = Holding(bench.outbound, held)
        policy = OutboundPolicy.from_settings(bench.runtime.settings)
        transport = OutboundTransport(policy, inner=holding)
        bench.runtime.http = httpx.AsyncClient(transport=transport)
        clients.append(bench.runtime.http)
        return transport, holding

    yield install
    for client in clients:
        await client.aclose()


async def retrying(bench: Bench, order: dict[str, object]) -> None:
    async def recorded() -> bool:
        job = await bench.job(order)
        return job.status == JobStatus.RETRYING.value and not job.leased

    await until(recorded, "the job recorded as retrying")


async def test_an_attempt_past_its_deadline_is_retrying_as_unanswered(
    bench: Bench,
    outbound: Callable[..., tuple[OutboundTransport, Holding]],
    logs: pytest.LogCaptureFixture,
) -> None:
    # given a Gordon whose answer to the order's PUT does not come
    transport, holding = outbound(lambda request: request.method == "PUT")
    order = bench.paid_order()
    async with running(bench, attempt_deadline_seconds=DEADLINE) as pool:
        await bench.event(order)
        pool.wake()
        await holding.entered.wait()
        assert transport.calls_to(bench.gordon.base_url) == 1

        # when the attempt's deadline passes
        await retrying(bench, order)

    # then the PUT was cancelled where it stood and its connection slot given back
    assert holding.cancelled == 1
    assert transport.calls_to(bench.gordon.base_url) == 0
    assert bench.gordon_calls() == []
    # and the job is retrying after the backoff, saying Gordon may have done it, under its ref
    job = await bench.job(order)
    assert (job.attempts, job.external_ref) == (1, order["number"])
    assert job.next_attempt_at == bench.clock() + timedelta(seconds=FIRST_DELAY)
    stopped = f"The attempt was stopped: it did not finish within its deadline ({DEADLINE:g} s)."
    assert [(e["action"], e["outcome"], e["message"]) for e in job.history] == [
        ("push", NO_ANSWER, NO_ANSWER_MESSAGE),
        ("push", "stopped", stopped),
    ]
    assert [(e["code"], e["params"]) for e in job.history] == [
        ("job.no_answer", {}),
        (
            "job.retrying",
            {
                "cause": {
                    "code": "job.stopped_at_deadline",
                    "params": {"seconds": DEADLINE},
                    "message": stopped,
                },
                "retry_at": job.next_attempt_at.isoformat(),
            },
        ),
    ]
    assert (job.last_action, job.last_outcome, job.last_message) == ("push", "stopped", stopped)
    assert (job.last_code, job.last_params) == ("job.stopped_at_deadline", {"seconds": DEADLINE})
    assert [r.getMessage() for r in logged(logs, "job.stopped")] == [
        f"job.stopped job_id={job.id} order_number={order['number']} reason=deadline"
    ]

    # when Gordon answers again, the next attempt pushes the order once
    holding.released.set()
    bench.clock.advance(FIRST_DELAY)
    async with running(bench, attempt_deadline_seconds=DEADLINE) as pool:
        pool.wake()
        await until(lambda: bench.gordon_calls(), "the next attempt's PUT")
        await until(lambda: _status(bench, order, JobStatus.SYNCED), "the job recorded as synced")
    # (the sandbox answers 404 to a PUT of an order it does not have; the app then POSTs it)
    assert bench.gordon_calls() == [
        ("PUT", f"/api/orders/{order['number']}", 404),
        ("POST", "/api/orders", 200),
    ]
    assert list(bench.gordon.state.orders) == [order["number"]]


async def test_a_write_back_past_the_deadline_keeps_what_gordon_accepted(
    bench: Bench, outbound: Callable[..., tuple[OutboundTransport, Holding]]
) -> None:
    # given a Saleor that does not answer the write of the order's metadata
    _, holding = outbound(lambda request: graphql_operation(request) == "WriteOrderMetadata")
    order = bench.paid_order()
    async with running(bench, attempt_deadline_seconds=DEADLINE) as pool:
        await bench.event(order)
        pool.wake()
        await holding.entered.wait()

        # when the deadline passes during the write-back
        await retrying(bench, order)

    # then Gordon's acceptance is recorded, and only the write-back is retried
    job = await bench.job(order)
    accepted = bench.gordon.state.orders[order["number"]]
    assert (job.tracking_id, job.external_ref) == (accepted.tracking_id, order["number"])
    assert job.pushed_hash is not None
    assert [(e["action"], e["outcome"]) for e in job.history] == [
        ("push", "accepted"),
        ("write_back", "failed"),
    ]
    written = job.history[1]
    assert (written["code"], written["params"], written["message"]) == (
        "job.stopped_at_deadline",
        {"seconds": DEADLINE},
        f"not done within the attempt's deadline of {DEADLINE:g} s",
    )
    assert job.last_code == "job.write_back_failed"
    assert job.next_attempt_at == bench.clock() + timedelta(seconds=FIRST_DELAY)


async def test_a_fulfillment_past_the_deadline_keeps_what_gordon_accepted(
    bench: Bench, outbound: Callable[..., tuple[OutboundTransport, Holding]]
) -> None:
    # given a shop whose orders the app fulfils, and a Saleor that does not answer the fulfil
    await bench.configure(tracking_on_fulfillment="fulfill")
    _, holding = outbound(lambda request: graphql_operation(request) == "FulfillOrder")
    order = bench.paid_order()
    async with running(bench, attempt_deadline_seconds=DEADLINE) as pool:
        await bench.event(order)
        pool.wake()
        await holding.entered.wait()

        # when the deadline passes during the fulfillment step
        await retrying(bench, order)

    # then Gordon's acceptance is recorded and the fulfillment is what is retried; the order's
    # status is written by the next attempt (the attempt's time was up)
    job = await bench.job(order)
    accepted = bench.gordon.state.orders[order["number"]]
    assert (job.tracking_id, job.external_ref) == (accepted.tracking_id, order["number"])
    assert job.pushed_hash is not None
    assert [(e["action"], e["outcome"]) for e in job.history] == [
        ("push", "accepted"),
        ("fulfill", "failed"),
    ]
    stopped = f"The attempt was stopped: it did not finish within its deadline ({DEADLINE:g} s)."
    assert job.history[1]["params"] == {
        "cause": {
            "code": "job.fulfillment_problem",
            "params": {
                "detail": {
                    "code": "job.stopped_at_deadline",
                    "params": {"seconds": DEADLINE},
                    "message": stopped,
                }
            },
            "message": stopped,
        },
        "retry_at": job.next_attempt_at.isoformat(),
    }
    assert (job.fulfillment_state, job.last_code) == ("to_do", "job.fulfillment_failed")
    assert "WriteOrderMetadata" not in bench.mutations()
    assert job.next_attempt_at == bench.clock() + timedelta(seconds=FIRST_DELAY)

    # when Saleor answers again, the next attempt fulfils the order without pushing it again
    holding.released.set()
    bench.clock.advance(FIRST_DELAY)
    async with running(bench, attempt_deadline_seconds=DEADLINE) as pool:
        pool.wake()
        await until(lambda: _status(bench, order, JobStatus.SYNCED), "the job recorded as synced")
    job = await bench.job(order)
    assert job.fulfillment_state == "done"
    assert [call[0] for call in bench.gordon_calls()] == ["PUT", "POST"]


async def _status(bench: Bench, order: dict[str, object], status: JobStatus) -> bool:
    job = await bench.job(order)
    return job.status == status.value and not job.leased


def test_the_deadline_must_be_shorter_than_the_lease() -> None:
    assert Settings().attempt_deadline == 20.0
    assert Settings(lease_seconds=10).attempt_deadline == 8.0
    assert Settings(lease_seconds=10, attempt_deadline_seconds=9.5).attempt_deadline == 9.5
    with pytest.raises(ValidationError) as refused:
        Settings(lease_seconds=10, attempt_deadline_seconds=10)
    assert (
        "SALEOR_GORDON_ATTEMPT_DEADLINE_SECONDS (10) must be shorter than "
        "SALEOR_GORDON_LEASE_SECONDS (10): an attempt must end before its lease could run out"
    ) in str(refused.value)
    with pytest.raises(ValidationError) as refused:
        Settings(reconcile_lease_seconds=60, reconcile_shop_deadline_seconds=60)
    assert "SALEOR_GORDON_RECONCILE_SHOP_DEADLINE_SECONDS (60) must be shorter than" in str(
        refused.value
    )
