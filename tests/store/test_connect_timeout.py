"""A PostgreSQL server that accepts connections and never answers (hung, or behind a firewall
that lets packets in and nothing out): every way the app opens a connection gives up after
``DATABASE_CONNECT_TIMEOUT_SECONDS`` with StoreUnavailable (a webhook's 503, a page's clear
error), not after asyncpg's 60 s.

Each call runs under ``asyncio.wait_for`` with a bound well below asyncpg's own 60 s (and, where
the setting's value is what is tested, below the 5 s default): a connection attempt that does
not use the timeout shows up as wait_for's TimeoutError, never as a slow pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.cli import main
from saleor_gordon.doctor import diagnose
from saleor_gordon.errors import StoreUnavailable
from saleor_gordon.jobs.queue import JobQueue
from saleor_gordon.jobs.views import JobViews
from saleor_gordon.runtime import open_runtime
from saleor_gordon.settings import Settings
from saleor_gordon.store.database import create_engine, migrate, wait_for_database
from saleor_gordon.store.inbox import EventInbox
from tests.conftest import TEST_SECRET_KEY
from tests.store.test_inbox_groups import received
from tests.support.unanswering_database_proxy import (
    UnansweringDatabaseProxy,
    unanswering_database_proxy,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

TIMEOUT = 0.5
"""The connect timeout the tests set (seconds)."""
BOUND = 10.0
"""How long a call may take here before it counts as not timed out (asyncpg's default: 60 s)."""
BELOW_DEFAULT = 3.0
"""The bound where the setting's value is tested: below its default (5 s), well above TIMEOUT."""

NO_ANSWER = (
    "The database cannot be reached: no answer in time (TimeoutError; opening a connection waits "
    "at most SALEOR_GORDON_DATABASE_CONNECT_TIMEOUT_SECONDS, a statement at most "
    "SALEOR_GORDON_DATABASE_STATEMENT_TIMEOUT_SECONDS); is it running and reachable from this "
    "host?"
)


@pytest.fixture
def unanswering() -> Iterator[UnansweringDatabaseProxy]:
    with unanswering_database_proxy() as server:
        yield server


def unanswering_url(server: UnansweringDatabaseProxy) -> str:
    return f"postgresql://u@127.0.0.1:{server.port}/db"


StoreCall = Callable[[AsyncEngine], Awaitable[object]]

STORE_CALLS: dict[str, tuple[StoreCall, object]] = {
    # a page's read, through the engine's pool (its ping first)
    "pool": (lambda engine: JobViews(engine).list_jobs(), []),
    # a job claim, on one of on_postgres's kept connections, detached from the pool
    "kept-connection": (
        lambda engine: JobQueue(engine).claim_next_job(
            worker_id="w", now=NOW, lease_seconds=30, per_installation_limit=4
        ),
        None,
    ),
}
"""Both ways a store call gets its PostgreSQL connection, each with what it answers on an empty
database."""


@pytest.mark.parametrize("way", STORE_CALLS)
async def test_a_store_call_gives_up_after_the_connect_timeout(
    unanswering: UnansweringDatabaseProxy, way: str
) -> None:
    call, _ = STORE_CALLS[way]
    engine = create_engine(unanswering_url(unanswering), connect_timeout=TIMEOUT)
    try:
        with pytest.raises(StoreUnavailable) as refused:
            await asyncio.wait_for(call(engine), BOUND)
    finally:
        await engine.dispose()
    assert type(refused.value) is StoreUnavailable
    assert refused.value.message == NO_ANSWER
    assert unanswering.accepted() == 1


async def test_each_attempt_of_the_startup_wait_ends_at_the_connect_timeout(
    unanswering: UnansweringDatabaseProxy,
) -> None:
    # ``serve`` and ``worker`` at start (and /readyz, doctor: migration_status)
    engine = create_engine(unanswering_url(unanswering), connect_timeout=TIMEOUT)
    try:
        with pytest.raises(StoreUnavailable) as refused:
            await asyncio.wait_for(wait_for_database(engine, within=0), BOUND)
    finally:
        await engine.dispose()
    assert refused.value.message == (
        "The database cannot be reached: no answer in time (TimeoutError; opening a connection "
        "waits at most SALEOR_GORDON_DATABASE_CONNECT_TIMEOUT_SECONDS, a statement at most "
        "SALEOR_GORDON_DATABASE_STATEMENT_TIMEOUT_SECONDS). Waited 0 s for it "
        "(SALEOR_GORDON_DATABASE_STARTUP_WAIT_SECONDS): check SALEOR_GORDON_DATABASE_URL and "
        "that the database server runs."
    )
    assert unanswering.accepted() == 1


async def events_together(inbox: EventInbox, installation_id: int) -> list[object]:
    """Five events of ``installation_id`` handed to ``inbox`` at once (one group), each one's
    result or exception, within BOUND."""
    return await asyncio.wait_for(
        asyncio.gather(
            *(inbox.record_order_event(received(installation_id, n), now=NOW) for n in range(1, 6)),
            return_exceptions=True,
        ),
        BOUND,
    )


async def test_webhook_events_handed_in_together_wait_for_one_connect_timeout_not_one_each(
    unanswering: UnansweringDatabaseProxy,
) -> None:
    # given an inbox on a database that never answers
    engine = create_engine(unanswering_url(unanswering), connect_timeout=TIMEOUT)
    inbox = EventInbox(engine)
    try:
        # when five events arrive together (one group)
        results = await events_together(inbox, 1)
    finally:
        await inbox.close()
        await engine.dispose()
    # then all are refused as retryable (503: Saleor delivers them again)
    assert all(isinstance(result, StoreUnavailable) for result in results)
    assert {str(result) for result in results} == {NO_ANSWER}
    # after one connection attempt: the group is not split into five more, one after the other
    assert unanswering.accepted() == 1


@pytest.mark.postgres
async def test_a_split_group_stops_at_the_first_event_refused_for_no_connection(
    fresh_postgres_url: str,
) -> None:
    # given a database reached through a server that passes its first connection on and
    # answers no later one (the database stops answering new connections)
    engine = create_engine(fresh_postgres_url)
    await migrate(engine)
    real = make_url(fresh_postgres_url)
    assert real.host is not None
    assert real.port is not None
    with unanswering_database_proxy(forward_to=(real.host, real.port), forward_first=1) as server:
        through = real.set(host="127.0.0.1", port=server.port)
        inbox_engine = create_engine(
            through.render_as_string(hide_password=False), connect_timeout=TIMEOUT
        )
        inbox = EventInbox(inbox_engine)
        try:
            # when a group fails on its statement (events of an installation that does not
            # exist), so it is split, and the first event tried alone gets no connection
            results = await events_together(inbox, 99)
        finally:
            await inbox.close()
            await inbox_engine.dispose()
        # then that event and the four after it are refused as retryable at once: two
        # connections in all (the group's, the first event's), not one more per event
        assert server.accepted() == 2
    assert all(isinstance(result, StoreUnavailable) for result in results)
    assert {str(result) for result in results} == {NO_ANSWER}
    # and nothing of them is stored (none acknowledged)
    try:
        assert await JobViews(engine).list_jobs() == []
        assert await EventInbox(engine).count_events(99) == 0
    finally:
        await engine.dispose()


async def test_the_app_processes_use_the_setting(unanswering: UnansweringDatabaseProxy) -> None:
    # serve, worker and the other commands open the database through open_runtime
    settings = Settings(
        database_url=unanswering_url(unanswering),
        secret_key=TEST_SECRET_KEY,
        database_connect_timeout_seconds=TIMEOUT,
    )
    async with open_runtime(settings) as runtime:
        with pytest.raises(StoreUnavailable) as refused:
            await asyncio.wait_for(runtime.jobs.list_jobs(), BELOW_DEFAULT)
    assert refused.value.message == NO_ANSWER


async def test_doctor_uses_the_setting(unanswering: UnansweringDatabaseProxy) -> None:
    settings = Settings(
        database_url=unanswering_url(unanswering),
        secret_key=TEST_SECRET_KEY,
        database_connect_timeout_seconds=TIMEOUT,
    )
    report = await asyncio.wait_for(diagnose(settings, now=NOW), BELOW_DEFAULT)
    database = next(check for check in report.checks if check.name == "database")
    assert database.status == "fail"
    assert database.detail == (
        f"postgresql://127.0.0.1:{unanswering.port}/db: The database cannot be reached: no answer "
        "in time (TimeoutError; opening a connection waits at most "
        "SALEOR_GORDON_DATABASE_CONNECT_TIMEOUT_SECONDS, a statement at most "
        "SALEOR_GORDON_DATABASE_STATEMENT_TIMEOUT_SECONDS)"
    )


@pytest.mark.parametrize("command", [["migrate"], ["rotate-secret-key"]])
async def test_the_commands_opening_their_own_engine_use_the_setting(
    unanswering: UnansweringDatabaseProxy,
    command: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SALEOR_GORDON_DATABASE_URL", unanswering_url(unanswering))
    monkeypatch.setenv("SALEOR_GORDON_DATABASE_CONNECT_TIMEOUT_SECONDS", str(TIMEOUT))
    monkeypatch.setenv("SALEOR_GORDON_SECRET_KEY", f"{'n' * 32},{TEST_SECRET_KEY}")
    # ``main`` runs its own event loop: in a thread, so this test's loop bounds it
    code = await asyncio.wait_for(asyncio.to_thread(main, command), BELOW_DEFAULT)
    assert code == 2
    assert (
        "The database cannot be reached: no answer in time (TimeoutError; opening a connection "
        "waits at most SALEOR_GORDON_DATABASE_CONNECT_TIMEOUT_SECONDS, a statement at most "
        "SALEOR_GORDON_DATABASE_STATEMENT_TIMEOUT_SECONDS)"
    ) in capsys.readouterr().err
