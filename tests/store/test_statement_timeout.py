"""A PostgreSQL server that stops answering on connections already open (a failover whose old
primary vanished, packets dropped): a statement on such a connection, the pool's ping among them,
gives up after ``DATABASE_STATEMENT_TIMEOUT_SECONDS`` with StoreUnavailable (a webhook's 503, a
page's clear error), not when TCP gives up many minutes later; the connection is not used again.

The database is reached through an ``UnansweringDatabaseProxy`` that passes connections on to
it until ``blackhole()``, then passes nothing on, either way, and answers no new connection.
Each call runs under ``asyncio.wait_for``: a statement that does not use the timeout shows up
as wait_for's TimeoutError, never as a slow pass.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.cli import migrate as migrate_command
from saleor_gordon.errors import StoreUnavailable
from saleor_gordon.jobs.views import JobViews
from saleor_gordon.runtime import open_runtime
from saleor_gordon.secret_box import SecretBox
from saleor_gordon.settings import Settings
from saleor_gordon.store import database
from saleor_gordon.store.database import create_engine, migrate
from saleor_gordon.store.inbox import EventInbox
from saleor_gordon.store.installations import InstallationStore
from tests.conftest import TEST_SECRET_KEY
from tests.store.test_connect_timeout import NO_ANSWER, STORE_CALLS
from tests.store.test_inbox_groups import JWKS, TOKEN, received
from tests.support.unanswering_database_proxy import (
    UnansweringDatabaseProxy,
    unanswering_database_proxy,
)

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

TIMEOUT = 0.5
"""The connect and statement timeouts the tests set (seconds)."""
BOUND = 10.0
"""How long a call may take here before it counts as not timed out."""


@pytest_asyncio.fixture
async def direct(fresh_postgres_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated database, reached directly."""
    engine = create_engine(fresh_postgres_url)
    await migrate(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def proxy(fresh_postgres_url: str) -> Iterator[UnansweringDatabaseProxy]:
    real = make_url(fresh_postgres_url)
    assert real.host is not None
    assert real.port is not None
    with unanswering_database_proxy(
        forward_to=(real.host, real.port), forward_first=1000
    ) as server:
        yield server


@pytest_asyncio.fixture
async def through(
    fresh_postgres_url: str, proxy: UnansweringDatabaseProxy
) -> AsyncIterator[AsyncEngine]:
    """An engine reaching the database through ``proxy``, with both timeouts at TIMEOUT."""
    url = make_url(fresh_postgres_url).set(host="127.0.0.1", port=proxy.port)
    engine = create_engine(
        url.render_as_string(hide_password=False),
        connect_timeout=TIMEOUT,
        statement_timeout=TIMEOUT,
    )
    yield engine
    await engine.dispose()


def connection_attempts(engine: AsyncEngine) -> list[object]:
    """A list that gets an entry for each connection the engine's pool tries to open (its own,
    and those ``on_postgres`` detaches from it)."""
    attempts: list[object] = []
    event.listen(engine.sync_engine, "do_connect", lambda *_: attempts.append(None))
    return attempts


@pytest.mark.usefixtures("direct")
@pytest.mark.parametrize("way", STORE_CALLS)
async def test_a_store_call_gives_up_after_the_statement_timeout_and_drops_its_connection(
    through: AsyncEngine, proxy: UnansweringDatabaseProxy, way: str
) -> None:
    # given a connection (the pool's, or one of on_postgres's kept ones) that worked
    call, answer = STORE_CALLS[way]
    attempts = connection_attempts(through)
    assert await asyncio.wait_for(call(through), BOUND) == answer
    assert len(attempts) == 1
    # when the database stops answering on it
    proxy.blackhole()
    # then the next call's statement (the pool's ping, the claim) fails as unavailable
    with pytest.raises(StoreUnavailable) as refused:
        await asyncio.wait_for(call(through), BOUND)
    assert type(refused.value) is StoreUnavailable
    assert refused.value.message == NO_ANSWER
    assert len(attempts) == 1  # on the connection it had
    # and that connection is not used again: the call after opens a new one (unanswered too)
    with pytest.raises(StoreUnavailable) as again:
        await asyncio.wait_for(call(through), BOUND)
    assert again.value.message == NO_ANSWER
    assert len(attempts) == 2


async def test_a_webhook_group_that_gets_no_answer_is_refused_whole_and_stored_once_again(
    direct: AsyncEngine,
    through: AsyncEngine,
    proxy: UnansweringDatabaseProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given an inbox whose kept connection worked
    installation = await InstallationStore(direct, SecretBox(TEST_SECRET_KEY)).save_installation(
        saleor_api_url="https://shop.example/graphql/",
        app_id="QXBwOjQ=",
        token=TOKEN,
        jwks=JWKS,
        now=NOW,
    )
    inbox = EventInbox(through)
    first = await asyncio.wait_for(
        inbox.record_order_event(received(installation.id, 1), now=NOW), BOUND
    )
    assert first.duplicate is False
    # when the database stops answering on it and five events arrive together (one group)
    proxy.blackhole()
    events = [received(installation.id, n) for n in range(2, 7)]
    caplog.set_level(logging.WARNING, logger="saleor_gordon.store.inbox")
    try:
        results = await asyncio.wait_for(
            asyncio.gather(
                *(inbox.record_order_event(e, now=NOW) for e in events), return_exceptions=True
            ),
            BOUND,
        )
    finally:
        await asyncio.wait_for(inbox.close(), BOUND)
    # then all are refused as retryable (503: Saleor delivers them again), none acknowledged,
    # and the group is not split (each event alone would wait for no answer again)
    assert all(isinstance(result, StoreUnavailable) for result in results)
    assert {str(result) for result in results} == {NO_ANSWER}
    assert [r.message for r in caplog.records if "inbox.group_failed" in r.getMessage()] == []
    # and once Saleor delivers them again (to a database that answers), each is stored once
    again = EventInbox(direct)
    redelivered = [await again.record_order_event(e, now=NOW) for e in events]
    assert [result.duplicate for result in redelivered] == [False] * 5
    assert [
        result.duplicate for result in [await again.record_order_event(e, now=NOW) for e in events]
    ] == [True] * 5
    await again.close()
    assert await again.count_events(installation.id) == 6
    assert len(await JobViews(direct).list_jobs()) == 6


@pytest.mark.usefixtures("direct")
async def test_the_app_processes_use_the_setting(
    fresh_postgres_url: str, proxy: UnansweringDatabaseProxy
) -> None:
    # serve, worker and the other commands open the database through open_runtime
    url = make_url(fresh_postgres_url).set(host="127.0.0.1", port=proxy.port)
    settings = Settings(
        database_url=url.render_as_string(hide_password=False),
        secret_key=TEST_SECRET_KEY,
        database_connect_timeout_seconds=TIMEOUT,
        database_statement_timeout_seconds=TIMEOUT,
    )
    async with open_runtime(settings) as runtime:
        assert await asyncio.wait_for(runtime.jobs.list_jobs(), BOUND) == []
        proxy.blackhole()
        with pytest.raises(StoreUnavailable) as refused:
            await asyncio.wait_for(runtime.jobs.list_jobs(), BOUND)
    assert refused.value.message == NO_ANSWER


async def test_migrate_opens_its_engine_without_the_statement_timeout(
    monkeypatch: pytest.MonkeyPatch, fresh_postgres_url: str
) -> None:
    # a data migration may run one long statement on a big table
    asked: list[dict[str, object]] = []

    def spy(url: str, **options: object) -> AsyncEngine:
        asked.append(options)
        return database.create_engine(url, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(migrate_command, "create_engine", spy)
    await asyncio.wait_for(migrate_command._migrate(fresh_postgres_url, TIMEOUT), BOUND * 3)
    assert asked == [{"connect_timeout": TIMEOUT, "statement_timeout": None}]
