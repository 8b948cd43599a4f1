"""Orders fully synced per second, Saleor fake -> app -> Gordon sandbox, against the ideal C/L,
and the app's CPU per synced order.

Real processes over loopback, as ``tests/e2e`` runs them: ``saleor-gordon serve`` (SQLite: with
its workers; PostgreSQL: web only, beside two ``saleor-gordon worker`` processes), the Saleor fake
and the Gordon sandbox served by this process (``saleor_gordon/fakes``). The sandbox answers every
request after L seconds and creates orders on PUT (``tolerant_update``), so one order costs one
Gordon call. The shop is installed through the real ``/api/register`` and configured as
``config set`` does. Two regimes, each with a fresh app, database and fakes:

- ``latency``: Gordon answers after 0.5 s, 4 workers (PostgreSQL: 4 in each worker process),
  240 orders: bound by Gordon's latency, it shows the round trips a job adds to it;
- ``cpu``: Gordon answers after 20 ms, 16 workers (PostgreSQL: 8 in each worker process), 400
  orders: the ideal is far beyond two cores, so it shows what an order costs the app.

The orders get their ``ORDER_FULLY_PAID`` webhook (8 in flight, rendered and signed before the
clock starts); an order counts as synced once Saleor holds its ``gordon.tracking_id`` and
``gordon.status = synced`` (pushed and written back), at the moment the fake applies that write
(``SyncWatch``). Each of those two metadata writes makes the Saleor fake send the app an
``ORDER_METADATA_UPDATED`` webhook, as Saleor does (signed, rendered from the installed
subscription, the app as issuing principal, after the mutation answered; protocol §3.6, sample
``s04_metadata_by_app``): the app receives three webhooks per order.

Rate = orders / (time of the last one synced - time the first webhook was sent). Ideal: every
worker always waiting on Gordon, ``workers / latency``. Baseline, in the same run and computed the
same way (requests / time from the first sent to the last answered): the same number of workers as
plain loops of one GET each against the same sandbox, from this process: what the harness itself
allows.

CPU: user + system time of the app's processes and their children (``bench/process_tree.py``: the
SQLite writer helper included), over the run, less the idle burn: the same processes' CPU over
``IDLE_SECONDS`` before the first webhook, scaled to the run's length. On PostgreSQL the server's
backends serving the run's database are reported beside it (not the app's, but the cost of its
statements), and its transactions per synced order (``pg_stat_database``: claims, lease renewals,
rate-limit slots, webhook groups, write-backs; a wake of every worker per webhook shows here). The
harness (fakes, this process) is reported too, with its share of a core over the run: its threads
share one interpreter lock, so near 100 % the harness, not the app, sets the rate.

The Gordon rate limit (``GORDON_REQUESTS_PER_SECOND``, 5 by default) and the per-shop share of
workers (``SHOP_CONCURRENCY``, half of them by default) would cap a one-shop benchmark far below
C/L by design; both are lifted so that the pipeline itself is measured. Periodic reconcile is off.

    uv run python bench/pipeline.py [--regime latency|cpu|both] [--orders N]
    uv run python bench/pipeline.py --latency 0.1 --concurrency 8   # one regime of your own
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
import threading
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from process_tree import DatabaseBackends, cpu_seconds, load_average

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
    throwaway_postgres,
)
from tests.support.loopback import serve_sandbox_in_thread
from tests.support.saleor_fake import SaleorFakeState, running_saleor_fake
from tests.support.shop import DELIVERY_GROUP, shop_config

SECRET_KEY = "bench-secret-key-0123456789abcdef0123456789abcdef"  # noqa: S105 - throwaway data
CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret"  # noqa: S105 - the sandbox's throwaway credentials
EVENT = "ORDER_FULLY_PAID"
ECHO = "order_metadata_updated"
DELIVERIES_IN_FLIGHT = 8
WORKER_PROCESSES_ON_POSTGRES = 2
POLL_SECONDS = 0.02
IDLE_SECONDS = 5.0
"""How long the app's idle CPU is measured before the first webhook (short runs: 1 s)."""


@dataclass(frozen=True)
class Regime:
    name: str
    latency: float
    """Seconds the Gordon sandbox takes to answer."""
    sqlite_workers: int
    """Workers of ``serve`` on SQLite."""
    postgres_workers: int
    """Workers of each of the two ``worker`` processes on PostgreSQL."""
    orders: int
    short_orders: int
    short_latency: float


REGIMES = {
    "latency": Regime("latency-bound", 0.5, 4, 4, 240, 24, 0.2),
    "cpu": Regime("CPU-bound", 0.02, 16, 8, 400, 40, 0.02),
}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--regime",
        choices=[*REGIMES, "both"],
        default="both",
        help="latency: Gordon at 0.5 s, 4 workers; cpu: Gordon at 20 ms, 16 workers (both)",
    )
    parser.add_argument("--orders", type=int, default=None, help="orders per regime (240 / 400)")
    parser.add_argument(
        "--latency", type=float, default=None, help="one regime of your own: Gordon's answer time"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        help="one regime of your own: workers per worker process",
    )
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
    if args.latency is not None or args.concurrency is not None:
        base = REGIMES["latency"]
        latency = args.latency if args.latency is not None else base.latency
        workers = args.concurrency if args.concurrency is not None else base.sqlite_workers
        custom = Regime("custom", latency, workers, workers, base.orders, 24, latency)
        regimes = [custom]
    else:
        regimes = list(REGIMES.values()) if args.regime == "both" else [REGIMES[args.regime]]
    args.runs = [
        (
            regime,
            args.orders or (regime.short_orders if args.short else regime.orders),
            regime.short_latency if args.short else regime.latency,
        )
        for regime in regimes
    ]
    args.idle_seconds = 1.0 if args.short else IDLE_SECONDS
    return args


@dataclass(frozen=True)
class Figures:
    rate: float
    elapsed: float
    first_synced: float
    cpu: dict[str, float]
    """CPU seconds of each app process tree over the run, idle burn not subtracted."""
    idle_cpu_per_second: dict[str, float]
    """CPU seconds per second of each app process tree while idle."""
    database_cpu: float | None
    transactions_before: int | None
    """PostgreSQL's count of the database's transactions when the first webhook was sent."""
    harness_cpu: float
    measured: float
    """Seconds over which ``cpu`` and ``harness_cpu`` were taken (to the last echo delivered)."""
    echoes: Counter[str]


# --------------------------------------------------------------------------------------------
# The run


class Pipeline:
    def __init__(
        self,
        args: argparse.Namespace,
        regime: Regime,
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
        self._app_url: str | None = None
        self.on_postgres = not database_url.startswith("sqlite")
        self.worker_processes = WORKER_PROCESSES_ON_POSTGRES if self.on_postgres else 1
        self.concurrency = regime.postgres_workers if self.on_postgres else regime.sqlite_workers
        settings = {
            "SALEOR_GORDON_WORKERS": str(self.concurrency),
            "SALEOR_GORDON_SHOP_CONCURRENCY": str(self.total_workers),
            "SALEOR_GORDON_GORDON_REQUESTS_PER_SECOND": "1000",
            "SALEOR_GORDON_RECONCILE_INTERVAL_SECONDS": "0",
            "SALEOR_GORDON_LOG_FORMAT": "json",
        }
        # No APP_URL: serve binds port 0 and its manifest names the address it listens on,
        # http://127.0.0.1:PORT (a loopback URL, as an explicit one: the same outbound policy).
        self.env = app_env(database_url, None, SECRET_KEY, settings)
        self.processes: dict[str, AppProcess] = {}

    @property
    def app_url(self) -> str:
        """Where serve listens (known once it does: ``start_app``)."""
        if self._app_url is None:
            raise RuntimeError("serve has not started")
        return self._app_url

    @property
    def total_workers(self) -> int:
        return self.concurrency * self.worker_processes

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> AppProcess:
        process = AppProcess(
            list(args), self.env if env is None else env, self.workdir / f"{name}.log"
        )
        process.start()
        self.processes[name] = process
        return process

    def stop(self) -> None:
        for process in self.processes.values():
            process.stop()

    async def start_app(self, http: httpx.AsyncClient) -> None:
        serve = ["serve", "--host", "127.0.0.1", "--port", "0"]
        if self.on_postgres:
            migrate = AppProcess(["migrate"], self.env, self.workdir / "migrate.log")
            migrate.start()
            assert migrate.process is not None
            if await asyncio.to_thread(migrate.process.wait) != 0:
                raise RuntimeError(f"migrate failed:\n{migrate.log()}")
            await self._start_serve(*serve, "--workers", "0")
            # The workers get the app URL serve's manifest names, as an operator sets it.
            env = {**self.env, "SALEOR_GORDON_APP_URL": self.app_url}
            for index in range(self.worker_processes):
                concurrency = str(self.concurrency)
                self.start(f"worker-{index}", "worker", "--concurrency", concurrency, env=env)
        else:
            await self._start_serve(*serve, "--workers", str(self.concurrency))
        # Ready: serve answers /readyz and every worker process has started its workers (they
        # start after serve, once its port is known: the run must not count their start-up).
        workers = [process for name, process in self.processes.items() if name != "serve"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.process is not None and process.process.poll() is not None:
                    raise RuntimeError(f"{name} exited:\n{process.log()[-3000:]}")
            try:
                serving = (await http.get(self.app_url + "/readyz")).status_code == 200
            except httpx.TransportError:
                serving = False
            if serving and all("worker.started" in worker.log() for worker in workers):
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"the app did not become ready:\n{self._logs()}")

    async def _start_serve(self, *args: str) -> None:
        """Start serve (``--port 0``) and learn the port it bound."""
        serve = self.start("serve", *args)
        port = await serve.listening_port(within=120)
        self._app_url = f"http://127.0.0.1:{port}"

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

    def _app_cpu(self) -> dict[str, float]:
        return {name: cpu_seconds(process.pid) for name, process in self.processes.items()}

    async def run(self, http: httpx.AsyncClient, orders_count: int, latency: float) -> Figures:
        orders = [self.saleor.add_order() for _ in range(orders_count)]
        [hook] = self.saleor.webhooks_for(EVENT)
        requests = [  # rendered and signed before the clock starts, as bench/ingest.py's
            self.saleor.webhook_request(
                EVENT, self.saleor.event_payload(EVENT, order_id=order["id"], query=hook.query)
            )
            for order in orders
        ]
        watch = SyncWatch(self.saleor, [order["id"] for order in orders])
        database = DatabaseBackends(self.database_url) if self.on_postgres else None
        idle_before, idle_started = self._app_cpu(), time.monotonic()
        await asyncio.sleep(self.args.idle_seconds)  # measuring the idle burn, not waiting on work
        idle_seconds = time.monotonic() - idle_started
        cpu_before = self._app_cpu()
        idle = {name: (cpu_before[name] - idle_before[name]) / idle_seconds for name in cpu_before}
        database_before = database.cpu() if database else {}
        transactions_before = await database.transactions() if database else None
        harness_before = time.process_time()
        deliveries_before = len(self.saleor.deliveries)
        started = time.monotonic()
        delivering = asyncio.create_task(self._deliver(http, hook.target_url, requests))
        synced_at = await self._wait_synced(watch, delivering, len(orders) * latency)
        await delivering
        # The echoes of the last write-backs are still being delivered: let them land.
        await self._wait_echoes(deliveries_before, 2 * len(orders))
        cpu = {name: seconds - cpu_before[name] for name, seconds in self._app_cpu().items()}
        harness = time.process_time() - harness_before
        measured = time.monotonic() - started
        database_cpu = database.spent_since(database_before) if database else None
        self._check(orders)
        times = sorted(synced_at)
        echoes = Counter(
            f"HTTP {d.status}" if d.status is not None else "no answer"
            for d in self.saleor.deliveries[deliveries_before:]
            if d.event == ECHO
        )
        return Figures(
            rate=len(times) / (times[-1] - started),
            elapsed=times[-1] - started,
            first_synced=times[0] - started,
            cpu=cpu,
            idle_cpu_per_second=idle,
            database_cpu=database_cpu,
            transactions_before=transactions_before,
            harness_cpu=harness,
            measured=measured,
            echoes=echoes,
        )

    async def _deliver(
        self, http: httpx.AsyncClient, target_url: str, requests: list[tuple[dict[str, str], bytes]]
    ) -> None:
        queue = list(reversed(requests))

        async def sender() -> None:
            while queue:
                headers, body = queue.pop()
                response = await http.post(target_url, content=body, headers=headers)
                if response.status_code != 200:
                    raise RuntimeError(f"webhook answered {response.status_code}")

        await asyncio.gather(*(sender() for _ in range(DELIVERIES_IN_FLIGHT)))

    async def _wait_synced(
        self, watch: SyncWatch, delivering: asyncio.Task[None], gordon_seconds: float
    ) -> list[float]:
        """When each order was synced; a failed delivery ends the wait with its error."""
        synced = asyncio.ensure_future(watch.all_synced.wait())
        try:
            async with asyncio.timeout(60 + 10 * gordon_seconds):
                await asyncio.wait({synced, delivering}, return_when=asyncio.FIRST_COMPLETED)
                if delivering.done():
                    await delivering
                await synced
        except TimeoutError:
            raise RuntimeError(
                f"{watch.pending} orders not synced in time:\n{self._logs()}"
            ) from None
        finally:
            synced.cancel()
            watch.stop()
        return watch.synced_at

    async def _wait_echoes(self, deliveries_before: int, expected: int) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            sent = self.saleor.deliveries[deliveries_before:]
            if sum(1 for d in sent if d.event == ECHO) >= expected:
                return
            await asyncio.sleep(POLL_SECONDS)

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


class SyncWatch:
    """When each of ``order_ids`` became synced: told by the Saleor fake as it applies the
    write-back that completes an order (``on_metadata_changed``, in the fake's thread), so the
    time is the write's own and no order is read again and again."""

    def __init__(self, saleor: SaleorFakeState, order_ids: list[str]) -> None:
        self._saleor = saleor
        self._waiting = set(order_ids)
        self._lock = threading.Lock()
        self._loop = asyncio.get_running_loop()
        self.synced_at: list[float] = []
        self.all_synced = asyncio.Event()
        saleor.on_metadata_changed = self._changed

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._waiting)

    def stop(self) -> None:
        self._saleor.on_metadata_changed = None

    def _changed(self, order_id: str) -> None:
        now = time.monotonic()
        with self._lock:
            if order_id not in self._waiting or not _is_synced(self._saleor.orders[order_id]):
                return
            self._waiting.discard(order_id)
            self.synced_at.append(now)
            if not self._waiting:
                self._loop.call_soon_threadsafe(self.all_synced.set)


def _metadata(order: dict[str, Any], kind: str) -> dict[str, str]:
    return {item["key"]: item["value"] for item in order.get(kind) or []}


def _is_synced(order: dict[str, Any]) -> bool:
    return bool(_metadata(order, "metadata").get("gordon.tracking_id")) and (
        _metadata(order, "privateMetadata").get("gordon.status") == "synced"
    )


def _now() -> datetime:
    return datetime.now(UTC)


async def baseline(gordon: RunningSandbox, *, loops: int, requests: int) -> float:
    """``loops`` plain loops of one GET each against the sandbox: requests per second, from the
    first request sent to the last answered."""
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


async def run_regime(args: argparse.Namespace, regime: Regime, orders: int, latency: float) -> None:
    options = SandboxOptions(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        delivery_groups=(DELIVERY_GROUP,),
        tolerant_update=True,
        latency=latency,
        max_recorded_requests=1000,
    )
    load_before = load_average()
    async with AsyncExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-pipeline-")))
        gordon = stack.enter_context(serve_sandbox_in_thread(options))
        _api_url, saleor = stack.enter_context(running_saleor_fake())
        if args.postgres:
            database_url = await stack.enter_async_context(throwaway_postgres(args.postgres))
        else:
            database_url = f"sqlite:///{workdir / 'saleor-gordon.db'}"
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
        pipeline = Pipeline(args, regime, saleor, gordon, database_url, workdir)
        stack.callback(pipeline.stop)
        if args.keep_logs:
            stack.callback(_keep_logs, pipeline)
        await pipeline.start_app(http)
        await pipeline.install(http)

        workers = pipeline.total_workers
        baseline_rate = await baseline(gordon, loops=workers, requests=orders)
        figures = await pipeline.run(http, orders, latency)
        transactions = None
        if figures.transactions_before is not None:
            pipeline.stop()  # its backends report their counts as they end
            await asyncio.sleep(1.0)  # and the server gathers them
            ended = await DatabaseBackends(database_url).transactions()
            transactions = ended - figures.transactions_before
    report(pipeline, regime, orders, latency, baseline_rate, figures, load_before, transactions)


def _keep_logs(pipeline: Pipeline) -> None:
    """The app processes' logs written to a new directory (also when the run failed)."""
    kept = Path(tempfile.mkdtemp(prefix="bench-pipeline-logs-"))
    for name, process in pipeline.processes.items():
        (kept / f"{name}.log").write_text(process.log(), encoding="utf-8")
    print(f"  logs kept in {kept}", file=sys.stderr)


def report(
    pipeline: Pipeline,
    regime: Regime,
    orders: int,
    latency: float,
    baseline_rate: float,
    figures: Figures,
    load_before: str,
    transactions: int | None,
) -> None:
    workers = pipeline.total_workers
    ideal = workers / latency
    if pipeline.on_postgres:
        layout = (
            f"PostgreSQL, {pipeline.worker_processes} worker processes x {pipeline.concurrency}"
        )
    else:
        layout = f"SQLite, serve with {pipeline.concurrency} workers"
    print(
        f"pipeline {regime.name} ({layout}, Gordon latency {latency:g} s, {orders} orders): "
        f"{figures.rate:.1f} orders/s; ideal C/L = {workers}/{latency:g} = {ideal:.1f}/s; "
        f"ratio {figures.rate / ideal:.3f}"
    )
    print(
        f"  baseline {workers} bare loops against the sandbox: {baseline_rate:.1f} req/s "
        f"(ratio to ideal {baseline_rate / ideal:.2f}); pipeline/baseline "
        f"{figures.rate / baseline_rate:.3f}"
    )
    elapsed = figures.elapsed
    idle_total = sum(figures.idle_cpu_per_second.values())
    busy = {
        name: max(seconds - figures.idle_cpu_per_second[name] * elapsed, 0.0)
        for name, seconds in figures.cpu.items()
    }
    per_order = sum(busy.values()) / orders * 1000
    parts = ", ".join(f"{name} {seconds / orders * 1000:.1f} ms" for name, seconds in busy.items())
    print(
        f"  app CPU per synced order (all its processes and their children, idle burn "
        f"subtracted): {per_order:.1f} ms ({parts}); idle burn {idle_total * 100:.1f} % of a "
        f"core; app busy {sum(figures.cpu.values()) / figures.measured * 100:.0f} % of a core"
    )
    extra = ""
    if figures.database_cpu is not None and transactions is not None:
        extra = (
            f"; PostgreSQL backends of its database {figures.database_cpu / orders * 1000:.1f} ms"
            f", {transactions / orders:.0f} transactions per order"
        )
    echoes = ", ".join(f"{n} {kind}" for kind, n in sorted(figures.echoes.items()))
    harness_busy = figures.harness_cpu / figures.measured * 100
    print(
        f"  harness (fakes, this process) {figures.harness_cpu / orders * 1000:.1f} ms per order"
        f", busy {harness_busy:.0f} % of a core{extra}; ORDER_METADATA_UPDATED echoes "
        f"{figures.echoes.total()} ({echoes}); first "
        f"order synced after {figures.first_synced:.2f} s, last after {elapsed:.1f} s; load "
        f"average before {load_before}, after {load_average()}"
    )


async def run(args: argparse.Namespace) -> None:
    for regime, orders, latency in args.runs:
        await run_regime(args, regime, orders, latency)


def main(argv: Sequence[str] | None = None) -> None:
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
