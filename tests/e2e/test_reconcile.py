"""Reconcile with the app as processes: orders paid while the app was stopped,
their webhooks lost for good, reach Gordon after it starts again; two worker processes on one
PostgreSQL reconcile a shop once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import RunningSaleorFake, Stack, running_stack
from tests.support.shop import DELIVERY_GROUP

pytestmark = pytest.mark.slow

PERIOD = 3.0  # seconds: the test's reconcile period


def _lost_paid_order(stack: Stack) -> dict[str, Any]:
    """An order paid now (Saleor updates it) whose webhooks never reach the app."""
    return stack.paid_order(updatedAt=datetime.now(UTC).isoformat())


async def test_orders_paid_while_the_app_was_stopped_are_synced_after_it_starts(
    saleor_fake: RunningSaleorFake, start_gordon_sandbox: Any, tmp_path: Path
) -> None:
    gordon = start_gordon_sandbox(delivery_groups=(DELIVERY_GROUP,))
    settings = {"SALEOR_GORDON_RECONCILE_INTERVAL_SECONDS": str(PERIOD)}
    async with running_stack(saleor_fake, gordon, tmp_path, settings=settings) as stack:
        # given the app stopped while orders are paid (Saleor's retries give up: nothing arrives)
        [app] = stack.processes
        assert app.stop() == 0
        orders = [_lost_paid_order(stack) for _ in range(3)]

        # when it starts again
        await stack.start_app()

        # then within one reconcile period (the wait's deadline) every order is in Gordon, once,
        # tracking ID written
        def synced() -> bool:  # pushed, and the tracking ID written back (it follows the PUT)
            return all(
                stack.puts(order) == 1 and "gordon.tracking_id" in stack.metadata(order)
                for order in orders
            )

        await stack.wait_until(synced, timeout=PERIOD + 10)
        assert sorted(gordon.state.orders) == sorted(order["number"] for order in orders)
        for order in orders:
            assert stack.metadata(order)["gordon.tracking_id"] == (
                gordon.state.orders[order["number"]].tracking_id
            )
        assert not [d for d in saleor_fake.state.deliveries if d.event == "order_fully_paid"]


@pytest.mark.postgres
async def test_two_worker_processes_on_postgresql_reconcile_a_shop_once(
    saleor_fake: RunningSaleorFake,
    start_gordon_sandbox: Any,
    tmp_path: Path,
    fresh_postgres_url: str,
) -> None:
    gordon = start_gordon_sandbox(delivery_groups=(DELIVERY_GROUP,))
    settings = {
        "SALEOR_GORDON_RECONCILE_INTERVAL_SECONDS": "3600",
        "SALEOR_GORDON_LOG_LEVEL": "DEBUG",
    }
    async with running_stack(
        saleor_fake, gordon, tmp_path, fresh_postgres_url, workers=0, settings=settings
    ) as stack:
        # given a lost paid order and two worker processes starting together on one PostgreSQL
        order = _lost_paid_order(stack)
        workers = [
            stack.start_process("worker", "--concurrency", "1", name=name)
            for name in ("worker-1", "worker-2")
        ]

        # when both have made their first reconcile round
        await stack.wait_until(
            lambda: all("reconcile.round" in worker.log() for worker in workers), timeout=30
        )
        await stack.wait_until(lambda: stack.puts(order) == 1)

        # then the shop was reconciled once: one page read, by one process
        assert saleor_fake.state.requests["OrdersPage"] == 1
        finished = [worker for worker in workers if "reconcile.finished" in worker.log()]
        assert len(finished) == 1
        assert "enqueued=1" in finished[0].log()
        assert stack.puts(order) == 1
