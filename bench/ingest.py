"""Webhook ingest over real sockets, as shops run the app, against the HTTP stack's limits.

Four servers, one run, the same load for each: ``wrk`` keeps ``--connections`` (16) requests in
flight (one wrk thread per connection), each a real signed ``ORDER_FULLY_PAID`` webhook for
another order (built and signed beforehand, every one sent once to an app: a repeat would be a
cheap duplicate, so a round that ran out of them is measured again with twice as many):

- ``raw ASGI``: uvicorn serving an ASGI callable that reads the body, ``json.loads`` it and
  answers 200: what the HTTP stack itself allows (both baselines with ``serve``'s uvicorn
  settings: httptools parser, uvloop event loop, ``cli/event_loop.server_config``);
- ``bare FastAPI``: one FastAPI route doing the same;
- ``app, workers off``: ``saleor-gordon serve --workers 0``;
- ``app, serve (busy)``: ``saleor-gordon serve`` with every setting at its default (4 workers,
  the default Gordon rate and shop share, reconcile on), on a database of its own, the shop
  configured for the Gordon sandbox (answering after ``--gordon-latency``, 50 ms), and every
  webhook's order known to the Saleor fake (``--unknown-orders``: none is, so every job fails
  its read and is retried later): its workers sync real orders (read the order from
  Saleor, push it, write the tracking ID back, receive Saleor's ``ORDER_METADATA_UPDATED``
  echoes of those writes) while the webhooks come. It starts with a backlog from its warm-up,
  which grows with every round, so its workers never run out of work. Between its rounds its
  process tree is stopped (SIGSTOP), so that its work does not slow the other servers' rounds,
  and continued ``BUSY_SETTLE_SECONDS`` before its next one.

Rounds run in ABBA order (the variants' order reversed every other round), so a drift of the
machine's speed during the run weighs on every variant alike. Per variant: the median rate,
p50/p99/max latency, the server's CPU per request (its whole process tree: the app's SQLite
writer helper included). Ratios are taken within each round (a variant against the baselines
measured seconds before or after it) and their median reported; the headline is the busy ``serve``
against bare FastAPI.

Proof that nothing acknowledged is lost: the wrk script records the order of every request
answered 200 (one connection per wrk thread, so each answer is known to belong to the request
last sent on it); after the run every acknowledged order of each app must have its stored
``ORDER_FULLY_PAID`` event, matched by order id (no aggregate slack). Stored events no one saw
acknowledged are counted too: they were in flight when wrk stopped counting.

    uv run python bench/ingest.py                        # SQLite (the embedded default)
    uv run python bench/ingest.py --postgres postgresql://user:pass@host/db
    uv run python bench/ingest.py --short                # a few seconds: proves the bench runs

With ``--postgres`` the URL names a server whose user may create databases: the run creates two
throwaway databases there (one per app) and drops them at the end. Needs ``wrk`` (Debian package
``wrk``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Coroutine, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from process_tree import DatabaseBackends, cpu_seconds, load_average, resume, suspend
from sqlalchemy import func, select

from saleor_gordon import __version__
from saleor_gordon.cli.event_loop import server_config
from saleor_gordon.core.shop_config import parse_shop_config
from saleor_gordon.fakes.gordon_sandbox import RunningSandbox, SandboxOptions
from saleor_gordon.saleor.manifest import build_manifest
from saleor_gordon.secret_box import SecretBox
from saleor_gordon.store.database import create_engine, migrate
from saleor_gordon.store.installations import InstallationStore
from saleor_gordon.store.tables import sync_jobs, webhook_events
from tests.support.app_process import app_env, listening_port, throwaway_postgres
from tests.support.loopback import serve_sandbox_in_thread
from tests.support.saleor_fake import SaleorFakeState, SigningKey, global_id, running_saleor_fake
from tests.support.shop import DELIVERY_GROUP, shop_config

T = TypeVar("T")
BENCH_DIR = Path(__file__).resolve().parent
LUA_SCRIPT = BENCH_DIR / "ingest.lua"
ORDERS_PATH = "/api/webhooks/orders"
EVENT = "ORDER_FULLY_PAID"
SECRET_KEY = "bench-secret-key-0123456789abcdef0123456789abcdef"  # noqa: S105 - throwaway data
CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret"  # noqa: S105 - the sandbox's throwaway credentials
LISTEN_BACKLOG = 2048  # as `serve` listens
WARMUP_REQUESTS = 8000
"""Distinct requests for each app's 1 s warm-up (one that runs out is warmed up again with
twice as many: a fast machine answers more than this in a second on an empty database)."""
BUSY_SETTLE_SECONDS = 1.0
"""How long the busy app runs after being continued, before its round is measured."""
START_SECONDS = 240
"""How long a server may take to listen, then to answer: imports alone take long on a loaded
machine."""

RAW, BARE, OFF, BUSY = "raw", "bare", "off", "busy"
VARIANTS = (RAW, BARE, OFF, BUSY)
LABELS = {
    RAW: "raw ASGI",
    BARE: "bare FastAPI",
    OFF: "app, workers off",
    BUSY: "app, serve (busy)",
}
APPS = (OFF, BUSY)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL instead of SQLite")
    parser.add_argument("--seconds", type=int, default=6, help="length of one round (6)")
    parser.add_argument("--rounds", type=int, default=4, help="rounds, ABBA order (4)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument(
        "--gordon-latency",
        type=float,
        default=0.05,
        help="seconds the Gordon sandbox takes to answer the busy app's workers (0.05)",
    )
    parser.add_argument(
        "--gordon-rate",
        type=float,
        metavar="PER_SECOND",
        help="the busy app's SALEOR_GORDON_GORDON_REQUESTS_PER_SECOND (default: as shipped, 5): "
        "a higher one lets its workers spend more CPU while the webhooks come",
    )
    parser.add_argument(
        "--unknown-orders",
        action="store_true",
        help="the busy app's orders are not in the Saleor fake: its workers find none (retries)",
    )
    parser.add_argument("--short", action="store_true", help="1 round of 1 s: proves it runs")
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the servers' logs and say where"
    )
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-raw", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.short:
        args.seconds, args.rounds = 1, 1
    return args


# --------------------------------------------------------------------------------------------
# The baseline servers (each run in its own process: --serve-raw, --serve-bare), each on the port
# it binds (port 0), as `serve --port 0`: the harness learns it from the process (listening_port)


def _listen() -> socket.socket:
    listener = socket.create_server(("127.0.0.1", 0), backlog=LISTEN_BACKLOG)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as `serve` listens
    return listener


def _serve(app: Any) -> None:
    # The same uvicorn settings as `saleor-gordon serve` (httptools, uvloop: cli/event_loop.py).
    listener = _listen()
    config = server_config(app, host="127.0.0.1", port=listener.getsockname()[1])
    uvicorn.Server(config).run(sockets=[listener])


async def raw_endpoint(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Read the body, parse it, answer 200: what any webhook endpoint must do at least."""
    if scope["type"] != "http":
        return
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    answer = b'{"success":true}'
    if scope["method"] == "POST":
        payload = json.loads(b"".join(chunks))
        answer = b'{"success":true,"keys":%d}' % len(payload)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


def serve_raw() -> None:
    _serve(raw_endpoint)


def serve_bare() -> None:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.post(ORDERS_PATH)
    async def receive(request: Request) -> JSONResponse:
        payload = json.loads(await request.body())
        return JSONResponse({"success": True, "keys": len(payload)})

    _serve(app)


# --------------------------------------------------------------------------------------------
# Signed requests


_signing_key: SigningKey | None = None


def _init_signer(pem: bytes, kid: str) -> None:
    global _signing_key
    key = serialization.load_pem_private_key(pem, password=None)
    _signing_key = SigningKey(private_key=key, kid=kid, public_jwk={})  # type: ignore[arg-type]


def _sign_bodies(bodies: list[bytes]) -> list[str]:
    assert _signing_key is not None
    return [_signing_key.sign_detached(body) for body in bodies]


class RequestFactory:
    """Distinct signed ORDER_FULLY_PAID webhooks as raw HTTP requests, signed on every core."""

    def __init__(self, saleor: SaleorFakeState) -> None:
        self.saleor = saleor
        [hook] = saleor.webhooks_for(EVENT)
        order = saleor.add_order()
        self._order = order
        template = saleor.event_payload(EVENT, order_id=order["id"], query=hook.query)
        self._headers, _ = saleor.webhook_request(EVENT, template)
        template["issuedAt"] = "@ISSUED_AT@"
        template["order"]["id"] = "@ORDER_ID@"
        template["order"]["number"] = "@ORDER_NUMBER@"
        self._template = json.dumps(template)  # as webhook_request renders a body
        self._serial = 0
        self.sent_orders: set[str] = set()
        pem = saleor.signing_key.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self._pool = ProcessPoolExecutor(
            max_workers=os.cpu_count() or 1,
            initializer=_init_signer,
            initargs=(pem, saleor.signing_key.kid),
        )

    def close(self) -> None:
        self._pool.shutdown()

    def write(self, prefix: Path, count: int, *, threads: int, known: bool) -> None:
        """``count`` new signed requests, each for another order, into ``prefix``.0 ..
        ``prefix``.(threads-1) (records for bench/ingest.lua). ``known``: the orders exist in
        the Saleor fake (the busy app's workers read them), else only in the webhooks."""
        orders: list[tuple[str, bytes]] = []
        for _ in range(count):
            issued_at = datetime.now(UTC).isoformat()  # Saleor stamps each event as it issues it
            self._serial += 1
            token = str(uuid.uuid4())
            order_id, number = global_id("Order", token), str(900_000 + self._serial)
            if known:
                # A shallow copy: the fake replaces an order's metadata lists, never changes
                # them in place, and serves deep copies; 16 KiB and 0.3 ms less per order than
                # add_order's deep copy (a run makes up to a hundred thousand).
                self.saleor.orders[order_id] = {
                    **self._order,
                    "id": order_id,
                    "token": token,
                    "number": number,
                }
            text = (
                self._template.replace("@ISSUED_AT@", issued_at)
                .replace("@ORDER_ID@", order_id)
                .replace("@ORDER_NUMBER@", number)
            )
            orders.append((order_id, text.encode()))
        self.sent_orders.update(order_id for order_id, _ in orders)
        bodies = [body for _, body in orders]
        chunk = math.ceil(len(bodies) / (4 * (os.cpu_count() or 1))) or 1
        chunks = [bodies[i : i + chunk] for i in range(0, len(bodies), chunk)]
        signatures = [s for part in self._pool.map(_sign_bodies, chunks) for s in part]
        with ExitStack() as opened:
            files = [opened.enter_context(Path(f"{prefix}.{i}").open("wb")) for i in range(threads)]
            for index, ((order_id, body), signature) in enumerate(
                zip(orders, signatures, strict=True)
            ):
                lines = [f"POST {ORDERS_PATH} HTTP/1.1", "Host: 127.0.0.1"]
                for name, value in self._headers.items():
                    if name.lower() in {"saleor-signature", "x-saleor-signature"}:
                        value = signature
                    lines.append(f"{name}: {value}")
                lines.append(f"Content-Length: {len(body)}")
                raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
                files[index % threads].write(f"{order_id} {len(raw)}\n".encode() + raw)


def remove_records(prefix: Path, threads: int) -> None:
    for index in range(threads):
        Path(f"{prefix}.{index}").unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# Processes


@dataclass
class Server:
    """One server process, on the port it binds itself (port 0): ``port`` once it listens."""

    variant: str
    command: list[str]
    env: dict[str, str]
    log: Path
    database: DatabaseBackends | None = None
    """The app's PostgreSQL database, whose transactions are counted."""
    process: subprocess.Popen[bytes] | None = None
    suspended: bool = False
    port: int | None = None

    def start(self) -> None:
        with self.log.open("wb") as log_file:
            self.process = subprocess.Popen(
                self.command, env=self.env, stdout=log_file, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def url(self) -> str:
        assert self.port is not None, "not listening yet"
        return f"http://127.0.0.1:{self.port}"

    async def wait_listening(self) -> None:
        """Learn the port it bound."""
        assert self.process is not None
        self.port = await listening_port(self.process, self.log, within=START_SECONDS)

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"{LABELS[self.variant]} exited:\n{self.tail()}")
                try:
                    response = await http.get(f"{self.url}/healthz")
                    if response.status_code in {200, 404}:  # bare FastAPI has no /healthz
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{LABELS[self.variant]} did not start:\n{self.tail()}")
                await asyncio.sleep(0.1)  # polling a process that is starting up

    async def wait_logged(self, *needles: str, seconds: float = 120) -> str:
        """Wait until the log holds one of ``needles``; returns the line."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for line in self.log.read_text(errors="replace").splitlines():
                if any(needle in line for needle in needles):
                    return line
            await asyncio.sleep(0.2)  # polling a log file written by another process
        raise RuntimeError(f"{LABELS[self.variant]} never logged {needles}:\n{self.tail()}")

    def suspend(self) -> None:
        suspend(self.pid)
        self.suspended = True

    def resume(self) -> None:
        resume(self.pid)
        self.suspended = False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        if self.suspended:
            self.resume()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@dataclass(frozen=True)
class Round:
    variant: str
    requests: int
    seconds: float
    cpu_seconds: float
    wrk_cpu_seconds: float
    harness_cpu_seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    wraps: int
    acked: tuple[str, ...]
    synced: int = 0
    transactions: int | None = None
    """PostgreSQL: transactions in the app's database meanwhile (``pg_stat_database``, which
    lags up to a second behind: about the same window, shifted)."""
    database_cpu_seconds: float = 0.0
    """PostgreSQL: CPU of the server's backends serving the app's database meanwhile."""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _blocking(awaitable: Coroutine[Any, Any, T]) -> T:
    """Run ``awaitable`` to its end from synchronous code inside the running event loop's thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, awaitable).result()


def run_wrk(
    args: argparse.Namespace,
    server: Server,
    records: Path,
    workdir: Path,
    gordon: RunningSandbox,
    seconds: int | None = None,
) -> Round:
    acked_path = workdir / f"acked-{server.variant}.txt"
    database = server.database
    transactions_before = _blocking(database.transactions()) if database else None
    database_cpu_before = database.cpu() if database else {}
    cpu_before = cpu_seconds(server.pid)
    wrk_before, harness_before = _children_cpu(), time.process_time()
    synced_before = len(gordon.state.orders)
    completed = subprocess.run(
        [
            "wrk",
            f"-t{args.connections}",
            f"-c{args.connections}",
            f"-d{seconds or args.seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(LUA_SCRIPT),
            f"{server.url}{ORDERS_PATH}",
            "--",
            str(records),
            str(acked_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    cpu = cpu_seconds(server.pid) - cpu_before
    wrk_cpu, harness_cpu = _children_cpu() - wrk_before, time.process_time() - harness_before
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{completed.stdout}\n{completed.stderr}")
    found = re.search(r"^RESULT (.*)$", completed.stdout, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
    values = {k: int(v) for k, v in (item.split("=") for item in found.group(1).split())}
    errors = sum(values[k] for k in ("status_errors", "connect_errors", "read_errors"))
    errors += values["write_errors"] + values["timeouts"]
    if values["requests"] == 0:
        raise RuntimeError(
            f"{server.variant} answered no request in {values['duration_us'] / 1e6:.1f} s "
            f"({errors} errors); the end of its log:\n{server.tail()}"
        )
    transactions, database_cpu = None, 0.0
    if database is not None and transactions_before is not None:
        transactions = _blocking(database.transactions()) - transactions_before
        database_cpu = database.spent_since(database_cpu_before)
    acked = tuple(acked_path.read_text().split())
    acked_path.unlink()
    return Round(
        variant=server.variant,
        requests=values["requests"],
        seconds=values["duration_us"] / 1e6,
        cpu_seconds=cpu,
        wrk_cpu_seconds=wrk_cpu,
        harness_cpu_seconds=harness_cpu,
        errors=errors,
        p50_ms=values["p50_us"] / 1000,
        p99_ms=values["p99_us"] / 1000,
        max_ms=values["max_us"] / 1000,
        wraps=values["wraps"],
        acked=acked,
        synced=len(gordon.state.orders) - synced_before,
        transactions=transactions,
        database_cpu_seconds=database_cpu,
    )


# --------------------------------------------------------------------------------------------
# Databases


async def prepare_database(
    database_url: str, saleor: SaleorFakeState, token: str, gordon_url: str
) -> int:
    """Migrate, install the shop (as /api/register stores it) and configure it for the sandbox."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        store = InstallationStore(engine, SecretBox(SECRET_KEY))
        now = datetime.now(UTC)
        installation = await store.save_installation(
            saleor_api_url=saleor.api_url,
            app_id=saleor.app_id,
            token=token,
            jwks=saleor.jwks,
            now=now,
        )
        config = shop_config(gordon_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        await store.save_config(installation.id, parse_shop_config(config), now=now)
        return installation.id
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Stored:
    orders: frozenset[str]
    """Orders with a stored ORDER_FULLY_PAID event."""
    events: int
    """Events of every kind (the busy app's include Saleor's ORDER_METADATA_UPDATED echoes)."""
    jobs_due: int
    """Jobs still to run (pending or retrying): the busy app's backlog."""


async def stored(database_url: str, installation_id: int) -> Stored:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            mine = webhook_events.c.installation_id == installation_id
            paid = select(webhook_events.c.order_id).where(mine, webhook_events.c.event == EVENT)
            orders = frozenset(str(row[0]) for row in await connection.execute(paid))
            events = (await connection.execute(select(func.count()).where(mine))).scalar_one()
            due = select(func.count()).where(
                sync_jobs.c.installation_id == installation_id,
                sync_jobs.c.status.in_(("pending", "retrying")),
            )
            jobs_due = (await connection.execute(due)).scalar_one()
        return Stored(orders, int(events), int(jobs_due))
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------------------------
# Run


@dataclass
class Results:
    rounds: list[dict[str, Round]] = field(default_factory=list)
    acked: dict[str, set[str]] = field(default_factory=lambda: {OFF: set(), BUSY: set()})
    stored: dict[str, Stored] = field(default_factory=dict)
    load_before: str = ""
    load_after: str = ""
    echoes: Counter[str] = field(default_factory=Counter)
    """Saleor's ORDER_METADATA_UPDATED deliveries to the busy app, by answer."""


def round_order(number: int) -> tuple[str, ...]:
    """ABBA: the variants in order in even rounds, reversed in odd ones."""
    return VARIANTS if number % 2 == 0 else tuple(reversed(VARIANTS))


async def run(args: argparse.Namespace) -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    results = Results(load_before=load_average())
    async with AsyncExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-ingest-")))
        options = SandboxOptions(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            delivery_groups=(DELIVERY_GROUP,),
            tolerant_update=True,
            latency=args.gordon_latency,
            max_recorded_requests=1000,
        )
        gordon = stack.enter_context(serve_sandbox_in_thread(options))
        _api_url, saleor = stack.enter_context(running_saleor_fake())
        database_urls: dict[str, str] = {}
        for variant in APPS:
            if args.postgres:
                url = await stack.enter_async_context(throwaway_postgres(args.postgres))
            else:
                url = f"sqlite:///{workdir / f'{variant}.db'}"
            database_urls[variant] = url
        # The app token Saleor issues on install, held by both databases before their servers
        # start; Saleor's webhooks are made once the busy app's port is known (below).
        token = saleor.issue_token()
        installations = {
            variant: await prepare_database(database_urls[variant], saleor, token, gordon.base_url)
            for variant in APPS
        }
        servers = make_servers(args, database_urls, workdir)
        for server in servers.values():
            stack.callback(server.stop)
            server.start()
        for server in servers.values():
            await server.wait_listening()
        # Saleor's webhooks (the echoes of the busy app's metadata writes) go to the busy app; no
        # order exists in the fake yet, so none was written back before. Its new token is unused.
        saleor.install(build_manifest(app_url=servers[BUSY].url, version=__version__))
        for server in servers.values():
            await server.wait_ready()
        # The busy app reconciles the shop once at start: before any order exists in the fake.
        await servers[BUSY].wait_logged("reconcile.finished", "reconcile.failed")
        factory = RequestFactory(saleor)
        stack.callback(factory.close)
        measure(args, servers, factory, gordon, workdir, results)
        if args.keep_logs:
            kept = Path(tempfile.mkdtemp(prefix="bench-ingest-logs-"))
            for server in servers.values():
                shutil.copy(server.log, kept / server.log.name)
            print(f"  logs kept in {kept}", file=sys.stderr)
        for server in servers.values():
            server.stop()
        for variant in APPS:
            results.stored[variant] = await stored(database_urls[variant], installations[variant])
        echoes = [d for d in saleor.deliveries if d.event == "order_metadata_updated"]
        results.echoes.update(
            f"HTTP {d.status}" if d.status is not None else "no answer" for d in echoes
        )
    results.load_after = load_average()
    return report(args, results, factory.sent_orders, time.perf_counter() - started)


def make_servers(
    args: argparse.Namespace, database_urls: dict[str, str], workdir: Path
) -> dict[str, Server]:
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("SALEOR_GORDON_")}
    servers: dict[str, Server] = {}
    for variant in (RAW, BARE):
        flag = "--serve-raw" if variant == RAW else "--serve-bare"
        command = [sys.executable, str(Path(__file__)), flag]
        servers[variant] = Server(variant, command, base_env, workdir / f"{variant}.log")
    for variant in APPS:
        # Only what has no default: everything else as shipped. No APP_URL either: serve's
        # manifest names the address it listens on, http://127.0.0.1:PORT (a loopback URL, as the
        # explicit one was: the same outbound policy).
        env = app_env(database_urls[variant], None, SECRET_KEY)
        command = [sys.executable, "-m", "saleor_gordon", "serve", "--port", "0"]
        if variant == OFF:
            command += ["--workers", "0"]
        elif args.gordon_rate is not None:
            env["SALEOR_GORDON_GORDON_REQUESTS_PER_SECOND"] = f"{args.gordon_rate:g}"
        database = DatabaseBackends(database_urls[variant]) if args.postgres else None
        log = workdir / f"{variant}.log"
        servers[variant] = Server(variant, command, env, log, database)
    return servers


def measure(
    args: argparse.Namespace,
    servers: dict[str, Server],
    factory: RequestFactory,
    gordon: RunningSandbox,
    workdir: Path,
    results: Results,
) -> None:
    threads = args.connections
    records = {variant: workdir / f"records-{variant}" for variant in APPS}
    # Warm-up, 1 s each; the baselines replay the workers-off app's requests (they store nothing,
    # so a repeat costs them the same).
    best_rate = {}
    warmup_requests = dict.fromkeys(APPS, WARMUP_REQUESTS)
    for variant in APPS:
        known = variant == BUSY and not args.unknown_orders
        factory.write(records[variant], warmup_requests[variant], threads=threads, known=known)
    for variant in VARIANTS:
        server = servers[variant]
        if server.suspended:
            server.resume()
        record = records[BUSY if variant == BUSY else OFF]
        warm = run_wrk(args, server, record, workdir, gordon, 1)
        while variant in APPS and warm.wraps:
            # Ran out (an app faster than WARMUP_REQUESTS a second): what it answered is
            # stored, so it is warmed up again with twice as many new requests.
            results.acked[variant].update(warm.acked)
            warmup_requests[variant] *= 2
            known = variant == BUSY and not args.unknown_orders
            factory.write(record, warmup_requests[variant], threads=threads, known=known)
            warm = run_wrk(args, server, record, workdir, gordon, 1)
        if variant in APPS:
            results.acked[variant].update(warm.acked)
            best_rate[variant] = warm.rate
        if variant == BUSY:
            server.suspend()
    for number in range(args.rounds):
        # Enough distinct requests that no round repeats one: a warm-up rate says little (its
        # first second, cold), so a round that ran out is measured again with twice as many.
        counts = {
            OFF: math.ceil(1.5 * best_rate[OFF] * args.seconds),
            BUSY: math.ceil(max(3 * best_rate[BUSY], 1.2 * best_rate[OFF]) * args.seconds),
        }
        for variant in APPS:
            counts[variant] = max(2000, counts[variant])
            known = variant == BUSY and not args.unknown_orders
            factory.write(records[variant], counts[variant], threads=threads, known=known)
        this_round: dict[str, Round] = {}
        for variant in round_order(number):
            server = servers[variant]
            for _attempt in range(3):
                if variant == BUSY:
                    server.resume()
                    time.sleep(BUSY_SETTLE_SECONDS)  # let the continued workers get going again
                measured = run_wrk(
                    args, server, records[BUSY if variant == BUSY else OFF], workdir, gordon
                )
                if variant == BUSY:
                    server.suspend()
                if variant not in APPS:
                    break
                results.acked[variant].update(measured.acked)  # a repeat is acked as duplicate
                best_rate[variant] = max(best_rate[variant], measured.rate)
                if not measured.wraps:
                    break
                counts[variant] *= 2
                print(
                    f"  round {number + 1}: {LABELS[variant]} ran out of distinct requests; "
                    f"measured again with {counts[variant]}",
                    file=sys.stderr,
                    flush=True,
                )
                known = variant == BUSY and not args.unknown_orders
                factory.write(records[variant], counts[variant], threads=threads, known=known)
            else:
                raise RuntimeError(f"round {number}: {LABELS[variant]} kept running out")
            this_round[variant] = measured
        results.rounds.append(this_round)
        print(f"  round {number + 1}: " + ", ".join(
            f"{LABELS[v]} {this_round[v].rate:.0f}/s" for v in round_order(number)
        ), file=sys.stderr, flush=True)  # fmt: skip
    for variant in APPS:
        remove_records(records[variant], threads)
    servers[BUSY].resume()


def _median(values: Sequence[float]) -> float:
    return statistics.median(values)


def report(args: argparse.Namespace, results: Results, sent: set[str], elapsed: float) -> int:
    database = "PostgreSQL" if args.postgres else "SQLite"
    rounds = results.rounds
    print(
        f"ingest ({database}; wrk {args.connections} connections, one thread each; "
        f"{len(rounds)} rounds x {args.seconds} s in ABBA order; signed {EVENT}, each another "
        f"order; busy app's Gordon answers after {args.gordon_latency * 1000:.0f} ms"
        + (f"; its Gordon rate {args.gordon_rate:g}/s" if args.gordon_rate is not None else "")
        + ("; the busy app's orders unknown to Saleor)" if args.unknown_orders else ")")
    )
    print(f"  load average before {results.load_before}; after {results.load_after}")
    header = (
        f"  {'variant':<20} {'req/s':>6}  {'rounds':<24} {'p50 ms':>6} {'p99 ms':>7} "
        f"{'max ms':>6} {'CPU/req':>8} {'wrk/req':>8}  {'/ FastAPI':>9} {'/ raw':>5}"
    )
    print(header)
    for variant in VARIANTS:
        mine = [r[variant] for r in rounds]
        rate = _median([r.rate for r in mine])
        per_round = " ".join(f"{r.rate:.0f}" for r in mine)
        cpu = _median([r.cpu_seconds / r.requests * 1e6 for r in mine])
        wrk_cpu = _median([r.wrk_cpu_seconds / r.requests * 1e6 for r in mine])
        vs_bare = _median([r[variant].rate / r[BARE].rate for r in rounds])
        vs_raw = _median([r[variant].rate / r[RAW].rate for r in rounds])
        print(
            f"  {LABELS[variant]:<20} {rate:>6.0f}  {per_round:<24} "
            f"{_median([r.p50_ms for r in mine]):>6.1f} {_median([r.p99_ms for r in mine]):>7.1f} "
            f"{max(r.max_ms for r in mine):>6.0f} {cpu:>6.0f}us {wrk_cpu:>6.0f}us  "
            f"{vs_bare:>9.2f} {vs_raw:>5.2f}"
        )
    headline = [r[BUSY].rate / r[BARE].rate for r in rounds]
    print(
        f"  headline: app as serve runs it (default workers, busy) / bare FastAPI = "
        f"{_median(headline):.2f} (rounds {min(headline):.2f}-{max(headline):.2f}); "
        f"workers off / bare FastAPI = {_median([r[OFF].rate / r[BARE].rate for r in rounds]):.2f}"
    )
    busy = [r[BUSY] for r in rounds]
    busy_seconds = sum(r.seconds for r in busy)
    synced = sum(r.synced for r in busy)
    harness = sum(r.harness_cpu_seconds for r in busy) / busy_seconds
    print(
        f"  busy app's workers while measured: {synced} orders synced to Gordon "
        f"({synced / busy_seconds:.1f}/s); backlog at the end {results.stored[BUSY].jobs_due} jobs "
        f"due; Saleor's ORDER_METADATA_UPDATED echoes delivered {results.echoes.total()} "
        f"({', '.join(f'{n} {k}' for k, n in sorted(results.echoes.items()))}); harness (Saleor fake, Gordon sandbox) "
        f"CPU {harness * 100:.0f} % of a core during its rounds"
    )
    if args.postgres:
        per_webhook = {
            v: sum(r[v].transactions or 0 for r in rounds) / sum(r[v].requests for r in rounds)
            for v in APPS
        }
        backend_cpu = {
            v: _median([r[v].database_cpu_seconds / r[v].requests * 1e6 for r in rounds])
            for v in APPS
        }
        print(
            "  PostgreSQL, the workers' work included: transactions per webhook "
            "(pg_stat_database) "
            + ", ".join(f"{LABELS[v]} {per_webhook[v]:.2f}" for v in APPS)
            + "; CPU of the database's backends per webhook "
            + ", ".join(f"{LABELS[v]} {backend_cpu[v]:.0f} us" for v in APPS)
        )
    errors = {v: sum(r[v].errors for r in rounds) for v in VARIANTS}
    print("  errors/timeouts: " + ", ".join(f"{LABELS[v]} {errors[v]}" for v in VARIANTS)
          + f"; total {elapsed:.0f} s")  # fmt: skip
    failed = False
    for variant in APPS:
        acked, stored_orders = results.acked[variant], results.stored[variant].orders
        lost = acked - stored_orders
        unsent = stored_orders - sent
        print(
            f"  {LABELS[variant]}: {len(acked)} acknowledged (warm-up included), each matched by "
            f"order: {len(acked) - len(lost)} stored, {len(lost)} lost; "
            f"{len(stored_orders - acked)} more stored (in flight when wrk stopped counting)"
            + (f"; {len(unsent)} stored that were never sent" if unsent else "")
        )
        if lost or unsent:
            print(
                f"FAILED: {LABELS[variant]}: lost {sorted(lost)[:5]}, never sent {sorted(unsent)[:5]}"
            )
            failed = True
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_bare:
        serve_bare()
        return 0
    if args.serve_raw:
        serve_raw()
        return 0
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
