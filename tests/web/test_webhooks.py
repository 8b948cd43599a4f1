"""The webhook endpoints end to end: real recorded requests, and Saleor fakes that sign their own."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import pytest_asyncio
from sqlalchemy import text

from saleor_gordon.errors import SecretsError
from saleor_gordon.saleor.jwks import JwksRefetchLimiter
from saleor_gordon.secret_box import SecretBox
from saleor_gordon.store.database import create_engine
from saleor_gordon.store.inbox import EventInbox
from saleor_gordon.store.installations import InstallationStore
from saleor_gordon.web.app import create_app
from saleor_gordon.web.request_body import MAX_BODY_BYTES
from tests.conftest import TEST_SECRET_KEY
from tests.support.fixtures import RunningSaleorFake, SaleorFakeFactory
from tests.support.saleor_fake import SigningKey
from tests.support.unanswering_database_proxy import unanswering_database_proxy
from tests.web.conftest import (
    APP_DELETED_PATH,
    APP_URL,
    ORDERS_PATH,
    RECORDED_API_URL,
    ForbiddenOutbound,
    InstallRecorded,
    OpenApp,
    RecordedRequest,
    WebApp,
    error_of,
    install_from_fake,
    recorded_webhooks,
)

SUBSCRIBED = {
    "order_created",
    "order_confirmed",
    "order_fully_paid",
    "order_updated",
    "order_cancelled",
    "order_expired",
    "order_metadata_updated",
    "app_deleted",
}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def post_recorded(
    app: WebApp, recorded: RecordedRequest, body: bytes | None = None
) -> httpx.Response:
    return await app.client.post(
        recorded.path,
        headers=recorded.replay_headers(),
        content=recorded.body if body is None else body,
    )


async def deliver(
    app: WebApp,
    fake: RunningSaleorFake,
    event: str,
    order_id: str | None = None,
    *,
    principal: dict[str, object] | None = None,
    path: str = ORDERS_PATH,
) -> httpx.Response:
    """POST the webhook ``fake`` signs for ``event`` to ``path``."""
    payload = fake.state.event_payload(event, order_id=order_id, principal=principal)
    headers, body = fake.state.webhook_request(event, payload)
    return await app.client.post(path, headers=headers, content=body)


class GatedJwksTransport(httpx.AsyncBaseTransport):
    """Real HTTP; after ``hold()``, JWKS requests wait until ``release()`` (``held`` counts them)."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._open = asyncio.Event()
        self._open.set()
        self.held = 0
        self.holding = asyncio.Event()  # set once a JWKS request is held

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/jwks.json") and not self._open.is_set():
            self.held += 1
            self.holding.set()
            await self._open.wait()
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


# --- the recorded requests --------------------------------------------------------------------


class TestRecordedRequests:
    """Saleor 3.23's real requests, replayed byte for byte."""

    async def test_every_subscribed_recorded_webhook_is_accepted(
        self, open_app: OpenApp, install_recorded_shop: InstallRecorded, samples_dir: Path
    ) -> None:
        # given
        outbound = ForbiddenOutbound()
        app = await open_app(transport=outbound)
        await install_recorded_shop(app)
        recorded = [r for r in recorded_webhooks(samples_dir) if r.event in SUBSCRIBED]
        assert len(recorded) == 29
        # when
        statuses = {r.name: (await post_recorded(app, r)).status_code for r in recorded}
        # then
        assert statuses == {r.name: 200 for r in recorded}
        assert outbound.requests == []

    async def test_recorded_events_the_manifest_does_not_subscribe_to_are_wrong_events(
        self, open_sqlite_app: OpenApp, install_recorded_shop: InstallRecorded, samples_dir: Path
    ) -> None:
        """order_paid and order_fulfilled were recorded with an older manifest."""
        # given
        app = await open_sqlite_app(transport=ForbiddenOutbound())
        await install_recorded_shop(app)
        unsubscribed = [r for r in recorded_webhooks(samples_dir) if r.event not in SUBSCRIBED]
        assert {r.event for r in unsubscribed} == {"order_paid", "order_fulfilled"}
        for recorded in unsubscribed:
            # when
            response = await post_recorded(app, recorded)
            # then
            assert response.status_code == 400
            assert error_of(response)["code"] == "WRONG_EVENT"

    async def test_the_order_events_are_stored_and_queued_the_apps_own_metadata_writes_are_not(
        self, open_app: OpenApp, install_recorded_shop: InstallRecorded, samples_dir: Path
    ) -> None:
        """s04: the app wrote metadata twice (principal = the app); s05: staff did once. The
        echoes of the app's own writes are verified and acknowledged, and nothing of them is
        stored."""
        # given
        app = await open_app(transport=ForbiddenOutbound())
        await install_recorded_shop(app)
        by_app = [r for r in recorded_webhooks(samples_dir) if r.name.startswith("s04_")]
        # when
        answers = [(await post_recorded(app, r)).json() for r in by_app]
        # then
        assert [a["ignored"] for a in answers] == [
            None,
            None,
            "the app's own metadata write",
            "the app's own metadata write",
        ]
        job_id = answers[0]["job_id"]
        assert job_id is not None
        assert [a["job_id"] for a in answers] == [job_id, job_id, None, None]
        assert await app.count_events() == 2
        assert await app.count_jobs() == 1

    async def test_a_staff_metadata_write_is_queued(
        self, open_sqlite_app: OpenApp, install_recorded_shop: InstallRecorded, samples_dir: Path
    ) -> None:
        # given
        app = await open_sqlite_app(transport=ForbiddenOutbound())
        await install_recorded_shop(app)
        staff_write = load_one(samples_dir, "s05_metadata_by_staff/03_order_metadata_updated")
        # when
        answer = (await post_recorded(app, staff_write)).json()
        # then
        assert answer["ignored"] is None
        assert answer["job_id"] is not None
        assert await app.count_jobs() == 1

    async def test_a_body_changed_by_one_byte_is_rejected(
        self, open_app: OpenApp, install_recorded_shop: InstallRecorded, samples_dir: Path
    ) -> None:
        # given: the recorded JWKS is all the app has; refetching it finds nothing new
        app = await open_app(transport=httpx.MockTransport(lambda _: httpx.Response(503)))
        await install_recorded_shop(app)
        recorded = load_one(samples_dir, "s01_se_paid/04_order_fully_paid")
        tampered = recorded.body.replace(b'"number": "', b'"number": "9', 1)
        assert len(tampered) == len(recorded.body) + 1
        at = recorded.body.index(b'"number": "') + len(b'"number": "')
        flipped = bytearray(recorded.body)
        flipped[at] ^= 0x01  # "45" -> "55": same length, still valid JSON
        for body in (tampered, bytes(flipped), recorded.body + b" "):
            # when
            response = await post_recorded(app, recorded, body)
            # then
            assert response.status_code == 401
            assert error_of(response)["code"] == "SIGNATURE_VERIFICATION_FAILED"
        assert await app.count_events() == 0

    async def test_an_echo_of_the_apps_own_write_is_verified_before_it_is_ignored(
        self, open_app: OpenApp, install_recorded_shop: InstallRecorded, samples_dir: Path
    ) -> None:
        """An ``ORDER_METADATA_UPDATED`` naming the app as principal is ignored only once its
        signature holds: a forged one is refused like any other webhook."""
        # given: the recorded JWKS is all the app has; refetching it finds nothing new
        app = await open_app(transport=httpx.MockTransport(lambda _: httpx.Response(503)))
        await install_recorded_shop(app)
        echo = load_one(samples_dir, "s04_metadata_by_app/03_order_metadata_updated")
        tampered = echo.body.replace(b'"number": "', b'"number": "9', 1)
        assert tampered != echo.body
        # when
        forged = await post_recorded(app, echo, tampered)
        genuine = await post_recorded(app, echo)
        # then
        assert forged.status_code == 401
        assert error_of(forged)["code"] == "SIGNATURE_VERIFICATION_FAILED"
        assert genuine.json()["ignored"] == "the app's own metadata write"
        assert (await app.count_events(), await app.count_jobs()) == (0, 0)

    async def test_duplicate_deliveries_are_stored_once(
        self, open_app: OpenApp, install_recorded_shop: InstallRecorded, samples_dir: Path
    ) -> None:
        # given
        app = await open_app(transport=ForbiddenOutbound())
        await install_recorded_shop(app)
        recorded = load_one(samples_dir, "s01_se_paid/04_order_fully_paid")
        # when
        answers = [await post_recorded(app, recorded) for _ in range(3)]
        # then
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert [a.json()["duplicate"] for a in answers] == [False, True, True]
        assert await app.count_events() == 1
        assert await app.count_jobs() == 1

    async def test_concurrent_duplicate_deliveries_are_stored_once(
        self, open_app: OpenApp, install_recorded_shop: InstallRecorded, samples_dir: Path
    ) -> None:
        # given
        app = await open_app(transport=ForbiddenOutbound())
        await install_recorded_shop(app)
        recorded = load_one(samples_dir, "s03_se_cancel/03_order_cancelled")
        # when
        answers = await asyncio.gather(*(post_recorded(app, recorded) for _ in range(5)))
        # then
        assert [a.status_code for a in answers] == [200] * 5
        assert sorted(a.json()["duplicate"] for a in answers) == [False, True, True, True, True]
        assert await app.count_events() == 1
        assert await app.count_jobs() == 1

    async def test_the_recorded_app_deleted_removes_the_installation(
        self, open_app: OpenApp, install_recorded_shop: InstallRecorded, samples_dir: Path
    ) -> None:
        # given: an installation with received events and a queued job
        app = await open_app(transport=ForbiddenOutbound())
        await install_recorded_shop(app)
        await post_recorded(app, load_one(samples_dir, "s01_se_paid/02_order_created"))
        assert (await app.count_events(), await app.count_jobs()) == (1, 1)
        # when
        response = await post_recorded(app, load_one(samples_dir, "s11_app_deleted/01_app_deleted"))
        # then
        assert response.status_code == 200
        assert response.content == b'{"success":true}'
        assert (response.headers["content-type"], response.headers["content-length"]) == (
            "application/json",
            "16",
        )
        assert await app.installation(RECORDED_API_URL) is None
        assert (await app.count_events(), await app.count_jobs()) == (0, 0)
        async with app.runtime.engine.connect() as connection:
            rows = await connection.execute(text("SELECT count(*) FROM installations"))
            assert rows.scalar_one() == 0


def load_one(samples_dir: Path, name: str) -> RecordedRequest:
    (recorded,) = [r for r in recorded_webhooks(samples_dir) if r.name == name]
    return recorded


# --- request shape ------------------------------------------------------------------------------


class TestRequestShape:
    """Refusals that happen before any signature is checked (SQLite: the database plays no part)."""

    @pytest.fixture
    async def app(self, open_sqlite_app: OpenApp, install_recorded_shop: InstallRecorded) -> WebApp:
        app = await open_sqlite_app(transport=ForbiddenOutbound())
        await install_recorded_shop(app)
        return app

    @pytest.fixture
    def order_created(self, samples_dir: Path) -> RecordedRequest:
        return load_one(samples_dir, "s01_se_paid/02_order_created")

    @pytest.mark.parametrize("missing", ["Saleor-Api-Url", "Saleor-Event", "Saleor-Signature"])
    async def test_a_missing_saleor_header_is_a_400(
        self, app: WebApp, order_created: RecordedRequest, missing: str
    ) -> None:
        # given: only the deprecated X- twin is left
        headers = {k: v for k, v in order_created.replay_headers().items() if k != missing}
        # when
        response = await app.client.post(ORDERS_PATH, headers=headers, content=order_created.body)
        # then
        assert response.status_code == 400
        error = error_of(response)
        assert error["code"] == "MISSING_HEADER"
        assert missing in error["message"]

    async def test_a_body_over_one_mebibyte_is_a_413(
        self, app: WebApp, order_created: RecordedRequest
    ) -> None:
        # given
        body = b'{"pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
        # when
        response = await app.client.post(
            ORDERS_PATH, headers=order_created.replay_headers(), content=body
        )
        # then
        assert response.status_code == 413
        assert error_of(response)["code"] == "PAYLOAD_TOO_LARGE"

    async def test_a_streamed_body_over_one_mebibyte_is_a_413(
        self, app: WebApp, order_created: RecordedRequest
    ) -> None:
        """Without Content-Length the limit is enforced while reading."""

        # given
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(17):
                yield b"x" * 65536

        # when
        response = await app.client.post(
            ORDERS_PATH, headers=order_created.replay_headers(), content=chunks()
        )
        # then
        assert response.status_code == 413
        assert error_of(response)["code"] == "PAYLOAD_TOO_LARGE"

    async def test_a_body_of_exactly_one_mebibyte_is_read(
        self,
        open_sqlite_app: OpenApp,
        install_recorded_shop: InstallRecorded,
        order_created: RecordedRequest,
    ) -> None:
        # given: valid JSON of the maximum size, whose signature cannot match
        app = await open_sqlite_app(transport=httpx.MockTransport(lambda _: httpx.Response(503)))
        await install_recorded_shop(app)
        body = order_created.body + b" " * (MAX_BODY_BYTES - len(order_created.body))
        # when
        response = await app.client.post(
            ORDERS_PATH, headers=order_created.replay_headers(), content=body
        )
        # then: past the size check, refused by the signature check
        assert response.status_code == 401

    @pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"", b"\xff\xfe"])
    async def test_a_body_that_is_not_a_json_object_is_a_400(
        self, app: WebApp, order_created: RecordedRequest, body: bytes
    ) -> None:
        # when
        response = await app.client.post(
            ORDERS_PATH, headers=order_created.replay_headers(), content=body
        )
        # then
        assert response.status_code == 400
        assert error_of(response)["code"] == "MALFORMED_JSON"

    async def test_an_order_event_sent_to_the_app_deleted_endpoint_is_a_wrong_event(
        self, app: WebApp, order_created: RecordedRequest
    ) -> None:
        # when
        response = await app.client.post(
            APP_DELETED_PATH, headers=order_created.replay_headers(), content=order_created.body
        )
        # then
        assert response.status_code == 400
        assert error_of(response)["code"] == "WRONG_EVENT"
        assert await app.installation(RECORDED_API_URL) is not None

    async def test_app_deleted_sent_to_the_orders_endpoint_is_a_wrong_event(
        self, app: WebApp, samples_dir: Path
    ) -> None:
        # given
        deleted = load_one(samples_dir, "s11_app_deleted/01_app_deleted")
        # when
        response = await app.client.post(
            ORDERS_PATH, headers=deleted.replay_headers(), content=deleted.body
        )
        # then
        assert response.status_code == 400
        assert error_of(response)["code"] == "WRONG_EVENT"
        assert await app.installation(RECORDED_API_URL) is not None

    @pytest.mark.parametrize("path", [ORDERS_PATH, APP_DELETED_PATH])
    @pytest.mark.parametrize("method", ["GET", "PUT"])
    async def test_other_methods_are_a_json_405(self, app: WebApp, path: str, method: str) -> None:
        # when
        response = await app.client.request(method, path)
        # then
        assert response.status_code == 405
        assert error_of(response)["code"] == "WRONG_METHOD"

    async def test_an_unregistered_saleor_is_refused_without_any_outbound_request(
        self, open_sqlite_app: OpenApp, order_created: RecordedRequest
    ) -> None:
        # given: no installation at all, and an app that fails the test if it calls anyone
        outbound = ForbiddenOutbound()
        app = await open_sqlite_app(transport=outbound)
        # when
        response = await app.client.post(
            ORDERS_PATH, headers=order_created.replay_headers(), content=order_created.body
        )
        # then
        assert response.status_code == 401
        error = error_of(response)
        assert error["code"] == "NOT_REGISTERED"
        assert RECORDED_API_URL in error["message"]
        assert outbound.requests == []


# --- signatures against live fakes -------------------------------------------------------------


class TestSignatures:
    async def test_an_order_event_from_an_installed_saleor_is_queued(
        self, open_app: OpenApp, saleor_fake: RunningSaleorFake
    ) -> None:
        # given
        app = await open_app()
        await install_from_fake(app, saleor_fake)
        order = saleor_fake.state.add_order()
        # when
        deliveries = await saleor_fake.state.emit(
            app.client, "ORDER_FULLY_PAID", order_id=order["id"]
        )
        # then
        assert [d.status for d in deliveries] == [200]
        assert (await app.count_events(), await app.count_jobs()) == (1, 1)

    async def test_an_unregistered_saleor_causes_no_request_to_it(
        self, open_sqlite_app: OpenApp, saleor_fake: RunningSaleorFake
    ) -> None:
        # given: a real Saleor, never installed
        app = await open_sqlite_app()
        order = saleor_fake.state.add_order()
        # when
        response = await deliver(app, saleor_fake, "ORDER_CREATED", order["id"])
        # then
        assert response.status_code == 401
        assert error_of(response)["code"] == "NOT_REGISTERED"
        assert saleor_fake.state.jwks_fetches == 0
        assert sum(saleor_fake.state.requests.values()) == 0

    async def test_shop_a_cannot_sign_for_shop_b(
        self, open_app: OpenApp, saleor_fake_factory: SaleorFakeFactory
    ) -> None:
        # given: two shops installed
        app = await open_app()
        shop_a, shop_b = saleor_fake_factory(), saleor_fake_factory()
        await install_from_fake(app, shop_a)
        await install_from_fake(app, shop_b)
        order = shop_a.state.add_order()
        payload = shop_a.state.order_event_payload("ORDER_CREATED", order["id"])
        fetches = (shop_a.state.jwks_fetches, shop_b.state.jwks_fetches)
        # when: shop A signs a webhook that claims to come from shop B
        headers, body = shop_a.state.webhook_request(
            "ORDER_CREATED", payload, api_url=shop_b.api_url
        )
        response = await app.client.post(ORDERS_PATH, headers=headers, content=body)
        # then: refused; only B's own JWKS endpoint was asked (once), never A's
        assert response.status_code == 401
        assert error_of(response)["code"] == "SIGNATURE_VERIFICATION_FAILED"
        assert (shop_a.state.jwks_fetches, shop_b.state.jwks_fetches) == (
            fetches[0],
            fetches[1] + 1,
        )
        assert await app.count_events() == 0

    async def test_a_rotated_key_is_fetched_once_and_kept(
        self, open_app: OpenApp, saleor_fake: RunningSaleorFake
    ) -> None:
        # given
        app = await open_app()
        installation = await install_from_fake(app, saleor_fake)
        order = saleor_fake.state.add_order()
        saleor_fake.state.rotate_key()
        assert saleor_fake.state.jwks != installation.jwks
        # when
        first = await deliver(app, saleor_fake, "ORDER_CREATED", order["id"])
        second = await deliver(app, saleor_fake, "ORDER_CONFIRMED", order["id"])
        # then
        assert (first.status_code, second.status_code) == (200, 200)
        assert saleor_fake.state.jwks_fetches == 2  # installation + one refetch
        stored = await app.installation(saleor_fake.api_url)
        assert stored is not None
        assert stored.jwks == saleor_fake.state.jwks

    async def test_concurrent_webhooks_after_a_key_rotation_are_all_accepted(
        self, open_app: OpenApp, saleor_fake: RunningSaleorFake, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Saleor delivers in parallel; the one allowed refetch must serve every waiting request."""
        # given: five webhooks signed with a rotated key, whose refetch of the JWKS is held back
        transport = GatedJwksTransport()
        app = await open_app(transport=transport)
        await install_from_fake(app, saleor_fake)
        orders = [saleor_fake.state.add_order() for _ in range(5)]
        saleor_fake.state.rotate_key()
        refetch_lock, at_lock, all_at_lock = app.runtime.jwks_refetch_lock, [], asyncio.Event()

        def counted_lock(saleor_api_url: str) -> asyncio.Lock:
            at_lock.append(saleor_api_url)  # taken at once by `async with`: no await between
            if len(at_lock) == len(orders):
                all_at_lock.set()
            return refetch_lock(saleor_api_url)

        monkeypatch.setattr(app.runtime, "jwks_refetch_lock", counted_lock)
        transport.hold()
        # when all of them failed on the cached keys: one refetches, four wait for its lock
        deliveries = [
            asyncio.create_task(deliver(app, saleor_fake, "ORDER_CREATED", order["id"]))
            for order in orders
        ]
        async with asyncio.timeout(15):
            await transport.holding.wait()
            await all_at_lock.wait()
        assert transport.held == 1
        transport.release()
        responses = await asyncio.gather(*deliveries)
        # then
        assert [r.status_code for r in responses] == [200] * 5
        assert saleor_fake.state.jwks_fetches == 2
        assert await app.count_jobs() == 5

    async def test_an_unknown_key_is_refused_after_one_refetch_and_floods_are_rate_limited(
        self, open_app: OpenApp, saleor_fake: RunningSaleorFake
    ) -> None:
        # given: someone signs with a key this Saleor never had
        app = await open_app()
        await install_from_fake(app, saleor_fake)
        order = saleor_fake.state.add_order()
        stranger = SigningKey.generate()
        payload = saleor_fake.state.order_event_payload("ORDER_CREATED", order["id"])
        headers, body = saleor_fake.state.webhook_request("ORDER_CREATED", payload)
        headers["Saleor-Signature"] = stranger.sign_detached(body)
        # when
        responses = [
            await app.client.post(ORDERS_PATH, headers=headers, content=body) for _ in range(20)
        ]
        # then the first is refused for good after a refetch; the others, whose key Saleor may
        # have introduced after that refetch began, are asked to come back later; none is accepted
        assert responses[0].status_code == 401
        assert error_of(responses[0])["code"] == "SIGNATURE_VERIFICATION_FAILED"
        assert {r.status_code for r in responses[1:]} == {503}
        assert {error_of(r)["code"] for r in responses[1:]} == {"JWKS_UNAVAILABLE"}
        assert saleor_fake.state.jwks_fetches == 2  # installation + one refetch for the flood
        assert await app.count_events() == 0

    async def test_a_rotation_right_after_a_junk_refetch_is_retried_not_lost(
        self, open_sqlite_app: OpenApp, saleor_fake: RunningSaleorFake
    ) -> None:
        # given a junk request that spent the refetch window
        app = await open_sqlite_app()
        await install_from_fake(app, saleor_fake)
        order = saleor_fake.state.add_order()
        payload = saleor_fake.state.order_event_payload("ORDER_CREATED", order["id"])
        headers, body = saleor_fake.state.webhook_request("ORDER_CREATED", payload)
        junk = {**headers, "Saleor-Signature": SigningKey.generate().sign_detached(body)}
        assert (await app.client.post(ORDERS_PATH, headers=junk, content=body)).status_code == 401

        # when Saleor rotates its key within that window and signs a real webhook with it
        saleor_fake.state.rotate_key()
        headers, body = saleor_fake.state.webhook_request("ORDER_CREATED", payload)
        response = await app.client.post(ORDERS_PATH, headers=headers, content=body)

        # then the app asks Saleor to retry instead of refusing the event for good
        assert response.status_code == 503
        assert error_of(response)["code"] == "JWKS_UNAVAILABLE"

    @pytest.mark.parametrize("algorithm", ["RS512", "PS256", "HS256"])
    async def test_an_algorithm_other_than_rs256_is_refused(
        self, open_sqlite_app: OpenApp, saleor_fake: RunningSaleorFake, algorithm: str
    ) -> None:
        # given: Saleor's own key (or, for HS256, its public key as an HMAC secret)
        app = await open_sqlite_app()
        installation = await install_from_fake(app, saleor_fake)
        order = saleor_fake.state.add_order()
        payload = saleor_fake.state.order_event_payload("ORDER_CREATED", order["id"])
        headers, body = saleor_fake.state.webhook_request("ORDER_CREATED", payload)
        key = saleor_fake.state.signing_key
        header = {"alg": algorithm, "b64": False, "crit": ["b64"], "kid": key.kid, "typ": "JWT"}
        if algorithm == "HS256":
            signing_input = b64url(json.dumps(header).encode()).encode() + b"." + body
            secret = json.dumps(installation.jwks["keys"][0]).encode()
            mac = hmac.new(secret, signing_input, hashlib.sha256).digest()
            headers["Saleor-Signature"] = f"{signing_input.split(b'.')[0].decode()}..{b64url(mac)}"
        else:
            headers["Saleor-Signature"] = jwt.api_jws.encode(
                body,
                key.private_key,
                algorithm=algorithm,
                headers={"kid": key.kid, "crit": ["b64"]},
                is_payload_detached=True,
            )
        # when
        response = await app.client.post(ORDERS_PATH, headers=headers, content=body)
        # then: refused without asking Saleor for keys (fresh keys cannot make it RS256)
        assert response.status_code == 401
        assert error_of(response)["code"] == "SIGNATURE_VERIFICATION_FAILED"
        assert await app.count_events() == 0
        assert saleor_fake.state.jwks_fetches == 1  # the installation's

    @pytest.mark.parametrize(
        "signature",
        ["", "not-a-jws", "a.b.c", "eyJhbGciOiJub25lIn0..", "eyJhbGciOiJub25lIn0.." + "A" * 20],
        ids=["blank", "garbage", "compact", "alg-none-empty", "alg-none"],
    )
    async def test_a_malformed_signature_is_refused(
        self, open_sqlite_app: OpenApp, saleor_fake: RunningSaleorFake, signature: str
    ) -> None:
        # given
        app = await open_sqlite_app()
        await install_from_fake(app, saleor_fake)
        order = saleor_fake.state.add_order()
        payload = saleor_fake.state.order_event_payload("ORDER_CREATED", order["id"])
        headers, body = saleor_fake.state.webhook_request("ORDER_CREATED", payload)
        headers["Saleor-Signature"] = signature
        # when
        response = await app.client.post(ORDERS_PATH, headers=headers, content=body)
        # then
        assert response.status_code in {400, 401}
        assert response.status_code == (400 if not signature else 401)
        assert await app.count_events() == 0
        assert saleor_fake.state.jwks_fetches == 1  # no refetch for a malformed signature


# --- what the app does with verified events ---------------------------------------------------


class TestVerifiedEvents:
    async def test_the_apps_own_metadata_write_is_acknowledged_and_nothing_is_stored(
        self, open_app: OpenApp, saleor_fake: RunningSaleorFake
    ) -> None:
        # given
        app = await open_app()
        await install_from_fake(app, saleor_fake)
        order = saleor_fake.state.add_order()
        # when
        response = await deliver(
            app,
            saleor_fake,
            "ORDER_METADATA_UPDATED",
            order["id"],
            principal=saleor_fake.state.app(),
        )
        # then
        assert response.status_code == 200
        assert response.json() == {
            "success": True,
            "duplicate": False,
            "ignored": "the app's own metadata write",
            "job_id": None,
        }
        assert (await app.count_events(), await app.count_jobs()) == (0, 0)

    async def test_a_staff_metadata_write_creates_a_job(
        self, open_app: OpenApp, saleor_fake: RunningSaleorFake
    ) -> None:
        # given
        app = await open_app()
        await install_from_fake(app, saleor_fake)
        order = saleor_fake.state.add_order()
        # when
        response = await deliver(app, saleor_fake, "ORDER_METADATA_UPDATED", order["id"])
        # then
        assert response.status_code == 200
        assert response.json()["job_id"] is not None
        assert (await app.count_events(), await app.count_jobs()) == (1, 1)

    async def test_the_answers_are_compact_json_with_their_length_and_type(
        self, open_sqlite_app: OpenApp, saleor_fake: RunningSaleorFake
    ) -> None:
        """The 200 answers are sent without a Starlette response: the same bytes and headers."""
        # given
        app = await open_sqlite_app()
        await install_from_fake(app, saleor_fake)
        order = saleor_fake.state.add_order()
        payload = saleor_fake.state.event_payload("ORDER_FULLY_PAID", order_id=order["id"])
        headers, body = saleor_fake.state.webhook_request("ORDER_FULLY_PAID", payload)
        # when delivered, and delivered again (Saleor's redelivery)
        first = await app.client.post(ORDERS_PATH, headers=headers, content=body)
        again = await app.client.post(ORDERS_PATH, headers=headers, content=body)
        # then
        job_id = first.json()["job_id"]
        assert isinstance(job_id, int)
        expected = (
            b'{"success":true,"duplicate":false,"ignored":null,"job_id":%d}' % job_id,
            b'{"success":true,"duplicate":true,"ignored":null,"job_id":null}',
        )
        for response, content in zip((first, again), expected, strict=True):
            assert response.status_code == 200
            assert response.content == content
            assert response.headers["content-type"] == "application/json"
            assert response.headers["content-length"] == str(len(content))

    async def test_another_apps_metadata_write_creates_a_job(
        self, open_sqlite_app: OpenApp, saleor_fake: RunningSaleorFake
    ) -> None:
        # given
        app = await open_sqlite_app()
        await install_from_fake(app, saleor_fake)
        order = saleor_fake.state.add_order()
        other_app = {**saleor_fake.state.app(), "id": "QXBwOjk5"}
        # when
        response = await deliver(
            app, saleor_fake, "ORDER_METADATA_UPDATED", order["id"], principal=other_app
        )
        # then
        assert response.json()["job_id"] is not None

    async def test_uninstalling_removes_installation_token_events_and_jobs(
        self, open_app: OpenApp, saleor_fake: RunningSaleorFake
    ) -> None:
        # given: an installed shop with an event and a job
        app = await open_app()
        await install_from_fake(app, saleor_fake)
        order = saleor_fake.state.add_order()
        await saleor_fake.state.emit(app.client, "ORDER_CREATED", order_id=order["id"])
        assert (await app.count_events(), await app.count_jobs()) == (1, 1)
        # when: appDelete in the Dashboard
        deliveries = await saleor_fake.state.uninstall(app.client)
        # then
        assert [(d.event, d.status) for d in deliveries] == [("app_deleted", 200)]
        assert await app.installation(saleor_fake.api_url) is None
        assert (await app.count_events(), await app.count_jobs()) == (0, 0)

    async def test_app_deleted_for_another_app_keeps_the_installation(
        self, open_sqlite_app: OpenApp, saleor_fake: RunningSaleorFake
    ) -> None:
        # given
        app = await open_sqlite_app()
        await install_from_fake(app, saleor_fake)
        payload = saleor_fake.state.event_payload("APP_DELETED")
        payload["app"] = {"id": "QXBwOjk5", "name": "Another app"}
        headers, body = saleor_fake.state.webhook_request("APP_DELETED", payload)
        # when
        response = await app.client.post(APP_DELETED_PATH, headers=headers, content=body)
        # then
        assert response.status_code == 200
        assert await app.installation(saleor_fake.api_url) is not None

    async def test_an_unsigned_app_deleted_keeps_the_installation(
        self, open_sqlite_app: OpenApp, saleor_fake: RunningSaleorFake
    ) -> None:
        # given
        app = await open_sqlite_app()
        await install_from_fake(app, saleor_fake)
        payload = saleor_fake.state.event_payload("APP_DELETED")
        headers, body = saleor_fake.state.webhook_request("APP_DELETED", payload)
        headers["Saleor-Signature"] = SigningKey.generate().sign_detached(body)
        # when
        response = await app.client.post(APP_DELETED_PATH, headers=headers, content=body)
        # then
        assert response.status_code == 401
        assert await app.installation(saleor_fake.api_url) is not None

    async def test_an_order_event_without_an_order_id_is_a_400(
        self, open_sqlite_app: OpenApp, saleor_fake: RunningSaleorFake
    ) -> None:
        # given: a subscription that does not select the order
        app = await open_sqlite_app()
        await install_from_fake(app, saleor_fake)
        payload = saleor_fake.state.event_payload("ORDER_CREATED")
        headers, body = saleor_fake.state.webhook_request("ORDER_CREATED", payload)
        # when
        response = await app.client.post(ORDERS_PATH, headers=headers, content=body)
        # then
        assert response.status_code == 400
        assert error_of(response)["code"] == "INVALID_PAYLOAD"


# --- the installation data cached for verification ---------------------------------------------


class TestCachedInstallation:
    """The webhook path reads an installation once per IDENTITY_MAX_AGE_SECONDS; a deletion or a
    reinstallation by another process must still be honoured at once."""

    async def test_a_deletion_by_another_process_refuses_the_next_webhook(
        self, open_app: OpenApp, install_recorded_shop: InstallRecorded, samples_dir: Path
    ) -> None:
        # given: a webhook was accepted, so its installation is cached
        app = await open_app(transport=ForbiddenOutbound())
        installation = await install_recorded_shop(app)
        first = await post_recorded(app, load_one(samples_dir, "s01_se_paid/02_order_created"))
        assert first.status_code == 200
        other_process = InstallationStore(app.runtime.engine, SecretBox(TEST_SECRET_KEY))
        # when
        await other_process.delete_installation(installation.id)
        response = await post_recorded(
            app, load_one(samples_dir, "s01_se_paid/04_order_fully_paid")
        )
        # then
        assert response.status_code == 401
        assert error_of(response)["code"] == "NOT_REGISTERED"
        assert (await app.count_events(), await app.count_jobs()) == (0, 0)

    async def test_a_reinstallation_by_another_process_is_used_at_once(
        self,
        open_app: OpenApp,
        install_recorded_shop: InstallRecorded,
        samples_dir: Path,
        recorded_jwks: dict[str, object],
    ) -> None:
        # given
        app = await open_app(transport=ForbiddenOutbound())
        old = await install_recorded_shop(app)
        await post_recorded(app, load_one(samples_dir, "s01_se_paid/02_order_created"))
        other_process = InstallationStore(app.runtime.engine, SecretBox(TEST_SECRET_KEY))
        await other_process.save_installation(  # another shop: SQLite must not reuse the old id
            saleor_api_url="https://another.example.com/graphql/",
            app_id=old.app_id,
            token="anothertoken0123456789abcdefgh",
            jwks=recorded_jwks,
            now=old.installed_at,
        )
        await other_process.delete_installation(old.id)
        new = await other_process.save_installation(
            saleor_api_url=RECORDED_API_URL,
            app_id=old.app_id,
            token="anothertoken0123456789abcdefgh",
            jwks=recorded_jwks,
            now=old.installed_at,
        )
        assert new.id != old.id
        # when
        response = await post_recorded(
            app, load_one(samples_dir, "s01_se_paid/04_order_fully_paid")
        )
        # then
        assert response.status_code == 200
        assert response.json()["duplicate"] is False
        assert await app.runtime.inbox.count_events(new.id) == 1

    async def test_a_late_webhook_of_a_removed_shop_never_lands_in_the_next_shop_installed(
        self,
        open_app: OpenApp,
        install_recorded_shop: InstallRecorded,
        samples_dir: Path,
        recorded_jwks: dict[str, object],
    ) -> None:
        """This process still holds the removed shop's identity (its id among it) when another
        process has removed that shop and installed another: the other shop must not get the
        removed shop's id (SQLite gave a deleted rowid to the next row), or the removed shop's
        redelivered webhook is filed under it and shows in its Dashboard."""
        # given: a webhook was accepted, so the shop's identity is cached in this process
        app = await open_app(transport=ForbiddenOutbound())
        removed = await install_recorded_shop(app)
        first = await post_recorded(app, load_one(samples_dir, "s01_se_paid/02_order_created"))
        assert first.status_code == 200
        other_process = InstallationStore(app.runtime.engine, SecretBox(TEST_SECRET_KEY))
        await other_process.delete_installation(removed.id)
        another_shop = await other_process.save_installation(
            saleor_api_url="https://another.example.com/graphql/",
            app_id="QXBwOjk5",
            token="anothertoken0123456789abcdefgh",
            jwks=recorded_jwks,
            now=removed.installed_at,
        )
        # when: Saleor delivers the removed shop's next webhook (signed with its own key)
        response = await post_recorded(
            app, load_one(samples_dir, "s01_se_paid/04_order_fully_paid")
        )
        # then
        assert another_shop.id != removed.id
        assert response.status_code == 401
        assert error_of(response)["code"] == "NOT_REGISTERED"
        assert await app.runtime.inbox.count_events(another_shop.id) == 0
        assert (await app.count_events(), await app.count_jobs()) == (0, 0)

    async def test_after_app_deleted_the_next_webhook_is_refused(
        self, open_app: OpenApp, install_recorded_shop: InstallRecorded, samples_dir: Path
    ) -> None:
        # given
        app = await open_app(transport=ForbiddenOutbound())
        await install_recorded_shop(app)
        await post_recorded(app, load_one(samples_dir, "s01_se_paid/02_order_created"))
        await post_recorded(app, load_one(samples_dir, "s11_app_deleted/01_app_deleted"))
        # when
        response = await post_recorded(
            app, load_one(samples_dir, "s01_se_paid/04_order_fully_paid")
        )
        # then
        assert response.status_code == 401
        assert error_of(response)["code"] == "NOT_REGISTERED"
        assert await app.count_events() == 0


# --- database failures ---------------------------------------------------------------------------


class TestDatabaseFailures:
    """Saleor retries 5xx only: a store failure must never be acknowledged or answered 4xx."""

    async def test_a_missing_table_answers_503(
        self, open_app: OpenApp, install_recorded_shop: InstallRecorded, samples_dir: Path
    ) -> None:
        # given
        app = await open_app(transport=ForbiddenOutbound())
        await install_recorded_shop(app)
        async with app.runtime.engine.begin() as connection:
            await connection.execute(text("DROP TABLE webhook_events"))
        # when
        response = await post_recorded(app, load_one(samples_dir, "s01_se_paid/02_order_created"))
        # then
        assert response.status_code == 503
        assert error_of(response)["code"] == "STORE_UNAVAILABLE"

    async def test_an_unreachable_database_answers_503(
        self,
        open_app: OpenApp,
        install_recorded_shop: InstallRecorded,
        samples_dir: Path,
        unreachable_engine: object,
    ) -> None:
        # given
        app = await open_app(transport=ForbiddenOutbound())
        await install_recorded_shop(app)
        app.runtime.engine = unreachable_engine  # type: ignore[assignment]
        # when
        response = await post_recorded(app, load_one(samples_dir, "s01_se_paid/02_order_created"))
        # then
        assert response.status_code == 503
        error = error_of(response)
        assert error["code"] == "STORE_UNAVAILABLE"
        assert "retried" in error["message"]

    async def test_a_database_that_never_answers_answers_503_after_the_connect_timeout(
        self, open_sqlite_app: OpenApp, install_recorded_shop: InstallRecorded, samples_dir: Path
    ) -> None:
        # given an installed app whose database then accepts connections and never answers
        app = await open_sqlite_app(transport=ForbiddenOutbound())
        await install_recorded_shop(app)
        with unanswering_database_proxy() as unanswering:
            engine = create_engine(
                f"postgresql://u@127.0.0.1:{unanswering.port}/db", connect_timeout=0.5
            )
            app.runtime.engine = engine
            try:
                # when a webhook arrives (bounded far below asyncpg's own 60 s)
                response = await asyncio.wait_for(
                    post_recorded(app, load_one(samples_dir, "s01_se_paid/02_order_created")), 10
                )
            finally:
                await engine.dispose()
        # then it is answered 503, which Saleor retries, not 500
        assert response.status_code == 503
        assert error_of(response)["code"] == "STORE_UNAVAILABLE"


# --- key rotation: no webhook lost, no JWKS hammering --------------------------------------------


class CountingJwksTransport(httpx.AsyncBaseTransport):
    """Real HTTP that counts every JWKS request, answered or not."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.jwks_requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/jwks.json"):
            self.jwks_requests += 1
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def manual_limiter(app: WebApp) -> list[float]:
    """Give the app a refetch limiter on a clock the test moves; returns that clock."""
    now = [1000.0]
    app.runtime.jwks_limiter = JwksRefetchLimiter(clock=lambda: now[0])
    return now


class TestKeyRotation:
    async def test_a_junk_request_that_spends_the_refetch_does_not_lose_the_rotated_keys(
        self, open_app: OpenApp, saleor_fake: RunningSaleorFake
    ) -> None:
        # given: Saleor rotated its key; the first request signed with the new key is junk
        app = await open_app()
        await install_from_fake(app, saleor_fake)
        order = saleor_fake.state.add_order()
        saleor_fake.state.rotate_key()
        payload = saleor_fake.state.order_event_payload("ORDER_CREATED", order["id"])
        headers, body = saleor_fake.state.webhook_request("ORDER_CREATED", payload)
        junk = await app.client.post(ORDERS_PATH, headers=headers, content=body + b" ")
        assert junk.status_code == 401
        # when: the genuine delivery follows within the limiter window
        genuine = await deliver(app, saleor_fake, "ORDER_CONFIRMED", order["id"])
        # then: accepted with the keys the junk request's refetch saved
        assert genuine.status_code == 200, genuine.text
        assert saleor_fake.state.jwks_fetches == 2  # installation + the one refetch
        stored = await app.installation(saleor_fake.api_url)
        assert stored is not None
        assert stored.jwks == saleor_fake.state.jwks

    async def test_a_stranger_key_that_spends_the_refetch_does_not_lose_the_rotated_keys(
        self, open_sqlite_app: OpenApp, saleor_fake: RunningSaleorFake
    ) -> None:
        # given: a forged request with an unknown key arrives right after Saleor rotated
        app = await open_sqlite_app()
        await install_from_fake(app, saleor_fake)
        order = saleor_fake.state.add_order()
        saleor_fake.state.rotate_key()
        payload = saleor_fake.state.order_event_payload("ORDER_CREATED", order["id"])
        headers, body = saleor_fake.state.webhook_request("ORDER_CREATED", payload)
        headers["Saleor-Signature"] = SigningKey.generate().sign_detached(body)
        forged = await app.client.post(ORDERS_PATH, headers=headers, content=body)
        # when
        genuine = await deliver(app, saleor_fake, "ORDER_CONFIRMED", order["id"])
        # then: the forged one is refused (its key is unknown after a successful refetch)
        assert forged.status_code == 401
        assert error_of(forged)["code"] == "SIGNATURE_VERIFICATION_FAILED"
        assert genuine.status_code == 200
        assert saleor_fake.state.jwks_fetches == 2

    async def test_an_unknown_key_when_the_refetch_is_spent_without_fresh_keys_is_a_503(
        self, open_app: OpenApp, saleor_fake: RunningSaleorFake
    ) -> None:
        # given: a rotated key, and a limiter whose refetch was spent without fetching keys
        app = await open_app()
        await install_from_fake(app, saleor_fake)
        order = saleor_fake.state.add_order()
        saleor_fake.state.rotate_key()
        assert app.runtime.jwks_limiter.try_acquire(saleor_fake.api_url)
        # when
        response = await deliver(app, saleor_fake, "ORDER_CREATED", order["id"])
        # then: Saleor is asked to retry instead of dropping the event
        assert response.status_code == 503
        error = error_of(response)
        assert error["code"] == "JWKS_UNAVAILABLE"
        assert "retry" in error["message"]
        assert saleor_fake.state.jwks_fetches == 1
        assert await app.count_events() == 0

    async def test_an_unknown_key_while_saleors_jwks_is_down_is_a_503_and_saleors_retry_lands(
        self, open_app: OpenApp, saleor_fake: RunningSaleorFake
    ) -> None:
        # given: Saleor rotated its key and its JWKS endpoint fails for now
        transport = CountingJwksTransport()
        app = await open_app(transport=transport)
        await install_from_fake(app, saleor_fake)
        clock = manual_limiter(app)
        order = saleor_fake.state.add_order()
        saleor_fake.state.rotate_key()
        saleor_fake.state.down = True
        # when: Saleor delivers, and retries within the limiter window
        first = await deliver(app, saleor_fake, "ORDER_CREATED", order["id"])
        second = await deliver(app, saleor_fake, "ORDER_CREATED", order["id"])
        # then: both answered 503 (Saleor retries 5xx), with one JWKS request between them
        assert (first.status_code, second.status_code) == (503, 503)
        assert {error_of(first)["code"], error_of(second)["code"]} == {"JWKS_UNAVAILABLE"}
        assert transport.jwks_requests == 2  # installation + one refetch
        # when: Saleor is back and retries after the window
        saleor_fake.state.down = False
        clock[0] += 60
        third = await deliver(app, saleor_fake, "ORDER_CREATED", order["id"])
        # then
        assert third.status_code == 200
        assert await app.count_events() == 1

    async def test_a_changed_body_while_saleors_jwks_is_down_stays_a_401(
        self, open_sqlite_app: OpenApp, saleor_fake: RunningSaleorFake
    ) -> None:
        """A known key that does not match is a forgery, whatever Saleor's availability."""
        # given
        app = await open_sqlite_app()
        await install_from_fake(app, saleor_fake)
        order = saleor_fake.state.add_order()
        payload = saleor_fake.state.order_event_payload("ORDER_CREATED", order["id"])
        headers, body = saleor_fake.state.webhook_request("ORDER_CREATED", payload)
        saleor_fake.state.down = True
        # when
        response = await app.client.post(ORDERS_PATH, headers=headers, content=body + b" ")
        # then
        assert response.status_code == 401
        assert error_of(response)["code"] == "SIGNATURE_VERIFICATION_FAILED"

    async def test_a_flood_of_changed_bodies_causes_at_most_one_jwks_request(
        self, open_app: OpenApp, saleor_fake: RunningSaleorFake
    ) -> None:
        # given
        transport = CountingJwksTransport()
        app = await open_app(transport=transport)
        await install_from_fake(app, saleor_fake)
        order = saleor_fake.state.add_order()
        payload = saleor_fake.state.order_event_payload("ORDER_CREATED", order["id"])
        headers, body = saleor_fake.state.webhook_request("ORDER_CREATED", payload)
        # when
        responses = await asyncio.gather(
            *(
                app.client.post(ORDERS_PATH, headers=headers, content=body + b" " * (i + 1))
                for i in range(20)
            )
        )
        # then
        assert {r.status_code for r in responses} == {401}
        assert transport.jwks_requests == 2  # installation + one refetch
        assert await app.count_events() == 0

    async def test_a_flood_of_unknown_keys_while_saleor_is_down_causes_at_most_one_jwks_request(
        self, open_sqlite_app: OpenApp, saleor_fake: RunningSaleorFake
    ) -> None:
        # given
        transport = CountingJwksTransport()
        app = await open_sqlite_app(transport=transport)
        await install_from_fake(app, saleor_fake)
        order = saleor_fake.state.add_order()
        payload = saleor_fake.state.order_event_payload("ORDER_CREATED", order["id"])
        headers, body = saleor_fake.state.webhook_request("ORDER_CREATED", payload)
        headers["Saleor-Signature"] = SigningKey.generate().sign_detached(body)
        saleor_fake.state.down = True
        # when
        responses = [
            await app.client.post(ORDERS_PATH, headers=headers, content=body) for _ in range(20)
        ]
        # then: never accepted; the one refetch failed, so Saleor would be asked to retry
        assert {r.status_code for r in responses} == {503}
        assert transport.jwks_requests == 2
        assert await app.count_events() == 0


# --- robustness ----------------------------------------------------------------------------------


class TestRobustness:
    async def test_webhooks_are_accepted_when_the_secret_key_cannot_decrypt_the_token(
        self, open_app: OpenApp, saleor_fake: RunningSaleorFake
    ) -> None:
        """Verifying and recording a webhook needs no secret: a wrong key must not lose events."""
        # given: the app restarted with another SALEOR_GORDON_SECRET_KEY
        app = await open_app()
        await install_from_fake(app, saleor_fake)
        app.runtime.secret_box = SecretBox("a-different-secret-key-than-the-one-used")
        order = saleor_fake.state.add_order()
        # when
        response = await deliver(app, saleor_fake, "ORDER_CREATED", order["id"])
        # then
        assert response.status_code == 200, response.text
        assert (await app.count_events(), await app.count_jobs()) == (1, 1)

    @pytest.mark.parametrize(
        "api_url",
        [
            "http://x:99999/graphql/",
            "http://[::1/graphql/",
            "http://x:port/graphql/",
            "http://shop.example.com/" + "a" * 2100,
        ],
        ids=["port-out-of-range", "unbalanced-ipv6", "port-not-a-number", "too-long"],
    )
    async def test_an_unusable_saleor_api_url_header_is_a_400(
        self, open_sqlite_app: OpenApp, saleor_fake: RunningSaleorFake, api_url: str
    ) -> None:
        # given
        app = await open_sqlite_app(transport=ForbiddenOutbound())
        order = saleor_fake.state.add_order()
        payload = saleor_fake.state.order_event_payload("ORDER_CREATED", order["id"])
        headers, body = saleor_fake.state.webhook_request("ORDER_CREATED", payload)
        headers["Saleor-Api-Url"] = api_url
        # when
        response = await app.client.post(ORDERS_PATH, headers=headers, content=body)
        # then
        assert response.status_code == 400
        assert error_of(response)["code"] == "INVALID_SALEOR_API_URL"

    @pytest.mark.parametrize(
        "body",
        [b"[" * 100_000, b'{"order": ' + b"1" * 5000 + b"}"],
        ids=["deeply-nested", "integer-too-long"],
    )
    async def test_deeply_nested_json_is_a_400(
        self,
        open_sqlite_app: OpenApp,
        install_recorded_shop: InstallRecorded,
        samples_dir: Path,
        body: bytes,
    ) -> None:
        # given
        app = await open_sqlite_app(transport=ForbiddenOutbound())
        await install_recorded_shop(app)
        recorded = load_one(samples_dir, "s01_se_paid/02_order_created")
        # when
        response = await post_recorded(app, recorded, body)
        # then
        assert response.status_code == 400
        assert error_of(response)["code"] == "MALFORMED_JSON"


# --- the bare ASGI endpoints (served before FastAPI's machinery) ---------------------------------


class TestBareEndpoints:
    """What FastAPI's handlers and middleware do for every other route, the webhook endpoints do
    themselves: the same coded errors, a logged 500 for a bug, the app's root path."""

    @pytest_asyncio.fixture
    async def shop(
        self, open_sqlite_app: OpenApp, install_recorded_shop: InstallRecorded
    ) -> WebApp:
        """The app on SQLite with the recorded shop installed, forbidden to call anyone."""
        app = await open_sqlite_app(transport=ForbiddenOutbound())
        await install_recorded_shop(app)
        return app

    async def test_a_bug_while_storing_is_a_logged_json_500_without_a_traceback(
        self,
        shop: WebApp,
        samples_dir: Path,
        monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        # given an inbox that fails with a programming error
        bug = RuntimeError("internal detail that must stay in the log")

        async def broken(*_args: object, **_kwargs: object) -> None:
            raise bug

        monkeypatch.setattr(EventInbox, "record_order_event", broken)
        caplog.set_level(logging.ERROR, logger="saleor_gordon")
        # when
        response = await post_recorded(shop, load_one(samples_dir, "s01_se_paid/02_order_created"))
        # then Saleor is told to retry, and the operator finds the bug in the log
        assert response.status_code == 500
        assert error_of(response)["code"] == "INTERNAL_ERROR"
        assert "internal detail" not in response.text
        (record,) = [r for r in caplog.records if r.getMessage().startswith("request.failed")]
        assert record.getMessage() == "request.failed method=POST path=/api/webhooks/orders"
        assert record.exc_info is not None
        assert record.exc_info[1] is bug

    async def test_an_undecryptable_secret_names_the_setting_to_check(
        self, shop: WebApp, samples_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given
        async def undecryptable(*_args: object, **_kwargs: object) -> None:
            raise SecretsError()

        monkeypatch.setattr(EventInbox, "record_order_event", undecryptable)
        # when
        response = await post_recorded(shop, load_one(samples_dir, "s01_se_paid/02_order_created"))
        # then
        assert response.status_code == 500
        assert error_of(response)["code"] == "SECRETS_UNREADABLE"

    async def test_a_webhook_below_the_apps_root_path_is_served(
        self, shop: WebApp, samples_dir: Path
    ) -> None:
        # given the app mounted below /gordon by its proxy
        recorded = load_one(samples_dir, "s01_se_paid/02_order_created")
        transport = httpx.ASGITransport(app=create_app(shop.runtime), root_path="/gordon")
        async with httpx.AsyncClient(transport=transport, base_url=APP_URL) as client:
            # when
            response = await client.post(
                "/gordon" + recorded.path, headers=recorded.replay_headers(), content=recorded.body
            )
        # then
        assert response.status_code == 200
        assert response.json()["success"] is True
        assert await shop.count_events() == 1

    async def test_a_client_that_leaves_mid_body_gets_no_answer_and_stores_nothing(
        self, shop: WebApp, samples_dir: Path
    ) -> None:
        # given a webhook whose sender disconnects after half of the body
        recorded = load_one(samples_dir, "s01_se_paid/02_order_created")
        messages: list[dict[str, Any]] = [
            {"type": "http.request", "body": recorded.body[:100], "more_body": True},
            {"type": "http.disconnect"},
        ]
        sent: list[object] = []

        async def receive() -> dict[str, Any]:
            return messages.pop(0)

        async def send(message: object) -> None:
            sent.append(message)

        scope: dict[str, Any] = {
            "type": "http",
            "method": "POST",
            "path": recorded.path,
            "root_path": "",
            "headers": [
                (name.lower().encode("latin-1"), value.encode("latin-1"))
                for name, value in recorded.replay_headers().items()
            ],
        }
        # when
        await create_app(shop.runtime)(scope, receive, send)
        # then
        assert sent == []
        assert messages == []
        assert await shop.count_events() == 0


@pytest.mark.parametrize(
    ("order_id", "number", "answer", "kept_number"),
    [
        ("T3JkZXI6MQ==\x00", "45", 400, None),
        ("T3JkZXI6MQ==\nforged", "45", 400, None),
        ("T3JkZXI6MQ==", "4\x005", 200, None),
        ("T3JkZXI6MQ==", "9" * 65, 200, None),
        ("T3JkZXI6MQ==", "9" * 64, 200, "9" * 64),
    ],
    ids=["nul-id", "two-line-id", "nul-number", "long-number", "longest-number"],
)
async def test_an_order_event_with_text_no_column_holds_is_answered_for_good(
    open_app: OpenApp,
    saleor_fake: RunningSaleorFake,
    order_id: str,
    number: str,
    answer: int,
    kept_number: str | None,
) -> None:
    """A NUL failed the event's insert on PostgreSQL: 503 STORE_UNAVAILABLE ("the app cannot
    reach its database"), which Saleor redelivers for ever. An order id the app cannot keep is
    a 400 (never redelivered); a number it cannot keep is left out of the event."""
    app = await open_app()
    installation = await install_from_fake(app, saleor_fake)
    order = saleor_fake.state.add_order()
    payload = saleor_fake.state.event_payload("ORDER_FULLY_PAID", order_id=order["id"])
    payload["order"] = {**payload["order"], "id": order_id, "number": number}
    headers, body = saleor_fake.state.webhook_request("ORDER_FULLY_PAID", payload)

    response = await app.client.post(ORDERS_PATH, headers=headers, content=body)

    assert response.status_code == answer, response.text
    if answer == 400:
        assert error_of(response)["code"] == "INVALID_PAYLOAD"
        assert (await app.count_events(), await app.count_jobs()) == (0, 0)
    else:
        job = await app.runtime.jobs.find_job(installation.id, order_id)
        assert job is not None
        assert job.order_number == kept_number
