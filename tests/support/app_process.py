"""The app as real processes (``saleor-gordon serve``, ``saleor-gordon worker``), for the end-to-end
tests (``tests/e2e``) and the benchmarks (``bench/``).

    process = AppProcess(["serve", "--port", str(port)], app_env(database_url, app_url, key), log)
    process.start()
    ...
    process.stop()            # SIGTERM: in-flight jobs are recorded before it exits
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url


@dataclass
class AppProcess:
    """``saleor-gordon serve`` or ``worker`` in its own process, its output in ``log_path``."""

    args: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "saleor_gordon", *self.args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("not started")
        return self.process.pid

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def memory_kib(pid: int, field: str = "VmHWM") -> int:
    """A memory figure of a running process from ``/proc/<pid>/status`` (Linux), in KiB:
    ``VmHWM`` its peak resident set so far, ``VmRSS`` the current one."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0])
    raise LookupError(f"{field} not in /proc/{pid}/status")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a running process has used (``/proc/<pid>/stat``, Linux)."""
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is field 3
    user, system = int(fields[11]), int(fields[12])  # utime, stime: fields 14 and 15
    return (user + system) / os.sysconf("SC_CLK_TCK")


def app_env(
    database_url: str, app_url: str, secret_key: str, settings: Mapping[str, str] | None = None
) -> dict[str, str]:
    """This process's environment without its ``SALEOR_GORDON_*`` variables, plus the app's."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SALEOR_GORDON_")}
    env.update(settings or {})
    env["SALEOR_GORDON_DATABASE_URL"] = database_url
    env["SALEOR_GORDON_SECRET_KEY"] = secret_key
    env["SALEOR_GORDON_APP_URL"] = app_url
    return env


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def throwaway_postgres(server_url: str) -> AsyncIterator[str]:
    """A new, empty database on the PostgreSQL server ``server_url`` (its user may create
    databases); yields its URL and drops it at the end, whoever is still connected."""
    url = make_url(server_url)
    name = f"bench_{uuid.uuid4().hex[:12]}"

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            password=url.password,
            database=url.database or "postgres",
        )
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    await admin(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
