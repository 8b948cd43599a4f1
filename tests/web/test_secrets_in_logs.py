"""No app token reaches the logs, at any level, during installation and webhook handling."""

from __future__ import annotations

import logging

import pytest

from tests.support.fixtures import RunningSaleorFake
from tests.web.conftest import APP_URL, ORDERS_PATH, REGISTER_PATH, OpenApp, install_from_fake


async def test_no_app_token_is_logged(
    open_sqlite_app: OpenApp, saleor_fake: RunningSaleorFake, caplog: pytest.LogCaptureFixture
) -> None:
    # given: everything logged, from every library
    caplog.set_level(logging.DEBUG)
    for library in ("httpx", "httpcore", "saleor_gordon"):
        # configure_logging (run by in-process CLI tests) may have raised these; lift them here
        caplog.set_level(logging.DEBUG, logger=library)
    app = await open_sqlite_app()
    refused_token = "RefusedToken0123456789abcdefgh"
    # when: a refused installation, a successful one, a webhook, a key rotation, an uninstall
    await saleor_fake.state.register(app.client, f"{APP_URL}{REGISTER_PATH}", refused_token)
    installation = await install_from_fake(app, saleor_fake)
    order = saleor_fake.state.add_order()
    await saleor_fake.state.emit(app.client, "ORDER_CREATED", order_id=order["id"])
    saleor_fake.state.rotate_key()
    await saleor_fake.state.emit(app.client, "ORDER_CONFIRMED", order_id=order["id"])
    payload = saleor_fake.state.order_event_payload("ORDER_UPDATED", order["id"])
    headers, body = saleor_fake.state.webhook_request("ORDER_UPDATED", payload)
    await app.client.post(
        ORDERS_PATH, headers={**headers, "Saleor-Signature": "x..y"}, content=body
    )
    await saleor_fake.state.uninstall(app.client)
    # then
    assert caplog.records, "nothing was logged: the test would prove nothing"
    assert {r.name.split(".")[0] for r in caplog.records} >= {"saleor_gordon", "httpx"}
    logged = "\n".join(
        f"{record.getMessage()} {record.args!r} {record.__dict__!r}" for record in caplog.records
    )
    for token in (installation.token, refused_token):
        assert token not in logged
        assert token not in caplog.text
