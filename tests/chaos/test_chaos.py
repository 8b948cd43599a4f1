"""Chaos (issue 9, item 3): many orders through the real processes while everything goes wrong.

The Gordon sandbox answers about 20 % of API calls 503, 5 % 429 with Retry-After, and 5 % time out
(3 % hang without acting, 2 % act and then hang: "lost" answers; both hang longer than the app's Gordon
timeout). Worker processes are SIGKILLed every 2-5 seconds and restarted. Saleor's GraphQL (and JWKS)
answers 503 for a stretch. Webhooks arrive twice (identical bytes, later) and out of order (an order's
older events after its newer ones), and orders change after they reached Gordon (quantities, lines,
address), so that "final content" means something.

Then: every order is in Gordon exactly once (one stored order per Saleor order, one successful create,
no delete) with the content the app's own translation gives for the final Saleor order, its tracking ID
written once to Saleor, and every job synced, not leased, nothing due. On SQLite (``serve`` with
8 workers plus one ``worker`` process) and on PostgreSQL (``serve`` with 4 workers plus two
``worker`` processes, three processes claiming from one database). Only the ``worker`` processes
are killed: ``serve`` receives the webhooks. Size and figures:
``tests/chaos/conftest.py``.

Waits are on state (``Stack.wait_until``); the only timers are the fault schedule (kill cadence, the
outage's length).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import random
import signal
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from saleor_gordon.core.order import SaleorOrder
from saleor_gordon.core.shop_config import parse_shop_config
from saleor_gordon.core.sync_decision import TRACKING_ID_KEY
from saleor_gordon.core.translate import Translated, translate_order
from saleor_gordon.fakes.gordon_sandbox import RunningSandbox
from saleor_gordon.saleor.graphql_client import SaleorClient
from tests.chaos.conftest import FIGURES, FULL_SIZE, chaos_size
from tests.e2e.conftest import (
    DELIVERY_GROUP,
    AppProcess,
    RunningSaleorFake,
    Stack,
    running_stack,
    shop_config,
)
from tests.support.saleor_fake import global_id

pytestmark = pytest.mark.slow

SIZE = chaos_size()
SEED = 9
GORDON_TIMEOUT_SECONDS = 1.0
SANDBOX_FAULTS: dict[str, Any] = {
    "error_rate": 0.20,  # 503
    "rate_limit_rate": 0.05,  # 429, Retry-After: 1
    "timeout_rate": 0.03,  # hangs past the app's timeout, does nothing
    "lost_rate": 0.02,  # does the write, then hangs past the app's timeout
    "retry_after": 1.0,
    "hang_seconds": GORDON_TIMEOUT_SECONDS + 2,
}
CHAOS_SETTINGS = {
    "SALEOR_GORDON_GORDON_TIMEOUT_SECONDS": str(GORDON_TIMEOUT_SECONDS),
    # Long enough that a worker stalled by a loaded machine keeps its lease (at 3 s, a run on two
    # cores at load 15 lost 57 leases, and overlapping attempts wrote tracking IDs twice), short
    # enough that a killed worker's jobs are taken over within the run.
    "SALEOR_GORDON_LEASE_SECONDS": "10",
    "SALEOR_GORDON_SHOP_CONCURRENCY": "16",
    "SALEOR_GORDON_GORDON_REQUESTS_PER_SECOND": "1000",
}
KILL_EVERY_SECONDS = (2.0, 5.0)  # the fault schedule: a worker process is killed this often
OUTAGE_SECONDS = 15.0 if SIZE >= FULL_SIZE else 5.0
SENDERS = 8  # webhook deliveries in flight at once, as Saleor's Celery workers would
PAY_LAG = 5  # an order is paid when the fifth order after it is created
DUPLICATE_SHARE = 0.3  # of deliveries, sent again later
SHUFFLE_SHARE = 0.4  # of orders whose first events are delivered in a shuffled order
EARLY_UPDATE_SHARE = 0.25  # of orders changed right after payment
LATE_UPDATE_SHARE = 0.4  # of orders changed once Gordon has them
SECOND_UPDATE_SHARE = 0.5  # of late-updated orders changed twice, the newer event delivered first
# Longest wait for each phase (all orders changed, then quiet). The CI size takes 1-3 minutes on
# two cores, depending on what else runs there; the deadline leaves room for a loaded machine.
DEADLINE_SECONDS = 400.0 * max(1.0, SIZE / 300)


@dataclass(frozen=True)
class Webhook:
    """One event as Saleor rendered it at the time of the change; delivered later."""

    order_id: str
    event: str
    seq: int  # per order: later changes have higher numbers
    payload: Mapping[str, Any]


@dataclass
class Figures:
    orders: int = 0
    webhooks_rendered: int = 0
    deliveries: int = 0
    duplicates_delivered: int = 0
    out_of_order_deliveries: int = 0
    failed_deliveries: int = 0
    early_updates: int = 0
    late_updates: int = 0
    kills: int = 0
    saleor_refused: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    gordon_requests: Counter[str] = field(default_factory=Counter)
    mismatches: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        faults = ", ".join(f"{kind}: {n}" for kind, n in sorted(self.faults.items()))
        requests = ", ".join(f"{m}: {n}" for m, n in sorted(self.gordon_requests.items()))
        return [
            f"orders: {self.orders}",
            f"Gordon faults injected: {sum(self.faults.values())} ({faults})",
            f"Gordon API requests: {sum(self.gordon_requests.values())} ({requests})",
            f"worker processes SIGKILLed (and restarted): {self.kills}",
            f"Saleor requests refused during its outage ({OUTAGE_SECONDS:g} s): {self.saleor_refused}",
            f"webhooks delivered: {self.deliveries} (rendered {self.webhooks_rendered}; "
            f"duplicates {self.duplicates_delivered}; out of order {self.out_of_order_deliveries}; "
            f"not accepted {self.failed_deliveries})",
            f"orders changed: {self.early_updates} right after payment, "
            f"{self.late_updates} after reaching Gordon",
            f"final mismatches: {len(self.mismatches)}",
            f"time from the first order to quiet: {self.seconds:.1f} s",
        ]


class Chaos:
    """The traffic and the faults of one run against one ``Stack``."""

    def __init__(self, stack: Stack, *, workers: int, concurrency: int, rng: random.Random) -> None:
        self.stack = stack
        self.saleor = stack.saleor.state
        self.gordon = stack.gordon.state
        self.rng = rng
        self.worker_args = ("worker", "--concurrency", str(concurrency))
        self.workers: list[AppProcess] = []
        self.working: set[Path] = set()  # logs of the processes that have started working
        self.generations = [0] * workers
        self.keep_working = min(workers, 2)
        self.figures = Figures()
        self.queue: asyncio.Queue[Webhook] = asyncio.Queue(maxsize=4 * SENDERS)
        self.orders: list[dict[str, Any]] = []
        self.later: list[Webhook] = []  # duplicates, sent after some more orders
        self.late_pending: dict[
            str, dict[str, Any]
        ] = {}  # number -> order, to change when in Gordon
        self.seq: Counter[str] = Counter()
        self.delivered: dict[str, set[int]] = {}
        self.stop = asyncio.Event()

    # --- the fault schedule --------------------------------------------------------------------

    def start_workers(self) -> None:
        for index in range(len(self.generations)):
            self.workers.append(self._start_worker(index))

    def _start_worker(self, index: int) -> AppProcess:
        name = f"worker-{index}-{self.generations[index]}"
        self.generations[index] += 1
        return self.stack.start_process(*self.worker_args, name=name)

    async def kill_workers_periodically(self) -> None:
        """SIGKILL a working worker process every few seconds, and start another in its place.

        The clock starts when a worker has started working: on two busy cores a new process
        needs seconds to import the app, and killing it before it claims anything tests nothing.
        With several worker processes, one is killed only while another one works too (else the
        run would mostly wait for imports).
        """
        while not self.stop.is_set():
            await self.stack.wait_until(
                lambda: self.stop.is_set() or len(self._working()) >= self.keep_working,
                timeout=DEADLINE_SECONDS,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), self.rng.uniform(*KILL_EVERY_SECONDS))
            if self.stop.is_set():
                return
            index = self.rng.choice(self._working())
            await asyncio.to_thread(self.workers[index].stop, signal.SIGKILL)
            self.figures.kills += 1
            self.workers[index] = self._start_worker(index)

    def _working(self) -> list[int]:
        """The workers that have logged their start (each log is read until it has)."""
        for worker in self.workers:
            if worker.log_path not in self.working and "worker.started" in worker.log():
                self.working.add(worker.log_path)
        return [i for i, worker in enumerate(self.workers) if worker.log_path in self.working]

    # --- Saleor's side: orders change, events are rendered, delivered late, twice, reordered ---

    def render(self, order: Mapping[str, Any], event: str) -> Webhook:
        [hook] = self.saleor.webhooks_for(event)
        order_id = str(order["id"])
        payload = self.saleor.event_payload(event, order_id=order_id, query=hook.query)
        self.seq[order_id] += 1
        self.figures.webhooks_rendered += 1
        return Webhook(order_id, event, self.seq[order_id], payload)

    async def enqueue(self, webhooks: list[Webhook]) -> None:
        for webhook in webhooks:
            await self.queue.put(webhook)
            if self.rng.random() < DUPLICATE_SHARE:
                self.later.append(webhook)

    async def flush_later(self) -> None:
        later, self.later = self.later, []
        self.rng.shuffle(later)
        for webhook in later:
            await self.queue.put(webhook)

    def change(self, order: Mapping[str, Any]) -> None:
        """Change what Gordon gets: a quantity, a line added or removed, or the address."""
        state, order_id = self.saleor, str(order["id"])
        lines = copy.deepcopy(state.order(order_id)["lines"])
        kind = self.rng.choice(["quantity", "add_line", "remove_line", "address"])
        if kind == "remove_line" and len(lines) < 2:
            kind = "quantity"
        if kind == "quantity":
            line = self.rng.choice(lines)
            line["quantity"] = self.rng.choice([q for q in range(1, 7) if q != line["quantity"]])
            state.update_order(order_id, lines=lines)
        elif kind == "add_line":
            extra = copy.deepcopy(lines[0])
            extra.update(
                id=global_id("OrderLine", str(uuid.uuid4())),
                productName=f"Tillägg {self.rng.randint(1, 999)}",
                variantName="Standard",
                quantity=self.rng.randint(1, 4),
            )
            state.update_order(order_id, lines=[*lines, extra])
        elif kind == "remove_line":
            del lines[self.rng.randrange(len(lines))]
            state.update_order(order_id, lines=lines)
        else:
            address = {
                **state.order(order_id)["shippingAddress"],
                "streetAddress1": f"Storgatan {self.rng.randint(1, 199)}",
                "postalCode": f"1{self.rng.randint(1000, 9999)}",
                "city": "STOCKHOLM",
            }
            state.update_order(order_id, shippingAddress=address)

    async def produce(self) -> None:
        """Create every order; pay each a few orders later; change some; start the outage."""
        unpaid: list[tuple[dict[str, Any], list[Webhook]]] = []
        for number in range(SIZE):
            order = self.stack.paid_order(isPaid=False, chargeStatus="NONE")
            lines = copy.deepcopy(order["lines"])
            for line in lines:
                line["quantity"] = self.rng.randint(1, 5)
            self.saleor.update_order(str(order["id"]), lines=lines)
            self.orders.append(order)
            unpaid.append((order, [self.render(order, "ORDER_CREATED")]))
            while len(unpaid) > PAY_LAG:
                await self._pay(*unpaid.pop(0))
            if number == SIZE // 3:
                self.saleor.unavailable_for(OUTAGE_SECONDS)
            if number % 20 == 19:
                await self.flush_later()
        for order, webhooks in unpaid:
            await self._pay(order, webhooks)
        await self.flush_later()
        self.figures.orders = len(self.orders)

    async def _pay(self, order: dict[str, Any], webhooks: list[Webhook]) -> None:
        self.saleor.update_order(str(order["id"]), isPaid=True, chargeStatus="FULL")
        webhooks = [*webhooks, self.render(order, "ORDER_FULLY_PAID")]
        if self.rng.random() < EARLY_UPDATE_SHARE:
            self.change(order)
            webhooks.append(self.render(order, "ORDER_UPDATED"))
            self.figures.early_updates += 1
        if self.rng.random() < SHUFFLE_SHARE:
            self.rng.shuffle(webhooks)
        if self.rng.random() < LATE_UPDATE_SHARE:
            self.late_pending[str(order["number"])] = order
        await self.enqueue(webhooks)

    async def late_updates_round(self) -> bool:
        """Change the orders Gordon has now (the newer event first when changed twice); True once
        every order picked for it was changed."""
        arrived = [number for number in self.late_pending if number in self.gordon.orders]
        for number in arrived:
            order = self.late_pending.pop(number)
            self.change(order)
            webhooks = [self.render(order, "ORDER_UPDATED")]
            if self.rng.random() < SECOND_UPDATE_SHARE:
                self.change(order)
                webhooks.insert(0, self.render(order, "ORDER_UPDATED"))
            self.figures.late_updates += 1
            await self.enqueue(webhooks)
        await self.flush_later()
        return not self.late_pending

    async def send(self, http: httpx.AsyncClient) -> None:
        """Deliver queued webhooks one after the other, retrying like Saleor."""
        while True:
            webhook = await self.queue.get()
            [hook] = self.saleor.webhooks_for(webhook.event)
            seen = self.delivered.setdefault(webhook.order_id, set())
            if webhook.seq in seen:
                self.figures.duplicates_delivered += 1
            elif seen and webhook.seq < max(seen):
                self.figures.out_of_order_deliveries += 1
            seen.add(webhook.seq)
            delivery = await self.saleor.deliver(
                http, hook.target_url, webhook.event, webhook.payload, retries=5, backoff=0.2
            )
            self.figures.deliveries += 1
            if delivery.status != 200:
                self.figures.failed_deliveries += 1
            self.queue.task_done()

    # --- the end -------------------------------------------------------------------------------

    async def settled(self) -> bool:
        """Every order in Gordon, every job settled and not due, every write-back echoed."""
        if len(self.gordon.orders) < len(self.orders) or not self.queue.empty():
            return False
        jobs = await self.stack.jobs()
        if len(jobs) < len(self.orders):
            return False
        if not all(
            job["status"] == "synced" and not job["in_progress"] and job["next_attempt_at"] is None
            for job in jobs
        ):
            return False
        return bool(await self.stack._quiet())


async def expected_bodies(
    saleor: RunningSaleorFake, gordon: RunningSandbox, orders: list[dict[str, Any]]
) -> dict[str, dict[str, object]]:
    """What the app's translation of each final Saleor order (read as the app reads it) gives."""
    config = parse_shop_config(shop_config(gordon.base_url))
    client = SaleorClient(saleor_api_url=saleor.api_url, token=saleor.state.issue_token())
    now = datetime.now(UTC)
    expected: dict[str, dict[str, object]] = {}
    async with client:
        for order in orders:
            data = await client.fetch_order(str(order["id"]))
            assert data is not None
            translation = translate_order(SaleorOrder.from_graphql(data), config, now=now)
            assert isinstance(translation, Translated), translation
            expected[str(order["number"])] = translation.gordon_order.to_json()
    return expected


async def judge(chaos: Chaos) -> None:
    """Compare what Gordon and Saleor hold with what they must hold; record every mismatch."""
    stack, figures = chaos.stack, chaos.figures
    gordon, saleor = stack.gordon.state, stack.saleor.state
    mismatches = figures.mismatches
    numbers = {str(order["number"]) for order in chaos.orders}
    if set(gordon.orders) != numbers:
        missing, extra = numbers - set(gordon.orders), set(gordon.orders) - numbers
        mismatches.append(f"orders in Gordon: missing {sorted(missing)}, extra {sorted(extra)}")
    requests = gordon.requests(path_prefix="/api/orders")
    figures.gordon_requests = Counter(str(entry["method"]) for entry in requests)
    # A create that Gordon did: accepted, or done with its answer lost. There can be only one per
    # ref unless the app POSTs again after Gordon has the order (after a PUT said "not found").
    creates = Counter(
        str(entry["body"]["external_ref"])  # type: ignore[index]
        for entry in requests
        if entry["method"] == "POST" and (entry["status"] == 200 or entry["fault"] == "lost")
    )
    deletes = [entry["ref"] for entry in requests if entry["method"] == "DELETE"]
    if deletes:
        mismatches.append(f"DELETE requests: {deletes}")
    tracking_writes = Counter(
        mutation.order_id
        for mutation in saleor.mutations
        if mutation.field == "updateMetadata"
        and isinstance(mutation.items, Mapping)
        and TRACKING_ID_KEY in mutation.items
    )
    expected = await expected_bodies(stack.saleor, stack.gordon, chaos.orders)
    for order in chaos.orders:
        number, order_id = str(order["number"]), str(order["id"])
        stored = gordon.orders.get(number)
        if stored is None:
            continue
        if creates[number] != 1:
            mismatches.append(f"{number}: created {creates[number]} times")
        if stored.body != expected[number]:
            mismatches.append(f"{number}: Gordon has {stored.body}, expected {expected[number]}")
        tracking = stack.metadata(order).get(TRACKING_ID_KEY)
        if tracking != stored.tracking_id:
            mismatches.append(f"{number}: tracking ID {tracking!r} != {stored.tracking_id!r}")
        if tracking_writes[order_id] != 1:
            mismatches.append(f"{number}: tracking ID written {tracking_writes[order_id]} times")
    for job in await stack.jobs():
        if job["status"] != "synced" or job["in_progress"] or job["next_attempt_at"] is not None:
            mismatches.append(f"job {job['id']} ({job['order_number']}) left {job['status']}")


async def run_chaos(
    stack: Stack, tmp_path: Path, *, title: str, workers: int, concurrency: int
) -> Figures:
    chaos = Chaos(stack, workers=workers, concurrency=concurrency, rng=random.Random(SEED))
    chaos.start_workers()
    started = time.monotonic()
    killer = asyncio.create_task(chaos.kill_workers_periodically())
    async with httpx.AsyncClient(timeout=30) as http:
        senders = [asyncio.create_task(chaos.send(http)) for _ in range(SENDERS)]
        try:
            await chaos.produce()
            await stack.wait_until(chaos.late_updates_round, timeout=DEADLINE_SECONDS)
            await stack.wait_until(chaos.settled, timeout=DEADLINE_SECONDS)
        finally:
            chaos.stop.set()
            await killer
            for sender in senders:
                sender.cancel()
            await asyncio.gather(*senders, return_exceptions=True)
    figures = chaos.figures
    figures.seconds = time.monotonic() - started
    figures.faults = Counter(stack.gordon.state.faults_injected)
    figures.saleor_refused = stack.saleor.state.refused
    await judge(chaos)
    lines = figures.lines()
    FIGURES.append((title, lines))
    (tmp_path / "chaos-figures.txt").write_text(
        "\n".join([title, *lines, *figures.mismatches]) + "\n"
    )
    print("\n".join([title, *lines]))  # noqa: T201 - also shown with -s, beside the summary
    return figures


def assert_chaos_happened(figures: Figures) -> None:
    assert figures.mismatches == [], "\n".join(figures.mismatches[:50])
    assert figures.failed_deliveries == 0
    assert figures.kills >= 1
    assert figures.saleor_refused > 0
    assert figures.duplicates_delivered > 0
    assert figures.out_of_order_deliveries > 0
    assert figures.late_updates > 0
    assert {"503", "429", "timeout", "lost"} <= set(figures.faults)


def _sandbox(start_gordon_sandbox: Any) -> RunningSandbox:
    sandbox: RunningSandbox = start_gordon_sandbox(
        delivery_groups=(DELIVERY_GROUP,),
        seed=SEED,
        max_recorded_requests=100 * SIZE + 10_000,
        **SANDBOX_FAULTS,
    )
    return sandbox


@pytest.mark.timeout(int(2 * DEADLINE_SECONDS) + 300)
async def test_chaos_on_sqlite_with_serve_and_a_worker_process(
    saleor_fake: RunningSaleorFake, start_gordon_sandbox: Any, tmp_path: Path
) -> None:
    gordon = _sandbox(start_gordon_sandbox)
    async with running_stack(
        saleor_fake, gordon, tmp_path, workers=8, settings=CHAOS_SETTINGS
    ) as stack:
        figures = await run_chaos(
            stack, tmp_path, title=f"chaos on SQLite, {SIZE} orders", workers=1, concurrency=8
        )
    assert_chaos_happened(figures)


@pytest.mark.postgres
@pytest.mark.timeout(int(2 * DEADLINE_SECONDS) + 300)
async def test_chaos_on_postgresql_with_serve_and_two_worker_processes(
    saleor_fake: RunningSaleorFake,
    start_gordon_sandbox: Any,
    fresh_postgres_url: str,
    tmp_path: Path,
) -> None:
    gordon = _sandbox(start_gordon_sandbox)
    async with running_stack(
        saleor_fake, gordon, tmp_path, fresh_postgres_url, workers=4, settings=CHAOS_SETTINGS
    ) as stack:
        figures = await run_chaos(
            stack, tmp_path, title=f"chaos on PostgreSQL, {SIZE} orders", workers=2, concurrency=6
        )
    assert_chaos_happened(figures)
