"""What the workers log of text from outside: Saleor's error message in ``reconcile.failed``
stays one line and adds no field of its own, in both log formats."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from saleor_gordon.catch_up.scan import reconcile_due_shops
from saleor_gordon.observability import LOG_FORMAT, JsonFormatter, MaskingFormatter
from tests.jobs.conftest import Bench

# Saleor's words: a line break, a line of its choosing, fields of its choosing
SALEOR_SAID = (
    "Cursor expired\n"
    "2026-01-01 00:00:00,000 ERROR saleor_gordon.jobs.worker job.crashed job_id=999 order_id=X"
)


async def test_saleor_s_error_message_cannot_forge_a_line_or_a_field(
    bench: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="saleor_gordon")
    for _query in ("OrdersPage", "OrdersPageLegacy"):  # the app asks again in the older form
        bench.outbound.on(
            lambda request: b"OrdersPage" in request.content,
            lambda request: httpx.Response(200, json={"errors": [{"message": SALEOR_SAID}]}),
        )

    await reconcile_due_shops(bench.runtime, owner="reconciler")

    [record] = [r for r in caplog.records if r.getMessage().startswith("reconcile.failed")]
    error = (
        "Saleor refused OrdersPageLegacy: Cursor expired\\n2026-01-01 00:00:00,000 ERROR "
        "saleor_gordon.jobs.worker job.crashed job_id=999 order_id=X"
    )
    installation = bench.installation.id
    console = MaskingFormatter("%(levelname)s %(message)s").format(record)
    assert console == f"WARNING reconcile.failed installation_id={installation} error={error}"
    entry = json.loads(JsonFormatter(LOG_FORMAT).format(record))
    assert {key: entry[key] for key in entry if key not in ("time", "logger")} == {
        "level": "WARNING",
        "event": "reconcile.failed",
        "message": f"reconcile.failed installation_id={installation} error={error}",
        "installation_id": str(installation),
        "error": error,
    }
