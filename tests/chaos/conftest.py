"""The chaos suite's size, seed, PostgreSQL cluster and printed figures.

Size: 300 orders per database by default (what CI runs); ``SALEOR_GORDON_CHAOS_FULL=1`` runs the full
2,000, and ``SALEOR_GORDON_CHAOS_ORDERS=N`` any other number (it wins over the flag):

    uv run pytest tests/chaos                                  # 300 orders, SQLite and PostgreSQL
    SALEOR_GORDON_CHAOS_FULL=1 uv run pytest tests/chaos       # 2,000 orders
    SALEOR_GORDON_CHAOS_SEED=17 uv run pytest tests/chaos      # another seed (9 by default)

Each run's figures (orders, faults injected by kind, kills, duplicates and out-of-order deliveries,
final mismatches, the seed) are printed in pytest's terminal summary, with or without ``-s``, and
written to ``chaos-figures.txt`` in the test's temporary directory.

The PostgreSQL run restarts its database server mid-run, so it never uses the shared server of
``SALEOR_GORDON_TEST_POSTGRES_URL``: ``throwaway_postgres`` starts a cluster of its own with
initdb/pg_ctl (as the ``postgres`` user when run as root), also in CI.

The end-to-end harness (``Stack``, ``running_stack``, the fakes' fixtures) is the one of
``tests/e2e``; its fixtures are imported here so that the chaos tests can request them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import _as_postgres_user, _start_postgres, postgres_bin_dir
from tests.e2e.conftest import (
    _fake_schema,
    saleor_fake,
    saleor_fake_factory,
    start_gordon_sandbox,
)

__all__ = ["_fake_schema", "saleor_fake", "saleor_fake_factory", "start_gordon_sandbox"]

FULL_SIZE = 2000
CI_SIZE = 300
DEFAULT_SEED = 9
MAX_CONNECTIONS = "-c max_connections=200"
"""The chaos cluster serves two worker processes, serve and the suite's own reads."""

#: (title, lines) of every chaos run of this session, for the terminal summary.
FIGURES: list[tuple[str, list[str]]] = []


def chaos_size() -> int:
    """How many orders a chaos run sends (see the module docstring)."""
    configured = os.environ.get("SALEOR_GORDON_CHAOS_ORDERS", "").strip()
    if configured:
        return int(configured)
    return FULL_SIZE if os.environ.get("SALEOR_GORDON_CHAOS_FULL") == "1" else CI_SIZE


def chaos_seed() -> int:
    """The seed of a chaos run's traffic and faults (``SALEOR_GORDON_CHAOS_SEED``, else 9)."""
    configured = os.environ.get("SALEOR_GORDON_CHAOS_SEED", "").strip()
    return int(configured) if configured else DEFAULT_SEED


@dataclass
class ThrowawayPostgres:
    """A PostgreSQL cluster of one test, on a free loopback port, that the test may restart."""

    workdir: Path
    bin_dir: Path
    port: int = 0
    """Chosen by the first start (another one when a port was taken meanwhile); kept by restarts."""

    @property
    def data(self) -> Path:
        return self.workdir / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        if not self.port:
            self.port = _start_postgres(
                str(self.bin_dir / "pg_ctl"), self.data, self.workdir, MAX_CONNECTIONS
            )
            return
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.workdir} -c fsync=off "
            + MAX_CONNECTIONS
        )
        self._pg_ctl("-l", str(self.workdir / "log"), "-w", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("-m", mode, "-w", "stop")

    def restart(self) -> float:
        """Stop the server as a crash would (``-m immediate``: connections cut, no checkpoint) and
        start it again once it is gone; returns the seconds it was unavailable."""
        started = time.monotonic()
        self.stop("immediate")
        self.start()
        return time.monotonic() - started

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres_user([str(self.bin_dir / "pg_ctl"), "-D", str(self.data), *args]),
            check=True,
            capture_output=True,
            timeout=120,
        )


@pytest.fixture
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    """A PostgreSQL cluster started for one test with initdb/pg_ctl (never the shared server)."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("the chaos suite's PostgreSQL run needs PostgreSQL's initdb and pg_ctl")
        pytest.skip(
            "no initdb/pg_ctl here: the chaos suite's PostgreSQL run starts its own cluster"
        )
    workdir = Path(tempfile.mkdtemp(prefix="saleor-gordon-chaos-pg-"))
    if os.geteuid() == 0:
        shutil.chown(workdir, user="postgres")
    server = ThrowawayPostgres(workdir, bin_dir)
    subprocess.run(
        _as_postgres_user(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(server.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-locale",
            ]
        ),
        check=True,
        capture_output=True,
    )
    server.start()
    try:
        yield server
    finally:
        subprocess.run(
            _as_postgres_user(
                [str(bin_dir / "pg_ctl"), "-D", str(server.data), "-m", "immediate", "stop"]
            ),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(workdir, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("chaos figures")
    for title, lines in FIGURES:
        terminalreporter.write_line(title)
        for line in lines:
            terminalreporter.write_line("  " + line)
