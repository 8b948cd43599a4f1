"""The Dashboard API over HTTP: the token guard's every refusal, per-shop isolation, and each
endpoint's answers, on SQLite and PostgreSQL.

Tokens are signed by the Saleor fake's key exactly like ``App.accessToken`` (claims as recorded in
``dashboard-samples/tokens.json``); the fake serves the JWKS the app refetches.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.messages import Message
from saleor_gordon.core.shop_config import parse_shop_config
from saleor_gordon.fakes.gordon_sandbox import RunningSandbox
from saleor_gordon.jobs.lifecycle import Episode, FulfillmentRecord, HistoryEntry, Transition
from saleor_gordon.jobs.queue import enqueue_order_job
from saleor_gordon.shop_actions import save_shop_config
from saleor_gordon.store.installations import Installation, InstallationStore, StoredConfig
from saleor_gordon.store.tables import installations, job_history, sync_jobs
from tests.support.fixtures import RunningSaleorFake, SaleorFakeFactory, StartSandbox
from tests.support.saleor_fake import SigningKey
from tests.support.shop import CLIENT_ID, CLIENT_SECRET, DELIVERY_GROUP, shop_config
from tests.web.conftest import ForbiddenOutbound, OpenApp, WebApp, error_of, install_from_fake
from tests.web.test_metrics import paid_order, run_due_job
from tests.web.test_webhooks import deliver

ALL_STAFF_PERMISSIONS = ["MANAGE_ORDERS", "MANAGE_APPS", "MANAGE_PRODUCTS", "MANAGE_SHIPPING"]


@dataclass
class Shop:
    """One installed shop and a way to make its Dashboard tokens."""

    app: WebApp
    fake: RunningSaleorFake
    installation: Installation

    def token(self, **claims: object) -> str:
        claims.setdefault("user_permissions", ALL_STAFF_PERMISSIONS)
        return self.fake.state.dashboard_token(now=datetime.now(UTC), **claims)

    def headers(self, token: str | None = None, **claims: object) -> dict[str, str]:
        return {
            "authorization-bearer": token if token is not None else self.token(**claims),
            "saleor-api-url": self.fake.api_url,
        }

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        headers = kwargs.pop("headers", None) or self.headers()
        return await self.app.client.get(f"/api/dashboard{path}", headers=headers, **kwargs)

    async def send(self, method: str, path: str, body: object, **kwargs: Any) -> httpx.Response:
        headers = kwargs.pop("headers", None) or self.headers()
        return await self.app.client.request(
            method, f"/api/dashboard{path}", headers=headers, json=body, **kwargs
        )

    async def save_config(self, config: object, **kwargs: Any) -> httpx.Response:
        """PUT the configuration as the Configuration page does: based on the version it read."""
        read = await self.get("/config", headers=kwargs.get("headers"))
        version = read.json()["config_version"] if read.status_code == 200 else 0
        body = {"config": config, "config_version": version}
        return await self.send("PUT", "/config", body, **kwargs)

    async def add_job(self, order_number: str, *, status: str | None = None) -> int:
        order_id = f"order-{order_number}"
        now = datetime.now(UTC)
        async with self.app.runtime.engine.begin() as connection:
            job_id = await enqueue_order_job(
                connection,
                installation_id=self.installation.id,
                order_id=order_id,
                order_number=order_number,
                event="ORDER_FULLY_PAID",
                now=now,
            )
        if status is not None:
            async with self.app.runtime.engine.begin() as connection:
                await connection.execute(
                    sync_jobs.update()
                    .where(sync_jobs.c.id == job_id)
                    .values(status=status, last_message=f"message of {order_number}")
                )
        return job_id


async def open_shop(app: WebApp, fake: RunningSaleorFake) -> Shop:
    return Shop(app=app, fake=fake, installation=await install_from_fake(app, fake))


@pytest.fixture
async def shop(open_app: OpenApp, saleor_fake: RunningSaleorFake) -> Shop:
    return await open_shop(await open_app(), saleor_fake)


# --- the guard ------------------------------------------------------------------------------


async def test_a_valid_token_opens_the_session(shop: Shop) -> None:
    response = await shop.get("/session")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "saleor_api_url": shop.fake.api_url,
        "user_email": "admin@example.com",
        "can_configure": True,
        "configured": False,
        "token_revoked": False,
        "timezone": "Europe/Stockholm",
    }


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "MISSING_TOKEN"),
        ({"authorization-bearer": "x"}, "MISSING_TOKEN"),
        ({"saleor-api-url": "http://127.0.0.1:1/graphql/"}, "MISSING_TOKEN"),
    ],
)
async def test_missing_headers_are_refused(shop: Shop, headers: dict[str, str], code: str) -> None:
    response = await shop.get("/session", headers=headers or {"x-nothing": "1"})

    assert response.status_code == 401
    assert error_of(response)["code"] == code
    assert "Open the app from the Saleor Dashboard" in error_of(response)["message"]


async def test_an_unknown_shop_is_refused_before_any_outbound_call(
    open_sqlite_app: OpenApp, saleor_fake: RunningSaleorFake
) -> None:
    outbound = ForbiddenOutbound()
    app = await open_sqlite_app(transport=outbound)
    token = saleor_fake.state.dashboard_token(now=datetime.now(UTC))

    response = await app.client.get(
        "/api/dashboard/session",
        headers={"authorization-bearer": token, "saleor-api-url": saleor_fake.api_url},
    )

    assert response.status_code == 401
    assert error_of(response)["code"] == "NOT_REGISTERED"
    assert outbound.requests == []


async def test_an_expired_token_is_refused(shop: Shop) -> None:
    old = shop.fake.state.dashboard_token(now=datetime.now(UTC) - timedelta(seconds=301))

    response = await shop.get("/session", headers=shop.headers(old))

    assert response.status_code == 401
    assert error_of(response) == {
        "code": "INVALID_TOKEN",
        "message": "The Dashboard token has expired. Reload the app's page in the Saleor "
        "Dashboard to get a fresh one.",
    }


async def test_a_token_signed_by_another_key_is_refused_after_one_jwks_refetch(
    shop: Shop,
) -> None:
    forged = SigningKey.generate().sign_jwt(
        {
            "iss": shop.fake.api_url,
            "app": shop.fake.state.app_id,
            "exp": int(datetime.now(UTC).timestamp()) + 300,
            "user_permissions": ALL_STAFF_PERMISSIONS,
        }
    )
    fetches = shop.fake.state.jwks_fetches

    first = await shop.get("/session", headers=shop.headers(forged))
    second = await shop.get("/session", headers=shop.headers(forged))

    assert (first.status_code, second.status_code) == (401, 401)
    assert error_of(first)["code"] == error_of(second)["code"] == "INVALID_TOKEN"
    assert "is not in the JWKS" in error_of(first)["message"]
    assert shop.fake.state.jwks_fetches == fetches + 1  # the limiter allows one refetch


async def test_a_token_after_a_key_rotation_is_accepted_with_the_refetched_keys(
    shop: Shop,
) -> None:
    shop.fake.state.rotate_key()

    response = await shop.get("/session")

    assert response.status_code == 200, response.text
    stored = await shop.app.installation(shop.fake.api_url)
    assert stored is not None
    assert stored.jwks == shop.fake.state.jwks


async def test_a_tampered_token_is_refused(shop: Shop) -> None:
    header, claims, signature = shop.token().split(".")
    tampered = ".".join((header, claims[:-4] + "AAAA", signature))

    response = await shop.get("/session", headers=shop.headers(tampered))

    assert response.status_code == 401
    assert error_of(response)["code"] == "INVALID_TOKEN"


async def test_a_token_for_another_app_is_refused(shop: Shop) -> None:
    response = await shop.get("/session", headers=shop.headers(app="QXBwOjk5"))

    assert response.status_code == 401
    assert "issued for another app" in error_of(response)["message"]


async def test_a_token_issued_by_another_saleor_is_refused(shop: Shop) -> None:
    response = await shop.get("/session", headers=shop.headers(iss="http://127.0.0.1:1/graphql/"))

    assert response.status_code == 401
    assert "issued by another Saleor" in error_of(response)["message"]


async def test_another_shops_token_does_not_open_this_shop(
    open_app: OpenApp, saleor_fake_factory: SaleorFakeFactory
) -> None:
    app = await open_app()
    shop_a = await open_shop(app, saleor_fake_factory())
    shop_b = await open_shop(app, saleor_fake_factory())
    b_token = shop_b.token()

    as_a = await shop_a.get("/session", headers=shop_a.headers(b_token))

    assert as_a.status_code == 401
    assert error_of(as_a)["code"] == "INVALID_TOKEN"


async def test_reading_needs_manage_orders(shop: Shop) -> None:
    response = await shop.get("/jobs", headers=shop.headers(user_permissions=["MANAGE_APPS"]))

    assert response.status_code == 403
    assert error_of(response) == {
        "code": "PERMISSION_DENIED",
        "message": "Your Saleor staff account lacks the “Manage orders” permission needed here. "
        "Ask a staff administrator to add it to your permission group.",
        "params": {"permissions": ["MANAGE_ORDERS"]},
    }


async def test_configuring_needs_manage_apps_too(shop: Shop, gordon_url: str) -> None:
    orders_only = shop.headers(user_permissions=["MANAGE_ORDERS"])

    read = await shop.get("/config", headers=orders_only)
    write = await shop.save_config(shop_config(gordon_url), headers=orders_only)
    test = await shop.send("POST", "/config/test-connection", {"gordon": {}}, headers=orders_only)
    session = await shop.get("/session", headers=orders_only)

    assert read.status_code == 200
    assert (write.status_code, test.status_code) == (403, 403)
    assert "“Manage apps”" in error_of(write)["message"]
    assert session.json()["can_configure"] is False
    assert await shop.app.runtime.installations.get_config(shop.installation.id) is None


# --- configuration --------------------------------------------------------------------------


@pytest.fixture
def gordon_sandbox_url(start_gordon_sandbox: StartSandbox) -> RunningSandbox:
    return start_gordon_sandbox()


@pytest.fixture
def gordon_url(gordon_sandbox_url: RunningSandbox) -> str:
    return gordon_sandbox_url.base_url


async def test_saving_a_valid_configuration_stores_it_without_echoing_the_secret(
    shop: Shop, gordon_url: str
) -> None:
    saved = await shop.save_config(shop_config(gordon_url))
    read = await shop.get("/config")

    assert saved.status_code == 200, saved.text
    assert saved.json() == {"saved": True, "client_secret_set": True, "config_version": 1}
    stored = await shop.app.runtime.installations.get_config(shop.installation.id)
    assert stored == parse_shop_config(shop_config(gordon_url))
    body = read.json()
    assert body["client_secret_set"] is True
    assert body["config"]["gordon"] == {"base_url": gordon_url, "client_id": CLIENT_ID}
    assert CLIENT_SECRET not in read.text
    assert CLIENT_SECRET not in saved.text
    assert body["problems"] == []
    assert body["trigger_events"] == ["ORDER_CREATED", "ORDER_CONFIRMED", "ORDER_FULLY_PAID"]


async def test_an_empty_secret_keeps_the_stored_one_for_the_same_account(
    shop: Shop, gordon_url: str
) -> None:
    await shop.save_config(shop_config(gordon_url))
    without_secret = shop_config(gordon_url, external_ref_prefix="SE-")
    without_secret["gordon"] = {"base_url": gordon_url, "client_id": CLIENT_ID, "client_secret": ""}

    response = await shop.save_config(without_secret)

    assert response.status_code == 200, response.text
    assert response.json() == {"saved": True, "client_secret_set": True, "config_version": 2}
    stored = await shop.app.runtime.installations.get_config(shop.installation.id)
    assert stored is not None
    assert stored.external_ref_prefix == "SE-"
    assert stored.gordon.client_secret.get_secret_value() == CLIENT_SECRET


async def test_the_saved_answer_says_whether_a_secret_is_stored_as_read_back(
    shop: Shop, gordon_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a store that reads back the saved configuration without its secret
    read = InstallationStore.get_stored_config

    async def without_secret(store: InstallationStore, installation_id: int) -> StoredConfig:
        return dataclasses.replace(await read(store, installation_id), secret="")

    saved = await shop.save_config(shop_config(gordon_url))
    monkeypatch.setattr(InstallationStore, "get_stored_config", without_secret)
    saved_again = await shop.save_config(shop_config(gordon_url))

    # then the answer says what the store holds, not what was sent
    assert saved.json() == {"saved": True, "client_secret_set": True, "config_version": 1}
    assert saved_again.status_code == 200, saved_again.text
    assert saved_again.json() == {"saved": True, "client_secret_set": False, "config_version": 2}
    assert (await shop.get("/config")).json()["client_secret_set"] is False


async def test_an_empty_secret_never_follows_a_new_client_id(shop: Shop, gordon_url: str) -> None:
    await shop.save_config(shop_config(gordon_url))
    other = shop_config(gordon_url)
    other["gordon"] = {"base_url": gordon_url, "client_id": "other-client", "client_secret": ""}

    response = await shop.save_config(other)

    assert response.status_code == 422
    assert error_of(response)["problems"] == [
        {
            "path": "gordon.client_secret",
            "message": "must not be empty; copy it from Last Mile Platform → Account → API "
            "Credentials",
            "code": "config.required",
            "params": {},
        }
    ]


async def test_an_invalid_configuration_lists_every_problem_and_stores_nothing(
    shop: Shop, gordon_url: str
) -> None:
    await shop.save_config(shop_config(gordon_url))
    before = await shop.app.runtime.installations.get_config(shop.installation.id)
    bad = shop_config(
        gordon_url,
        delivery_groups=[{"deliverygroup": "Gordon Store", "time_window": "21:00 - 17:00"}],
        delivery_days={"cutoff": "25:00"},
    )

    response = await shop.save_config(bad)

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "CONFIG_INVALID"
    assert error["message"] == "Nothing was saved: 2 problems to fix."
    assert [p["path"] for p in error["problems"]] == [
        "delivery_groups[0].time_window",
        "delivery_days.cutoff",
    ]
    assert "25:00" in error["problems"][1]["message"]
    assert await shop.app.runtime.installations.get_config(shop.installation.id) == before


async def test_saving_reruns_the_orders_that_wait_for_a_configuration(
    shop: Shop, gordon_url: str
) -> None:
    job_id = await shop.add_job("1001", status="needs_attention")
    synced_id = await shop.add_job("1002", status="synced")

    await shop.save_config(shop_config(gordon_url))

    waiting = await shop.app.runtime.jobs.get_job(job_id)
    synced = await shop.app.runtime.jobs.get_job(synced_id)
    assert waiting is not None
    assert synced is not None
    assert (waiting.status, synced.status) == ("pending", "synced")


# --- saves based on a version (optimistic concurrency) ---------------------------------------

CHANGED_ELSEWHERE = {
    "success": False,
    "error": {
        "code": "CONFIG_CHANGED_ELSEWHERE",
        "message": "Nothing was saved: someone else saved the configuration after this page "
        "loaded it. Load the saved configuration (your changes are discarded), or save yours "
        "over it.",
    },
}


async def _stored_row(shop: Shop) -> tuple[Any, ...]:
    async with shop.app.runtime.engine.connect() as connection:
        row = (
            await connection.execute(
                select(
                    installations.c.config,
                    installations.c.gordon_secret_encrypted,
                    installations.c.config_version,
                    installations.c.config_updated_at,
                ).where(installations.c.id == shop.installation.id)
            )
        ).one()
    return tuple(row)


async def test_a_save_based_on_a_configuration_saved_over_since_is_refused_and_stores_nothing(
    shop: Shop, gordon_url: str
) -> None:
    """Two pages open on the same configuration: the second save would silently wipe the rules
    the first one just saved. It is refused (409) and nothing of it is stored."""
    await shop.save_config(shop_config(gordon_url))
    loaded = (await shop.get("/config")).json()["config_version"]  # both pages read it
    first = shop_config(gordon_url, delivery_groups=[{"deliverygroup": "First Page"}])
    second = shop_config(gordon_url, external_ref_prefix="SECOND-")

    saved = await shop.send("PUT", "/config", {"config": first, "config_version": loaded})
    before = await _stored_row(shop)
    refused = await shop.send("PUT", "/config", {"config": second, "config_version": loaded})

    assert (loaded, saved.status_code) == (1, 200)
    assert saved.json() == {"saved": True, "client_secret_set": True, "config_version": 2}
    assert refused.status_code == 409
    assert refused.json() == CHANGED_ELSEWHERE
    assert await _stored_row(shop) == before
    stored = await shop.app.runtime.installations.get_config(shop.installation.id)
    assert stored == parse_shop_config(first)
    assert (await shop.get("/config")).json()["config_version"] == 2


async def test_a_save_based_on_the_stored_version_passes_and_the_next_save_builds_on_it(
    shop: Shop, gordon_url: str
) -> None:
    first = await shop.send(
        "PUT", "/config", {"config": shop_config(gordon_url), "config_version": 0}
    )
    version = first.json()["config_version"]
    again = await shop.send(
        "PUT",
        "/config",
        {"config": shop_config(gordon_url, external_ref_prefix="SE-"), "config_version": version},
    )

    assert (first.status_code, again.status_code) == (200, 200), again.text
    assert (version, again.json()["config_version"]) == (1, 2)
    stored = await shop.app.runtime.installations.get_config(shop.installation.id)
    assert stored is not None
    assert stored.external_ref_prefix == "SE-"


async def test_a_save_by_config_set_moves_the_version_on_and_a_page_that_loaded_before_is_refused(
    shop: Shop, gordon_url: str
) -> None:
    await shop.save_config(shop_config(gordon_url))
    loaded = (await shop.get("/config")).json()["config_version"]

    # what `saleor-gordon config set` runs (cli/config.py): based on no version
    operator = shop_config(gordon_url, external_ref_prefix="OPS-")
    await save_shop_config(shop.app.runtime, shop.installation.id, operator, based_on=None)
    after_operator = (await shop.get("/config")).json()["config_version"]
    page = await shop.send(
        "PUT", "/config", {"config": shop_config(gordon_url), "config_version": loaded}
    )

    assert (loaded, after_operator) == (1, 2)
    assert page.status_code == 409
    assert page.json() == CHANGED_ELSEWHERE
    stored = await shop.app.runtime.installations.get_config(shop.installation.id)
    assert stored == parse_shop_config(operator)


async def test_a_save_without_a_version_is_refused_and_stores_nothing(
    shop: Shop, gordon_url: str
) -> None:
    await shop.save_config(shop_config(gordon_url))
    before = await _stored_row(shop)

    response = await shop.send(
        "PUT", "/config", {"config": shop_config(gordon_url, external_ref_prefix="SE-")}
    )

    assert response.status_code == 422
    assert response.json() == {
        "success": False,
        "error": {
            "code": "INVALID_REQUEST",
            "message": "The request body is not usable: config_version: Field required.",
        },
    }
    assert await _stored_row(shop) == before


async def test_an_invalid_configuration_based_on_an_old_version_is_told_the_newer_save_first(
    shop: Shop, gordon_url: str
) -> None:
    """The person must first see the other save (their fixes may be moot), then the problems."""
    await shop.save_config(shop_config(gordon_url))
    bad = shop_config(gordon_url, delivery_days={"cutoff": "25:00"})

    response = await shop.send("PUT", "/config", {"config": bad, "config_version": 0})

    assert response.status_code == 409
    assert response.json() == CHANGED_ELSEWHERE


@pytest.mark.parametrize(
    ("content_type", "body", "status", "code"),
    [
        ("text/plain", b"{}", 415, "UNSUPPORTED_MEDIA_TYPE"),
        ("application/json", b"[" * 100_000, 400, "INVALID_REQUEST_JSON"),
        ("application/json", b"{not json", 400, "INVALID_REQUEST_JSON"),
        ("application/json", b'{"config": []}', 422, "INVALID_REQUEST"),
        ("application/json", b'{"config": {}, "more": 1}', 422, "INVALID_REQUEST"),
    ],
)
async def test_unusable_bodies_get_clear_errors(
    shop: Shop, content_type: str, body: bytes, status: int, code: str
) -> None:
    headers = {**shop.headers(), "content-type": content_type}

    response = await shop.app.client.put("/api/dashboard/config", headers=headers, content=body)

    assert response.status_code == status
    assert error_of(response)["code"] == code
    async with shop.app.runtime.engine.connect() as connection:
        stored = (await connection.execute(select(installations.c.config))).scalar_one()
    assert stored is None


async def test_test_connection_shows_gordons_answer(shop: Shop, gordon_url: str) -> None:
    good = {"base_url": gordon_url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    bad = {**good, "client_secret": "wrong-secret"}

    accepted = await shop.send("POST", "/config/test-connection", {"gordon": good})
    refused = await shop.send("POST", "/config/test-connection", {"gordon": bad})

    assert accepted.status_code == refused.status_code == 200
    assert accepted.json()["ok"] is True
    assert refused.json()["ok"] is False
    assert refused.json()["problem"] == "credentials"
    assert (accepted.json()["code"], refused.json()["code"]) == (
        "connection.ok",
        "connection.credentials",
    )
    assert "wrong-secret" not in refused.text


async def test_test_connection_uses_the_stored_secret_when_left_empty(
    shop: Shop, gordon_url: str
) -> None:
    await shop.save_config(shop_config(gordon_url))
    empty = {"base_url": gordon_url, "client_id": CLIENT_ID, "client_secret": ""}

    response = await shop.send("POST", "/config/test-connection", {"gordon": empty})

    assert response.json()["ok"] is True


async def test_test_connection_without_a_secret_says_what_is_missing(
    shop: Shop, gordon_url: str
) -> None:
    response = await shop.send(
        "POST", "/config/test-connection", {"gordon": {"base_url": gordon_url, "client_id": "x"}}
    )

    assert response.status_code == 422
    assert [p["path"] for p in error_of(response)["problems"]] == ["gordon.client_secret"]


async def test_the_delivery_date_preview_follows_the_rules(shop: Shop) -> None:
    response = await shop.send(
        "POST",
        "/config/delivery-date-preview",
        {"delivery_days": {"timezone": "Europe/Stockholm", "weekdays": [3], "lead_days": 0}},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert datetime.fromisoformat(body["delivery_date"]).isoweekday() == 3
    assert body["explanation"].endswith(f"Wednesday {body['delivery_date']}.")


async def test_the_delivery_date_preview_points_at_the_bad_field(shop: Shop) -> None:
    response = await shop.send(
        "POST", "/config/delivery-date-preview", {"delivery_days": {"weekdays": [8]}}
    )

    assert response.status_code == 422
    assert error_of(response)["problems"] == [
        {
            "path": "delivery_days.weekdays",
            "message": "[8] are not ISO weekdays; use 1 (Monday) to 7 (Sunday)",
            "code": "config.not_weekdays",
            "params": {"days": "8"},
        }
    ]


async def test_shop_options_come_from_the_shops_saleor(shop: Shop) -> None:
    response = await shop.get("/shop-options")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["channels"] == [{"slug": "sverige", "name": "Sverige", "is_active": True}]
    assert [w["slug"] for w in body["warehouses"]] == ["lager-vastberga", "lager-goteborg"]
    assert [m["name"] for m in body["shipping_methods"]] == [
        "Gordon hemleverans 17-21",
        "Gordon hemleverans 14-16",
        "Hämta i butik",
    ]
    assert body["shipping_methods"][0]["channels"] == ["sverige"]
    assert body["shipping_methods_note"] is None


async def test_shop_options_without_manage_shipping_explain_the_reinstall(shop: Shop) -> None:
    shop.fake.state.app_permissions = frozenset({"MANAGE_ORDERS"})

    response = await shop.get("/shop-options")

    assert response.status_code == 200
    assert response.json()["shipping_methods"] is None
    assert "Reinstall the app" in response.json()["shipping_methods_note"]
    assert [c["slug"] for c in response.json()["channels"]] == ["sverige"]


async def test_shop_options_when_saleor_is_down(shop: Shop) -> None:
    shop.fake.state.down = True

    response = await shop.get("/shop-options")

    assert response.status_code == 503
    assert error_of(response)["code"] == "SALEOR_UNAVAILABLE"


# --- the sync overview ----------------------------------------------------------------------


async def test_jobs_are_paginated_filtered_and_searched_in_the_database(shop: Shop) -> None:
    for number in range(1000, 1060):
        await shop.add_job(str(number), status="failed" if number % 10 == 0 else None)

    first = await shop.get("/jobs", params={"page_size": 25})
    third = await shop.get("/jobs", params={"page_size": 25, "page": 3})
    failed = await shop.get("/jobs", params={"status": "failed"})
    search = await shop.get("/jobs", params={"search": "#104"})

    assert first.status_code == 200, first.text
    assert first.json()["total"] == 60
    assert len(first.json()["items"]) == 25
    assert first.json()["items"][0]["order_number"] == "1059"
    assert [j["order_number"] for j in third.json()["items"]] == [
        str(n) for n in range(1009, 999, -1)
    ]
    assert first.json()["counts"]["failed"] == 6
    assert first.json()["counts"]["pending"] == 54
    assert failed.json()["total"] == 6
    assert {j["status"] for j in failed.json()["items"]} == {"failed"}
    assert sorted(j["order_number"] for j in search.json()["items"]) == [
        str(n) for n in range(1040, 1050)
    ]


async def test_expired_and_cancelled_orders_are_counted_and_filtered_apart(shop: Shop) -> None:
    for number, status in (("1001", "cancelled"), ("1002", "expired"), ("1003", "expired")):
        await shop.add_job(number, status=status)

    everything = await shop.get("/jobs")
    expired = await shop.get("/jobs", params={"status": "expired"})
    cancelled = await shop.get("/jobs", params={"status": "cancelled"})

    assert everything.json()["counts"] == {
        "pending": 0,
        "retrying": 0,
        "synced": 0,
        "needs_attention": 0,
        "failed": 0,
        "cancelled": 1,
        "expired": 2,
        "skipped": 0,
    }
    assert [(j["order_number"], j["status"]) for j in expired.json()["items"]] == [
        ("1003", "expired"),
        ("1002", "expired"),
    ]
    assert [(j["order_number"], j["status"]) for j in cancelled.json()["items"]] == [
        ("1001", "cancelled")
    ]


@pytest.mark.parametrize(
    ("method", "path", "where"),
    [
        ("GET", "/jobs?page=abc", "query.page"),
        ("GET", "/jobs?page_size=1000", "query.page_size"),
        ("GET", "/order", "query.order_id"),
        ("GET", "/order?order_id=T3Jk%00ZXI6MQ==", "query.order_id"),
        ("GET", "/order?order_id=T3JkZXI6MQ==%0Ax", "query.order_id"),
        ("GET", f"/order?order_id={'Q' * 256}", "query.order_id"),
        ("GET", "/order/send-preview?order_id=T3Jk%00ZXI6MQ==", "query.order_id"),
        ("GET", "/jobs/9223372036854775808", "path.job_id"),
        ("POST", "/jobs/2147483648/retry", "path.job_id"),
        ("GET", "/jobs/0", "path.job_id"),
    ],
)
async def test_a_parameter_the_api_cannot_use_is_a_coded_422(
    shop: Shop, method: str, path: str, where: str
) -> None:
    """Found by the hostile-input suite: FastAPI's own 422 body had no code or message, and a job
    id beyond the INTEGER column crashed the query (500 on SQLite)."""
    response = await shop.app.client.request(
        method, f"/api/dashboard{path}", headers=shop.headers()
    )

    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error["code"] == "INVALID_REQUEST"
    assert error["message"].startswith("The request is not usable: ")
    assert where in error["message"]


@pytest.mark.parametrize(
    ("order_id", "why"),
    [
        ("T3Jk\u0000ZXI6MQ==", "Value error, an order id is one line of at most 255 characters"),
        ("T3JkZXI6MQ==\nx", "Value error, an order id is one line of at most 255 characters"),
        ("Q" * 256, "String should have at most 255 characters"),
    ],
    ids=["nul", "line-break", "256-chars"],
)
async def test_an_order_id_no_job_can_hold_is_not_sent(shop: Shop, order_id: str, why: str) -> None:
    """A NUL made PostgreSQL fail the lookup (503, "the database"), a line break went to the
    logs as it came."""
    response = await shop.app.client.post(
        "/api/dashboard/order/send", headers=shop.headers(), json={"order_id": order_id}
    )

    assert response.status_code == 422, response.text
    assert error_of(response) == {
        "code": "INVALID_REQUEST",
        "message": f"The request body is not usable: order_id: {why}.",
    }
    assert (await shop.get("/jobs")).json()["items"] == []  # nothing queued


async def test_one_shops_jobs_never_reach_another_shop(
    open_app: OpenApp, saleor_fake_factory: SaleorFakeFactory
) -> None:
    app = await open_app()
    shop_a = await open_shop(app, saleor_fake_factory())
    shop_b = await open_shop(app, saleor_fake_factory())
    await shop_a.add_job("1", status="failed")
    b_job = await shop_b.add_job("2", status="failed")

    listed = await shop_a.get("/jobs")
    read = await shop_a.get(f"/jobs/{b_job}")
    retried = await shop_a.send("POST", f"/jobs/{b_job}/retry", {})
    all_failed = await shop_a.send("POST", "/jobs/retry-failed", {})
    order = await shop_a.get("/order", params={"order_id": "order-2"})

    assert [j["order_number"] for j in listed.json()["items"]] == ["1"]
    assert (read.status_code, retried.status_code) == (404, 404)
    assert all_failed.json()["queued"] == 1
    assert order.json() == {"order_id": "order-2", "job": None}
    b_view = await app.runtime.jobs.get_job(b_job)
    assert b_view is not None
    assert b_view.status == "failed"


async def test_retry_makes_a_failed_order_due_now(shop: Shop) -> None:
    job_id = await shop.add_job("1001", status="failed")

    response = await shop.send("POST", f"/jobs/{job_id}/retry", {})

    assert response.status_code == 200
    body = response.json()
    assert (body["queued"], body["message"]) == (
        1,
        "The order is queued and will be sent again now.",
    )
    job = await shop.app.runtime.jobs.get_job(job_id)
    assert job is not None
    assert job.status == "pending"
    # the answer is the job as it is now, so the page shows the truth at once
    assert (body["job"]["id"], body["job"]["status"]) == (job_id, "pending")


@pytest.mark.parametrize(
    ("status", "says"),
    [
        ("synced", "A synced order"),
        ("skipped", "A skipped order"),
        ("cancelled", "A cancelled order"),
        ("expired", "An expired order"),
        ("pending", "A pending order"),
    ],
)
async def test_retry_is_refused_where_it_would_change_nothing(
    shop: Shop, status: str, says: str
) -> None:
    job_id = await shop.add_job("1001", status=status)
    before = await shop.app.runtime.jobs.get_job(job_id)

    response = await shop.send("POST", f"/jobs/{job_id}/retry", {})

    assert response.status_code == 409
    assert error_of(response)["code"] == "NOTHING_TO_RETRY"
    assert error_of(response)["params"] == {"status": status}
    assert error_of(response)["message"] == (
        f"{says} is not retried: running it again would change nothing."
    )
    assert await shop.app.runtime.jobs.get_job(job_id) == before


async def test_a_job_shows_its_history(shop: Shop) -> None:
    job_id = await shop.add_job("1001", status="failed")

    response = await shop.get(f"/jobs/{job_id}")

    assert response.status_code == 200
    body = response.json()
    assert body["order_number"] == "1001"
    assert body["last_message"] == {"code": None, "params": {}, "message": "message of 1001"}
    assert body["history"] == []
    assert "saleor_api_url" not in body


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        ("failed", True),
        ("needs_attention", True),
        ("retrying", True),
        ("pending", False),
        ("synced", False),
        ("skipped", False),
        ("cancelled", False),
        ("expired", False),
    ],
)
async def test_a_job_says_whether_retry_can_change_it(
    shop: Shop, status: str, retryable: bool
) -> None:
    """The widget offers "Send again" on what the server says Retry can change."""
    job_id = await shop.add_job("1001", status=status)

    response = await shop.get(f"/jobs/{job_id}")

    assert response.json()["retryable"] is retryable


# --- the order widget and "Send to Gordon" ---------------------------------------------------


async def test_send_preview_before_configuration_says_so(shop: Shop) -> None:
    order = shop.fake.state.add_order()

    response = await shop.get("/order/send-preview", params={"order_id": order["id"]})

    assert response.status_code == 200, response.text
    assert response.json()["action"] == "not_configured"
    assert response.json()["message"] == {
        "code": "job.not_configured",
        "params": {},
        "message": "The app is not configured for this shop yet: enter the Gordon credentials "
        "and delivery groups on the app's page in the Saleor Dashboard (Apps → Gordon Delivery).",
    }
    assert response.json()["can_send"] is False


async def test_send_preview_shows_the_exact_gordon_order_then_send_queues_it(
    shop: Shop, gordon_url: str
) -> None:
    await shop.save_config(shop_config(gordon_url))
    in_a_week = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
    order = shop.fake.state.add_order(
        metadata=[{"key": "gordon.delivery_date", "value": in_a_week}]
    )

    preview = await shop.get("/order/send-preview", params={"order_id": order["id"]})
    sent = await shop.send("POST", "/order/send", {"order_id": order["id"]})

    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert body["action"] == "send"
    assert body["can_send"] is True
    assert body["message"] == {
        "code": "preview.send",
        "params": {"ref": order["number"]},
        "message": f"The order will be sent to Gordon as {order['number']}.",
    }
    assert body["gordon_order"]["external_ref"] == order["number"]
    assert body["gordon_order"]["deliverygroup"] == "Gordon Store"
    assert sent.status_code == 200, sent.text
    job = await shop.app.runtime.jobs.get_job(sent.json()["job_id"])
    assert job is not None
    assert job.order_id == order["id"]
    assert job.status == "pending"
    assert "MANUAL_SEND" in job.events_seen
    status = await shop.get("/order", params={"order_id": order["id"]})
    assert status.json()["job"]["id"] == sent.json()["job_id"]


@pytest.mark.parametrize(
    ("status", "headline", "code"),
    [
        ("CANCELED", "withdraw", "preview.withdraw.canceled"),
        ("EXPIRED", "withdraw_expired", "preview.withdraw.expired"),
    ],
)
async def test_send_preview_of_a_withdrawal_says_whether_the_order_was_cancelled_or_expired(
    shop: Shop, gordon_url: str, status: str, headline: str, code: str
) -> None:
    await shop.save_config(shop_config(gordon_url))
    in_a_week = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
    order = shop.fake.state.add_order(
        status=status, metadata=[{"key": "gordon.delivery_date", "value": in_a_week}]
    )

    body = (await shop.get("/order/send-preview", params={"order_id": order["id"]})).json()

    assert (body["action"], body["headline"], body["can_send"]) == ("withdraw", headline, False)
    assert (body["message"]["code"], body["message"]["params"]) == (code, {"ref": order["number"]})


async def test_send_preview_serves_each_problem_and_warning_as_a_code(
    shop: Shop, gordon_url: str
) -> None:
    """The popup words what is wrong with an order from codes; the command line's English (with
    the field) stays beside them."""
    await shop.save_config(shop_config(gordon_url))
    order, warned = shop.fake.state.add_order(), shop.fake.state.add_order()
    address = {**order["shippingAddress"], "city": "", "country": {"code": "SE"}}
    shop.fake.state.update_order(order["id"], shippingAddress=address)
    bad_phone = {**warned["shippingAddress"], "phone": "12", "country": {"code": "SE"}}
    shop.fake.state.update_order(warned["id"], shippingAddress=bad_phone, billingAddress=None)

    preview = (await shop.get("/order/send-preview", params={"order_id": order["id"]})).json()
    sendable = (await shop.get("/order/send-preview", params={"order_id": warned["id"]})).json()

    assert preview["action"] == "fix"
    assert preview["message"]["code"] == "job.order_problems"
    assert preview["problems"] == [
        {
            "field": "shippingAddress.city",
            "reason": "the shipping address has no city",
            "fix": "Add the city to the order's shipping address.",
            "message": "shippingAddress.city: the shipping address has no city. "
            "Add the city to the order's shipping address.",
            "code": "problem.no_city",
            "params": {},
        }
    ]
    assert sendable["action"] == "send"
    assert [(w["code"], w["params"]) for w in sendable["warnings"]] == [
        ("problem.shipping_phone_invalid", {"country": "SE"})
    ]


async def test_send_refuses_an_order_that_is_not_for_gordon(shop: Shop, gordon_url: str) -> None:
    config = shop_config(
        gordon_url, delivery_groups=[{"deliverygroup": "Gordon Store", "channel": "norge"}]
    )
    await shop.save_config(config)
    order = shop.fake.state.add_order()

    preview = await shop.get("/order/send-preview", params={"order_id": order["id"]})
    sent = await shop.send("POST", "/order/send", {"order_id": order["id"]})

    assert preview.json()["action"] == "skip"
    assert preview.json()["message"]["code"] == "job.not_for_gordon"
    assert preview.json()["message"]["params"]["reason"]["code"] == "skip.no_rule"
    assert sent.status_code == 409
    assert error_of(sent)["code"] == "NOTHING_TO_SEND"
    assert await shop.app.runtime.jobs.find_job(shop.installation.id, order["id"]) is None


async def test_send_preview_of_an_unknown_order(shop: Shop) -> None:
    unknown = "T3JkZXI6MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAw"

    response = await shop.get("/order/send-preview", params={"order_id": unknown})

    assert response.status_code == 404
    assert error_of(response)["code"] == "ORDER_NOT_FOUND"


async def test_the_openapi_document_describes_the_dashboard_api(shop: Shop) -> None:
    response = await shop.app.client.get("/api/openapi.json")

    document = response.json()
    assert response.status_code == 200
    assert {
        "/api/dashboard/session",
        "/api/dashboard/config",
        "/api/dashboard/jobs",
        "/api/dashboard/order/send",
    } <= set(document["paths"])
    put = document["paths"]["/api/dashboard/config"]["put"]
    assert put["requestBody"]["content"]["application/json"]["schema"]["title"] == "ConfigIn"
    assert json.dumps(document).count("client_secret_set") >= 1
    schema = put["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["config", "config_version"]
    assert "409 `CONFIG_CHANGED_ELSEWHERE`" in put["description"]
    config_out = document["components"]["schemas"]["ConfigOut"]
    assert "config_version" in config_out["required"]


async def test_a_job_shows_its_last_attempt_and_history(shop: Shop) -> None:
    job_id = await shop.add_job("1001")
    jobs = shop.app.runtime.queue
    attempted = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
    claimed = await jobs.claim_next_job(
        worker_id="w1", now=datetime.now(UTC), lease_seconds=30, per_installation_limit=5
    )
    assert claimed is not None
    assert claimed.id == job_id
    problems = Message.of(
        "job.order_problems", "zip: is missing. Add it.", problems=["zip: is missing. Add it."]
    )
    refused = Message.of(
        "job.gordon_refused",
        "Gordon refused: Unable to find deliverygroup",
        gordon_message="Unable to find deliverygroup",
    )
    stopped = Message.of(
        "job.gave_up", f"{refused} Retries stopped.", cause=refused, attempts=3, hours=48.0
    )
    result = Transition(
        status=JobStatus.NEEDS_ATTENTION,
        next_attempt_at=None,
        episode=Episode.ENDS,
        action="translate",
        outcome="problems",
        message=problems,
        history=(
            HistoryEntry("translate", "problems", problems),
            HistoryEntry("push", "gave_up", stopped),
        ),
    )
    assert await jobs.finish_job(claimed, result, now=attempted)

    listed = await shop.get("/jobs")
    read = await shop.get(f"/jobs/{job_id}")

    [item] = listed.json()["items"]
    assert item["status"] == "needs_attention"
    problems_served = {
        "code": "job.order_problems",
        "params": {"problems": ["zip: is missing. Add it."]},
        "message": "zip: is missing. Add it.",
    }
    assert item["last_message"] == problems_served
    assert item["last_attempt_at"] == "2026-11-30T09:15:00Z"
    assert read.json()["history"] == [
        {
            "at": "2026-11-30T09:15:00+00:00",
            "attempt": 1,
            "action": "translate",
            "outcome": "problems",
            "message": problems_served,
        },
        {
            "at": "2026-11-30T09:15:00+00:00",
            "attempt": 1,
            "action": "push",
            "outcome": "gave_up",
            "message": {  # a message as a parameter of another is served whole, nested
                "code": "job.gave_up",
                "params": {
                    "cause": {
                        "code": "job.gordon_refused",
                        "params": {"gordon_message": "Unable to find deliverygroup"},
                        "message": "Gordon refused: Unable to find deliverygroup",
                    },
                    "attempts": 3,
                    "hours": 48.0,
                },
                "message": "Gordon refused: Unable to find deliverygroup Retries stopped.",
            },
        },
    ]


async def test_the_fulfillment_s_reason_is_served_as_a_code(shop: Shop) -> None:
    """Where the order's fulfillment stands and why: the page words the code; a reason stored
    before it had one is served as its English text (code null)."""
    coded_id, old_id = await shop.add_job("1001"), await shop.add_job("1002")
    claimed = await shop.app.runtime.queue.claim_next_job(
        worker_id="w1", now=datetime.now(UTC), lease_seconds=30, per_installation_limit=5
    )
    assert claimed is not None
    assert claimed.id == coded_id
    reason = Message.of(
        "fulfillment_reason.not_stocked",
        "The order has 1 product whose inventory Saleor does not track …",
        lines=["Presentkort"],
        count=1,
    )
    synced = Message.of("job.unchanged", "Gordon already has this version of the order.")
    result = Transition(
        status=JobStatus.SYNCED,
        next_attempt_at=None,
        episode=Episode.ENDS,
        action="check",
        outcome="settled",
        message=synced,
        history=(HistoryEntry("check", "settled", synced),),
        fulfillment=FulfillmentRecord("blocked", reason),
    )
    assert await shop.app.runtime.queue.finish_job(claimed, result, now=datetime.now(UTC))
    async with shop.app.runtime.engine.begin() as connection:  # as an earlier version wrote it
        await connection.execute(
            sync_jobs.update()
            .where(sync_jobs.c.id == old_id)
            .values(fulfillment_state="blocked", fulfillment_message="Saleor has no stock …")
        )

    coded = (await shop.get(f"/jobs/{coded_id}")).json()
    old = (await shop.get(f"/jobs/{old_id}")).json()
    listed = {item["id"]: item for item in (await shop.get("/jobs")).json()["items"]}

    served = {
        "code": "fulfillment_reason.not_stocked",
        "params": {"lines": ["Presentkort"], "count": 1},
        "message": "The order has 1 product whose inventory Saleor does not track …",
    }
    assert (coded["fulfillment_state"], coded["fulfillment_message"]) == ("blocked", served)
    assert listed[coded_id]["fulfillment_message"] == served
    assert old["fulfillment_message"] == {
        "code": None, "params": {}, "message": "Saleor has no stock …"
    }  # fmt: skip
    view = await shop.app.runtime.jobs.get_job(coded_id)  # the command line's: English + code
    assert view is not None
    assert (view.to_dict()["fulfillment_message"], view.to_dict()["fulfillment_code"]) == (
        served["message"],
        "fulfillment_reason.not_stocked",
    )


async def test_history_written_before_codes_is_served_as_its_english_text(shop: Shop) -> None:
    """Rows stored before messages had codes (or whose parameters cannot be read) still show:
    code null, the English text as the message."""
    job_id = await shop.add_job("1001", status="failed")  # last_message without a code
    at = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
    async with shop.app.runtime.engine.begin() as connection:
        await connection.execute(
            job_history.insert(),
            [
                {
                    "job_id": job_id,
                    "at": at,
                    "attempt": 1,
                    "action": "push",
                    "outcome": "rejected",
                    "message": "Gordon refused: Gordon refused the request",
                },
                {
                    "job_id": job_id,
                    "at": at,
                    "attempt": 1,
                    "action": "write_back",
                    "outcome": "written",
                    "message": "metadata gordon.status",
                    "code": "job.written_back",
                    "params": "{not json",
                },
                {
                    "job_id": job_id,
                    "at": at,
                    "attempt": 2,
                    "action": "check",
                    "outcome": "settled",
                    "message": None,
                },
            ],
        )

    body = (await shop.get(f"/jobs/{job_id}")).json()

    assert body["last_message"] == {"code": None, "params": {}, "message": "message of 1001"}
    assert [entry["message"] for entry in body["history"]] == [
        {"code": None, "params": {}, "message": "Gordon refused: Gordon refused the request"},
        {"code": None, "params": {}, "message": "metadata gordon.status"},
        None,
    ]


async def test_send_preview_with_a_stored_configuration_that_no_longer_validates(
    shop: Shop, gordon_url: str
) -> None:
    await shop.save_config(shop_config(gordon_url))
    async with shop.app.runtime.engine.begin() as connection:  # as after an upgrade
        await connection.execute(
            installations.update().values(config={**shop_config(gordon_url), "delivery_groups": []})
        )
    order = shop.fake.state.add_order()

    response = await shop.get("/order/send-preview", params={"order_id": order["id"]})

    assert response.status_code == 200
    assert response.json()["action"] == "not_configured"
    assert response.json()["message"]["code"] == "job.config_invalid"
    assert response.json()["message"]["params"] == {}
    assert response.json()["message"]["message"].startswith(
        "The stored configuration no longer validates; fix it on the app's page first."
    )
    assert response.json()["can_send"] is False


# --- what the pages know from the server -------------------------------------------------------


async def test_the_knowledge_the_pages_need_comes_from_the_server(shop: Shop) -> None:
    response = await shop.get("/knowledge")

    assert response.status_code == 200
    body = response.json()
    assert body["statuses"] == [
        "pending",
        "retrying",
        "synced",
        "needs_attention",
        "failed",
        "cancelled",
        "expired",
        "skipped",
    ]
    assert body["retryable_statuses"] == ["retrying", "needs_attention", "failed"]
    assert body["trigger_events"] == ["ORDER_CREATED", "ORDER_CONFIRMED", "ORDER_FULLY_PAID"]
    assert body["item_types"] == ["ambient", "chilled", "frozen"]
    assert body["tracking_modes"] == ["add", "fulfill", "off"]
    assert body["sample_tracking_id"] == "0Zj7YGCUr"
    assert body["tracking_id_placeholder"] == "{tracking_id}"
    assert [e["id"] for e in body["environments"]] == ["staging", "production"]
    assert body["defaults"] == {
        "gordon": {"base_url": "https://backend.staging.gordondelivery.com"},
        "trigger_events": ["ORDER_FULLY_PAID"],
        "external_ref_prefix": "",
        "tracking_on_fulfillment": "add",
        "notify_customer": True,
        "tracking_url": "",
        "delivery_days": {
            "timezone": "Europe/Stockholm",
            "cutoff": "14:00",
            "weekdays": [1, 2, 3, 4, 5],
            "lead_days": 1,
            "holiday_country": "SE",
        },
    }
    assert body["weekdays"] == [1, 2, 3, 4, 5, 6, 7]
    assert body["holiday_countries"][:3] == body["delivery_countries"] == ["SE", "NO", "DK"]
    assert {"FI", "DE", "US"} <= set(body["holiday_countries"])
    assert {"UTC", "Europe/Stockholm", "Europe/Oslo", "Europe/Copenhagen"} <= set(
        body["time_zones"]
    )
    assert not any(zone.startswith(("Etc/", "posix/")) for zone in body["time_zones"])


async def test_knowledge_is_for_the_shops_staff_only(shop: Shop) -> None:
    response = await shop.get("/knowledge", headers=shop.headers(user_permissions=[]))

    assert response.status_code == 403


async def test_the_shops_name_is_read_from_saleor(shop: Shop) -> None:
    response = await shop.get("/shop")

    assert response.status_code == 200
    assert response.json() == {"name": "Matkassen AB"}


async def test_without_saleor_the_shop_has_no_name_and_the_page_still_opens(shop: Shop) -> None:
    shop.fake.state.down = True

    response = await shop.get("/shop")

    assert response.status_code == 200
    assert response.json() == {"name": None}


async def test_the_session_gives_the_shops_time_zone(shop: Shop, gordon_url: str) -> None:
    days = {"timezone": "Europe/Oslo"}
    await shop.save_config(shop_config(gordon_url, delivery_days=days))

    response = await shop.get("/session")

    assert response.json()["timezone"] == "Europe/Oslo"


# --- Try fulfilling again --------------------------------------------------------------------


W1 = "V2FyZWhvdXNlOjE="  # Lager Västberga, a warehouse of the order's channel


@pytest.fixture
def fulfilling_gordon(start_gordon_sandbox: StartSandbox) -> RunningSandbox:
    return start_gordon_sandbox(delivery_groups=(DELIVERY_GROUP,))


def _not_stocked_in_the_channel(fake: RunningSaleorFake, order: dict[str, Any]) -> list[str]:
    """Make the order's products ones whose inventory Saleor does not track and that no warehouse
    keeps (no stock record): Saleor allocates nothing and would refuse to fulfil them."""
    variants = []
    for line in order["lines"]:
        variant = line["variant"]["id"]
        line["variant"]["trackInventory"] = False
        for allocation in line["allocations"]:
            fake.state.set_stock(variant, allocation["warehouse"]["id"], None)
        line["allocations"] = []
        variants.append(variant)
    return variants


async def test_try_fulfilling_again_fulfils_a_blocked_order_once_its_stock_record_exists(
    shop: Shop, fulfilling_gordon: RunningSandbox
) -> None:
    """The typical fix of a blocked fulfillment (a stock record in a warehouse of the channel)
    sends the app no order event: the shop owner asks, the job runs at once, Gordon (whose copy
    is unchanged) is not asked again, and the order gets exactly one fulfillment."""
    gordon = fulfilling_gordon
    config = shop_config(gordon.base_url, tracking_on_fulfillment="fulfill")
    assert (await shop.save_config(config)).status_code == 200
    order = paid_order(shop.fake, shop.app)
    variants = _not_stocked_in_the_channel(shop.fake, order)
    assert (await deliver(shop.app, shop.fake, "ORDER_FULLY_PAID", order["id"])).status_code == 200
    assert await run_due_job(shop.app) is JobStatus.SYNCED
    puts = f"/api/orders/{order['number']}"
    job_id = (await shop.get("/order", params={"order_id": order["id"]})).json()["job"]["id"]
    blocked = (await shop.get(f"/jobs/{job_id}")).json()
    assert (blocked["status"], blocked["fulfillment_state"]) == ("synced", "blocked")
    assert (blocked["retryable"], blocked["fulfillment_retryable"]) == (False, True)
    assert len(list(gordon.state.requests(method="PUT", path=puts))) == 1

    for variant in variants:  # the shop adds the products to a warehouse of the channel
        shop.fake.state.set_stock(variant, W1, 0)
    asked = await shop.send("POST", f"/jobs/{job_id}/retry-fulfillment", {})

    assert asked.status_code == 200, asked.text
    body = asked.json()
    assert (body["queued"], body["message"]) == (1, "The order's fulfillment is tried again now.")
    # the answer is the job as it is now, so the page shows the truth at once
    assert (body["job"]["id"], body["job"]["status"]) == (job_id, "pending")
    assert body["job"]["fulfillment_retryable"] is False
    assert await run_due_job(shop.app) is JobStatus.SYNCED
    done = (await shop.get(f"/jobs/{job_id}")).json()
    assert (done["status"], done["fulfillment_state"]) == ("synced", "done")
    assert done["fulfillment_retryable"] is False
    tracking_id = gordon.state.orders[order["number"]].tracking_id
    fulfillments = shop.fake.state.order(order["id"])["fulfillments"]
    assert [(f["status"], f["trackingNumber"]) for f in fulfillments] == [
        ("FULFILLED", tracking_id)
    ]
    assert shop.fake.state.requests["FulfillOrder"] == 1
    assert len(list(gordon.state.requests(method="PUT", path=puts))) == 1  # not pushed again
    # the answer to the person: what the attempt did, not that Gordon's copy was unchanged
    assert done["last_message"]["code"] == "job.fulfilled_in_saleor"
    assert done["last_message"]["message"] == (
        f"Fulfilled the order in Saleor with tracking number {tracking_id}."
    )

    again = await shop.send("POST", f"/jobs/{job_id}/retry-fulfillment", {})

    assert again.status_code == 409
    assert error_of(again)["code"] == "NOTHING_TO_FULFIL"
    assert error_of(again)["message"] == (
        "There is no blocked fulfillment to try again: the order is synced and its "
        "fulfillment done."
    )
    assert shop.fake.state.requests["FulfillOrder"] == 1


@pytest.mark.parametrize("status", ["failed", "needs_attention", "synced", "pending"])
async def test_try_fulfilling_again_is_refused_where_no_fulfillment_is_blocked(
    shop: Shop, status: str
) -> None:
    job_id = await shop.add_job("1001", status=status)
    before = await shop.app.runtime.jobs.get_job(job_id)

    response = await shop.send("POST", f"/jobs/{job_id}/retry-fulfillment", {})

    assert response.status_code == 409
    assert error_of(response)["code"] == "NOTHING_TO_FULFIL"
    assert error_of(response)["message"] == (
        "There is no blocked fulfillment to try again: the order is "
        f"{status.replace('_', ' ')} and its fulfillment not started."
    )
    assert await shop.app.runtime.jobs.get_job(job_id) == before
    assert (await shop.get(f"/jobs/{job_id}")).json()["fulfillment_retryable"] is False


async def test_try_fulfilling_again_of_an_unknown_job_is_not_found(shop: Shop) -> None:
    response = await shop.send("POST", "/jobs/4242/retry-fulfillment", {})

    assert response.status_code == 404
    assert error_of(response)["code"] == "JOB_NOT_FOUND"


async def test_send_refuses_an_order_whose_number_the_app_cannot_keep(
    shop: Shop, gordon_url: str
) -> None:
    """The job keeps the order's number (64 characters): a longer one failed the job's insert
    on PostgreSQL (503 STORE_UNAVAILABLE, "the database failed") and was stored on SQLite."""
    await shop.save_config(shop_config(gordon_url))
    order = shop.fake.state.add_order(number="9" * 65)

    preview = await shop.get("/order/send-preview", params={"order_id": order["id"]})
    sent = await shop.send("POST", "/order/send", {"order_id": order["id"]})

    assert preview.status_code == 200, preview.text
    assert (preview.json()["action"], preview.json()["can_send"]) == ("fix", False)
    assert [(p["field"], p["code"], p["params"]) for p in preview.json()["problems"]] == [
        ("number", "problem.order_number_unusable", {"limit": 64})
    ]
    assert sent.status_code == 409, sent.text
    assert error_of(sent)["code"] == "NOTHING_TO_SEND"
    assert "longer than 64 characters" in error_of(sent)["message"]
    assert await shop.app.runtime.jobs.find_job(shop.installation.id, order["id"]) is None


async def test_a_reference_prefix_the_job_cannot_keep_is_refused_beside_its_field(
    shop: Shop, gordon_url: str
) -> None:
    """Saved, a prefix that makes prefix + order number longer than the job's reference (255
    characters) was pushed to Gordon, then failed the job's record on PostgreSQL ("the database
    failed"), so the job was claimed and pushed again at every lease, for ever."""
    response = await shop.save_config(shop_config(gordon_url, external_ref_prefix="P" * 192))

    assert response.status_code == 422, response.text
    assert [(p["path"], p["code"], p["params"]) for p in error_of(response)["problems"]] == [
        ("external_ref_prefix", "config.prefix_unusable", {"limit": 191})
    ]
    assert await shop.app.runtime.installations.get_config(shop.installation.id) is None


async def test_the_longest_prefix_and_order_number_are_sent_and_kept(
    shop: Shop, start_gordon_sandbox: StartSandbox
) -> None:
    gordon = start_gordon_sandbox(delivery_groups=(DELIVERY_GROUP,))
    prefix = "P" * 191
    saved = await shop.save_config(shop_config(gordon.base_url, external_ref_prefix=prefix))
    order = paid_order(shop.fake, shop.app)
    shop.fake.state.update_order(order["id"], number="9" * 64)

    sent = await shop.send("POST", "/order/send", {"order_id": order["id"]})
    status = await run_due_job(shop.app)

    assert (saved.status_code, sent.status_code) == (200, 200), sent.text
    assert status is JobStatus.SYNCED
    job = await shop.app.runtime.jobs.find_job(shop.installation.id, order["id"])
    assert job is not None
    assert job.external_ref == prefix + "9" * 64
    assert job.order_number == "9" * 64
