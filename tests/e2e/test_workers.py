"""Workers as separate processes: a killed worker's job is taken over, SIGTERM drains, and two
worker processes on one PostgreSQL push every order exactly once."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
from pathlib import Path
from typing import Any

import pytest

from saleor_gordon.fakes.gordon_sandbox import RunningSandbox
from tests.e2e.conftest import RunningSaleorFake, Stack, running_stack
from tests.support.shop import DELIVERY_GROUP

pytestmark = pytest.mark.slow


async def _leased(stack: Stack, order: dict[str, Any]) -> bool:
    jobs = [job for job in await stack.jobs() if job["order_id"] == order["id"]]
    return bool(jobs) and jobs[0]["in_progress"]


def _slow_gordon(gordon: RunningSandbox, seconds: float) -> None:
    gordon.state.options = dataclasses.replace(gordon.state.options, latency=seconds)


async def test_killed_worker_loses_its_job_to_another(
    saleor_fake: RunningSaleorFake, start_gordon_sandbox: Any, tmp_path: Path
) -> None:
    gordon = start_gordon_sandbox(delivery_groups=(DELIVERY_GROUP,))
    async with running_stack(saleor_fake, gordon, tmp_path, workers=0) as stack:
        # given a worker process whose request to Gordon is held in flight
        gordon.state.hold()
        doomed = stack.start_process("worker", "--concurrency", "1", name="doomed-worker")
        order = stack.paid_order()
        await stack.emit("ORDER_FULLY_PAID", order["id"])
        await stack.wait_until(lambda: gordon.state.held == 1)
        assert await _leased(stack, order)

        # when it is killed mid-job
        doomed.stop(signal.SIGKILL)
        gordon.state.release()
        stack.start_process("worker", "--concurrency", "1", name="rescuer")

        # then the job completes once its lease expires, with one order in Gordon
        await stack.wait_until(lambda: _job_status_is(stack, order, "synced"), timeout=30)
        job = await stack.job_for(order)
        assert job["attempts"] == 2
        assert list(gordon.state.orders) == [order["number"]]
        assert (
            stack.metadata(order)["gordon.tracking_id"]
            == gordon.state.orders[order["number"]].tracking_id
        )
        assert stack.puts(order) <= 2  # at most the interrupted PUT again, same content


async def _job_status_is(stack: Stack, order: dict[str, Any], status: str) -> bool:
    job = await stack.job_for(order)
    return job["status"] == status and not job["in_progress"]


@pytest.mark.parametrize("command", ["worker", "serve"])
async def test_sigterm_lets_the_job_in_flight_finish(
    saleor_fake: RunningSaleorFake, start_gordon_sandbox: Any, tmp_path: Path, command: str
) -> None:
    gordon = start_gordon_sandbox(delivery_groups=(DELIVERY_GROUP,))
    async with running_stack(saleor_fake, gordon, tmp_path, workers=0) as stack:
        gordon.state.hold()
        if command == "worker":
            process = stack.start_process("worker", "--concurrency", "1", name="worker")
        else:  # a second web process with one worker, sharing the database, on a port of its own
            process = stack.start_process("serve", "--port", "0", "--workers", "1", name="serve")
        order = stack.paid_order()
        await stack.emit("ORDER_FULLY_PAID", order["id"])
        await stack.wait_until(lambda: gordon.state.held == 1)  # its PUT is held in Gordon
        assert await _leased(stack, order)

        # when SIGTERM arrives while the PUT is in flight
        stopping = asyncio.create_task(asyncio.to_thread(process.stop, signal.SIGTERM))
        await stack.wait_until(lambda: "worker.stopping" in process.log())
        assert not stopping.done()  # it waits for the job in flight
        gordon.state.release()
        exit_code = await stopping

        # then the job finished and was recorded before the process ended
        assert exit_code == 0, process.log()
        job = await stack.job_for(order)
        assert job["status"] == "synced"
        assert job["attempts"] == 1
        assert not job["in_progress"]
        assert "worker.stopped" in process.log()


@pytest.mark.postgres
async def test_two_worker_processes_on_postgresql_push_every_order_once(
    saleor_fake: RunningSaleorFake,
    start_gordon_sandbox: Any,
    fresh_postgres_url: str,
    tmp_path: Path,
) -> None:
    gordon = start_gordon_sandbox(delivery_groups=(DELIVERY_GROUP,))
    settings = {"SALEOR_GORDON_SHOP_CONCURRENCY": "6"}  # room for both processes' 3 tasks
    async with running_stack(
        saleor_fake, gordon, tmp_path, fresh_postgres_url, workers=0, settings=settings
    ) as stack:
        # given two worker processes sharing one PostgreSQL, and a Gordon slow enough to overlap
        _slow_gordon(gordon, 0.2)
        for name in ("worker-1", "worker-2"):
            stack.start_process("worker", "--concurrency", "3", name=name)
        orders = [stack.paid_order() for _ in range(24)]

        # when every order is paid, and Saleor sends each event twice and an update too
        for order in orders:
            await stack.emit("ORDER_FULLY_PAID", order["id"], times=2)
            await stack.emit("ORDER_UPDATED", order["id"])

        # then every order is pushed, none twice
        async def all_synced() -> bool:
            jobs = await stack.jobs()
            return len(jobs) == len(orders) and all(
                job["status"] == "synced" and not job["in_progress"] for job in jobs
            )

        await stack.wait_until(all_synced, timeout=60)
        assert [stack.puts(order) for order in orders] == [1] * len(orders)
        assert sorted(gordon.state.orders) == sorted(order["number"] for order in orders)
        logs = [process.log() for process in stack.processes if "worker" in process.log_path.name]
        assert all("job.finished" in log for log in logs), "both workers took part"


async def test_retries_stop_at_the_maximum_age_and_an_operator_retry_runs_at_once(
    saleor_fake: RunningSaleorFake, start_gordon_sandbox: Any, tmp_path: Path
) -> None:
    gordon = start_gordon_sandbox(delivery_groups=(DELIVERY_GROUP,), error_rate=1.0)
    settings = {"SALEOR_GORDON_RETRY_MAX_AGE_HOURS": "0.0005"}  # 1.8 seconds
    async with running_stack(saleor_fake, gordon, tmp_path, settings=settings) as stack:
        order = stack.paid_order()
        await stack.emit("ORDER_FULLY_PAID", order["id"])

        await stack.wait_until(lambda: _job_status_is(stack, order, "failed"))
        assert stack.private_metadata(order)["gordon.status"] == "failed"
        assert "Retries stopped" in stack.private_metadata(order)["gordon.error"]
        failed = await stack.job_for(order)
        assert failed["attempts"] > 1

        # Gordon is back; the operator retries the failed job
        gordon.state.options = dataclasses.replace(gordon.state.options, error_rate=0.0)
        result = stack.run_command("jobs", "retry", str(failed["id"]))
        assert result.returncode == 0, result.stderr
        assert f"Job {failed['id']} will run now." in result.stdout

        await stack.wait_until(lambda: _job_status_is(stack, order, "synced"), timeout=10)
        assert "gordon.error" not in stack.private_metadata(order)
        listed = stack.run_command("jobs", "list", "--status", "synced")
        assert order["number"] in listed.stdout
        shown = stack.run_command("jobs", "show", str(failed["id"]))
        assert "retryable" in shown.stdout
        assert "accepted" in shown.stdout
