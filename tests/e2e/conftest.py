"""The whole system over loopback sockets: the real app (web + workers, as processes), the Saleor
fake and the Gordon sandbox.

``stack`` gives a test one installed, configured shop:

    async def test_x(stack):
        order = stack.paid_order()
        await stack.emit("ORDER_FULLY_PAID", order["id"])
        await stack.wait_until(lambda: stack.puts(order) == 1)
"""

from __future__ import annotations

import asyncio
import functools
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.core.shop_config import parse_shop_config
from saleor_gordon.fakes.gordon_sandbox import RunningSandbox
from saleor_gordon.jobs.views import JobViews
from saleor_gordon.secret_box import SecretBox
from saleor_gordon.store.database import create_engine
from saleor_gordon.store.installations import InstallationStore
from tests.conftest import PORT_ATTEMPTS, TEST_SECRET_KEY, candidate_port
from tests.support.app_process import AppProcess, app_env
from tests.support.fixtures import (  # noqa: F401 - tests/chaos imports these fixtures from here
    RunningSaleorFake,
    _fake_schema,
    saleor_fake,
    saleor_fake_factory,
    start_gordon_sandbox,
)
from tests.support.shop import CLIENT_SECRET, DELIVERY_GROUP, shop_config

__all__ = ["DELIVERY_GROUP", "shop_config"]

CRASH_SIGNS = ("job.crashed", "worker.error", "Traceback (most recent call last)")
APP_START_TIMEOUT = 120.0
"""Seconds ``serve`` may take to answer /readyz: importing the app alone costs about 3 s of CPU,
which a loaded 2-core machine stretches past 30 s."""

# Fast clocks for tests: short leases, quick polls and retries.
FAST_SETTINGS = {
    "SALEOR_GORDON_WORKERS": "2",
    # The attempt deadline is 0.8 x the lease (3.2 s): past the 3 s Gordon and Saleor deadlines,
    # so a request the tests hold in Gordon ends as the call's own failure, not the attempt's.
    "SALEOR_GORDON_LEASE_SECONDS": "4",
    "SALEOR_GORDON_WORKER_POLL_SECONDS": "0.1",
    "SALEOR_GORDON_RETRY_FIRST_DELAY_SECONDS": "0.2",
    "SALEOR_GORDON_RETRY_MAX_DELAY_SECONDS": "1",
    "SALEOR_GORDON_SALEOR_TIMEOUT_SECONDS": "3",
    "SALEOR_GORDON_GORDON_TIMEOUT_SECONDS": "3",
    "SALEOR_GORDON_GORDON_REQUESTS_PER_SECOND": "200",
    # No periodic reconcile unless a test asks for one (tests/e2e/test_reconcile.py).
    "SALEOR_GORDON_RECONCILE_INTERVAL_SECONDS": "0",
    "SALEOR_GORDON_LOG_LEVEL": "INFO",
    "SALEOR_GORDON_LOG_FORMAT": "json",
}


@dataclass
class Stack:
    saleor: RunningSaleorFake
    gordon: RunningSandbox
    env: dict[str, str]
    app_url: str
    http: httpx.AsyncClient
    tmp_path: Path
    engine: AsyncEngine
    processes: list[AppProcess] = field(default_factory=list)
    app_started: bool = False
    """The app has served at ``app_url`` (Saleor may know it): its port is fixed from then on."""

    # --- processes -----------------------------------------------------------------------------

    def run_command(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "saleor_gordon", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def start_process(self, *args: str, name: str) -> AppProcess:
        process = AppProcess(list(args), self.env, self.tmp_path / f"{name}.log")
        process.start()
        self.processes.append(process)
        return process

    async def start_app(self, *, workers: int = 2) -> AppProcess:
        """Start ``serve`` at ``app_url``; before it ever served, on another port when that one
        was taken meanwhile (by another test's server, say)."""
        for attempt in range(PORT_ATTEMPTS):
            port = self.app_url.rsplit(":", 1)[1]
            app = self.start_process(
                "serve", "--host", "127.0.0.1", "--port", port, "--workers", str(workers),
                name="app" if attempt == 0 else f"app-{attempt}",
            )  # fmt: skip
            await self.wait_until(
                functools.partial(self._ready_or_ended, app),
                timeout=APP_START_TIMEOUT,
                message=app.log,
            )
            if app.process is not None and app.process.poll() is None:
                self.app_started = True
                return app
            if self.app_started or "Address already in use" not in app.log():
                pytest.fail(f"serve ended:\n{app.log()}")
            self.processes.remove(app)  # its one line is not JSON: not a log to check
            self.app_url = f"http://127.0.0.1:{candidate_port()}"
            self.env["SALEOR_GORDON_APP_URL"] = self.app_url
        pytest.fail(f"{PORT_ATTEMPTS} ports were taken before serve could bind them")

    async def _ready_or_ended(self, app: AppProcess) -> bool:
        return (app.process is not None and app.process.poll() is not None) or await self._ready()

    async def _ready(self) -> bool:
        try:
            response = await self.http.get(self.app_url + "/readyz")
        except httpx.TransportError:
            return False
        return response.status_code == 200

    def stop_all(self) -> None:
        for process in self.processes:
            process.stop()

    # --- the shop ------------------------------------------------------------------------------

    async def install(self, **config_overrides: Any) -> None:
        response = await self.saleor.state.install_app(self.http, self.app_url + "/api/manifest")
        assert response.status_code == 200, response.text
        await self.configure(**config_overrides)

    async def configure(self, **overrides: Any) -> None:
        """Store the shop configuration as ``config set`` does (in-process, to keep tests fast)."""
        installation = await self.installations.get_installation(self.saleor.api_url)
        assert installation is not None
        config = parse_shop_config(shop_config(self.gordon.base_url, **overrides))
        await self.installations.save_config(installation.id, config, now=datetime.now(UTC))

    @property
    def installations(self) -> InstallationStore:
        return InstallationStore(self.engine, SecretBox(TEST_SECRET_KEY))

    def paid_order(self, **fields: Any) -> dict[str, Any]:
        """A copy of the recorded order 45, paid, asking for delivery in a week."""
        in_a_week = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
        metadata = [
            {"key": "gordon.delivery_date", "value": in_a_week},
            {"key": "gordon.time_window", "value": "17:00 - 21:00"},
        ]
        return self.saleor.state.add_order(metadata=metadata, **fields)

    async def emit(
        self,
        event: str,
        order_id: str,
        *,
        times: int = 1,
        principal: dict[str, Any] | None = None,
    ) -> None:
        """Saleor sends ``event`` for the order; ``times`` > 1 redelivers the identical request."""
        state = self.saleor.state
        [hook] = state.webhooks_for(event)
        payload = state.event_payload(
            event, order_id=order_id, principal=principal, query=hook.query
        )
        for _ in range(times):
            delivery = await state.deliver(self.http, hook.target_url, event, payload)
            assert delivery.status == 200, delivery

    # --- what happened -------------------------------------------------------------------------

    def gordon_requests(self, method: str, order: dict[str, Any]) -> list[Any]:
        path = f"/api/orders/{order['number']}"
        return list(self.gordon.state.requests(method=method, path=path))

    def puts(self, order: dict[str, Any]) -> int:
        return len(self.gordon_requests("PUT", order))

    def metadata(self, order: dict[str, Any]) -> dict[str, str]:
        stored = self.saleor.state.order(order["id"])
        return {item["key"]: item["value"] for item in stored.get("metadata") or []}

    def private_metadata(self, order: dict[str, Any]) -> dict[str, str]:
        stored = self.saleor.state.order(order["id"])
        return {item["key"]: item["value"] for item in stored.get("privateMetadata") or []}

    async def jobs(self) -> list[dict[str, Any]]:
        """Every job (the chaos suite has thousands)."""
        return [job.to_dict() for job in await JobViews(self.engine).list_jobs(limit=1_000_000)]

    async def job_for(self, order: dict[str, Any]) -> dict[str, Any]:
        [job] = [job for job in await self.jobs() if job["order_id"] == order["id"]]
        found = await JobViews(self.engine).get_job(job["id"])
        assert found is not None
        return found.to_dict()

    async def wait_until(
        self,
        condition: Callable[[], Any],
        *,
        timeout: float = 20.0,  # noqa: ASYNC109 - a polling deadline, not an I/O timeout
        message: Callable[[], str] | None = None,
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            outcome = condition()
            if asyncio.iscoroutine(outcome):
                outcome = await outcome
            if outcome:
                return
            await asyncio.sleep(0.1)
        logs = "\n".join(f"--- {p.log_path.name}\n{p.log()[-4000:]}" for p in self.processes)
        extra = message() if message else ""
        pytest.fail(f"condition not met within {timeout} s\n{extra}\n{logs}")

    async def wait_quiet(self) -> None:
        """Wait until the app has nothing left to do: then "it did not happen" is final.

        Quiet means every webhook the app's requests caused in Saleor (the echo of each
        metadata write, the events of a fulfillment) has been delivered to it and answered, and
        every job is recorded and not due (none leased, none with a next attempt, except those
        of a revoked installation, which are never claimed). A fixed pause instead would be
        flaky on a loaded machine and vacuous on a slow one.
        """
        await self.wait_until(self._quiet, message=self._describe_jobs)

    async def _quiet(self) -> bool:
        """Quiet as of one look: no webhook on its way before it, jobs settled during it, and no
        webhook started or answered meanwhile (else its event may have come after the read)."""
        sends = self.saleor.state.webhook_sends
        started, finished = sends
        if started != finished:
            return False
        installation = await self.installations.get_installation(self.saleor.api_url)
        revoked = installation is not None and installation.revoked_at is not None
        settled = all(
            not job["in_progress"] and (job["next_attempt_at"] is None or revoked)
            for job in await self.jobs()
        )
        return settled and self.saleor.state.webhook_sends == sends

    def _describe_jobs(self) -> str:
        started, finished = self.saleor.state.webhook_sends
        return (
            "the app did not become quiet (jobs still due or leased, or Saleor's webhooks of "
            f"{started - finished} request(s) not yet answered)"
        )

    def assert_no_crash(self) -> None:
        """A crash that heals on retry must not pass unseen: no process may have logged one."""
        for process in self.processes:
            log = process.log()
            for sign in CRASH_SIGNS:
                if sign in log:
                    pytest.fail(f"{process.log_path.name} contains {sign!r}:\n{log[-6000:]}")

    def assert_json_logs(self) -> None:
        """Every line every process logged is a JSON object with the stable fields, and
        no credential or customer datum of the test orders appears anywhere in the logs."""
        never = self._never_logged()
        for process in self.processes:
            for number, line in enumerate(process.log().splitlines(), start=1):
                where = f"{process.log_path.name}:{number}: {line[:500]}"
                try:
                    entry = json.loads(line)
                except ValueError:
                    pytest.fail(f"not a JSON line, {where}")
                assert isinstance(entry, dict), where
                assert {"time", "level", "event", "logger", "message"} <= entry.keys(), where
                assert entry["time"].endswith("+00:00"), where
                for value in never:
                    assert value not in line, f"{value!r} logged, {where}"

    def _never_logged(self) -> set[str]:
        state = self.saleor.state
        values = {CLIENT_SECRET, TEST_SECRET_KEY, *state.tokens, *self.gordon.state.tokens}
        for order in state.orders.values():
            values.add(order.get("token") or "")
            values.add(order.get("userEmail") or "")
            values.add((order.get("user") or {}).get("email") or "")
            values.add(order.get("customerNote") or "")
            for kind in ("shippingAddress", "billingAddress"):
                address = order.get(kind) or {}
                phone = address.get("phone") or ""
                values.update((address.get("streetAddress1") or "", phone, phone.lstrip("+")))
                values.update((address.get("streetAddress2") or "", address.get("lastName") or ""))
                values.update((address.get("firstName") or "", address.get("postalCode") or ""))
        return {value for value in values if len(value) >= 4}


def stack_env(database_url: str, app_url: str) -> dict[str, str]:
    return app_env(database_url, app_url, TEST_SECRET_KEY, FAST_SETTINGS)


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """Overrides of the Gordon sandbox's options (tests override this fixture)."""
    return {"delivery_groups": (DELIVERY_GROUP,)}


@pytest_asyncio.fixture
async def stack(
    saleor_fake: RunningSaleorFake,
    start_gordon_sandbox: Callable[..., RunningSandbox],
    sandbox_options: dict[str, Any],
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    """An app process on SQLite with an installed and configured shop."""
    gordon = start_gordon_sandbox(**sandbox_options)
    async with running_stack(saleor_fake, gordon, tmp_path) as built:
        yield built


@asynccontextmanager
async def running_stack(
    saleor: RunningSaleorFake,
    gordon: RunningSandbox,
    tmp_path: Path,
    database_url: str | None = None,
    *,
    workers: int = 2,
    settings: dict[str, str] | None = None,
    configure: bool = True,
) -> AsyncIterator[Stack]:
    """Start the app (``serve``), install it in ``saleor`` and (unless not ``configure``)
    configure it for ``gordon``."""
    app_url = f"http://127.0.0.1:{candidate_port()}"  # start_app moves when it is taken
    database_url = database_url or f"sqlite:///{tmp_path / 'app.db'}"
    engine = create_engine(database_url)
    env = {**stack_env(database_url, app_url), **(settings or {})}
    async with httpx.AsyncClient(timeout=10) as http:
        built = Stack(saleor, gordon, env, app_url, http, tmp_path, engine)
        try:
            if not database_url.startswith("sqlite"):
                result = built.run_command("migrate")
                assert result.returncode == 0, result.stderr
            await built.start_app(workers=workers)
            if configure:
                await built.install()
            else:
                response = await saleor.state.install_app(http, built.app_url + "/api/manifest")
                assert response.status_code == 200, response.text
            yield built
            built.stop_all()
            built.assert_no_crash()
            built.assert_json_logs()
        finally:
            built.stop_all()
            await engine.dispose()
