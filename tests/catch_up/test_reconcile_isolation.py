"""Reconcile handles shops concurrently, each within a deadline: a shop whose Saleor never answers
delays no other shop, and ends at its deadline, due again in a fifth of the period (SQLite and
PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from saleor_gordon.catch_up.scan import reconcile_due_shops
from saleor_gordon.core.shop_config import parse_shop_config
from saleor_gordon.runtime import open_runtime
from saleor_gordon.settings import Settings
from saleor_gordon.store.database import migrate
from saleor_gordon.store.tables import reconcile_leases
from tests.catch_up.test_reconcile import INTERVAL, Clock, _order, _queued_numbers
from tests.conftest import TEST_SECRET_KEY
from tests.core.builders import config_data
from tests.jobs.test_worker import until
from tests.outbound.servers import serving, silent
from tests.support.fixtures import RunningSaleorFake

SHOP_DEADLINE = 2.0


async def test_a_hanging_shop_neither_delays_the_others_nor_outlives_its_deadline(
    database_url: str, saleor_fake: RunningSaleorFake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="saleor_gordon")
    settings = Settings(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        reconcile_interval_seconds=INTERVAL,
        reconcile_lookback_hours=2,
        reconcile_shop_deadline_seconds=SHOP_DEADLINE,
        saleor_timeout_seconds=60,  # the shop's deadline ends the call, not the call's own
    )
    clock = Clock()
    async with (
        serving(silent()) as hanging_saleor,
        open_runtime(settings, clock=clock) as runtime,
    ):
        await migrate(runtime.engine)
        # given a shop whose Saleor never answers, listed before a shop with a lost order
        shops = []
        for api_url in (f"{hanging_saleor.url}/graphql/", saleor_fake.api_url):
            installation = await runtime.installations.save_installation(
                saleor_api_url=api_url,
                app_id=saleor_fake.state.app_id,
                token=saleor_fake.state.issue_token(),
                jwks=saleor_fake.state.jwks,
                now=clock.now,
            )
            config = parse_shop_config(config_data())
            await runtime.installations.save_config(installation.id, config, now=clock.now)
            shops.append(installation.id)
        hanging, healthy = shops
        lost = _order(saleor_fake, updated=clock.now - timedelta(minutes=30))

        # when the shops are reconciled
        reconcile = asyncio.create_task(reconcile_due_shops(runtime, owner="process-a"))

        # then the healthy shop's lost order is queued while the hanging shop still waits
        async def queued() -> bool:
            return lost["number"] in await _queued_numbers(runtime)

        await until(queued, "the healthy shop's lost order queued")
        assert hanging_saleor.open_connections == 1
        assert not [r for r in caplog.records if r.getMessage().startswith("reconcile.timed_")]

        # and the hanging shop ends at its deadline, due again in a fifth of the period
        async with asyncio.timeout(SHOP_DEADLINE * 5):
            done = await reconcile
        assert done == {healthy: 1}
        async with runtime.engine.connect() as connection:
            rows = (await connection.execute(select(reconcile_leases))).all()
        leases = {row.installation_id: row._mapping for row in rows}
        assert leases[hanging]["next_due_at"] == clock.now + timedelta(seconds=INTERVAL / 5)
        assert leases[hanging]["lease_owner"] is None
        assert leases[healthy]["next_due_at"] == clock.now + timedelta(seconds=INTERVAL)
        assert [
            r.getMessage() for r in caplog.records if r.getMessage().startswith("reconcile.timed_")
        ] == [
            f"reconcile.timed_out installation_id={hanging} deadline=2s: the shop is due again in "
            "a fifth of the period"
        ]


def test_reconcile_concurrency_and_deadline_defaults() -> None:
    settings = Settings()
    assert (settings.reconcile_concurrency, settings.reconcile_shop_deadline_seconds) == (4, 300.0)
