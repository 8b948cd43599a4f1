"""Saleor signs a webhook's body, not its headers: the event is what the body says it is.

Found by the hostile-input suite (``webhook.relabelled_event``, ``webhook.signed_oddities``): they
fail without ``web/webhooks.py`` checking the body against the ``Saleor-Event`` header (the body's
``__typename``, e.g. ``OrderCreated``; an APP_DELETED body names the deleted app) and refusing an
order id it cannot store.
"""

from __future__ import annotations

import json

import pytest

from tests.support.fixtures import RunningSaleorFake
from tests.web.conftest import (  # noqa: F401 - open_app is a fixture
    APP_DELETED_PATH,
    ORDERS_PATH,
    OpenApp,
    error_of,
    install_from_fake,
    open_app,
)


def _relabelled(fake: RunningSaleorFake, body: bytes, event: str) -> dict[str, str]:
    headers, _ = fake.state.webhook_request(event, {})
    headers["Saleor-Signature"] = fake.state.sign(body)  # the genuine signature of the body
    return headers


async def test_an_order_created_body_relabelled_fully_paid_is_refused(
    open_app: OpenApp, saleor_fake: RunningSaleorFake
) -> None:
    # given: a genuine ORDER_CREATED webhook of an unpaid order (the trigger is ORDER_FULLY_PAID)
    app = await open_app()
    await install_from_fake(app, saleor_fake)
    order = saleor_fake.state.add_order()
    body = json.dumps(saleor_fake.state.order_event_payload("ORDER_CREATED", order["id"])).encode()
    # when: the same body and signature, with another event header
    response = await app.client.post(
        ORDERS_PATH, content=body, headers=_relabelled(saleor_fake, body, "ORDER_FULLY_PAID")
    )
    # then
    assert response.status_code == 400, response.text
    assert error_of(response)["message"]
    assert await app.count_events() == 0


async def test_an_order_webhook_relabelled_app_deleted_removes_nothing(
    open_app: OpenApp, saleor_fake: RunningSaleorFake
) -> None:
    # given
    app = await open_app()
    await install_from_fake(app, saleor_fake)
    order = saleor_fake.state.add_order()
    body = json.dumps(saleor_fake.state.order_event_payload("ORDER_CREATED", order["id"])).encode()
    # when: an order webhook, sent to the APP_DELETED endpoint as APP_DELETED
    response = await app.client.post(
        APP_DELETED_PATH, content=body, headers=_relabelled(saleor_fake, body, "APP_DELETED")
    )
    # then: the shop is still installed
    assert response.status_code == 400, response.text
    assert await app.installation(saleor_fake.api_url) is not None


@pytest.mark.parametrize(
    "order_id", ["\ud800", "O" * 100_000], ids=["lone-surrogate", "100k-chars"]
)
async def test_an_order_id_that_cannot_be_stored_is_a_400_not_a_crash(
    open_app: OpenApp, saleor_fake: RunningSaleorFake, order_id: str
) -> None:
    # given: a body signed by the shop's key whose order id no column can hold
    app = await open_app()
    await install_from_fake(app, saleor_fake)
    order = saleor_fake.state.add_order()
    payload = saleor_fake.state.order_event_payload("ORDER_FULLY_PAID", order["id"])
    payload["order"]["id"] = order_id
    headers, body = saleor_fake.state.webhook_request("ORDER_FULLY_PAID", payload)
    # when
    response = await app.client.post(ORDERS_PATH, content=body, headers=headers)
    # then: 500 (SQLite: UnicodeEncodeError) or 503 STORE_UNAVAILABLE (PostgreSQL) today
    assert response.status_code == 400, response.text
    assert error_of(response)["code"] == "INVALID_PAYLOAD"
