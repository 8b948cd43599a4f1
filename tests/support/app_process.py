"""The app as real processes (``saleor-gordon serve``, ``saleor-gordon worker``), for the end-to-end
tests (``tests/e2e``, ``tests/outbound``) and the benchmarks (``bench/``).

    process = AppProcess(["serve", "--port", "0"], app_env(database_url, None, key), log)
    process.start()
    port = await process.listening_port()   # the port serve bound: no port is chosen beforehand
    ...
    process.stop()            # SIGTERM: in-flight jobs are recorded before it exits
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
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

    async def listening_port(self, within: float = 30.0) -> int:
        """The port this process listens on, once it does (``serve --port 0``: the one it bound)."""
        if self.process is None:
            raise RuntimeError("not started")
        return await listening_port(self.process, self.log_path, within=within)


LISTEN_POLL_SECONDS = 0.05
_TCP_LISTEN = "0A"  # the LISTEN state in /proc/net/tcp


async def listening_port(
    process: subprocess.Popen[bytes], log_path: Path, *, within: float = 30.0
) -> int:
    """The TCP port ``process`` listens on, once it does. A server started on port 0 binds a free
    port itself and the caller learns which from the system, instead of choosing a port that was
    free a moment ago and could be taken before the server binds it.

    The process's sockets are read every 50 ms (``listening_ports``), so this holds whatever the
    server logs (``serve`` at ``LOG_LEVEL=WARNING`` writes no start-up line). Fails at once when
    the process ended first, and after ``within`` seconds, either with its log (``log_path``).
    """
    deadline = time.monotonic() + within
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"process {process.pid} ended ({process.returncode}) before it listened on a "
                f"port:\n{_read_log(log_path)}"
            )
        try:
            ports = listening_ports(process.pid)
        except FileNotFoundError:  # it ended meanwhile: poll() says so on the next turn
            ports = set()
        if len(ports) == 1:
            return ports.pop()
        if ports:
            raise RuntimeError(f"process {process.pid} listens on several ports: {sorted(ports)}")
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"process {process.pid} did not listen on a port within {within:g} s:\n"
                f"{_read_log(log_path)}"
            )
        await asyncio.sleep(LISTEN_POLL_SECONDS)  # polling its sockets: nothing says when it binds


def listening_ports(pid: int) -> set[int]:
    """The TCP ports process ``pid`` listens on now (Linux: the sockets among its file
    descriptors, ``/proc/<pid>/fd``, in LISTEN state in ``/proc/<pid>/net/tcp`` and ``tcp6``)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target.removeprefix("socket:[").removesuffix("]"))
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            rows = Path(f"/proc/{pid}/net/{table}").read_text(encoding="ascii").splitlines()[1:]
        except FileNotFoundError:  # no IPv6 on this machine
            continue
        for row in rows:
            # sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
            fields = row.split()
            if fields[3] == _TCP_LISTEN and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _read_log(log_path: Path) -> str:
    try:
        return log_path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no log)"


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
    database_url: str,
    app_url: str | None,
    secret_key: str,
    settings: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """This process's environment without its ``SALEOR_GORDON_*`` variables, plus the app's.
    ``app_url`` None leaves ``SALEOR_GORDON_APP_URL`` unset: ``serve`` then names the address it
    listens on (``http://HOST:PORT``, the port it bound with ``--port 0``)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SALEOR_GORDON_")}
    env.update(settings or {})
    env["SALEOR_GORDON_DATABASE_URL"] = database_url
    env["SALEOR_GORDON_SECRET_KEY"] = secret_key
    if app_url is not None:
        env["SALEOR_GORDON_APP_URL"] = app_url
    return env


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
