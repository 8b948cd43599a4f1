"""One shop cannot stall another: ``serve`` with 2 workers, two shops whose Gordon trickles one
byte a second, and a third shop whose paid order must still reach Gordon within 15 s, though a
shop registered with another spelling of a slow Gordon's URL had an order due before it.

The Gordon deadline is set to 30 s here (the attempt's to 40 s), so that only the workers' fair
share (not a deadline) can let the third shop's order through in time: an attempt that has waited
``SLOW_ATTEMPT_SECONDS`` (5 s by default) is slow; while another shop's order waits, slow attempts
may hold one of the two workers, and the newest beyond that is stopped and retried later.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from saleor_gordon.jobs.lifecycle import NO_ANSWER, NO_ANSWER_MESSAGE
from saleor_gordon.jobs.views import JobViews
from saleor_gordon.store.database import create_engine
from saleor_gordon.store.tables import installations
from tests.jobs.test_worker import until
from tests.outbound.app import PUBLIC_APP_URL, PublicApp, logged_events, public_app
from tests.outbound.servers import Server, serving, trickle
from tests.support.fixtures import RunningSaleorFake, SaleorFakeFactory, StartSandbox
from tests.support.shop import DELIVERY_GROUP, shop_config

pytestmark = pytest.mark.slow

IN_GORDON_WITHIN = 15.0
SETTINGS = {
    "SALEOR_GORDON_ALLOWED_SALEOR_URLS": r"http://127\.0\.0\.1:\d+/graphql/",
    "SALEOR_GORDON_ALLOWED_GORDON_URLS": r"http://127\.0\.0\.1:\d+",
    # Calls and attempts that would hold both workers for 30 s without the fair share.
    "SALEOR_GORDON_GORDON_TIMEOUT_SECONDS": "30",
    "SALEOR_GORDON_ATTEMPT_DEADLINE_SECONDS": "40",
    "SALEOR_GORDON_LEASE_SECONDS": "60",
}
FAIR_SHARE_STOP = (
    "The attempt was stopped: it waited over 5 s for servers that are slow, and slow servers may "
    "hold at most 1 of this process's 2 workers, so that other shops' orders keep flowing."
)


async def configure(app: PublicApp, shop: RunningSaleorFake, gordon_url: str) -> None:
    await app.install(shop.state)
    saved = await app.http.put(
        "/api/dashboard/config",
        json={"config": shop_config(gordon_url), "config_version": 0},
        headers=app.dashboard_headers(shop.state),
    )
    assert saved.status_code == 200, saved.text


async def pay(app: PublicApp, shop: RunningSaleorFake) -> dict[str, Any]:
    """A paid order, and Saleor's ORDER_FULLY_PAID for it delivered to the app."""
    in_a_week = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
    metadata = [
        {"key": "gordon.delivery_date", "value": in_a_week},
        {"key": "gordon.time_window", "value": "17:00 - 21:00"},
    ]
    order = shop.state.add_order(metadata=metadata)
    [hook] = shop.state.webhooks_for("ORDER_FULLY_PAID")
    payload = shop.state.event_payload("ORDER_FULLY_PAID", order_id=order["id"], query=hook.query)
    target = hook.target_url.replace(PUBLIC_APP_URL, app.local_url)
    delivery = await shop.state.deliver(app.http, target, "ORDER_FULLY_PAID", payload)
    assert delivery.status == 200, delivery
    return order


async def test_two_shops_with_trickling_gordons_leave_a_worker_to_a_third(
    saleor_fake_factory: SaleorFakeFactory, start_gordon_sandbox: StartSandbox, tmp_path: Path
) -> None:
    gordon = start_gordon_sandbox(delivery_groups=(DELIVERY_GROUP,))
    slow_shops = [saleor_fake_factory(), saleor_fake_factory()]
    variant_shop = saleor_fake_factory()
    quick_shop = saleor_fake_factory()
    async with AsyncExitStack() as stack:
        app = await stack.enter_async_context(public_app(tmp_path, SETTINGS, workers=2))
        # (closed before the app stops, which then need not wait for the calls to them)
        trickling: list[Server] = [
            await stack.enter_async_context(serving(trickle(every=1.0))) for _ in slow_shops
        ]
        # (a shop of the same tenant: its Gordon base URL another spelling of the first one's)
        variant_url = trickling[0].url.replace("http://", "HTTP://") + "/"
        await asyncio.gather(
            configure(app, slow_shops[0], trickling[0].url),
            configure(app, slow_shops[1], trickling[1].url),
            configure(app, variant_shop, variant_url),
            configure(app, quick_shop, gordon.base_url),
        )

        def logged(prefix: str) -> list[str]:
            messages = [str(event.get("message", "")) for event in logged_events(app)]
            return [message for message in messages if message.startswith(prefix)]

        # given both workers waiting for the trickling Gordons long enough to be slow: with
        # nothing else to do, neither is stopped
        slow_orders = [await pay(app, shop) for shop in slow_shops]
        await until(lambda: len(logged("job.slow")) == 2, "both attempts slow")
        assert logged("job.stopped") == []

        # when a shop calling one of the slow Gordons (another spelling of its URL) has an order
        # paid, and then the third shop
        variant_order = await pay(app, variant_shop)
        order = await pay(app, quick_shop)

        # then it reaches Gordon within 15 s (the slow shops' calls would hold both workers 30 s)
        async with asyncio.timeout(IN_GORDON_WITHIN):
            await until(lambda: order["number"] in gordon.state.orders, "the order in Gordon")

        # and the newest slow attempt was stopped for it: retrying, its history says why
        engine = create_engine(app.env["SALEOR_GORDON_DATABASE_URL"])
        try:
            views = JobViews(engine)

            async def synced() -> bool:
                [job] = await views.list_jobs(saleor_api_url=quick_shop.api_url)
                return job.status == "synced" and not job.leased

            await until(synced, "the order's status written back to Saleor")
            jobs = {job.order_id: job for job in await views.list_jobs(limit=10)}
            slow_jobs = [jobs[slow["id"]] for slow in slow_orders]
            [stopped] = [job for job in slow_jobs if job.status == "retrying"]
            [still_waiting] = [job for job in slow_jobs if job is not stopped]
            found = await views.get_job(stopped.id)
            assert found is not None
            async with engine.connect() as connection:
                query = select(installations.c.saleor_api_url, installations.c.last_claimed_at)
                rows = (await connection.execute(query)).all()
            claimed_at = {row.saleor_api_url: row.last_claimed_at for row in rows}
        finally:
            await engine.dispose()
        assert still_waiting.leased
        # the variant shop's order, due before the third shop's, was skipped while the third
        # shop's was due (it may be claimed after: then nobody else is waiting)
        assert jobs[variant_order["id"]].status == "pending"
        variant_claimed = claimed_at[variant_shop.api_url]
        assert variant_claimed is None or variant_claimed > claimed_at[quick_shop.api_url]
        assert [(e["action"], e["outcome"], e["message"]) for e in found.history] == [
            ("push", NO_ANSWER, NO_ANSWER_MESSAGE),
            ("push", "stopped", FAIR_SHARE_STOP),
        ]
        assert found.history[1]["params"]["cause"] == {
            "code": "job.stopped_for_other_shops",
            "params": {"seconds": 5.0, "share": 1, "workers": 2},
            "message": FAIR_SHARE_STOP,
        }
        assert logged("job.stopped") == [
            f"job.stopped job_id={stopped.id} order_number={stopped.order_number} reason=fair_share"
        ]
