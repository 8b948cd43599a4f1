"""Orders fully synced per second, Saleor fake -> app -> Gordon sandbox, against the ideal C/L.

Real processes over loopback, as ``tests/e2e`` runs them: ``saleor-gordon serve`` (SQLite: with
``--concurrency`` workers; PostgreSQL: web only, beside two ``saleor-gordon worker`` processes of
``--concurrency`` workers each), the Saleor fake and the Gordon sandbox served by this process
(``saleor_gordon/fakes``). The sandbox answers every request after ``--latency`` seconds and
creates orders on PUT (``tolerant_update``), so one order costs one Gordon call. The shop is
installed through the real ``/api/register`` and configured as ``config set`` does.

``--orders`` paid orders get their ``ORDER_FULLY_PAID`` webhook (signed, 8 in flight, rendered
before the clock starts); an order counts as synced once Saleor holds its ``gordon.tracking_id``
and ``gordon.status = synced`` (pushed and written back). The rate is taken from the first order
synced to the last. Ideal: every worker always waiting on Gordon, ``workers / latency``.
Baseline, in the same run: the same number of workers as plain loops of one GET each against the
same sandbox (its latency, loopback, this process's event loop): what the harness itself allows.

The Gordon rate limit (``GORDON_REQUESTS_PER_SECOND``, 5 by default) and the per-shop share of
workers (``SHOP_CONCURRENCY``, half of them by default) would cap a one-shop benchmark far below
C/L by design; both are lifted so that the pipeline itself is measured. Periodic reconcile is off.

    uv run python bench/pipeline.py [--orders 240] [--latency 0.5] [--concurrency 4]
    uv run python bench/pipeline.py --postgres postgresql://postgres@127.0.0.1:5432/postgres
    uv run python bench/pipeline.py --short          # a few seconds: proves it runs

With ``--postgres`` the URL names a server whose user may create databases: the run creates a
database of its own there and drops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from saleor_gordon.core.shop_config import parse_shop_config
from saleor_gordon.fakes.gordon_sandbox import (
    RunningSandbox,
    SandboxOptions,
)
from saleor_gordon.secret_box import SecretBox
from saleor_gordon.store.database import create_engine
from saleor_gordon.store.installations import InstallationStore
from tests.support.app_process import (
    AppProcess,
    app_env,
    cpu_seconds,
    free_port,
    throwaway_postgres,
)
from tests.support.loopback import serve_sandbox_in_thread
from tests.support.saleor_fake import SaleorFakeState, running_saleor_fake
from tests.support.shop import DELIVERY_GROUP, shop_config

SECRET_KEY = "bench-secret-key-0123456789abcdef0123456789abcdef"  # noqa: S105 - throwaway data
CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret"  # noqa: S105 - the sandbox's throwaway credentials
EVENT = "ORDER_FULLY_PAID"
DELIVERIES_IN_FLIGHT = 8
WORKER_PROCESSES_ON_POSTGRES = 2
POLL_SECONDS = 0.02


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=None, help="orders per run (240; short 24)")
    parser.add_argument(
        "--latency", type=float, default=None, help="Gordon's answer time, seconds (0.5; short 0.2)"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="workers per worker process (4)")
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=None,
        help="run on PostgreSQL (a throwaway database on this server) with two worker processes",
    )
    parser.add_argument("--short", action="store_true", help="a few seconds, to prove it runs")
    parser.add_argument(
        "--keep-logs", action="store_true", help="print where the app processes' logs are kept"
    )
    args = parser.parse_args(argv)
    args.orders = args.orders or (24 if args.short else 240)
    args.latency = args.latency or (0.2 if args.short else 0.5)
    return args


@dataclass(frozen=True)
class Figures:
    rate: float
    elapsed: float
    first_synced: float
    cpu: dict[str, float]


# --------------------------------------------------------------------------------------------
# The run


class Pipeline:
    def __init__(
        self,
        args: argparse.Namespace,
        saleor: SaleorFakeState,
        gordon: RunningSandbox,
        database_url: str,
        workdir: Path,
    ) -> None:
        self.args = args
        self.saleor = saleor
        self.gordon = gordon
        self.database_url = database_url
        self.workdir = workdir
        self.app_url = f"http://127.0.0.1:{free_port()}"
        self.on_postgres = not database_url.startswith("sqlite")
        self.worker_processes = WORKER_PROCESSES_ON_POSTGRES if self.on_postgres else 1
        total_workers = args.concurrency * self.worker_processes
        settings = {
            "SALEOR_GORDON_WORKERS": str(args.concurrency),
            "SALEOR_GORDON_SHOP_CONCURRENCY": str(total_workers),
            "SALEOR_GORDON_GORDON_REQUESTS_PER_SECOND": "1000",
            "SALEOR_GORDON_RECONCILE_INTERVAL_SECONDS": "0",
            "SALEOR_GORDON_LOG_FORMAT": "json",
        }
        self.env = app_env(database_url, self.app_url, SECRET_KEY, settings)
        self.processes: dict[str, AppProcess] = {}

    @property
    def total_workers(self) -> int:
        return int(self.args.concurrency) * self.worker_processes

    def start(self, name: str, *args: str) -> None:
        process = AppProcess(list(args), self.env, self.workdir / f"{name}.log")
        process.start()
        self.processes[name] = process

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()

    async def start_app(self, http: httpx.AsyncClient) -> None:
        port = self.app_url.rsplit(":", 1)[1]
        serve = ["serve", "--host", "127.0.0.1", "--port", port]
        if self.on_postgres:
            migrate = AppProcess(["migrate"], self.env, self.workdir / "migrate.log")
            migrate.start()
            assert migrate.process is not None
            if await asyncio.to_thread(migrate.process.wait) != 0:
                raise RuntimeError(f"migrate failed:\n{migrate.log()}")
            self.start("serve", *serve, "--workers", "0")
            for index in range(self.worker_processes):
                concurrency = str(self.args.concurrency)
                self.start(f"worker-{index}", "worker", "--concurrency", concurrency)
        else:
            self.start("serve", *serve, "--workers", str(self.args.concurrency))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.process is not None and process.process.poll() is not None:
                    raise RuntimeError(f"{name} exited:\n{process.log()[-3000:]}")
            try:
                if (await http.get(self.app_url + "/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError("the app did not become ready:\n" + self.processes["serve"].log())

    async def install(self, http: httpx.AsyncClient) -> None:
        response = await self.saleor.install_app(http, self.app_url + "/api/manifest")
        response.raise_for_status()
        engine = create_engine(self.database_url)
        try:
            store = InstallationStore(engine, SecretBox(SECRET_KEY))
            installation = await store.get_installation(self.saleor.api_url)
            if installation is None:
                raise RuntimeError("the app did not store the installation")
            config = shop_config(
                self.gordon.base_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
            )
            await store.save_config(installation.id, parse_shop_config(config), now=_now())
        finally:
            await engine.dispose()

    async def run(self, http: httpx.AsyncClient) -> Figures:
        orders = [self.saleor.add_order() for _ in range(self.args.orders)]
        [hook] = self.saleor.webhooks_for(EVENT)
        payloads = [
            self.saleor.event_payload(EVENT, order_id=order["id"], query=hook.query)
            for order in orders
        ]
        pids = {name: process.pid for name, process in self.processes.items()}
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        cpu_before["bench (fakes)"] = time.process_time()
        started = time.monotonic()
        delivering = asyncio.create_task(self._deliver(http, hook.target_url, payloads))
        synced_at = await self._wait_synced([order["id"] for order in orders], delivering)
        await delivering
        cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
        cpu["bench (fakes)"] = time.process_time() - cpu_before["bench (fakes)"]
        self._check(orders)
        times = sorted(synced_at)
        window = times[-1] - times[0]
        return Figures(
            rate=(len(times) - 1) / window if window > 0 else float("nan"),
            elapsed=times[-1] - started,
            first_synced=times[0] - started,
            cpu=cpu,
        )

    async def _deliver(
        self, http: httpx.AsyncClient, target_url: str, payloads: list[dict[str, Any]]
    ) -> None:
        queue = list(reversed(payloads))

        async def sender() -> None:
            while queue:
                delivery = await self.saleor.deliver(http, target_url, EVENT, queue.pop())
                if delivery.status != 200:
                    raise RuntimeError(f"webhook answered {delivery.status}")

        await asyncio.gather(*(sender() for _ in range(DELIVERIES_IN_FLIGHT)))

    async def _wait_synced(
        self, order_ids: list[str], delivering: asyncio.Task[None]
    ) -> list[float]:
        pending = set(order_ids)
        synced_at: list[float] = []
        deadline = time.monotonic() + 30 + 10 * len(order_ids) * self.args.latency
        while pending:
            if delivering.done() and delivering.exception() is not None:
                await delivering
            now = time.monotonic()
            for order_id in list(pending):
                if _is_synced(self.saleor.orders[order_id]):
                    pending.discard(order_id)
                    synced_at.append(now)
            if now > deadline:
                raise RuntimeError(f"{len(pending)} orders not synced in time:\n{self._logs()}")
            await asyncio.sleep(POLL_SECONDS)
        return synced_at

    def _check(self, orders: list[dict[str, Any]]) -> None:
        """Every order is in Gordon, written once, with its tracking ID on the order."""
        stored = self.gordon.state.orders
        for order in orders:
            gordon_order = stored.get(order["number"])
            if gordon_order is None or gordon_order.writes != 1:
                raise RuntimeError(f"order {order['number']} not in Gordon exactly once")
            tracking = _metadata(order, "metadata").get("gordon.tracking_id")
            if tracking != gordon_order.tracking_id:
                raise RuntimeError(f"order {order['number']}: tracking ID {tracking!r}")

    def _logs(self) -> str:
        return "\n".join(
            f"--- {name}\n{process.log()[-3000:]}" for name, process in self.processes.items()
        )


def _metadata(order: dict[str, Any], kind: str) -> dict[str, str]:
    return {item["key"]: item["value"] for item in order.get(kind) or []}


def _is_synced(order: dict[str, Any]) -> bool:
    return bool(_metadata(order, "metadata").get("gordon.tracking_id")) and (
        _metadata(order, "privateMetadata").get("gordon.status") == "synced"
    )


def _now() -> datetime:
    return datetime.now(UTC)


async def baseline(gordon: RunningSandbox, *, loops: int, requests: int) -> float:
    """``loops`` plain loops of one GET each against the sandbox: requests per second."""
    async with httpx.AsyncClient(base_url=gordon.base_url, timeout=30) as http:
        token = (
            await http.post(
                "/oauth/token",
                json={
                    "grant_type": "client_credentials",
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                },
            )
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        left = requests

        async def loop() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                await http.get(f"/api/orders/baseline-{left}", headers=headers)

        started = time.monotonic()
        await asyncio.gather(*(loop() for _ in range(loops)))
        return requests / (time.monotonic() - started)


async def run(args: argparse.Namespace) -> None:
    options = SandboxOptions(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        delivery_groups=(DELIVERY_GROUP,),
        tolerant_update=True,
        latency=args.latency,
        max_recorded_requests=1000,
    )
    async with AsyncExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-pipeline-")))
        gordon = stack.enter_context(serve_sandbox_in_thread(options))
        _api_url, saleor = stack.enter_context(running_saleor_fake())
        if args.postgres:
            database_url = await stack.enter_async_context(throwaway_postgres(args.postgres))
        else:
            database_url = f"sqlite:///{workdir / 'saleor-gordon.db'}"
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
        pipeline = Pipeline(args, saleor, gordon, database_url, workdir)
        stack.callback(pipeline.stop)
        await pipeline.start_app(http)
        await pipeline.install(http)

        workers = pipeline.total_workers
        baseline_rate = await baseline(gordon, loops=workers, requests=args.orders)
        figures = await pipeline.run(http)
        if args.keep_logs:
            kept = Path(tempfile.mkdtemp(prefix="bench-pipeline-logs-"))
            for name, process in pipeline.processes.items():
                (kept / f"{name}.log").write_text(process.log(), encoding="utf-8")
            print(f"  logs kept in {kept}", file=sys.stderr)

    ideal = workers / args.latency
    if pipeline.on_postgres:
        layout = f"PostgreSQL, {pipeline.worker_processes} worker processes x {args.concurrency}"
    else:
        layout = f"SQLite, serve with {args.concurrency} workers"
    print(
        f"pipeline ({layout}, Gordon latency {args.latency:g} s, {args.orders} orders): "
        f"{figures.rate:.1f} orders/s; ideal C/L = {workers}/{args.latency:g} = {ideal:.1f}/s; "
        f"ratio {figures.rate / ideal:.2f} (target >= 0.9)"
    )
    print(
        f"  baseline {workers} bare loops against the sandbox: {baseline_rate:.1f} req/s "
        f"(ratio to ideal {baseline_rate / ideal:.2f}); pipeline/baseline "
        f"{figures.rate / baseline_rate:.2f}"
    )
    cpu = ", ".join(
        f"{name} {seconds / args.orders * 1000:.0f} ms" for name, seconds in figures.cpu.items()
    )
    print(
        f"  first order synced after {figures.first_synced:.2f} s, last after "
        f"{figures.elapsed:.1f} s; CPU per order: {cpu}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
