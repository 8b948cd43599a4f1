"""In-process fixtures for ``jobs/attempt.py`` and ``jobs/worker.py``: the real store (SQLite), the Saleor fake
and the Gordon sandbox on loopback sockets, a clock that moves only when told, and an outbound
transport that lets a test act at the moment the app sends a given request.

    async def test_x(bench):
        order = bench.paid_order()
        await bench.event(order)
        result = await bench.attempt()
        assert result.status is JobStatus.SYNCED
"""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from saleor_gordon.core.retry import RetryPolicy
from saleor_gordon.core.shop_config import parse_shop_config
from saleor_gordon.fakes.gordon_sandbox import (
    RunningSandbox,
)
from saleor_gordon.jobs.attempt import JobServices
from saleor_gordon.jobs.lifecycle import (
    GordonCopy,
    PushRecorded,
    Transition,
    WithdrawalRecorded,
)
from saleor_gordon.jobs.queue import ClaimedJob, enqueue_order_job
from saleor_gordon.jobs.views import JobView
from saleor_gordon.jobs.worker import run_attempt
from saleor_gordon.runtime import Runtime
from saleor_gordon.secret_box import SecretBox
from saleor_gordon.settings import Settings
from saleor_gordon.store.database import create_engine, migrate
from saleor_gordon.store.installations import Installation
from tests.conftest import TEST_SECRET_KEY
from tests.support.fixtures import RunningSaleorFake, StartSandbox
from tests.support.shop import DELIVERY_GROUP, shop_config

START = datetime.now(UTC).replace(microsecond=0)
"""Where the bench clock starts (real time: the recorded order's dates are near it)."""
FIRST_DELAY = 5.0
MAX_AGE = timedelta(hours=1)
LEASE_SECONDS = 30.0
GORDON_TIMEOUT = 3.0  # seconds: a lost answer is noticed within this; room for a loaded machine


class Clock:
    """``Runtime.clock``: moves only when told."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now

    def to(self, moment: datetime) -> None:
        self.now = moment


Hook = Callable[[httpx.Request], httpx.Response | None]


@cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context for every bench transport (building one takes a tenth of a second; the
    bench speaks plain HTTP to loopback, so it is never used)."""
    return ssl.create_default_context()


def _transport() -> httpx.AsyncHTTPTransport:
    return httpx.AsyncHTTPTransport(verify=_ssl_context())


@dataclass
class Outbound(httpx.AsyncBaseTransport):
    """The app's outbound transport: real HTTP, with hooks run just before matching requests.

    A hook may change the fakes' state (Saleor revokes the token now), or answer in place of the
    server (return a response). Each hook runs once.
    """

    inner: httpx.AsyncBaseTransport = field(default_factory=_transport)
    hooks: list[tuple[Callable[[httpx.Request], bool], Hook]] = field(default_factory=list)

    def on(self, matches: Callable[[httpx.Request], bool], hook: Hook) -> None:
        self.hooks.append((matches, hook))

    def on_operation(self, operation: str, hook: Hook) -> None:
        """Run ``hook`` before the next GraphQL request for ``operation`` (e.g. a mutation)."""
        self.on(lambda request: graphql_operation(request) == operation, hook)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for index, (matches, hook) in enumerate(self.hooks):
            if matches(request):
                del self.hooks[index]
                answer = hook(request)
                if answer is not None:
                    return answer
                break
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def graphql_operation(request: httpx.Request) -> str | None:
    if not request.url.path.endswith("/graphql/"):
        return None
    body = json.loads(request.content or b"{}")
    query = body.get("query", "")
    for word in ("query", "mutation"):
        if query.lstrip().startswith(word):
            return str(query.split()[1].split("(")[0])
    return None


def unavailable(retry_after: str | None = None) -> Hook:
    """A hook that answers 503 (with Retry-After if given) in place of the server."""
    headers = {"Retry-After": retry_after} if retry_after is not None else {}

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"error": "unavailable"}, headers=headers)

    return answer


@dataclass
class Bench:
    runtime: Runtime
    services: JobServices
    saleor: RunningSaleorFake
    gordon: RunningSandbox
    clock: Clock
    outbound: Outbound
    installation: Installation
    claimed: list[ClaimedJob] = field(default_factory=list)

    # --- the shop ------------------------------------------------------------------------------

    async def configure(self, **overrides: Any) -> None:
        config = parse_shop_config(shop_config(self.gordon.base_url, **overrides))
        await self.runtime.installations.save_config(self.installation.id, config, now=self.clock())

    def paid_order(self, *, delivery_in_days: int = 7, **fields: Any) -> dict[str, Any]:
        """A copy of the recorded order 45, paid, asking for delivery ``delivery_in_days`` on."""
        day = (self.clock() + timedelta(days=delivery_in_days)).date().isoformat()
        metadata = [
            {"key": "gordon.delivery_date", "value": day},
            {"key": "gordon.time_window", "value": "17:00 - 21:00"},
        ]
        return self.saleor.state.add_order(metadata=metadata, **fields)

    async def event(self, order: dict[str, Any], event: str = "ORDER_FULLY_PAID") -> int:
        """Saleor told the app about ``order`` (as the webhook route records it)."""
        async with self.runtime.engine.begin() as connection:
            return await enqueue_order_job(
                connection,
                installation_id=self.installation.id,
                order_id=order["id"],
                order_number=order["number"],
                event=event,
                now=self.clock(),
            )

    # --- attempts ------------------------------------------------------------------------------

    async def claim(self) -> ClaimedJob | None:
        return await self.runtime.queue.claim_next_job(
            worker_id="bench",
            now=self.clock(),
            lease_seconds=LEASE_SECONDS,
            per_installation_limit=8,
        )

    async def run(self) -> tuple[ClaimedJob, Transition]:
        """Claim the due job and run one attempt, without recording it."""
        job = await self.claim()
        assert job is not None, "no job is due"
        self.claimed.append(job)
        return job, await run_attempt(self.services, job)

    async def attempt(self) -> Transition:
        """Claim the due job, run one attempt and record it, as a worker does."""
        job, result = await self.run()
        assert await self.runtime.queue.finish_job(job, result, now=self.clock())
        return result

    async def job(self, order: dict[str, Any]) -> JobView:
        found = await self.runtime.jobs.find_job(self.installation.id, order["id"])
        assert found is not None
        return found

    async def reinstall(self) -> None:
        """The app is installed again: a new token, the installation no longer revoked."""
        self.installation = await self.runtime.installations.save_installation(
            saleor_api_url=self.saleor.api_url,
            app_id=self.saleor.state.app_id,
            token=self.saleor.state.issue_token(),
            jwks=self.saleor.state.jwks,
            now=self.clock(),
        )

    # --- what happened -------------------------------------------------------------------------

    def gordon_calls(self, *refs: str) -> list[tuple[str, str, int]]:
        """``(method, path, status)`` of every order request Gordon received (for ``refs``)."""
        paths = {f"/api/orders/{ref}" for ref in refs}
        return [
            (str(entry["method"]), str(entry["path"]), int(str(entry["status"])))
            for entry in self.gordon.state.requests(path_prefix="/api/orders")
            if not refs or entry["path"] in paths or entry["path"] == "/api/orders"
        ]

    def metadata(self, order: dict[str, Any]) -> dict[str, str]:
        stored = self.saleor.state.order(order["id"])
        return {item["key"]: item["value"] for item in stored["metadata"]}

    def private_metadata(self, order: dict[str, Any]) -> dict[str, str]:
        stored = self.saleor.state.order(order["id"])
        return {item["key"]: item["value"] for item in stored["privateMetadata"]}

    def mutations(self) -> list[str]:
        return [mutation.field for mutation in self.saleor.state.mutations]


@pytest.fixture(scope="session")
def _migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite database migrated once for the session; each test gets a copy of the file."""
    path = tmp_path_factory.mktemp("sync-template") / "sync.db"

    async def build() -> None:
        engine = create_engine(f"sqlite:///{path}")
        await migrate(engine)
        await engine.dispose()

    # In a thread of its own: its event loop must not be the test's.
    thread = threading.Thread(target=asyncio.run, args=(build(),))
    thread.start()
    thread.join()
    assert path.exists()
    assert not path.with_name("sync.db-wal").exists()  # all of it is in the one file
    return path


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """Overrides of the Gordon sandbox's options (tests override this fixture)."""
    return {"delivery_groups": (DELIVERY_GROUP,)}


@pytest_asyncio.fixture
async def runtime(
    tmp_path: Path, _migrated_database: Path
) -> AsyncIterator[tuple[Runtime, Clock, Outbound]]:
    """A migrated SQLite runtime with the bench clock and outbound transport."""
    database = tmp_path / "sync.db"
    shutil.copyfile(_migrated_database, database)
    settings = Settings(
        database_url=f"sqlite:///{database}",
        secret_key=TEST_SECRET_KEY,
        gordon_timeout_seconds=GORDON_TIMEOUT,
        saleor_timeout_seconds=5.0,
        lease_seconds=LEASE_SECONDS,
        retry_first_delay_seconds=FIRST_DELAY,
        retry_max_age_hours=MAX_AGE.total_seconds() / 3600,
    )
    engine = create_engine(settings.database_url)
    clock, outbound = Clock(), Outbound()
    async with httpx.AsyncClient(transport=outbound) as http:
        yield (
            Runtime(
                settings=settings,
                engine=engine,
                secret_box=SecretBox(TEST_SECRET_KEY),
                http=http,
                clock=clock,
            ),
            clock,
            outbound,
        )
    await engine.dispose()


def bench_services(runtime: Runtime) -> JobServices:
    """Backoff without jitter (``random`` 0.5 is the middle) and no shared rate schedule."""
    policy = RetryPolicy(first_delay=FIRST_DELAY, max_delay=60.0, max_age=MAX_AGE)
    return JobServices(runtime=runtime, retry_policy=policy, random=lambda: 0.5)


@pytest_asyncio.fixture
async def unconfigured_bench(
    runtime: tuple[Runtime, Clock, Outbound],
    saleor_fake: RunningSaleorFake,
    start_gordon_sandbox: StartSandbox,
    sandbox_options: dict[str, Any],
) -> Bench:
    """An installed shop that has not stored its configuration yet."""
    app_runtime, clock, outbound = runtime
    state = saleor_fake.state
    installation = await app_runtime.installations.save_installation(
        saleor_api_url=saleor_fake.api_url,
        app_id=state.app_id,
        token=state.issue_token(),
        jwks=state.jwks,
        now=clock(),
    )
    return Bench(
        runtime=app_runtime,
        services=bench_services(app_runtime),
        saleor=saleor_fake,
        gordon=start_gordon_sandbox(**sandbox_options),
        clock=clock,
        outbound=outbound,
        installation=installation,
    )


@pytest_asyncio.fixture
async def bench(unconfigured_bench: Bench) -> Bench:
    """An installed, configured shop (trigger ORDER_FULLY_PAID, delivery group Gordon Store)."""
    await unconfigured_bench.configure()
    return unconfigured_bench


def history(result: Transition) -> list[tuple[str, str]]:
    return [(entry.action, entry.outcome) for entry in result.history]


def pushed_copy(result: Transition, *, at: datetime | None = None) -> GordonCopy:
    """What ``result`` records of the copy Gordon accepted (pushed ``at``, when given)."""
    assert isinstance(result.gordon, PushRecorded), result.gordon
    if at is not None:
        assert result.gordon.at == at
    return result.gordon.copy


def pushed_at(result: Transition) -> datetime:
    """When ``result`` records that Gordon's copy last changed (a push or a withdrawal)."""
    assert isinstance(result.gordon, PushRecorded | WithdrawalRecorded), result.gordon
    return result.gordon.at
