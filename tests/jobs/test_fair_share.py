"""The workers' fair share: which attempts are stopped when slow ones hold too many workers, and
which shops the claim skips meanwhile, keyed by server so that URL variants count as one
(SQLite and PostgreSQL for the claim and the servers read from the store).

The whole behaviour, with ``serve`` and trickling servers, is in
tests/outbound/test_fair_share_process.py.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.core.shop_config import parse_shop_config
from saleor_gordon.jobs.queue import Claim, JobQueue
from saleor_gordon.jobs.worker import AttemptLimit, FairShare, _Running, calls_any
from saleor_gordon.outbound import origin_of
from saleor_gordon.secret_box import SecretBox
from saleor_gordon.store.database import create_engine, migrate
from saleor_gordon.store.installations import InstallationStore
from saleor_gordon.store.tables import sync_jobs
from tests.conftest import TEST_SECRET_KEY
from tests.jobs.test_queue import LEASE, _event, _install
from tests.support.shop import shop_config

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_servers_are_keyed_as_the_outbound_policy_sees_them() -> None:
    variants = [
        "https://evil.example.com/graphql/",
        "HTTPS://Evil.Example.com:443/other/graphql/",
        "https://evil.example.com:443/graphql/#x",
    ]
    assert {origin_of(url) for url in variants} == {"https://evil.example.com"}
    assert origin_of("https://evil.example.com:8443/graphql/") == "https://evil.example.com:8443"
    assert origin_of("http://evil.example.com/graphql/") == "http://evil.example.com"
    assert origin_of("not a url") is None


async def test_the_claim_skips_the_shops_it_is_told_to(migrated_engine: AsyncEngine) -> None:
    # given two shops with a due job each
    jobs = JobQueue(migrated_engine)
    slow = await _install(migrated_engine, "https://slow.example.com/graphql/")
    quick = await _install(migrated_engine, "https://quick.example.com/graphql/")
    await _event(migrated_engine, slow, "gid://slow/1")
    await _event(migrated_engine, quick, "gid://quick/1")

    async def claim(skip: frozenset[int]) -> int | None:
        job = await jobs.claim_next_job(
            worker_id="w",
            now=NOW,
            lease_seconds=LEASE,
            per_installation_limit=4,
            skip_installations=skip,
        )
        return None if job is None else job.installation_id

    # when the claim skips the slow shop, then only the quick shop's job is claimed
    assert await claim(frozenset({slow})) == quick
    assert await claim(frozenset({slow})) is None
    # and without the skip, the slow shop's job is claimed
    assert await claim(frozenset()) == slow


async def test_a_skipped_shop_is_not_saturated_and_has_due_job_answers_as_the_claim_would(
    migrated_engine: AsyncEngine,
) -> None:
    # given a slow shop with two due jobs and a quick shop with one, one lease per shop
    jobs = JobQueue(migrated_engine)
    slow = await _install(migrated_engine, "https://slow.example.com/graphql/")
    quick = await _install(migrated_engine, "https://quick.example.com/graphql/")
    await _event(migrated_engine, slow, "gid://slow/1")
    await _event(migrated_engine, slow, "gid://slow/2")
    await _event(migrated_engine, quick, "gid://quick/1")
    skip = frozenset({slow})

    async def due(skip: frozenset[int]) -> bool:
        return await jobs.has_due_job(now=NOW, per_installation_limit=1, skip_installations=skip)

    async def claim(worker_id: str, skip: frozenset[int]) -> Claim:
        return await jobs.claim(
            worker_id=worker_id,
            now=NOW,
            lease_seconds=LEASE,
            per_installation_limit=1,
            skip_installations=skip,
        )

    # then another shop's job is due, and asking leased nothing
    assert await due(skip) is True
    assert await due(skip) is True
    # when the claim skips the slow shop: the quick shop's job, and the slow shop (under its
    # share) is not named as waiting for its leases
    first = await claim("w1", skip)
    assert first.job is not None
    assert (first.job.installation_id, first.saturated) == (quick, frozenset())
    # then nothing else is due but the skipped shop's
    assert await due(skip) is False
    assert await due(frozenset()) is True
    assert await claim("w2", skip) == Claim(None, frozenset())
    # and without the skip the slow shop's job is claimed; at its share it is saturated, skipped
    # or not
    second = await claim("w3", frozenset())
    assert second.job is not None
    assert second.job.installation_id == slow
    assert await due(frozenset()) is False
    assert await claim("w4", skip) == Claim(None, frozenset({slow}))


async def test_a_claim_that_skips_every_due_shop_does_not_wait_for_the_write_lock(
    tmp_path: Path,
) -> None:
    """SQLite: the read-first look applies the skip too, so a claim that may take nothing but
    skipped shops' jobs neither takes nor waits for the write lock (here held by another
    connection for as long as the claim may take)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    await migrate(engine)
    try:
        slow = await _install(engine, "https://slow.example.com/graphql/")
        await _event(engine, slow, "gid://slow/1")
        jobs = JobQueue(engine)
        async with engine.connect() as writer:
            await writer.execute(update(sync_jobs).where(sync_jobs.c.id < 0).values(attempts=0))
            async with asyncio.timeout(5):
                claim = await jobs.claim(
                    worker_id="w",
                    now=NOW,
                    lease_seconds=LEASE,
                    per_installation_limit=1,
                    skip_installations=frozenset({slow}),
                )
            await writer.rollback()
    finally:
        await engine.dispose()

    assert claim == Claim(None, frozenset())


async def test_url_variants_of_a_slow_server_are_all_skipped(migrated_engine: AsyncEngine) -> None:
    # given shops registered under variants of one Saleor, and shops sharing one Gordon
    store = InstallationStore(migrated_engine, SecretBox(TEST_SECRET_KEY))
    saleor_a = await _install(migrated_engine, "https://evil.example.com/graphql/")
    saleor_b = await _install(migrated_engine, "https://EVIL.example.com:443/shop-2/graphql/")
    gordon_a = await _install(migrated_engine, "https://one.example.net/graphql/")
    gordon_b = await _install(migrated_engine, "https://two.example.net/graphql/")
    honest = await _install(migrated_engine, "https://honest.example.org/graphql/")
    for installation_id, base_url in [
        (gordon_a, "https://gordon.evil.example.com"),
        (gordon_b, "https://Gordon.Evil.example.com:443/api"),
        (honest, "https://backend.gordondelivery.com"),
    ]:
        config = parse_shop_config(shop_config(base_url))
        await store.save_config(installation_id, config, now=NOW)

    servers = await store.servers_by_installation()

    def calling(server: str) -> set[int]:
        slow = frozenset({server})
        return {id_ for id_, urls in servers.items() if calls_any(urls, slow)}

    assert servers[saleor_a] == ("https://evil.example.com/graphql/", None)
    assert servers[gordon_b] == (
        "https://two.example.net/graphql/",
        "https://Gordon.Evil.example.com:443/api",
    )
    assert calling("https://evil.example.com") == {saleor_a, saleor_b}
    assert calling("https://gordon.evil.example.com") == {gordon_a, gordon_b}
    assert calling("https://backend.gordondelivery.com") == {honest}


async def test_slow_attempts_beyond_half_the_workers_are_stopped_newest_first() -> None:
    share = FairShare(workers=4, slow_after=5.0)
    running = [_Running(job=None, limit=AttemptLimit(25.0)) for _ in range(4)]  # type: ignore[arg-type]
    for index, item in enumerate(running):
        item.limit.started = float(index)  # started one after the other

    # two slow attempts: their share, none stopped; the claims skip the slow servers
    running[0].slow = running[1].slow = True
    assert share.share == 2
    assert share.to_stop(running) == []
    share.mark_slow(["https://slow.example.com"], now=0.0)
    assert share.claims_skip(running, now=1.0) == {"https://slow.example.com"}

    # a third: the newest slow one is stopped
    running[3].slow = True
    assert share.to_stop(running) == [running[3]]
    running[3].limit.cut(share.stop_reason())
    assert share.to_stop(running) == []
    stopped = running[3].limit.stop.message
    assert stopped.to_json() == {
        "code": "job.stopped_for_other_shops",
        "params": {"seconds": 5.0, "share": 2, "workers": 4},
        "message": "The attempt was stopped: it waited over 5 s for servers that are slow, and "
        "slow servers may hold at most 2 of this process's 4 workers, so that other shops' "
        "orders keep flowing.",
    }

    # fewer slow attempts than the share: the claims skip nothing
    running[1].slow = running[3].slow = False
    assert share.claims_skip(running, now=1.0) == frozenset()
    # a server found quick again, or not seen slow for five minutes, is no longer slow
    share.mark_slow(["https://other.example.com"], now=0.0)
    share.mark_quick(["https://slow.example.com"])
    assert share.slow_servers(now=299.0) == {"https://other.example.com"}
    assert share.slow_servers(now=300.0) == frozenset()


async def test_a_pool_of_one_worker_still_lets_slow_attempts_run() -> None:
    share = FairShare(workers=1, slow_after=5.0)
    [item] = [_Running(job=None, limit=AttemptLimit(25.0))]  # type: ignore[arg-type]
    item.slow = True
    assert share.share == 1
    assert share.to_stop([item]) == []
