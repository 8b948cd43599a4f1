"""Peak resident memory of ``saleor-gordon serve``: with 10,000 queued jobs, and through one burst of
signed webhooks, each against the same process kind measured idle in the same run.

``queue``: a migrated database (SQLite file, or a throwaway PostgreSQL database with
``--postgres``) gets one installation of the Saleor fake, configured for the Gordon sandbox, and
``--jobs`` due sync jobs, inserted in batches as the rows ``enqueue_order_job`` makes (one per
order, as the webhook path queues them; the orders exist in the fake). Then ``serve --workers 4`` starts and
its workers page through the queue for ``--seconds`` (each job reads its order from Saleor,
pushes it to the sandbox and writes the tracking ID back, which Saleor echoes to the app as two
``ORDER_METADATA_UPDATED`` webhooks) while ``/metrics`` is scraped every second (its gauges count
the whole queue). Baseline: the same, with no jobs queued.

``burst``: ``serve --workers 0`` with the shop installed through the real ``/api/register``
receives ``--webhooks`` signed ``ORDER_FULLY_PAID`` webhooks (each for another order, signed
before the clock starts, 16 in flight). Baseline: the same process after 20 warm-up webhooks.

Peak = the sum over ``serve``'s process tree (``bench/process_tree.py``: on SQLite the inbox's
writer helper process too) of each process's ``VmHWM`` (``/proc/<pid>/status``, Linux: the
high-water mark of its resident set since it started), read before it stops: what the app takes
from the machine at most. Target: <= 150 MB with 10,000 queued jobs.

    uv run python bench/memory.py [--jobs 10000] [--webhooks 2000] [--seconds 20]
    uv run python bench/memory.py --postgres postgresql://postgres@127.0.0.1:5432/postgres
    uv run python bench/memory.py --short            # a few seconds: proves it runs
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from process_tree import PeakMemory, load_average, peak_memory
from sqlalchemy import insert

from saleor_gordon import __version__
from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.order_events import EVENT_BITS
from saleor_gordon.core.shop_config import parse_shop_config
from saleor_gordon.fakes.gordon_sandbox import SandboxOptions
from saleor_gordon.saleor.documents import document_paths
from saleor_gordon.saleor.manifest import build_manifest
from saleor_gordon.secret_box import SecretBox
from saleor_gordon.store.database import create_engine, migrate
from saleor_gordon.store.installations import InstallationStore
from saleor_gordon.store.tables import sync_jobs
from tests.support.app_process import AppProcess, app_env, throwaway_postgres
from tests.support.loopback import serve_sandbox_in_thread
from tests.support.saleor_fake import SaleorFakeState, global_id, running_saleor_fake
from tests.support.shop import DELIVERY_GROUP, shop_config

SECRET_KEY = "bench-secret-key-0123456789abcdef0123456789abcdef"  # noqa: S105 - throwaway data
CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret"  # noqa: S105 - the sandbox's throwaway credentials
EVENT = "ORDER_FULLY_PAID"
TARGET_MB = 150
WORKERS = 4
BURST_IN_FLIGHT = 16
WARMUP_WEBHOOKS = 20
ENQUEUE_BATCH = 500
START_SECONDS = 240
"""How long serve may take to listen, then to become ready: imports alone take long on a loaded
machine."""
APP_MUTATIONS = tuple(path.stem for path in document_paths() if path.parent.name == "mutations")
"""Every mutation the app sends Saleor (``graphql/mutations/<OperationName>.graphql``)."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=None, help="queued jobs (10000; short 500)")
    parser.add_argument(
        "--webhooks", type=int, default=None, help="webhooks in the burst (2000; short 200)"
    )
    parser.add_argument(
        "--seconds", type=float, default=None, help="how long the workers run (20; short 2)"
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        default=None,
        help="run on PostgreSQL (a throwaway database on this server, dropped at the end)",
    )
    parser.add_argument("--short", action="store_true", help="a few seconds, to prove it runs")
    args = parser.parse_args(argv)
    args.jobs = args.jobs if args.jobs is not None else (500 if args.short else 10_000)
    args.webhooks = args.webhooks or (200 if args.short else 2000)
    args.seconds = args.seconds or (2.0 if args.short else 20.0)
    return args


@dataclass(frozen=True)
class Peak:
    peak_mb: float
    detail: str


def _mb(kib: int) -> float:
    return kib / 1024


class Serve:
    """One ``serve`` process on ``database_url`` (127.0.0.1, on the port it binds: ``--port 0``).
    Entered: started and listening, its URL known; ``ready()`` waits until it serves."""

    def __init__(self, database_url: str, workdir: Path, name: str, *, workers: int) -> None:
        self._app_url: str | None = None
        settings = {
            "SALEOR_GORDON_WORKERS": str(workers),
            "SALEOR_GORDON_SHOP_CONCURRENCY": str(max(workers, 1)),
            "SALEOR_GORDON_GORDON_REQUESTS_PER_SECOND": "1000",
            "SALEOR_GORDON_RECONCILE_INTERVAL_SECONDS": "0",
            "SALEOR_GORDON_LOG_FORMAT": "json",
            "SALEOR_GORDON_LOG_LEVEL": "WARNING",
        }
        # No APP_URL: serve's manifest names the address it listens on, http://127.0.0.1:PORT (a
        # loopback URL, as the explicit one was: the same outbound policy).
        env = app_env(database_url, None, SECRET_KEY, settings)
        args = ["serve", "--host", "127.0.0.1", "--port", "0", "--workers", str(workers)]
        self.process = AppProcess(args, env, workdir / f"{name}.log")

    @property
    def app_url(self) -> str:
        if self._app_url is None:
            raise RuntimeError("serve has not started")
        return self._app_url

    async def __aenter__(self) -> Serve:
        self.process.start()
        try:
            port = await self.process.listening_port(within=START_SECONDS)
        except BaseException:
            self.process.stop()
            raise
        self._app_url = f"http://127.0.0.1:{port}"
        return self

    async def ready(self) -> Serve:
        async with httpx.AsyncClient(timeout=5) as http:
            deadline = time.monotonic() + START_SECONDS
            while time.monotonic() < deadline:
                if self.process.process is not None and self.process.process.poll() is not None:
                    raise RuntimeError(f"serve exited:\n{self.process.log()[-3000:]}")
                try:
                    if (await http.get(self.app_url + "/readyz")).status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"serve did not become ready:\n{self.process.log()[-3000:]}")

    async def __aexit__(self, *_: object) -> None:
        self.process.stop()

    def peak(self) -> PeakMemory:
        return peak_memory(self.process.pid)


# --------------------------------------------------------------------------------------------
# Queued jobs


async def prepare_queue(
    database_url: str, saleor: SaleorFakeState, gordon_url: str, jobs: int
) -> None:
    """Migrate, install and configure the shop, and queue ``jobs`` due jobs for fake orders.
    Saleor's side of the install, its webhooks, waits for serve's port (``measure_queue``)."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        store = InstallationStore(engine, SecretBox(SECRET_KEY))
        now = datetime.now(UTC)
        installation = await store.save_installation(
            saleor_api_url=saleor.api_url,
            app_id=saleor.app_id,
            token=saleor.issue_token(),
            jwks=saleor.jwks,
            now=now,
        )
        config = shop_config(gordon_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        await store.save_config(installation.id, parse_shop_config(config), now=now)
        orders = [saleor.add_order() for _ in range(jobs)]
        queued = {"installation_id": installation.id, "status": JobStatus.PENDING.value}
        queued |= {"events_mask": EVENT_BITS[EVENT], "version": 1, "next_attempt_at": now}
        queued |= {"pending_since": now, "attempts": 0, "run_now": False}
        queued |= {"created_at": now, "updated_at": now}
        for start in range(0, len(orders), ENQUEUE_BATCH):
            async with engine.begin() as connection:  # the rows enqueue_order_job makes
                rows = [
                    {**queued, "order_id": order["id"], "order_number": order["number"]}
                    for order in orders[start : start + ENQUEUE_BATCH]
                ]
                await connection.execute(insert(sync_jobs), rows)
    finally:
        await engine.dispose()


async def run_queue(serve: Serve, seconds: float) -> tuple[PeakMemory, Counter[int], str]:
    """Let the workers run for ``seconds`` while scraping ``/metrics`` each second; returns
    (peak memory, scrapes by HTTP status, the first refused scrape's answer)."""
    statuses: Counter[int] = Counter()
    refused = ""
    async with httpx.AsyncClient(timeout=30) as http:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            response = await http.get(serve.app_url + "/metrics")
            statuses[response.status_code] += 1
            if response.status_code != 200 and not refused:
                refused = f"HTTP {response.status_code} {response.text[:300]}"
            await asyncio.sleep(1.0)
        return serve.peak(), statuses, refused


@dataclass(frozen=True)
class QueueRun:
    peak: PeakMemory
    pushed: int
    scrapes: Counter[int]
    refused: str


async def measure_queue(args: argparse.Namespace, workdir: Path, *, jobs: int) -> QueueRun:
    """Peak memory of ``serve``'s process tree with ``jobs`` queued, how many of them Gordon received meanwhile,
    and how the ``/metrics`` scrapes were answered."""
    options = SandboxOptions(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        delivery_groups=(DELIVERY_GROUP,),
        tolerant_update=True,
        max_recorded_requests=100,
    )
    async with AsyncExitStack() as stack:
        gordon = stack.enter_context(serve_sandbox_in_thread(options))
        _api_url, saleor = stack.enter_context(running_saleor_fake())
        if args.postgres:
            database_url = await stack.enter_async_context(throwaway_postgres(args.postgres))
        else:
            database_url = f"sqlite:///{workdir / f'queue-{jobs}.db'}"
        await prepare_queue(database_url, saleor, gordon.base_url, jobs)
        serve = Serve(database_url, workdir, f"queue-{jobs}", workers=WORKERS)
        # Saleor's webhooks (its echoes of the workers' metadata writes) can name serve only once
        # its port is known: until then the fake holds the app's mutations, so that every write
        # is echoed, as when the port was chosen beforehand.
        saleor.hold_operations(*APP_MUTATIONS)
        try:
            await stack.enter_async_context(serve)
            # Its webhooks, and a new token left unused: the installation holds prepare_queue's.
            saleor.install(build_manifest(app_url=serve.app_url, version=__version__))
        finally:
            saleor.release_operations()
        await serve.ready()
        peak, scrapes, refused = await run_queue(serve, args.seconds)
        return QueueRun(peak, len(gordon.state.orders), scrapes, refused)


# --------------------------------------------------------------------------------------------
# Webhook burst


class Webhooks:
    """Distinct signed ORDER_FULLY_PAID webhooks, shaped by the installed subscription query."""

    def __init__(self, saleor: SaleorFakeState) -> None:
        self.saleor = saleor
        [hook] = saleor.webhooks_for(EVENT)
        self.target_url = hook.target_url
        order = saleor.add_order()
        self._template = saleor.event_payload(EVENT, order_id=order["id"], query=hook.query)
        self._serial = 0

    def make(self, count: int) -> list[tuple[dict[str, str], bytes]]:
        requests = []
        for _ in range(count):
            self._serial += 1
            payload: dict[str, Any] = copy.deepcopy(self._template)
            payload["order"]["id"] = global_id("Order", str(uuid.uuid4()))
            payload["order"]["number"] = str(500_000 + self._serial)
            requests.append(self.saleor.webhook_request(EVENT, payload))
        return requests


async def send_all(
    http: httpx.AsyncClient, url: str, requests: list[tuple[dict[str, str], bytes]]
) -> float:
    """POST every request, ``BURST_IN_FLIGHT`` at a time; returns requests per second."""
    queue = list(reversed(requests))

    async def sender() -> None:
        while queue:
            headers, body = queue.pop()
            response = await http.post(url, content=body, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"webhook answered {response.status_code}: {response.text}")

    started = time.monotonic()
    await asyncio.gather(*(sender() for _ in range(BURST_IN_FLIGHT)))
    return len(requests) / (time.monotonic() - started)


async def measure_burst(
    args: argparse.Namespace, workdir: Path
) -> tuple[PeakMemory, PeakMemory, float]:
    """(peak memory before the burst, after it, burst rate in webhooks per second)."""
    async with AsyncExitStack() as stack:
        _api_url, saleor = stack.enter_context(running_saleor_fake())
        if args.postgres:
            database_url = await stack.enter_async_context(throwaway_postgres(args.postgres))
            engine = create_engine(database_url)
            try:
                await migrate(engine)
            finally:
                await engine.dispose()
        else:
            database_url = f"sqlite:///{workdir / 'burst.db'}"
        serve = await stack.enter_async_context(Serve(database_url, workdir, "burst", workers=0))
        await serve.ready()
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=60))
        response = await saleor.install_app(http, serve.app_url + "/api/manifest")
        response.raise_for_status()
        webhooks = Webhooks(saleor)
        warmup, burst = webhooks.make(WARMUP_WEBHOOKS), webhooks.make(args.webhooks)
        await send_all(http, webhooks.target_url, warmup)
        before = serve.peak()
        rate = await send_all(http, webhooks.target_url, burst)
        return before, serve.peak(), rate


# --------------------------------------------------------------------------------------------
# Run


async def run(args: argparse.Namespace) -> None:
    database = "PostgreSQL" if args.postgres else "SQLite"
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        workdir = Path(tmp)
        idle = await measure_queue(args, workdir, jobs=0)
        queued = await measure_queue(args, workdir, jobs=args.jobs)
        before, after, rate = await measure_burst(args, workdir)
    queued_mb, idle_mb = _mb(queued.peak.total_kib), _mb(idle.peak.total_kib)
    verdict = "within" if queued_mb <= TARGET_MB else "OVER"
    print(
        f"memory ({database}, serve with {WORKERS} workers, {args.seconds:g} s; peak RSS of its "
        f"process tree): {queued_mb:.0f} MB with {args.jobs} queued jobs ({queued.pushed} pushed "
        f"meanwhile); baseline empty queue {idle_mb:.0f} MB; ratio "
        f"{queued.peak.total_kib / idle.peak.total_kib:.2f}; target <= {TARGET_MB} MB: {verdict}"
    )
    print(f"  queued: {queued.peak.describe()}")
    print(f"  empty queue: {idle.peak.describe()}")
    for label, run_ in (("empty queue", idle), ("queued", queued)):
        scrapes = ", ".join(f"{n} x HTTP {status}" for status, n in sorted(run_.scrapes.items()))
        print(
            f"  /metrics scrapes ({label}): {scrapes}"
            + (f"; {run_.refused}" if run_.refused else "")
        )
    print(
        f"  webhook burst ({args.webhooks} signed, {BURST_IN_FLIGHT} in flight, workers off, "
        f"{rate:.0f}/s): peak RSS {_mb(after.total_kib):.0f} MB ({after.describe()}); baseline "
        f"after {WARMUP_WEBHOOKS} warm-up webhooks {_mb(before.total_kib):.0f} MB; ratio "
        f"{after.total_kib / before.total_kib:.2f}"
    )
    print(f"  load average at the end {load_average()}")


def main(argv: Sequence[str] | None = None) -> None:
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
