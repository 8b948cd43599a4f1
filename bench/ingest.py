"""Webhook ingest over real sockets: ``saleor-gordon serve`` against a bare FastAPI endpoint.

What an operator would measure: one ``saleor-gordon serve`` process (workers off) on a migrated
database with one installation, and ``wrk`` keeping ``--connections`` (16) requests in flight,
each a real signed ``ORDER_FULLY_PAID`` webhook for another order (built and signed beforehand,
every one sent once: a repeat would be a cheap duplicate). The baseline is a bare FastAPI app, in
its own process with the same uvicorn settings, whose one endpoint parses the JSON body. Rounds
alternate baseline and app; the medians and ``ratio`` = app rate / baseline rate are printed
(issue 9 asks >= 0.8), with p50/p99 latency of each side.

After the app's rounds the benchmark checks the database: every acknowledged webhook has its event
row (acknowledged and not committed would be a lost order), none has more than was sent.

    uv run python bench/ingest.py                        # SQLite (the embedded default)
    uv run python bench/ingest.py --postgres postgresql://user:pass@host/db
    uv run python bench/ingest.py --short                # a few seconds: proves the bench runs

Needs ``wrk`` (Debian package ``wrk``).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from saleor_gordon import __version__
from saleor_gordon.runtime import open_runtime
from saleor_gordon.saleor.manifest import build_manifest
from saleor_gordon.settings import Settings
from saleor_gordon.store.database import migrate
from tests.support.saleor_fake import SaleorFakeState, SigningKey, global_id

BENCH_DIR = Path(__file__).resolve().parent
LUA_SCRIPT = BENCH_DIR / "ingest.lua"
ORDERS_PATH = "/api/webhooks/orders"
EVENT = "ORDER_FULLY_PAID"
SECRET_KEY = "bench-secret-key-0123456789abcdef0123456789abcdef"  # noqa: S105 - throwaway data
LISTEN_BACKLOG = 2048  # as `serve` listens
WARMUP_REQUESTS = 8000
"""Distinct requests for the 1 s warm-up: well above what either side answers in a second here
(the app reached ~2,800 req/s, the bare endpoint ~5,400; 3,000 let the app wrap around)."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL instead of SQLite")
    parser.add_argument("--seconds", type=int, default=6, help="length of one round (6)")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per side (3)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1: 2-core machine)")
    parser.add_argument("--short", action="store_true", help="1 round of 1 s: proves it runs")
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.short:
        args.seconds, args.rounds = 1, 1
    return args


# --------------------------------------------------------------------------------------------
# The baseline server (run in its own process: --serve-bare PORT)


def serve_bare(port: int) -> None:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.post(ORDERS_PATH)
    async def receive(request: Request) -> JSONResponse:
        payload = json.loads(await request.body())
        return JSONResponse({"success": True, "keys": len(payload)})

    listener = socket.create_server(("127.0.0.1", port), backlog=LISTEN_BACKLOG)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as `serve` listens
    # The same uvicorn settings as `saleor-gordon serve` (cli/serve.py).
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    uvicorn.Server(config).run(sockets=[listener])


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

    def __init__(self) -> None:
        self.saleor = SaleorFakeState(
            api_url=f"http://saleor-{uuid.uuid4().hex[:8]}.bench/graphql/"
        )
        self.saleor.install(build_manifest(app_url="http://gordon.bench", version=__version__))
        order = self.saleor.add_order()
        self._template = self.saleor.order_event_payload(EVENT, order["id"])
        self._serial = 0
        pem = self.saleor.signing_key.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self._pool = ProcessPoolExecutor(
            max_workers=os.cpu_count() or 1,
            initializer=_init_signer,
            initargs=(pem, self.saleor.signing_key.kid),
        )

    def close(self) -> None:
        self._pool.shutdown()

    def write(self, path: Path, count: int) -> None:
        """``count`` new signed requests into ``path`` (records for bench/ingest.lua)."""
        headers, _ = self.saleor.webhook_request(EVENT, self._template)
        bodies = []
        for _ in range(count):
            self._serial += 1
            payload: dict[str, Any] = copy.deepcopy(self._template)
            payload["issuedAt"] = datetime.now(UTC).isoformat()
            payload["order"]["id"] = global_id("Order", str(uuid.uuid4()))
            payload["order"]["number"] = str(100_000 + self._serial)
            bodies.append(json.dumps(payload).encode())
        chunk = math.ceil(len(bodies) / (4 * (os.cpu_count() or 1))) or 1
        chunks = [bodies[i : i + chunk] for i in range(0, len(bodies), chunk)]
        signatures = [s for part in self._pool.map(_sign_bodies, chunks) for s in part]
        with path.open("wb") as file:
            for body, signature in zip(bodies, signatures, strict=True):
                lines = [f"POST {ORDERS_PATH} HTTP/1.1", "Host: 127.0.0.1"]
                for name, value in headers.items():
                    if name.lower() in {"saleor-signature", "x-saleor-signature"}:
                        value = signature
                    lines.append(f"{name}: {value}")
                lines.append(f"Content-Length: {len(body)}")
                raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
                file.write(f"{len(raw)}\n".encode() + raw)


# --------------------------------------------------------------------------------------------
# Processes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server_process(
    command: list[str], port: int, env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as log_file:
        process = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[2:4]} exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code in {
                    200,
                    404,  # the baseline has no /healthz: it answers, so it is up
                }:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{command} did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)  # polling a process that is starting up, not synchronising work
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid``, its threads and its child processes (the
    app's SQLite writer process works for it), from Linux /proc."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):  # itself or a child
            # utime, stime, and the children's that ended (cutime, cstime)
            ticks += sum(int(field) for field in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Round:
    requests: int
    seconds: float
    cpu_seconds: float
    errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    wraps: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def run_wrk(
    args: argparse.Namespace, server: subprocess.Popen[bytes], port: int, records: Path
) -> Round:
    cpu_before = cpu_seconds(server.pid)
    completed = subprocess.run(
        [
            "wrk",
            f"-t{args.threads}",
            f"-c{args.connections}",
            f"-d{args.seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(LUA_SCRIPT),
            f"http://127.0.0.1:{port}{ORDERS_PATH}",
            "--",
            str(records),
            str(args.threads),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{completed.stdout}\n{completed.stderr}")
    cpu = cpu_seconds(server.pid) - cpu_before
    found = re.search(r"^RESULT (.*)$", completed.stdout, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
    values = {k: int(v) for k, v in (item.split("=") for item in found.group(1).split())}
    errors = sum(values[k] for k in ("status_errors", "connect_errors", "read_errors"))
    errors += values["write_errors"] + values["timeouts"]
    return Round(
        requests=values["requests"],
        seconds=values["duration_us"] / 1e6,
        cpu_seconds=cpu,
        errors=errors,
        p50_ms=values["p50_us"] / 1000,
        p99_ms=values["p99_us"] / 1000,
        max_ms=values["max_us"] / 1000,
        wraps=values["wraps"],
    )


# --------------------------------------------------------------------------------------------
# Database


async def install(settings: Settings, saleor: SaleorFakeState) -> int:
    async with open_runtime(settings) as runtime:
        await migrate(runtime.engine)
        installation = await runtime.installations.save_installation(
            saleor_api_url=saleor.api_url,
            app_id=saleor.app_id,
            token=saleor.issue_token(),
            jwks=saleor.jwks,
            now=datetime.now(UTC),
        )
        return installation.id


async def stored_events(settings: Settings, installation_id: int) -> int:
    async with open_runtime(settings) as runtime:
        return await runtime.inbox.count_events(installation_id)


async def uninstall(settings: Settings, installation_id: int) -> None:
    async with open_runtime(settings) as runtime:
        await runtime.installations.delete_installation(installation_id)


# --------------------------------------------------------------------------------------------
# Run


def run(args: argparse.Namespace) -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    factory = RequestFactory()
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp_name:
        tmp = Path(tmp_name)
        database_url = args.postgres or f"sqlite:///{tmp / 'saleor-gordon.db'}"
        settings = Settings(database_url=database_url, secret_key=SECRET_KEY)
        installation_id = asyncio.run(install(settings, factory.saleor))
        try:
            return measure(args, factory, settings, installation_id, tmp, started)
        finally:
            if args.postgres:
                asyncio.run(uninstall(settings, installation_id))
            factory.close()


def measure(
    args: argparse.Namespace,
    factory: RequestFactory,
    settings: Settings,
    installation_id: int,
    tmp: Path,
    started: float,
) -> int:
    app_port, bare_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALEOR_GORDON_")}
    env.update(
        SALEOR_GORDON_DATABASE_URL=settings.database_url,
        SALEOR_GORDON_SECRET_KEY=SECRET_KEY,
        SALEOR_GORDON_WORKERS="0",
        SALEOR_GORDON_RECONCILE_INTERVAL_SECONDS="0",
    )
    app_command = [sys.executable, "-m", "saleor_gordon", "serve", "--port", str(app_port)]
    bare_command = [sys.executable, str(Path(__file__)), "--serve-bare", str(bare_port)]
    warmup = tmp / "warmup.requests"
    factory.write(warmup, WARMUP_REQUESTS)
    with (
        server_process(app_command, app_port, env, tmp / "app.log") as app,
        server_process(bare_command, bare_port, env, tmp / "bare.log") as bare,
    ):
        print(f"  app pid {app.pid}, bare pid {bare.pid}", file=sys.stderr, flush=True)
        warm = replace_seconds(args, 1)
        run_wrk(warm, bare, bare_port, warmup)
        warm_app = run_wrk(warm, app, app_port, warmup)
        if warm_app.wraps:  # a repeat is acknowledged as a duplicate, never stored twice
            raise RuntimeError(f"the warm-up ran out of distinct requests ({WARMUP_REQUESTS})")
        acknowledged = warm_app.requests - warm_app.errors
        # Enough distinct requests that no round repeats one (the app may get faster as it warms).
        per_round = max(2000, math.ceil(max(warm_app.rate, 500) * args.seconds * 3))
        app_rounds: list[Round] = []
        bare_rounds: list[Round] = []
        for number in range(args.rounds):
            records = tmp / f"round-{number}.requests"
            factory.write(records, per_round)
            bare_rounds.append(run_wrk(args, bare, bare_port, records))
            app_round = run_wrk(args, app, app_port, records)
            if app_round.wraps:
                raise RuntimeError(f"round {number} ran out of distinct requests ({per_round})")
            app_rounds.append(app_round)
            acknowledged += app_round.requests - app_round.errors
            records.unlink()
    events = asyncio.run(stored_events(settings, installation_id))
    report(args, app_rounds, bare_rounds, started)
    print(f"  acknowledged (wrk, incl. warm-up) {acknowledged}; stored events {events}")
    errors = sum(r.errors for r in app_rounds + bare_rounds)
    if events < acknowledged or errors:
        print(f"FAILED: {errors} errors; stored {events} < acknowledged {acknowledged}?")
        return 1
    return 0


def replace_seconds(args: argparse.Namespace, seconds: int) -> argparse.Namespace:
    return argparse.Namespace(**{**vars(args), "seconds": seconds})


def report(args: argparse.Namespace, app: list[Round], bare: list[Round], started: float) -> None:
    database = "PostgreSQL" if args.postgres else "SQLite"
    app_rate = statistics.median(r.rate for r in app)
    bare_rate = statistics.median(r.rate for r in bare)

    def latency(rounds: list[Round]) -> str:
        p50 = statistics.median(r.p50_ms for r in rounds)
        p99 = statistics.median(r.p99_ms for r in rounds)
        return f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(r.max_ms for r in rounds):.0f} ms"

    print(
        f"ingest ({database}, wrk {args.connections} connections, {args.rounds} x "
        f"{args.seconds:g} s): app {app_rate:.0f} req/s; bare FastAPI {bare_rate:.0f} req/s; "
        f"ratio {app_rate / bare_rate:.2f}"
    )
    app_cpu = statistics.median(r.cpu_seconds / r.requests * 1e6 for r in app)
    bare_cpu = statistics.median(r.cpu_seconds / r.requests * 1e6 for r in bare)
    print(
        f"  server CPU per request (app: serve and its child processes): app {app_cpu:.0f} us; "
        f"bare {bare_cpu:.0f} us; "
        f"ratio {bare_cpu / app_cpu:.2f} (less sensitive to a busy machine than the rates)"
    )
    print(f"  app:  {latency(app)}; rounds " + " ".join(f"{r.rate:.0f}" for r in app))
    print(f"  bare: {latency(bare)}; rounds " + " ".join(f"{r.rate:.0f}" for r in bare))
    print(f"  errors/timeouts: app {sum(r.errors for r in app)}, bare {sum(r.errors for r in bare)}"
          f"; total {time.perf_counter() - started:.0f} s")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_bare is not None:
        serve_bare(args.serve_bare)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
