"""A fulfillment in Saleor reaches the app: the manifest subscribes to FULFILLMENT_CREATED on the
orders endpoint, which queues it for the order's job like any order event."""

from __future__ import annotations

from sqlalchemy import select

from saleor_gordon.store.tables import sync_jobs, webhook_events
from tests.support.fixtures import RunningSaleorFake
from tests.web.conftest import OpenApp, install_from_fake


async def test_a_staff_fulfillment_makes_the_orders_job_due(
    open_app: OpenApp, saleor_fake: RunningSaleorFake
) -> None:
    # given: the app installed from its manifest, a paid order
    app = await open_app()
    await install_from_fake(app, saleor_fake)
    order = saleor_fake.state.add_order()
    # when: a person fulfils it in the Dashboard (Saleor sends FULFILLMENT_CREATED, ORDER_UPDATED)
    await saleor_fake.state.staff_fulfill(app.client, order["id"], notify_customer=False)
    # then
    assert [(d.event, d.status) for d in saleor_fake.state.deliveries] == [
        ("fulfillment_created", 200),
        ("order_updated", 200),
    ]
    async with app.runtime.engine.connect() as connection:
        events = (
            await connection.execute(
                select(webhook_events.c.event, webhook_events.c.order_id).order_by(
                    webhook_events.c.id
                )
            )
        ).all()
        jobs = (await connection.execute(select(sync_jobs.c.order_id))).scalars().all()
    assert [tuple(row) for row in events] == [
        ("FULFILLMENT_CREATED", order["id"]),
        ("ORDER_UPDATED", order["id"]),
    ]
    assert jobs == [order["id"]]
