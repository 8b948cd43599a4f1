"""A worker whose lease runs out without a renewal getting through stops its attempt.

Found by the chaos suite: a renewal stuck behind SQLite's write lock (or failing while the
database is unreachable) used to be retried for ever while the attempt went on pushing and
writing back, though another worker could already run the same job.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import event

from saleor_gordon.core.job_status import JobStatus
from tests.jobs.conftest import Bench
from tests.jobs.test_worker import Gate, logged, running, until
from tests.support.fixtures import unreachable_engine_like


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="saleor_gordon")
    return caplog


async def test_an_outage_longer_than_the_lease_cancels_the_attempt(
    bench: Bench, tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    # given an attempt waiting for Gordon under a one-second lease
    gate = Gate()
    bench.services.rate_limiter = gate
    order = bench.paid_order()
    unreachable = unreachable_engine_like("sqlite://", tmp_path)
    tries: list[object] = []
    event.listen(unreachable.sync_engine, "do_connect", lambda *args: tries.append(args))
    async with running(bench, lease_seconds=1.0) as pool:
        await bench.event(order)
        pool.wake()
        await gate.entered.wait()
        engine, bench.runtime.engine = bench.runtime.engine, unreachable

        # when no renewal gets through until the lease has run out
        await until(lambda: logged(logs, "worker.lease_expired"), "worker.lease_expired")
        bench.runtime.engine = engine
        gate.released.set()  # the cancel was requested with the log line: it must not go on

    # then the attempt stopped: nothing was sent to Gordon, nothing recorded for it
    await unreachable.dispose()
    assert tries, "renewals were tried against the unreachable database"
    assert bench.gordon_calls() == []
    job = await bench.job(order)
    assert (job.status, job.history) == (JobStatus.PENDING.value, [])
