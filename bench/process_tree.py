"""The app as a tree of processes, for the benchmarks: ``serve`` and whatever it starts (on SQLite,
the inbox's writer helper process), measured together; and the PostgreSQL backends serving one
database.

CPU time is user + system of every live process in the tree, plus what its ended children spent
(counted in their parent once reaped). Peak memory is each process's ``VmHWM`` (the high-water mark
of its resident set since it started), summed: an upper bound of the tree's simultaneous peak.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psutil
from sqlalchemy.engine import make_url

from saleor_gordon.settings import DATABASE_CONNECT_TIMEOUT_SECONDS


def tree(pid: int) -> list[psutil.Process]:
    """The process ``pid`` and all its descendants alive now."""
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) spent so far by the process tree of ``pid``."""
    total = 0.0
    for process in tree(pid):
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:  # ended meanwhile: counted in its parent's children times
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


@dataclass(frozen=True)
class PeakMemory:
    total_kib: int
    parts: tuple[tuple[str, int], ...]
    """(process name and pid, peak KiB) for each process of the tree."""

    def describe(self) -> str:
        return " + ".join(f"{name} {kib / 1024:.0f} MB" for name, kib in self.parts)


def peak_memory(pid: int) -> PeakMemory:
    """The peak resident set (``VmHWM``) of each process of the tree of ``pid``, and their sum."""
    parts = []
    for process in tree(pid):
        try:
            peak = _status_kib(process.pid, "VmHWM")
            name = _short_name(process)
        except (psutil.NoSuchProcess, FileNotFoundError, ProcessLookupError):
            continue
        parts.append((f"[{process.pid}] {name}", peak))
    return PeakMemory(sum(kib for _, kib in parts), tuple(parts))


def _short_name(process: psutil.Process) -> str:
    """``saleor_gordon serve``, ``sqlite_writer_process.py``: the words after the interpreter
    that are not options, file names without their folder."""
    words = [Path(word).name for word in process.cmdline()[1:] if not word.startswith("-")]
    return " ".join(words[:2]) or process.name()


def _status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name == field:
                return int(value.split()[0])
    raise LookupError(f"{field} not in /proc/{pid}/status")


def suspend(pid: int) -> None:
    """Stop every process of the tree (SIGSTOP), children first."""
    for process in reversed(tree(pid)):
        process.suspend()


def resume(pid: int) -> None:
    """Continue every process of the tree (SIGCONT), the root first."""
    for process in tree(pid):
        process.resume()


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages, as ``uptime`` prints them."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


class DatabaseBackends:
    """The PostgreSQL server processes serving one database (on this machine), by their title
    ``postgres: USER DATABASE HOST(PORT) STATE``."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self.database = url.database
        self.url = url.set(drivername="postgresql").render_as_string(hide_password=False)

    def cpu(self) -> dict[int, float]:
        spent = {}
        for process in psutil.process_iter(["cmdline"]):
            title = " ".join(process.info["cmdline"] or ())
            if title.startswith("postgres: ") and f" {self.database} " in title:
                try:
                    times = process.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                spent[process.pid] = times.user + times.system
        return spent

    async def transactions(self) -> int:
        """Transactions committed or rolled back in the database (``pg_stat_database``; a
        backend reports its own when it goes idle or ends, so read after the app stopped)."""
        # the app's default connect timeout: a server that does not answer fails the run in
        # seconds, not after asyncpg's 60
        connection = await asyncpg.connect(self.url, timeout=DATABASE_CONNECT_TIMEOUT_SECONDS)
        try:
            count = await connection.fetchval(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database "
                "WHERE datname = current_database()"
            )
        finally:
            await connection.close()
        return int(count) - 1  # this one's own

    def spent_since(self, before: dict[int, float]) -> float:
        """CPU seconds since ``before`` (a backend that ended meanwhile is not counted)."""
        return sum(seconds - before.get(pid, 0.0) for pid, seconds in self.cpu().items())
