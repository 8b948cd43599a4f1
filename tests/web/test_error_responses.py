"""Failures no route expects still answer a coded JSON error, never a bare 500 or a traceback."""

from __future__ import annotations

import logging

import httpx
import pytest

from saleor_gordon.errors import SecretsError
from saleor_gordon.web.app import create_app
from tests.web.conftest import APP_URL, OpenApp, error_of


async def client_with_failing_route(open_sqlite_app: OpenApp, exc: Exception) -> httpx.AsyncClient:
    """A client of the real app with one extra route that raises ``exc``."""
    app = await open_sqlite_app()
    web = create_app(app.runtime)

    async def fail() -> None:
        raise exc

    web.add_api_route("/fail", fail, methods=["GET"])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url=APP_URL)


async def test_an_undecryptable_secret_names_the_setting_to_check(
    open_sqlite_app: OpenApp, caplog: pytest.LogCaptureFixture
) -> None:
    # given
    caplog.set_level(logging.ERROR, logger="saleor_gordon")
    async with await client_with_failing_route(open_sqlite_app, SecretsError()) as client:
        # when
        response = await client.get("/fail")
    # then
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "SECRETS_UNREADABLE"
    assert "SALEOR_GORDON_SECRET_KEY" in error["message"]
    assert any("SALEOR_GORDON_SECRET_KEY" in r.getMessage() for r in caplog.records)


async def test_an_unexpected_exception_is_a_logged_json_500_without_a_traceback(
    open_sqlite_app: OpenApp, caplog: pytest.LogCaptureFixture
) -> None:
    # given
    caplog.set_level(logging.ERROR, logger="saleor_gordon")
    bug = RuntimeError("internal detail that must stay in the log")
    async with await client_with_failing_route(open_sqlite_app, bug) as client:
        # when
        response = await client.get("/fail")
    # then
    assert response.status_code == 500
    assert response.json()["success"] is False
    assert error_of(response)["code"] == "INTERNAL_ERROR"
    assert "internal detail" not in response.text
    assert "Traceback" not in response.text
    (record,) = [r for r in caplog.records if r.getMessage().startswith("request.failed")]
    assert record.exc_info is not None
    assert record.exc_info[1] is bug
