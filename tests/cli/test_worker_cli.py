"""Stories of `saleor-gordon worker` starting beside a PostgreSQL server that cannot be reached:
one still starting (or restarting) is waited for; one that never comes ends the worker with a
logged error naming the setting, in the log format (JSON) the operator's log collection reads."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvloop

from saleor_gordon.cli import worker as worker_command
from saleor_gordon.store.database import create_engine, migrate
from tests.conftest import TEST_SECRET_KEY, ThrowawayPostgres
from tests.support.app_process import AppProcess, app_env

STARTUP_SECONDS = 60.0


class Worker(AppProcess):
    def entries(self) -> list[dict[str, Any]]:
        """Every line logged so far, each parsed as the JSON object it must be."""
        return [json.loads(line) for line in self.log().splitlines()]

    def events(self) -> list[str]:
        return [entry["event"] for entry in self.entries()]

    def wait_until(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if condition():
                return
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the worker ended before {what}:\n{self.log()}")
            time.sleep(0.05)  # polling the process's log, not standing in for it
        raise AssertionError(f"no {what} within {STARTUP_SECONDS:g} s:\n{self.log()}")

    def exit_code(self) -> int:
        assert self.process is not None
        return self.process.wait(STARTUP_SECONDS)


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    workers: list[Worker] = []

    def start(database_url: str, *, wait_seconds: float) -> Worker:
        settings = {
            "SALEOR_GORDON_LOG_FORMAT": "json",
            "SALEOR_GORDON_DATABASE_STARTUP_WAIT_SECONDS": f"{wait_seconds:g}",
            "SALEOR_GORDON_RECONCILE_INTERVAL_SECONDS": "0",
        }
        env = app_env(database_url, "http://127.0.0.1:8000", TEST_SECRET_KEY, settings)
        worker = Worker(
            ["worker", "--concurrency", "1"], env, tmp_path / f"worker-{len(workers)}.log"
        )
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop(signal.SIGKILL)


async def _migrate(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


@pytest.mark.postgres
def test_a_worker_started_while_postgresql_is_down_waits_for_it_and_then_works(
    throwaway_postgres: ThrowawayPostgres, start_worker: Callable[..., Worker]
) -> None:
    asyncio.run(_migrate(throwaway_postgres.url))
    throwaway_postgres.stop()

    worker = start_worker(throwaway_postgres.url, wait_seconds=STARTUP_SECONDS)
    worker.wait_until(lambda: "database.unavailable" in worker.events(), "database.unavailable")
    assert "worker.started" not in worker.events()

    throwaway_postgres.start()
    worker.wait_until(lambda: "worker.started" in worker.events(), "worker.started")
    assert worker.stop(signal.SIGTERM, timeout=STARTUP_SECONDS) == 0
    events = worker.events()
    assert "app.failed" not in events
    assert events[-1] == "worker.stopped"
    waits = [entry for entry in worker.entries() if entry["event"] == "database.unavailable"]
    assert waits
    assert all(entry["level"] == "WARNING" for entry in waits)
    assert all(
        "The database cannot be reached: ConnectionRefusedError" in entry["message"]
        for entry in waits
    )


def test_a_worker_gives_up_on_a_database_that_never_answers_with_a_logged_error(
    closed_port: int, start_worker: Callable[..., Worker]
) -> None:
    worker = start_worker(
        f"postgresql://postgres@127.0.0.1:{closed_port}/postgres", wait_seconds=1.5
    )
    assert worker.exit_code() == 2
    entries = worker.entries()  # every line JSON: no plain-text farewell in the log stream
    assert "database.unavailable" in worker.events()
    assert entries[-1]["event"] == "app.failed"
    assert entries[-1]["level"] == "ERROR"
    assert entries[-1]["message"] == (
        "app.failed The database cannot be reached: ConnectionRefusedError. Waited 1.5 s for it "
        "(SALEOR_GORDON_DATABASE_STARTUP_WAIT_SECONDS): check SALEOR_GORDON_DATABASE_URL and "
        "that the database server runs."
    )


def test_the_worker_runs_on_uvloop(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`worker` runs on uvloop's event loop, as `serve` does (cli/event_loop.py)."""
    loops: list[type] = []

    async def work(settings: object) -> None:
        loops.append(type(asyncio.get_running_loop()))

    monkeypatch.setattr(worker_command, "work", work)
    monkeypatch.setenv("SALEOR_GORDON_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("SALEOR_GORDON_SECRET_KEY", TEST_SECRET_KEY)

    status = worker_command.run(argparse.Namespace(concurrency=None))

    assert (status, loops) == (0, [uvloop.Loop])
