"""What one worker's claim costs when it finds nothing to claim, against the shop's backlog.

The case of a busy ``serve``: one shop with a backlog of due jobs has its share of workers
(``SHOP_CONCURRENCY``, 2 of the default 4) leased, so every other worker that wakes (every accepted
webhook may wake one) runs ``JobQueue.claim_next_job`` and finds nothing claimable. For backlogs
of 0 to 30,000 due jobs: the median time of such a claim (on SQLite a read transaction, which
does not take the write lock the webhook writer needs; its statements are built once per
process). Baseline: the claim with an empty backlog.

    uv run python bench/claim.py
    uv run python bench/claim.py --postgres postgresql://postgres@127.0.0.1:5432/postgres
    uv run python bench/claim.py --short             # a few seconds: proves it runs
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, text

from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.order_events import EVENT_BITS
from saleor_gordon.jobs.queue import JobQueue
from saleor_gordon.secret_box import SecretBox
from saleor_gordon.store.database import create_engine, migrate
from saleor_gordon.store.installations import InstallationStore
from saleor_gordon.store.tables import sync_jobs
from tests.support.app_process import throwaway_postgres

SECRET_KEY = "bench-secret-key-0123456789abcdef0123456789abcdef"  # noqa: S105 - throwaway data
SHOP_SHARE = 2  # SHOP_CONCURRENCY's default with the default 4 workers
CLAIMS = 30
INSERT_BATCH = 1000


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--postgres", metavar="URL", help="PostgreSQL instead of SQLite")
    parser.add_argument("--short", action="store_true", help="backlogs 0 and 100 only")
    return parser.parse_args(argv)


async def measure(database_url: str, backlog: int) -> float:
    """The median ms of a claim finding nothing."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        now = datetime.now(UTC)
        installation = await InstallationStore(engine, SecretBox(SECRET_KEY)).save_installation(
            saleor_api_url="http://saleor.bench/graphql/",
            app_id="QXBwOjE=",
            token="t" * 30,
            jwks={"keys": []},
            now=now,
        )
        due = {"installation_id": installation.id, "status": JobStatus.PENDING.value}
        due |= {"events_mask": EVENT_BITS["ORDER_FULLY_PAID"], "version": 1, "attempts": 0}
        due |= {"next_attempt_at": now - timedelta(seconds=1), "pending_since": now}
        due |= {"run_now": False, "created_at": now, "updated_at": now}
        total = backlog + SHOP_SHARE  # the shop's share of workers holds two of them
        for start in range(0, total, INSERT_BATCH):
            rows = [
                {**due, "order_id": f"order-{n}", "order_number": str(n)}
                for n in range(start, min(total, start + INSERT_BATCH))
            ]
            async with engine.begin() as connection:
                await connection.execute(insert(sync_jobs), rows)
        if engine.dialect.name == "postgresql":  # the statistics autovacuum keeps
            async with engine.connect() as connection:
                await connection.execute(text("ANALYZE sync_jobs"))
        jobs = JobQueue(engine)

        async def claim(worker: str) -> object:
            return await jobs.claim_next_job(
                worker_id=worker, now=now, lease_seconds=300, per_installation_limit=SHOP_SHARE
            )

        for index in range(SHOP_SHARE):
            if await claim(f"busy-{index}") is None:
                raise RuntimeError("the shop's share could not be leased")
        claims = []
        for _ in range(CLAIMS):
            started = time.perf_counter()
            if await claim("idle") is not None:
                raise RuntimeError("a claim beyond the shop's share succeeded")
            claims.append(time.perf_counter() - started)
        return statistics.median(claims) * 1000
    finally:
        await engine.dispose()


async def run(args: argparse.Namespace) -> None:
    database = "PostgreSQL" if args.postgres else "SQLite"
    backlogs = (0, 100) if args.short else (0, 100, 1000, 10_000, 30_000)
    results = []
    for backlog in backlogs:
        if args.postgres:
            async with throwaway_postgres(args.postgres) as url:
                results.append((backlog, await measure(url, backlog)))
        else:
            with tempfile.TemporaryDirectory(prefix="bench-claim-") as tmp:
                results.append((backlog, await measure(f"sqlite:///{tmp}/claim.db", backlog)))
    empty = results[0][1]
    print(f"claim finding nothing ({database}, the shop's {SHOP_SHARE} workers busy; medians):")
    for backlog, claim_ms in results:
        print(
            f"  {backlog:>6} due jobs: claim {claim_ms:6.2f} ms (x{claim_ms / empty:.1f} of an "
            "empty backlog)"
        )


def main(argv: Sequence[str] | None = None) -> None:
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
