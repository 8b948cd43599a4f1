"""A failed statement's error, as a traceback logs it, names no parameter: the values the app
writes (Gordon's words about an order, encrypted tokens) stay out of ``job.crashed`` and
``worker.error``."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from saleor_gordon.observability import JsonFormatter
from saleor_gordon.store.database import create_engine, migrate
from saleor_gordon.store.tables import job_history

# what Gordon may say about an order, kept in a job's history
GORDON_SAID = "Gordon refused: Unknown street 'Segeltorpsvägen 42' for Andreas Viklund"


async def test_a_failed_statement_s_error_and_its_log_line_name_no_parameter(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        # when an entry for a job that is gone (deleted with its shop meanwhile) is written
        with pytest.raises(IntegrityError) as failed:
            async with engine.begin() as connection:
                await connection.execute(
                    job_history.insert().values(
                        job_id=424242,
                        at=datetime.now(UTC),
                        attempt=1,
                        action="push",
                        outcome="rejected",
                        message=GORDON_SAID,
                    )
                )
    finally:
        await engine.dispose()

    # then neither the error nor the JSON line of the traceback logged with it shows the values
    assert "[SQL parameters hidden due to hide_parameters=True]" in str(failed.value)
    record = logging.LogRecord(
        "saleor_gordon.jobs.worker",
        logging.ERROR,
        __file__,
        1,
        "job.crashed job_id=%s",
        (7,),
        (failed.type, failed.value, failed.tb),
    )
    line = JsonFormatter().format(record)
    assert "INSERT INTO job_history" in line
    for value in ("Segeltorpsvägen", "Viklund"):
        assert value not in str(failed.value)
        assert value not in line
    assert sys.exc_info() == (None, None, None)
