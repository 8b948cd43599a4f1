"""``/metrics``: the listed series exist and move as a webhook is received and its job is pushed
(in process: the web app, the Saleor fake and the Gordon sandbox on loopback)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.shop_config import parse_shop_config
from saleor_gordon.fakes.gordon_sandbox import RunningSandbox
from saleor_gordon.jobs.attempt import JobServices
from saleor_gordon.jobs.worker import run_attempt
from saleor_gordon.web.app import create_app
from tests.e2e.conftest import shop_config
from tests.support.fixtures import RunningSaleorFake
from tests.support.shop import DELIVERY_GROUP
from tests.web.conftest import APP_URL, OpenApp, WebApp
from tests.web.test_webhooks import deliver

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient, **headers: str) -> Samples:
    response = await client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


async def installed_shop(
    app: WebApp, saleor_fake: RunningSaleorFake, gordon: RunningSandbox
) -> None:
    response = await saleor_fake.state.install_app(app.client, app.manifest_url)
    assert response.status_code == 200, response.text
    installation = await app.installation(saleor_fake.api_url)
    assert installation is not None
    config = parse_shop_config(shop_config(gordon.base_url))
    await app.runtime.installations.save_config(installation.id, config, now=app.runtime.clock())


async def run_due_job(app: WebApp) -> JobStatus:
    runtime = app.runtime
    job = await runtime.queue.claim_next_job(
        worker_id="test", now=runtime.clock(), lease_seconds=30, per_installation_limit=8
    )
    assert job is not None
    result = await run_attempt(JobServices.from_runtime(runtime), job)
    assert await runtime.queue.finish_job(job, result, now=runtime.clock())
    return result.status


def paid_order(saleor_fake: RunningSaleorFake, app: WebApp) -> dict[str, object]:
    day = (app.runtime.clock() + timedelta(days=7)).date().isoformat()
    metadata = [
        {"key": "gordon.delivery_date", "value": day},
        {"key": "gordon.time_window", "value": "17:00 - 21:00"},
    ]
    return saleor_fake.state.add_order(metadata=metadata)


async def test_the_series_move_when_a_webhook_arrives_and_its_job_is_pushed(
    open_app: OpenApp,
    saleor_fake: RunningSaleorFake,
    start_gordon_sandbox: Callable[..., RunningSandbox],
) -> None:
    app = await open_app()
    gordon = start_gordon_sandbox(delivery_groups=(DELIVERY_GROUP,))
    await installed_shop(app, saleor_fake, gordon)
    order = paid_order(saleor_fake, app)
    before = await scrape(app.client)

    payload = saleor_fake.state.event_payload("ORDER_FULLY_PAID", order_id=str(order["id"]))
    headers, body = saleor_fake.state.webhook_request("ORDER_FULLY_PAID", payload)
    for _ in range(2):  # Saleor redelivers the identical request: a duplicate
        response = await app.client.post("/api/webhooks/orders", headers=headers, content=body)
        assert response.status_code == 200, response.text
    received = await scrape(app.client)

    webhooks = "saleor_gordon_webhooks_total"
    for outcome, moved in (("accepted", 1), ("duplicate", 1), ("ignored", 0)):
        delta = value(received, webhooks, event="ORDER_FULLY_PAID", outcome=outcome) - value(
            before, webhooks, event="ORDER_FULLY_PAID", outcome=outcome
        )
        assert delta == moved, outcome
    assert value(received, "saleor_gordon_jobs", state="pending") == 1
    assert value(received, "saleor_gordon_jobs", state="synced") == 0
    assert value(received, "saleor_gordon_queue_depth") == 1
    assert value(received, "saleor_gordon_oldest_due_job_age_seconds") >= 0

    gordon.state.script_faults([503])  # the first push fails: a retry
    assert await run_due_job(app) is JobStatus.RETRYING
    retried = await scrape(app.client)
    assert (
        value(retried, "saleor_gordon_job_retries_total")
        - value(before, "saleor_gordon_job_retries_total")
        == 1
    )
    assert value(retried, "saleor_gordon_jobs", state="retrying") == 1
    written = "saleor_gordon_write_backs_total"
    # the order shows gordon.status=retrying: a write-back too
    assert (
        value(retried, written, outcome="written") - value(before, written, outcome="written") == 1
    )
    assert value(retried, "saleor_gordon_queue_depth") == 0  # not due before its backoff

    later = app.runtime.clock() + timedelta(hours=1)  # the backoff has passed
    app.runtime.clock = lambda: later
    due = await scrape(app.client)
    assert value(due, "saleor_gordon_queue_depth") == 1
    assert value(due, "saleor_gordon_oldest_due_job_age_seconds") > 3000

    assert await run_due_job(app) is JobStatus.SYNCED
    pushed = await scrape(app.client)

    assert value(pushed, "saleor_gordon_jobs", state="synced") == 1
    assert value(pushed, "saleor_gordon_jobs", state="retrying") == 0
    assert value(pushed, "saleor_gordon_queue_depth") == 0
    assert value(pushed, "saleor_gordon_oldest_due_job_age_seconds") == 0
    assert (
        value(pushed, "saleor_gordon_write_backs_total", outcome="written")
        - value(before, "saleor_gordon_write_backs_total", outcome="written")
        == 2  # and gordon.status=synced with the tracking ID
    )
    gordon_calls = "saleor_gordon_gordon_request_seconds_count"
    # the 503, then the order unknown to Gordon (404) is created with POST; each attempt
    # (a new JobServices here) fetches its token with a POST too
    for method, outcome, moved in (("PUT", "5xx", 1), ("PUT", "4xx", 1), ("POST", "2xx", 3)):
        delta = value(pushed, gordon_calls, method=method, outcome=outcome) - value(
            before, gordon_calls, method=method, outcome=outcome
        )
        assert delta == moved, (method, outcome)
    saleor_calls = "saleor_gordon_saleor_request_seconds_count"
    assert (
        value(pushed, saleor_calls, operation="OrderForGordon", outcome="ok")
        - value(before, saleor_calls, operation="OrderForGordon", outcome="ok")
        == 2
    )
    assert total(pushed, "saleor_gordon_saleor_request_seconds_sum") > total(
        before, "saleor_gordon_saleor_request_seconds_sum"
    )


async def test_a_webhook_refused_is_counted_as_rejected(
    open_sqlite_app: OpenApp, saleor_fake: RunningSaleorFake
) -> None:
    app = await open_sqlite_app()  # not installed: the webhook is refused
    order = saleor_fake.state.add_order()
    before = await scrape(app.client)

    response = await deliver(app, saleor_fake, "ORDER_FULLY_PAID", str(order["id"]))
    after = await scrape(app.client)

    assert response.status_code >= 400
    webhooks = "saleor_gordon_webhooks_total"
    assert (
        value(after, webhooks, event="ORDER_FULLY_PAID", outcome="rejected")
        - value(before, webhooks, event="ORDER_FULLY_PAID", outcome="rejected")
        == 1
    )


async def test_metrics_behind_a_bearer_token(open_sqlite_app: OpenApp) -> None:
    app = await open_sqlite_app()
    settings = app.runtime.settings.model_copy(update={"metrics_token": SecretStr("m-token-42")})
    guarded = create_app(dataclasses.replace(app.runtime, settings=settings))
    transport = httpx.ASGITransport(app=guarded)
    async with httpx.AsyncClient(transport=transport, base_url=APP_URL) as client:
        refused = [
            (await client.get("/metrics", headers=headers)).status_code
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "m-token-42"})
        ]
        samples = await scrape(client, Authorization="Bearer m-token-42")

    assert refused == [401, 401, 401]
    assert value(samples, "saleor_gordon_queue_depth") == 0
    assert value(samples, "saleor_gordon_jobs", state="pending") == 0
