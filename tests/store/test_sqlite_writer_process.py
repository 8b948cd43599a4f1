"""The SQLite writer's helper process: its frames and its loop, run here over pipes in a thread
(the inbox tests run it as the real process)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from saleor_gordon.store.database import SQLITE_CHECKPOINT_PAGES, SQLITE_PRAGMAS
from saleor_gordon.store.sqlite_writer_process import (
    FrameDecoder,
    encode_frame,
    serve,
    write_all,
)

STATEMENTS = {
    "insert_events": (
        "INSERT INTO events (shop, key) VALUES {values} ON CONFLICT DO NOTHING RETURNING shop, key"
    ),
    "upsert_jobs": (
        "INSERT INTO jobs (shop, order_id) VALUES {values}"
        " ON CONFLICT (shop, order_id) DO UPDATE SET runs = runs + 1"
        " RETURNING shop, order_id, id"
    ),
}


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "writer.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(
            """
            CREATE TABLE shops (id INTEGER PRIMARY KEY);
            INSERT INTO shops (id) VALUES (1);
            CREATE TABLE events (shop INTEGER NOT NULL REFERENCES shops (id), key TEXT NOT NULL,
                UNIQUE (shop, key));
            CREATE TABLE jobs (id INTEGER PRIMARY KEY, shop INTEGER NOT NULL REFERENCES shops (id),
                order_id TEXT NOT NULL, runs INTEGER NOT NULL DEFAULT 0, UNIQUE (shop, order_id));
            """
        )
    return path


class Helper:
    """``serve`` in a thread, spoken to over pipes as the inbox speaks to the process."""

    def __init__(self, to_helper: int, from_helper: int) -> None:
        self.to_helper, self.from_helper = to_helper, from_helper
        self.frames = FrameDecoder()

    def ask(self, message: object) -> object:
        write_all(self.to_helper, encode_frame(message))
        while True:
            data = os.read(self.from_helper, 7)  # small reads: frames arrive in pieces
            assert data, "the helper ended without an answer"
            for answer in self.frames.feed(data):
                return answer


@contextmanager
def running_helper(database: Path) -> Iterator[Helper]:
    helper_input, to_helper = os.pipe()
    from_helper, helper_output = os.pipe()
    thread = threading.Thread(target=serve, args=(helper_input, helper_output))
    thread.start()
    try:
        config = {"database": str(database), "pragmas": SQLITE_PRAGMAS, **STATEMENTS}
        write_all(to_helper, encode_frame(config))  # the first frame; it has no answer
        yield Helper(to_helper, from_helper)
    finally:
        os.close(to_helper)  # the end of its input ends it
        thread.join(timeout=10)
        assert not thread.is_alive()
        for fd in (helper_input, helper_output, from_helper):
            os.close(fd)


def test_a_group_stores_its_new_events_and_the_jobs_of_those_only(database: Path) -> None:
    with running_helper(database) as helper:
        first = helper.ask(([(1, "a"), (1, "b")], [("a", 1, "order-a"), ("b", 1, "order-b")]))
        # a redelivery of "a" (nothing new, its job untouched) with a new event "c"
        second = helper.ask(([(1, "a"), (1, "c")], [("a", 1, "order-a"), ("c", 1, "order-b")]))

    assert first == ("stored", [(1, "a"), (1, "b")], [(1, "order-a", 1), (1, "order-b", 2)])
    assert second == ("stored", [(1, "c")], [(1, "order-b", 2)])
    with sqlite3.connect(database) as connection:
        jobs = connection.execute("SELECT order_id, runs FROM jobs ORDER BY id").fetchall()
    assert jobs == [("order-a", 0), ("order-b", 1)]


def test_a_failing_group_is_answered_with_sqlites_error_and_leaves_nothing(
    database: Path,
) -> None:
    with running_helper(database) as helper:
        # the event of shop 1 is fine; shop 2 does not exist (its foreign key fails)
        failed = helper.ask(([(1, "a"), (2, "b")], [("a", 1, "order-a"), ("b", 2, "order-b")]))
        after = helper.ask(([(1, "a")], [("a", 1, "order-a")]))

    assert failed == (
        "failed",
        "IntegrityError",
        sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY,
        "FOREIGN KEY constraint failed",
    )
    assert after == ("stored", [(1, "a")], [(1, "order-a", 1)])  # the failed group left nothing


def test_a_group_without_events_or_jobs_stores_nothing(database: Path) -> None:
    with running_helper(database) as helper:
        assert helper.ask(([], [])) == ("stored", [], [])


def test_the_helper_checkpoints_only_after_thousands_of_wal_pages(database: Path) -> None:
    # given groups that write about 3,000 pages to the WAL in all (a 2,000-character key takes
    # most of a page in the table and again in its index), more than SQLite's default of 1,000
    # pages after which a commit copies the WAL into the database file and it starts over
    key_padding = "k" * 2000
    with running_helper(database) as helper:
        for group in range(10):
            events = [(1, f"{group}-{index}-{key_padding}") for index in range(180)]
            assert helper.ask((events, []))[0] == "stored"
        # when one more group commits (after a checkpoint, it would start the WAL over)
        assert helper.ask(([(1, "last")], [])) == ("stored", [(1, "last")], [])

        # then no checkpoint ran: every page written is still in the WAL (asked while the helper
        # is connected: the last connection to close checkpoints and removes the WAL)
        with contextlib.closing(sqlite3.connect(database)) as connection:
            wal = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    busy, wal_pages, copied = wal
    assert (busy, copied) == (0, wal_pages)
    assert SQLITE_CHECKPOINT_PAGES > wal_pages > 2 * 1000  # twice the default, not checkpointed


def test_the_helper_ends_when_its_input_ends_before_the_configuration(database: Path) -> None:
    helper_input, to_helper = os.pipe()
    from_helper, helper_output = os.pipe()
    os.close(to_helper)

    serve(helper_input, helper_output)  # returns: there is nothing to serve

    os.close(helper_output)
    assert os.read(from_helper, 10) == b""  # and it answered nothing
    os.close(helper_input)
    os.close(from_helper)


def test_frames_are_decoded_however_the_bytes_arrive() -> None:
    stream = encode_frame(("stored", [(1, "a")], [])) + encode_frame({"x": None})
    decoder = FrameDecoder()

    decoded = [message for byte in stream for message in decoder.feed(bytes([byte]))]

    assert decoded == [("stored", [(1, "a")], []), {"x": None}]
