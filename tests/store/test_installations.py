"""InstallationStore and EventInbox on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.core.order_events import OrderEvent
from saleor_gordon.core.shop_config import parse_shop_config
from saleor_gordon.errors import ConfigChangedElsewhere
from saleor_gordon.jobs.queue import JobQueue, OrderJobRequest
from saleor_gordon.jobs.views import JobViews
from saleor_gordon.secret_box import SecretBox
from saleor_gordon.store.database import migration_status
from saleor_gordon.store.inbox import EventInbox
from saleor_gordon.store.installations import DecodedShops, InstallationStore
from saleor_gordon.store.tables import sync_jobs
from tests.conftest import TEST_SECRET_KEY
from tests.support.fixtures import count_compiles
from tests.support.shop import shop_config

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
API_URL = "https://shop.example.com/graphql/"
TOKEN = "abcdefghijklmnopqrstuvwxyz0123"
JWKS = {"keys": [{"kty": "RSA", "kid": "k1", "n": "AQAB", "e": "AQAB"}]}


def _store(engine: AsyncEngine) -> InstallationStore:
    return InstallationStore(engine, SecretBox(TEST_SECRET_KEY))


def _event(
    installation_id: int, event: str = "ORDER_FULLY_PAID", issued_at: str = "t1"
) -> OrderEvent:
    return OrderEvent(
        installation_id=installation_id,
        event=event,
        order_id="T3JkZXI6MQ==",
        order_number="45",
        issued_at=issued_at,
        principal_type="User",
        principal_id="VXNlcjoyMQ==",
        body_sha256="0" * 64,
    )


async def test_migrations_reach_head(migrated_engine: AsyncEngine) -> None:
    status = await migration_status(migrated_engine)

    assert status.up_to_date
    assert status.current is not None


async def test_saves_and_reads_an_installation(migrated_engine: AsyncEngine) -> None:
    store = _store(migrated_engine)

    saved = await store.save_installation(
        saleor_api_url=API_URL, app_id="QXBwOjQ=", token=TOKEN, jwks=JWKS, now=NOW
    )

    assert saved == await store.get_installation(API_URL)
    assert saved.token == TOKEN
    assert saved.jwks == JWKS
    assert saved.installed_at == NOW
    assert await store.get_installation("https://other.example.com/graphql/") is None


async def test_a_store_made_per_webhook_compiles_no_statement(
    migrated_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store is made per webhook (``Runtime.installations``): its prepared SQLite read is
    compiled once per process, not per store (compiling costs about a quarter of a millisecond)."""
    saved = await _store(migrated_engine).save_installation(
        saleor_api_url=API_URL, app_id="QXBwOjQ=", token=TOKEN, jwks=JWKS, now=NOW
    )
    compiled = count_compiles(monkeypatch)

    again = _store(migrated_engine)

    assert await again.get_installation_by_id(saved.id) == saved
    assert compiled == []


async def test_reinstall_replaces_token_and_keeps_identity(migrated_engine: AsyncEngine) -> None:
    store = _store(migrated_engine)
    first = await store.save_installation(
        saleor_api_url=API_URL, app_id="QXBwOjQ=", token=TOKEN, jwks=JWKS, now=NOW
    )
    await store.mark_revoked(first.id, now=NOW)

    later = NOW + timedelta(minutes=5)
    second = await store.save_installation(
        saleor_api_url=API_URL, app_id="QXBwOjU=", token="N" * 30, jwks=JWKS, now=later
    )

    assert second.id == first.id
    assert second.token == "N" * 30
    assert second.app_id == "QXBwOjU="
    assert second.installed_at == NOW
    assert second.updated_at == later
    assert second.revoked_at is None
    assert len(await store.list_installations()) == 1


async def test_token_is_encrypted_at_rest(migrated_engine: AsyncEngine) -> None:
    await _store(migrated_engine).save_installation(
        saleor_api_url=API_URL, app_id="QXBwOjQ=", token=TOKEN, jwks=JWKS, now=NOW
    )

    async with migrated_engine.connect() as connection:
        stored = (
            await connection.execute(text("SELECT token_encrypted FROM installations"))
        ).scalar()

    assert isinstance(stored, str)
    assert TOKEN not in stored
    assert stored.startswith("v1:")


def _all_bytes(directory: Path) -> bytes:
    return b"".join(path.read_bytes() for path in directory.iterdir())


async def test_token_not_in_sqlite_file(tmp_path: Path) -> None:
    """The raw database file never holds the token as plain text (WAL included)."""
    from saleor_gordon.store.database import create_engine, migrate

    engine = create_engine(f"sqlite:///{tmp_path / 'app.db'}")
    await migrate(engine)
    await _store(engine).save_installation(
        saleor_api_url=API_URL, app_id="QXBwOjQ=", token=TOKEN, jwks=JWKS, now=NOW
    )
    await engine.dispose()

    raw = _all_bytes(tmp_path)
    assert TOKEN.encode() not in raw
    assert API_URL.encode() in raw  # the file was really written


async def test_deleting_an_installation_removes_its_events_and_jobs(
    migrated_engine: AsyncEngine,
) -> None:
    store = _store(migrated_engine)
    installation = await store.save_installation(
        saleor_api_url=API_URL, app_id="QXBwOjQ=", token=TOKEN, jwks=JWKS, now=NOW
    )
    async with EventInbox(migrated_engine) as inbox:
        await inbox.record_order_event(_event(installation.id), now=NOW)

    assert await store.delete_installation(installation.id)

    assert await store.get_installation(API_URL) is None
    assert await JobViews(migrated_engine).list_jobs() == []
    assert await EventInbox(migrated_engine).count_events(installation.id) == 0


@pytest_asyncio.fixture
async def inbox(migrated_engine: AsyncEngine) -> AsyncIterator[EventInbox]:
    async with EventInbox(migrated_engine) as inbox:
        yield inbox


async def test_duplicate_deliveries_are_stored_once(
    migrated_engine: AsyncEngine, inbox: EventInbox
) -> None:
    installation = await _store(migrated_engine).save_installation(
        saleor_api_url=API_URL, app_id="QXBwOjQ=", token=TOKEN, jwks=JWKS, now=NOW
    )
    results = [await inbox.record_order_event(_event(installation.id), now=NOW) for _ in range(3)]

    assert [result.duplicate for result in results] == [False, True, True]
    assert await inbox.count_events(installation.id) == 1
    assert len(await JobViews(migrated_engine).list_jobs()) == 1


async def test_events_of_one_order_coalesce_into_one_job(
    migrated_engine: AsyncEngine, inbox: EventInbox
) -> None:
    installation = await _store(migrated_engine).save_installation(
        saleor_api_url=API_URL, app_id="QXBwOjQ=", token=TOKEN, jwks=JWKS, now=NOW
    )
    for index, event in enumerate(["ORDER_CREATED", "ORDER_CONFIRMED", "ORDER_FULLY_PAID"]):
        await inbox.record_order_event(_event(installation.id, event, f"t{index}"), now=NOW)

    jobs = await JobViews(migrated_engine).list_jobs()
    assert len(jobs) == 1
    assert jobs[0].events_seen == ["ORDER_CONFIRMED", "ORDER_CREATED", "ORDER_FULLY_PAID"]
    assert jobs[0].status == "pending"
    assert await inbox.count_events(installation.id) == 3


async def test_a_saved_configuration_runs_the_jobs_waiting_for_a_person_again(
    migrated_engine: AsyncEngine,
) -> None:
    """Through the queue: due at once, and this process's workers are woken."""
    woken: list[str] = []
    queue = JobQueue(migrated_engine, wake_workers=lambda: woken.append("woken"))
    store = InstallationStore(migrated_engine, SecretBox(TEST_SECRET_KEY), queue=queue)
    installation = await store.save_installation(
        saleor_api_url="https://a.example.com/graphql/",
        app_id="QXBwOjE=",
        token="t" * 30,
        jwks={"keys": []},
        now=NOW,
    )
    config = parse_shop_config(shop_config("https://gordon.example.com"))
    await store.save_config(installation.id, config, now=NOW)
    assert woken == []  # nothing waits for a person yet
    async with queue.transaction() as writes:
        await writes.enqueue(
            [OrderJobRequest(installation.id, "order-1", "1", "ORDER_FULLY_PAID", NOW)]
        )
        await writes.connection.execute(
            update(sync_jobs).values(status="needs_attention", next_attempt_at=None)
        )
    woken.clear()
    later = NOW + timedelta(hours=1)

    await store.save_config(installation.id, config, now=later)

    [job] = await JobViews(migrated_engine).list_jobs()
    assert (job.status, job.next_attempt_at, woken) == ("pending", later, ["woken"])


async def test_every_save_gives_a_new_version_and_one_based_on_an_older_one_stores_nothing(
    migrated_engine: AsyncEngine,
) -> None:
    """Two saves within the same tick of the clock still differ; a save based on a version
    another save replaced is refused in the statement that would store it."""
    store = _store(migrated_engine)
    installation = await store.save_installation(
        saleor_api_url=API_URL, app_id="QXBwOjE=", token=TOKEN, jwks=JWKS, now=NOW
    )
    first = parse_shop_config(shop_config("https://gordon.example.com"))
    second = parse_shop_config(shop_config("https://gordon.example.com", external_ref_prefix="B"))
    unsaved = await store.get_stored_config(installation.id)

    one = await store.save_config(installation.id, first, now=NOW, based_on=0)
    two = await store.save_config(installation.id, second, now=NOW, based_on=one)
    with pytest.raises(ConfigChangedElsewhere) as refused:
        await store.save_config(installation.id, first, now=NOW, based_on=one)
    three = await store.save_config(installation.id, first, now=NOW)  # based on none: replaces

    assert (unsaved.data, unsaved.version) == (None, 0)
    assert (one, two, three) == (1, 2, 3)
    assert (refused.value.based_on, refused.value.stored) == (1, 2)
    stored = await store.get_stored_config(installation.id)
    assert (stored.version, await store.get_config(installation.id)) == (3, first)


async def test_a_save_refused_for_its_version_leaves_the_stored_configuration_as_it_was(
    migrated_engine: AsyncEngine,
) -> None:
    store = _store(migrated_engine)
    installation = await store.save_installation(
        saleor_api_url=API_URL, app_id="QXBwOjE=", token=TOKEN, jwks=JWKS, now=NOW
    )
    kept = parse_shop_config(shop_config("https://gordon.example.com"))
    await store.save_config(installation.id, kept, now=NOW)
    before = await store.get_stored_config(installation.id)

    with pytest.raises(ConfigChangedElsewhere):
        await store.save_config(
            installation.id,
            parse_shop_config(shop_config("https://gordon.example.com", client_secret="x" * 20)),
            now=NOW + timedelta(hours=1),
            based_on=0,
        )

    assert await store.get_stored_config(installation.id) == before
    assert await store.get_config(installation.id) == kept


async def test_a_jobs_read_decodes_a_stored_shop_once_per_change(
    migrated_engine: AsyncEngine,
) -> None:
    """The token and configuration a job reads are decoded once while the row stays as it is,
    and anew as soon as it changed, whichever process wrote it (keyed by what is stored)."""
    decoded = DecodedShops()
    store = InstallationStore(migrated_engine, SecretBox(TEST_SECRET_KEY), decoded=decoded)
    installation = await store.save_installation(
        saleor_api_url=API_URL, app_id="QXBwOjE=", token=TOKEN, jwks=JWKS, now=NOW
    )
    config = parse_shop_config(shop_config("https://gordon.example.com"))
    await store.save_config(installation.id, config, now=NOW)

    first = await store.get_installation_with_config(installation.id)
    again = await store.get_installation_with_config(installation.id)

    assert first is not None
    assert again is not None
    assert (first[0].token, first[1]) == (TOKEN, config)
    assert again[1] is first[1]  # not decoded again
    assert len(decoded.entries) == 1

    # another process (a store of its own) saves a new configuration and a new token
    other = _store(migrated_engine)
    changed = parse_shop_config(
        shop_config("https://gordon.example.com", client_secret="another-secret-0123")
    )
    await other.save_config(installation.id, changed, now=NOW)
    after_config = await store.get_installation_with_config(installation.id)
    await other.save_installation(
        saleor_api_url=API_URL, app_id="QXBwOjE=", token="new" + TOKEN, jwks=JWKS, now=NOW
    )
    after_token = await store.get_installation_with_config(installation.id)

    assert after_config is not None
    assert after_token is not None
    assert after_config[1] == changed
    assert after_config[1].gordon.client_secret.get_secret_value() == "another-secret-0123"
    assert (after_token[0].token, after_token[1]) == ("new" + TOKEN, changed)
