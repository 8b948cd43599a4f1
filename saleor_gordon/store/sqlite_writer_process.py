"""The SQLite writer's helper process, and the group transaction it runs.

The inbox commits each group of webhook events in one transaction. On SQLite that transaction
is SQLite's own work in C (B-tree inserts into two tables and their indexes, writing the pages
to the WAL) and costs more than everything else a webhook needs. Run on the event loop it takes
that much from serving; run in a thread, every sqlite3 call has to win the interpreter lock back
from the busy loop (measured: 3 to 5 ms per group instead of 0.3). So ``serve`` writes through a
helper process (``SqliteWriter`` in ``store/inbox.py`` starts it), which does the work on another
core: the loop sends groups down a pipe (the next one may go before the previous is answered) and
the process commits and answers them one by one, in the order they came.

STANDARD LIBRARY ONLY: the process runs this file by path with ``python -S``, so it starts in
tens of milliseconds, without the app's dependencies. Its protocol, on stdin and stdout: frames
of a 4-byte length and a pickle of plain values (both ends are this file's code, in processes of
one app). The first frame configures (database path, PRAGMAs, the ``GroupStatements``
templates); each next one is a group (event rows, job rows), and
the answer is ``("stored", inserted event keys, job ids)`` or ``("failed", sqlite3 error class,
error code, message)``. The process ends when stdin closes: when the app ends or is killed.
"""

from __future__ import annotations

import os
import pickle
import signal
import sqlite3
import struct
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

_LENGTH = struct.Struct("!I")

Execute = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
"""Run one statement with its parameters; return the rows it returns."""


@dataclass(frozen=True)
class GroupStatements:
    """SQL templates of a group's transaction; ``{values}`` stands for the VALUES rows."""

    insert_events: str
    """Insert event rows; a redelivery inserts nothing. Returns (installation_id, dedupe_key)
    of each inserted event."""
    upsert_jobs: str
    """Create or refresh the jobs of job rows. Returns (installation_id, order_id, id)."""


def store_group(
    execute: Execute,
    statements: GroupStatements,
    event_rows: Sequence[Sequence[Any]],
    job_rows: Sequence[Sequence[Any]],
) -> tuple[list[tuple[int, str]], list[tuple[int, str, int]]]:
    """Insert the events, then upsert the job rows of the events that were inserted.

    ``job_rows`` start with the dedupe key of their event (the rest is the job's columns, the
    installation id first); the group has each order once, so a job row is its event's alone.
    Returns the inserted events' keys and the upserted jobs' ids. Call inside a transaction.
    """
    inserted = [
        (installation_id, dedupe_key)
        for installation_id, dedupe_key in _execute_rows(
            execute, statements.insert_events, event_rows
        )
    ]
    keys = set(inserted)
    due = [row[1:] for row in job_rows if (row[1], row[0]) in keys]
    jobs = [
        (installation_id, order_id, job_id)
        for installation_id, order_id, job_id in _execute_rows(execute, statements.upsert_jobs, due)
    ]
    return inserted, jobs


def _execute_rows(
    execute: Execute, template: str, rows: Sequence[Sequence[Any]]
) -> list[tuple[Any, ...]]:
    if not rows:
        return []
    placeholders = "(" + ", ".join(["?"] * len(rows[0])) + ")"
    sql = template.format(values=", ".join([placeholders] * len(rows)))
    return execute(sql, [value for row in rows for value in row])


def encode_frame(message: object) -> bytes:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(payload)) + payload


class FrameDecoder:
    """Frames out of a byte stream that arrives in pieces."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[object]:
        self._buffer += data
        while len(self._buffer) >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(self._buffer)
            end = _LENGTH.size + length
            if len(self._buffer) < end:
                return
            payload = bytes(self._buffer[_LENGTH.size : end])
            del self._buffer[:end]
            yield pickle.loads(payload)  # noqa: S301 - frames of this app's own processes


def _read_frame(fd: int) -> object | None:
    """The next frame from ``fd`` (blocking); None at the end of the stream."""
    header = _read_exactly(fd, _LENGTH.size)
    if header is None:
        return None
    (length,) = _LENGTH.unpack(header)
    payload = _read_exactly(fd, length)
    if payload is None:
        return None
    message: object = pickle.loads(payload)  # noqa: S301 - frames of this app's own processes
    return message


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        data = os.read(fd, size - len(chunks))
        if not data:
            return None
        chunks += data
    return bytes(chunks)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def serve(read_fd: int, write_fd: int) -> None:
    """Answer groups until the stream ends: the helper process's whole life."""
    config = _read_frame(read_fd)
    if config is None:
        return
    assert isinstance(config, dict)
    statements = GroupStatements(config["insert_events"], config["upsert_jobs"])
    connection = sqlite3.connect(config["database"], isolation_level=None, timeout=0)
    for pragma in config["pragmas"]:
        connection.execute(pragma)

    def execute(sql: str, parameters: Sequence[Any]) -> list[tuple[Any, ...]]:
        return connection.execute(sql, parameters).fetchall()

    try:
        while (group := _read_frame(read_fd)) is not None:
            assert isinstance(group, tuple)
            event_rows, job_rows = group
            try:
                connection.execute("BEGIN IMMEDIATE")  # waits for the lock (busy_timeout)
                try:
                    stored = store_group(execute, statements, event_rows, job_rows)
                    connection.execute("COMMIT")
                except BaseException:
                    if connection.in_transaction:  # some errors end it themselves
                        connection.execute("ROLLBACK")
                    raise
                answer: tuple[Any, ...] = ("stored", *stored)
            except sqlite3.Error as exc:
                answer = (
                    "failed",
                    type(exc).__name__,
                    getattr(exc, "sqlite_errorcode", None),
                    str(exc),
                )
            write_all(write_fd, encode_frame(answer))
    finally:
        connection.close()


if __name__ == "__main__":
    # It ends when its input does (the app closed it, or ended): a Ctrl-C or a SIGTERM sent to
    # the whole process group must not end it while the app still drains its last webhooks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Tracebacks go to stderr, which is the app's. stdin and stdout carry frames only.
    serve(sys.stdin.fileno(), sys.stdout.fileno())
