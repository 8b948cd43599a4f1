"""Backfill and reconcile: page through a shop's orders and queue what should be in Gordon.

One path for both (``scan_orders``): each page of ``orders`` (100, by number) is translated and
judged per order by ``core.backfill.plan_order`` (the pipeline's ``decide_sync`` with what the job
table knows); the orders it queues get a job like a webhook would give them, and the workers do
the rest. A backfill (``saleor-gordon backfill``) selects orders by creation time and keeps a
checkpoint per page; a reconcile (``reconcile_due_shops``, periodic in ``serve`` and ``worker``)
looks back a window of update times, once per shop per period across all processes, several
shops at once, each within a deadline.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from saleor_gordon.catch_up.plan import ENQUEUE, SKIP, KnownJob, ScanAction, plan_order
from saleor_gordon.catch_up.store import BackfillRun, CatchUpStore, OrderToQueue
from saleor_gordon.core.fulfillment import decide_fulfillment
from saleor_gordon.core.kept_text import keepable_text
from saleor_gordon.core.order import (
    MAX_ORDER_ID_CHARS,
    OrderIdentifierUnusable,
    OrderPayloadInvalid,
    SaleorOrder,
)
from saleor_gordon.core.sync_decision import NOTHING_SENT, decide_for_order, order_state
from saleor_gordon.errors import (
    ConfigurationError,
    GordonAppError,
    SaleorTokenRevoked,
    ShopConfigInvalid,
    ShopNotConfigured,
)
from saleor_gordon.runtime import Runtime
from saleor_gordon.saleor.graphql_client import OrderTimeField
from saleor_gordon.shop import Shop, load_shop
from saleor_gordon.store.installations import Installation

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlannedOrder:
    order_id: str
    order_number: str | None
    action: ScanAction
    reason: str

    def to_dict(self) -> dict[str, str | None]:
        return {
            "order_id": self.order_id,
            "order_number": self.order_number,
            "action": self.action,
            "reason": self.reason,
        }


@dataclass
class ScanProgress:
    """Counts so far (a resumed run starts with what the interrupted one recorded)."""

    seen: int = 0
    enqueued: int = 0
    skipped: int = 0
    pages: int = 0
    total: int | None = None
    """How many orders Saleor counts in the range (None: it did not say)."""
    resumed: bool = False
    legacy_filter: bool = False
    planned: list[PlannedOrder] = field(default_factory=list)
    """Every order judged by this process (not those of an interrupted run before it)."""

    def to_dict(self) -> dict[str, object]:
        return {
            "seen": self.seen,
            "enqueued": self.enqueued,
            "skipped": self.skipped,
            "pages": self.pages,
            "total": self.total,
            "resumed": self.resumed,
            "legacy_filter": self.legacy_filter,
        }


PageCallback = Callable[[ScanProgress, Sequence[PlannedOrder]], Awaitable[None] | None]


async def installed_shop(runtime: Runtime, saleor_api_url: str) -> Shop:
    """The shop of ``saleor_api_url``, installed and configured; ConfigurationError (or
    ShopNotConfigured, ShopConfigInvalid) says what is missing."""
    installation = await runtime.installations.get_installation(saleor_api_url)
    if installation is None:
        raise ConfigurationError(f"The app is not installed for {saleor_api_url}.")
    if installation.revoked_at is not None:
        raise ConfigurationError(
            f"Saleor no longer accepts the app's token for {saleor_api_url}; install the app "
            "there again."
        )
    return await load_shop(runtime, installation)


async def scan_orders(
    runtime: Runtime,
    shop: Shop,
    *,
    time_field: OrderTimeField,
    since: datetime,
    until: datetime | None,
    dry_run: bool = False,
    checkpoint: bool = True,
    on_page: PageCallback | None = None,
) -> ScanProgress:
    """Judge every order of the shop whose ``time_field`` lies in [since, until]; queue those
    that should be in Gordon and are not (unless ``dry_run``).

    With ``checkpoint`` (backfill), each page is recorded with the cursor after it, and a run of
    the same range that was interrupted resumes after its last recorded page. ``until`` None is
    "up to now" (for a resumed run: up to the "now" it started with).
    """
    store = CatchUpStore(runtime.engine, runtime.queue)
    installation = shop.installation
    run: BackfillRun | None = None
    progress = ScanProgress()
    cursor: str | None = None
    if checkpoint and not dry_run:
        run = await store.start_run(
            installation.id, time_field=time_field, since=since, until=until, now=runtime.clock()
        )
        cursor, until = run.cursor, run.until
        progress = ScanProgress(
            seen=run.seen,
            enqueued=run.enqueued,
            skipped=run.skipped,
            pages=run.pages,
            resumed=run.resumed,
        )
        if run.resumed and run.pages and cursor is None:  # the last page was recorded
            await store.finish_run(run, now=runtime.clock())
            return progress
    end = until or runtime.clock()
    saleor = runtime.saleor_client(installation.saleor_api_url, installation.token)
    try:
        while True:
            page = await saleor.orders_page(
                field=time_field,
                since=since,
                until=end,
                after=cursor,
                legacy_filter=progress.legacy_filter,
            )
            progress.legacy_filter = page.legacy_filter
            if page.total is not None:
                progress.total = page.total
            planned = await _plan_page(runtime, store, shop, page.orders)
            to_queue = [
                OrderToQueue(p.order_id, p.order_number) for p in planned if p.action == ENQUEUE
            ]
            skipped = len(planned) - len(to_queue)
            now = runtime.clock()
            if run is not None:
                run = await store.record_page(
                    run,
                    installation.id,
                    to_queue,
                    cursor=page.next_cursor,
                    seen=len(planned),
                    skipped=skipped,
                    now=now,
                )
            elif not dry_run and to_queue:
                await store.enqueue(installation.id, to_queue, now=now)
            progress.seen += len(planned)
            progress.enqueued += len(to_queue)
            progress.skipped += skipped
            progress.pages += 1
            progress.planned.extend(planned)
            if on_page is not None:
                outcome = on_page(progress, planned)
                if outcome is not None:
                    await outcome
            cursor = page.next_cursor
            if cursor is None:
                break
    except SaleorTokenRevoked:
        await runtime.installations.mark_revoked(installation.id, now=runtime.clock())
        raise
    if run is not None:
        await store.finish_run(run, now=runtime.clock())
    return progress


async def _plan_page(
    runtime: Runtime, store: CatchUpStore, shop: Shop, orders: Sequence[dict[str, object]]
) -> list[PlannedOrder]:
    ids = [str(data.get("id")) for data in orders]
    # Only ids a job can have are looked up: PostgreSQL refuses a NUL even in a comparison.
    kept = [order_id for order_id in ids if keepable_text(order_id, MAX_ORDER_ID_CHARS)]
    known = await store.known_jobs(shop.installation.id, kept)
    now = runtime.clock()
    planned = []
    for order_id, data in zip(ids, orders, strict=True):
        number = data.get("number")
        number_text = str(number) if number is not None else None
        try:
            order = SaleorOrder.from_graphql(data)
        except OrderIdentifierUnusable as exc:  # no job could hold it: see it in the Dashboard
            reason = f"Not queued: {exc}; Send to Gordon in the Saleor Dashboard says more."
            planned.append(PlannedOrder(order_id, number_text, SKIP, reason))
            continue
        except OrderPayloadInvalid:
            reason = "Saleor's answer for this order is unusable; send it from the Dashboard."
            planned.append(PlannedOrder(order_id, number_text, SKIP, reason))
            continue
        job = known.get(order_id)
        decided = decide_for_order(
            order,
            data,
            shop.config,
            sent=NOTHING_SENT,
            events_seen=job.events_seen if job is not None else frozenset(),
            now=now,
        )
        plan = plan_order(
            decided.decision, job, fulfillment_due=_fulfillment_due(order, data, shop, job)
        )
        planned.append(PlannedOrder(order_id, number_text, plan.action, plan.reason))
    return planned


def _fulfillment_due(
    order: SaleorOrder, data: Mapping[str, object], shop: Shop, job: KnownJob | None
) -> bool:
    """Gordon has the order and its fulfillments still need Gordon's tracking number (or the
    order still needs fulfilling): a job run now would act on them."""
    if job is None or not job.in_gordon or not job.tracking_id:
        return False
    plan = decide_fulfillment(
        order,
        paid=order_state(order, data).fully_paid,
        tracking_id=job.tracking_id,
        settings=shop.config.fulfillment_settings,
    )
    return plan.has_actions


# -- reconcile --------------------------------------------------------------------------------


def reconciler_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


async def reconcile_due_shops(runtime: Runtime, *, owner: str) -> dict[int, int]:
    """Reconcile every shop that is due and not reconciled by another process now.

    Shops are reconciled concurrently, ``RECONCILE_CONCURRENCY`` at a time, each within
    ``RECONCILE_SHOP_DEADLINE_SECONDS``: a shop whose Saleor is slow or hangs holds one of those
    places until its deadline, never the others. Returns the orders queued per installation id
    reconciled by this call (a shop that failed or ran out of time is not in it; it is due again
    in a fifth of the period).
    """
    settings = runtime.settings
    places = asyncio.Semaphore(settings.reconcile_concurrency)
    done: dict[int, int] = {}

    async def reconcile(installation: Installation) -> None:
        async with places:
            enqueued = await _reconcile_due_shop(runtime, installation, owner=owner)
        if enqueued is not None:
            done[installation.id] = enqueued

    shops = [
        installation
        for installation in await runtime.installations.list_installations()
        if installation.revoked_at is None
    ]
    # One shop's failure (the store gone, a bug) ends neither the others nor their bookkeeping;
    # the first is raised once they have all ended.
    ended = await asyncio.gather(*(reconcile(shop) for shop in shops), return_exceptions=True)
    for outcome in ended:
        if isinstance(outcome, BaseException):
            raise outcome
    return done


async def _reconcile_due_shop(
    runtime: Runtime, installation: Installation, *, owner: str
) -> int | None:
    """Reconcile one shop if it is due and nobody else has it: the orders queued, or None."""
    settings = runtime.settings
    store = CatchUpStore(runtime.engine, runtime.queue)
    interval = timedelta(seconds=settings.reconcile_interval_seconds)
    started = runtime.clock()
    claimed = await store.claim_reconcile(
        installation.id,
        owner=owner,
        now=started,
        lease_seconds=settings.reconcile_lease_seconds,
    )
    if not claimed:
        return None
    enqueued: int | None = None
    deadline = settings.reconcile_shop_deadline_seconds
    try:
        async with asyncio.timeout(deadline) as budget:
            enqueued = await _reconcile_shop(runtime, installation, now=started)
    except GordonAppError as exc:
        logger.warning("reconcile.failed installation_id=%s error=%s", installation.id, exc.message)
    except TimeoutError:
        if not budget.expired():
            raise
        logger.warning(
            "reconcile.timed_out installation_id=%s deadline=%gs: the shop is due again in a "
            "fifth of the period",
            installation.id,
            deadline,
        )
    finally:
        # After a failure the shop is due again in a fifth of the period.
        wait = interval if enqueued is not None else interval / 5
        await store.finish_reconcile(
            installation.id,
            owner=owner,
            now=runtime.clock(),
            next_due_at=started + wait,
            enqueued=enqueued,
        )
    if enqueued is not None:
        logger.info("reconcile.finished installation_id=%s enqueued=%s", installation.id, enqueued)
    return enqueued


async def _reconcile_shop(runtime: Runtime, installation: Installation, *, now: datetime) -> int:
    try:
        shop = await load_shop(runtime, installation)
    except (ShopNotConfigured, ShopConfigInvalid):
        return 0  # its jobs say so; nothing can be judged until it is configured
    lookback = timedelta(hours=runtime.settings.reconcile_lookback_hours)
    progress = await scan_orders(
        runtime,
        shop,
        time_field="updatedAt",
        since=now - lookback,
        until=now,
        checkpoint=False,
    )
    return progress.enqueued
