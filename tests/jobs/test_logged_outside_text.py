"""What the workers log of text from outside: Saleor's error message in ``reconcile.failed``
stays one line and adds no field of its own, in both log formats; Gordon's answer, which may
repeat the order, is not logged at all."""

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


@pytest.mark.parametrize("status", [400, 422, 503])
async def test_gordon_s_answer_echoing_the_order_is_not_logged(
    bench: Bench, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    """Gordon's error may repeat the order it refused (its address, the customer's name): the
    job keeps Gordon's words for the shop, the log names the job and the step only."""
    caplog.set_level(logging.DEBUG, logger="saleor_gordon")
    order = bench.paid_order()
    job_id = await bench.event(order)
    address = order["shippingAddress"]
    echoed = (
        f"Invalid address {address['streetAddress1']}, {address['postalCode']} "
        f"{address['city']} for {address['firstName']} {address['lastName']} "
        f"<{order['userEmail']}> {address['phone']}"
    )
    for _try in range(3):  # every request of the attempt is answered so
        bench.outbound.on(
            lambda request: request.url.path.startswith("/api/orders"),
            lambda request: httpx.Response(status, json={"message": echoed}),
        )

    result = await bench.attempt()

    assert echoed in result.message  # kept for the shop (job history, Saleor metadata)
    records = [r for r in caplog.records if r.name.startswith("saleor_gordon")]
    logged = "\n".join(f"{r.getMessage()} {r.exc_info!r}" for r in records)
    for value in (address["streetAddress1"], address["lastName"], order["userEmail"]):
        assert value not in logged
    lines = [r.getMessage() for r in records]
    if status < 500:
        rejected = [line for line in lines if line.startswith("gordon.rejected")]
        assert rejected == [f"gordon.rejected job_id={job_id} action=push"]
    else:  # retried later: the log has the answers' statuses
        answered = f"gordon.response PUT /api/orders/{order['number']} -> 503 in "
        assert any(line.startswith(answered) for line in lines)
