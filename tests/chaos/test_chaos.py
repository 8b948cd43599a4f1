"""Chaos: many orders through the real processes while everything goes wrong.

The Gordon sandbox answers about 20 % of API calls 503, 5 % 429 with Retry-After, and 5 % time out
(3 % hang without acting, 2 % act and then hang: "lost" answers; both hang longer than the app's Gordon
timeout). Saleor's GraphQL times out too (2 % of requests hang without being executed) and loses the
answers of 6 % of the metadata writes (the change is made, the answer never arrives), and answers 503
for a stretch. Worker processes are SIGKILLed every 2-5 seconds and restarted, preferably while they
hold a job; on PostgreSQL the database server is restarted once mid-run (a cluster of the test's own,
``throwaway_postgres``). Webhooks arrive twice (identical bytes, later) and out of order (an order's
older events after its newer ones); orders change after they reached Gordon (quantities, lines,
address), and some are cancelled: before anything reached Gordon, or once Gordon has them.

Then, for every order (``judge``):

- Gordon's writes (every PUT/POST/DELETE applied to the sandbox's copy, counted by the sandbox per
  order, ``OrderWrites``) are at most the contents sent (counted each time the content differs from
  the request before: A, A, B counts two) + the Gordon calls the app recorded as unanswered
  (``no_answer`` in the job's history) + the lease takeovers recorded (``lease_taken_over``): a
  re-push of identical content is allowed only where the app could not know Gordon had it;
- a live order is in Gordon once (one successful create, no DELETE) with the content the app's own
  translation gives for the final Saleor order, its tracking ID written to Saleor exactly once (every
  ``updateMetadata`` carrying it counts, answered or not) and equal to Gordon's, its job ``synced``;
- an order cancelled after it reached Gordon was deleted there exactly once and is not there, its
  tracking ID written at most once (and right), its job ``cancelled``; an order cancelled before was
  never pushed (no PUT or POST for it), no tracking ID written, its job ``cancelled``;
- every lease takeover was of a lease that had expired (never a double claim), and every job a
  SIGKILLed worker held when it died was taken over from that worker (at least one such kill);
- no job left leased or due.

On SQLite (``serve`` with 8 workers plus one ``worker`` process) and on PostgreSQL (``serve`` with
4 workers plus two ``worker`` processes, three processes claiming from one database). Only the
``worker`` processes are killed: ``serve`` receives the webhooks. Size, seed and figures:
``tests/chaos/conftest.py``.

Waits are on state (``Stack.wait_until``); the only timers are the fault schedule (kill cadence, the
outage's length) and the webhook senders' retry backoff, as Saleor's.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import random
import re
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
from sqlalchemy import select, text

from saleor_gordon.core.order import SaleorOrder
from saleor_gordon.core.shop_config import parse_shop_config
from saleor_gordon.core.sync_decision import TRACKING_ID_KEY
from saleor_gordon.core.translate import Translated, translate_order
from saleor_gordon.fakes.gordon_sandbox import OrderWrites, RunningSandbox, tracking_id_for
from saleor_gordon.jobs.lifecycle import NO_ANSWER
from saleor_gordon.jobs.queue import LEASE_TAKEN_OVER
from saleor_gordon.saleor.graphql_client import SaleorClient
from saleor_gordon.store.tables import job_history, sync_jobs
from tests.chaos.conftest import FIGURES, FULL_SIZE, chaos_seed, chaos_size
from tests.conftest import ThrowawayPostgres
from tests.e2e.conftest import (
    DELIVERY_GROUP,
    AppProcess,
    RunningSaleorFake,
    Stack,
    running_stack,
    shop_config,
)
from tests.support.saleor_fake import GraphQLFaults, global_id

pytestmark = pytest.mark.slow

SIZE = chaos_size()
SEED = chaos_seed()
GORDON_TIMEOUT_SECONDS = 1.0
SALEOR_TIMEOUT_SECONDS = 2.0
SANDBOX_FAULTS: dict[str, Any] = {
    "error_rate": 0.20,  # 503
    "rate_limit_rate": 0.05,  # 429, Retry-After: 1
    "timeout_rate": 0.03,  # hangs past the app's timeout, does nothing
    "lost_rate": 0.02,  # does the write, then hangs past the app's timeout
    "retry_after": 1.0,
    "hang_seconds": GORDON_TIMEOUT_SECONDS + 2,
}
SALEOR_FAULTS = GraphQLFaults(
    timeout_rate=0.02,  # any GraphQL request hangs past the app's timeout, not executed
    lost_rate=0.06,  # a metadata write is made, then hangs past the app's timeout
    hang_seconds=SALEOR_TIMEOUT_SECONDS + 2,
    seed=SEED + 1,
)
CHAOS_SETTINGS = {
    "SALEOR_GORDON_GORDON_TIMEOUT_SECONDS": str(GORDON_TIMEOUT_SECONDS),
    "SALEOR_GORDON_SALEOR_TIMEOUT_SECONDS": str(SALEOR_TIMEOUT_SECONDS),
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
# Saleor retries a webhook that failed (5xx, no connection); 8 retries from 0.2 s doubling wait
# up to 51 s in all, which covers the database restart.
DELIVERY_RETRIES, DELIVERY_BACKOFF = 8, 0.2
PAY_LAG = 5  # an order is paid when the fifth order after it is created
DUPLICATE_SHARE = 0.3  # of deliveries, sent again later
SHUFFLE_SHARE = 0.4  # of orders whose first events are delivered in a shuffled order
CANCEL_BEFORE_SHARE = 0.05  # of orders, paid and cancelled before any of their events is delivered
EARLY_UPDATE_SHARE = 0.25  # of orders changed right after payment
LATE_UPDATE_SHARE = 0.4  # of orders changed once Gordon has them
CANCEL_AFTER_SHARE = 0.08  # of orders cancelled once Gordon has them (none of them changed late)
SECOND_UPDATE_SHARE = 0.5  # of late-updated orders changed twice, the newer event delivered first
# Longest wait for each phase (all orders changed, then quiet). The CI size takes 1-3 minutes on
# two cores, depending on what else runs there; the deadline leaves room for a loaded machine.
DEADLINE_SECONDS = 400.0 * max(1.0, SIZE / 300)
# The lease takeover entry of the job history (jobs/queue.py ``lease_takeover_message``).
TAKEOVER = re.compile(
    r"Taken over from worker (?P<owner>[^,\s]+), whose lease expired at (?P<at>\S+) "
)


@dataclass(frozen=True)
class Webhook:
    """One event as Saleor rendered it at the time of the change; delivered later."""

    order_id: str
    event: str
    seq: int  # per order: later changes have higher numbers
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Takeover:
    """A ``lease_taken_over`` entry of a job's history."""

    job_id: int
    at: datetime
    previous_owner: str
    expired_at: datetime


@dataclass
class Mismatches:
    """What the run got wrong, by kind (the assertion shows a few of each kind)."""

    found: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, text: str) -> None:
        self.found.setdefault(kind, []).append(text)

    def __len__(self) -> int:
        return sum(len(texts) for texts in self.found.values())

    def all(self) -> list[str]:
        return [f"{kind}: {text}" for kind, texts in self.found.items() for text in texts]

    def summary(self, per_kind: int = 8) -> str:
        counts = ", ".join(f"{kind} {len(texts)}" for kind, texts in self.found.items())
        shown = [
            f"{kind}: {text}" for kind, texts in self.found.items() for text in texts[:per_kind]
        ]
        return "\n".join([f"{len(self)} mismatches ({counts}), the first of each kind:", *shown])


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
    cancelled_before: int = 0
    cancelled_after: int = 0
    kills: int = 0
    kills_in_flight: int = 0
    jobs_in_flight_at_kills: int = 0
    takeovers: int = 0
    no_answers: int = 0
    database_restarts: int = 0
    database_down_seconds: float = 0.0
    saleor_refused: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    saleor_faults: Counter[str] = field(default_factory=Counter)
    lost_tracking_writes: int = 0
    gordon_requests: Counter[str] = field(default_factory=Counter)
    gordon_writes: OrderWrites = field(default_factory=OrderWrites)
    mismatches: Mismatches = field(default_factory=Mismatches)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        faults = ", ".join(f"{kind}: {n}" for kind, n in sorted(self.faults.items()))
        saleor = ", ".join(f"{kind}: {n}" for kind, n in sorted(self.saleor_faults.items()))
        requests = ", ".join(f"{m}: {n}" for m, n in sorted(self.gordon_requests.items()))
        writes = self.gordon_writes
        restart = (
            f"PostgreSQL restarted {self.database_restarts} time(s) mid-run "
            f"(unavailable {self.database_down_seconds:.1f} s)"
            if self.database_restarts
            else "database restarts: none (SQLite)"
        )
        return [
            f"seed: {SEED} (replay: SALEOR_GORDON_CHAOS_SEED={SEED} SALEOR_GORDON_CHAOS_ORDERS={SIZE})",
            f"orders: {self.orders}",
            f"Gordon faults injected: {sum(self.faults.values())} ({faults})",
            f"Gordon API requests: {sum(self.gordon_requests.values())} ({requests})",
            f"Gordon writes applied: {writes.applied} (deletes {writes.deleted}); contents sent: "
            f"{writes.contents_sent}; no answer recorded: {self.no_answers}; "
            f"lease takeovers recorded: {self.takeovers}",
            f"worker processes SIGKILLed (and restarted): {self.kills}, {self.kills_in_flight} "
            f"of them while holding jobs ({self.jobs_in_flight_at_kills} jobs in flight)",
            f"Saleor GraphQL faults injected: {sum(self.saleor_faults.values())} ({saleor}); "
            f"tracking ID writes whose answer was lost: {self.lost_tracking_writes}",
            f"Saleor requests refused during its outage ({OUTAGE_SECONDS:g} s): {self.saleor_refused}",
            restart,
            f"webhooks delivered: {self.deliveries} (rendered {self.webhooks_rendered}; "
            f"duplicates {self.duplicates_delivered}; out of order {self.out_of_order_deliveries}; "
            f"not accepted {self.failed_deliveries})",
            f"orders changed: {self.early_updates} right after payment, "
            f"{self.late_updates} after reaching Gordon",
            f"orders cancelled: {self.cancelled_before} before reaching Gordon, "
            f"{self.cancelled_after} after",
            f"final mismatches: {len(self.mismatches)}",
            f"time from the first order to quiet: {self.seconds:.1f} s",
        ]


def _owner_pid(lease_owner: str) -> int | None:
    """The process id in a worker id (``host:pid:random:index``, worker.py)."""
    parts = lease_owner.split(":")
    return int(parts[-3]) if len(parts) >= 4 and parts[-3].isdigit() else None


class Chaos:
    """The traffic and the faults of one run against one ``Stack``."""

    def __init__(
        self,
        stack: Stack,
        *,
        workers: int,
        concurrency: int,
        database: ThrowawayPostgres | None = None,
    ) -> None:
        self.stack = stack
        self.saleor = stack.saleor.state
        self.gordon = stack.gordon.state
        self.database = database
        self.rng = random.Random(f"{SEED}:flush")
        self.kill_rng = random.Random(f"{SEED}:kills")
        self.order_rngs: dict[str, random.Random] = {}  # each order's own draws (order id ->)
        self.worker_args = ("worker", "--concurrency", str(concurrency))
        self.workers: list[AppProcess] = []
        self.working: set[Path] = set()  # logs of the processes that have started working
        self.generations = [0] * workers
        self.keep_working = min(workers, 2)
        self.figures = Figures()
        self.queue: asyncio.Queue[Webhook] = asyncio.Queue(maxsize=4 * SENDERS)
        self.orders: list[dict[str, Any]] = []
        self.later: list[Webhook] = []  # duplicates, sent after some more orders
        # number -> order, to change (or cancel) once Gordon has it
        self.late_pending: dict[str, dict[str, Any]] = {}
        self.cancel_pending: dict[str, dict[str, Any]] = {}
        self.cancelled_before: set[str] = set()  # order numbers
        self.cancelled_after: set[str] = set()
        self.in_flight: list[tuple[int, str]] = []  # (job id, lease owner) held by killed workers
        self.database_lock = asyncio.Lock()  # no kill bookkeeping while the database restarts
        self.seq: Counter[str] = Counter()
        self.delivered: dict[str, set[int]] = {}
        self.stop = asyncio.Event()
        self.delivering = 0  # webhooks taken from the queue and not delivered yet
        self.last_jobs: list[dict[str, Any]] = []  # as ``settled`` read them last

    def order_rng(self, order: Mapping[str, Any]) -> random.Random:
        """The order's own generator: the same seed draws the same traffic, whatever the timing."""
        order_id = str(order["id"])
        if order_id not in self.order_rngs:
            self.order_rngs[order_id] = random.Random(f"{SEED}:{order['number']}")
        return self.order_rngs[order_id]

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
        run would mostly wait for imports). A process holding a lease is chosen when there is one;
        the jobs it held when it died (read once it is dead) must each be taken over later.
        """
        while not self.stop.is_set():
            await self.stack.wait_until(
                lambda: self.stop.is_set() or len(self._working()) >= self.keep_working,
                timeout=DEADLINE_SECONDS,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), self.kill_rng.uniform(*KILL_EVERY_SECONDS))
            if self.stop.is_set():
                return
            async with self.database_lock:
                await self._kill_one()

    async def _kill_one(self) -> None:
        working = self._working()
        holding = {_owner_pid(owner) for _, owner in await self._leases()}
        busy = [index for index in working if self.workers[index].pid in holding]
        index = self.kill_rng.choice(busy or working)
        pid = self.workers[index].pid
        await asyncio.to_thread(self.workers[index].stop, signal.SIGKILL)
        # Dead now: whatever it held stays leased to it until another worker takes the job over.
        held = [
            (job_id, owner) for job_id, owner in await self._leases() if _owner_pid(owner) == pid
        ]
        self.figures.kills += 1
        if held:
            self.figures.kills_in_flight += 1
            self.figures.jobs_in_flight_at_kills += len(held)
            self.in_flight.extend(held)
        self.workers[index] = self._start_worker(index)

    async def _leases(self) -> list[tuple[int, str]]:
        """(job id, lease owner) of every leased job."""
        query = select(sync_jobs.c.id, sync_jobs.c.lease_owner).where(
            sync_jobs.c.lease_owner.is_not(None)
        )
        async with self.stack.engine.connect() as connection:
            return [(row.id, row.lease_owner) for row in await connection.execute(query)]

    def _working(self) -> list[int]:
        """The workers that have logged their start (each log is read until it has)."""
        for worker in self.workers:
            if worker.log_path not in self.working and "worker.started" in worker.log():
                self.working.add(worker.log_path)
        return [i for i, worker in enumerate(self.workers) if worker.log_path in self.working]

    async def restart_database(self) -> None:
        """Restart the PostgreSQL server (as a crash would) while jobs are in flight: once the
        worker processes work (on two busy cores they may still be importing the app when half
        the orders are made; one starting meanwhile waits for the server, tests/cli)."""
        assert self.database is not None
        await self.stack.wait_until(
            lambda: len(self._working()) >= self.keep_working, timeout=DEADLINE_SECONDS
        )
        async with self.database_lock:
            before = await self._server_started_at()
            down = await asyncio.to_thread(self.database.restart)
            after = await self._server_started_at()
        if after == before:
            self.figures.mismatches.add("restart", f"the server still started at {before}")
        self.figures.database_restarts += 1
        self.figures.database_down_seconds = down

    async def _server_started_at(self) -> datetime:
        async with self.stack.engine.connect() as connection:
            started: datetime = (
                await connection.execute(text("SELECT pg_postmaster_start_time()"))
            ).scalar_one()
        return started

    # --- Saleor's side: orders change, events are rendered, delivered late, twice, reordered ---

    def render(self, order: Mapping[str, Any], event: str) -> Webhook:
        [hook] = self.saleor.webhooks_for(event)
        order_id = str(order["id"])
        payload = self.saleor.event_payload(event, order_id=order_id, query=hook.query)
        self.seq[order_id] += 1
        self.figures.webhooks_rendered += 1
        return Webhook(order_id, event, self.seq[order_id], payload)

    async def enqueue(self, order: Mapping[str, Any], webhooks: list[Webhook]) -> None:
        rng = self.order_rng(order)
        for webhook in webhooks:
            await self.queue.put(webhook)
            if rng.random() < DUPLICATE_SHARE:
                self.later.append(webhook)

    async def flush_later(self) -> None:
        later, self.later = self.later, []
        self.rng.shuffle(later)
        for webhook in later:
            await self.queue.put(webhook)

    def change(self, order: Mapping[str, Any]) -> None:
        """Change what Gordon gets: a quantity, a line added or removed, or the address."""
        state, order_id, rng = self.saleor, str(order["id"]), self.order_rng(order)
        lines = copy.deepcopy(state.order(order_id)["lines"])
        kind = rng.choice(["quantity", "add_line", "remove_line", "address"])
        if kind == "remove_line" and len(lines) < 2:
            kind = "quantity"
        if kind == "quantity":
            line = rng.choice(lines)
            line["quantity"] = rng.choice([q for q in range(1, 7) if q != line["quantity"]])
            state.update_order(order_id, lines=lines)
        elif kind == "add_line":
            extra = copy.deepcopy(lines[0])
            extra.update(
                id=global_id("OrderLine", str(uuid.UUID(int=rng.getrandbits(128)))),
                productName=f"Tillägg {rng.randint(1, 999)}",
                variantName="Standard",
                quantity=rng.randint(1, 4),
            )
            state.update_order(order_id, lines=[*lines, extra])
        elif kind == "remove_line":
            del lines[rng.randrange(len(lines))]
            state.update_order(order_id, lines=lines)
        else:
            address = {
                **state.order(order_id)["shippingAddress"],
                "streetAddress1": f"Storgatan {rng.randint(1, 199)}",
                "postalCode": f"1{rng.randint(1000, 9999)}",
                "city": "STOCKHOLM",
            }
            state.update_order(order_id, shippingAddress=address)

    async def produce(self) -> None:
        """Create every order; pay each a few orders later; change or cancel some; start the
        Saleor outage at a third of the orders and restart the database at half of them."""
        unpaid: list[tuple[dict[str, Any], list[Webhook]]] = []
        for number in range(SIZE):
            order = self.stack.paid_order(isPaid=False, chargeStatus="NONE")
            lines = copy.deepcopy(order["lines"])
            for line in lines:
                line["quantity"] = self.order_rng(order).randint(1, 5)
            self.saleor.update_order(str(order["id"]), lines=lines)
            self.orders.append(order)
            unpaid.append((order, [self.render(order, "ORDER_CREATED")]))
            while len(unpaid) > PAY_LAG:
                await self._pay(*unpaid.pop(0))
            if number == SIZE // 3:
                self.saleor.unavailable_for(OUTAGE_SECONDS)
            if number == SIZE // 2 and self.database is not None:
                await self.restart_database()
            if number % 20 == 19:
                await self.flush_later()
        for order, webhooks in unpaid:
            await self._pay(order, webhooks)
        await self.flush_later()
        self.figures.orders = len(self.orders)

    async def _pay(self, order: dict[str, Any], webhooks: list[Webhook]) -> None:
        rng, order_id, number = self.order_rng(order), str(order["id"]), str(order["number"])
        self.saleor.update_order(order_id, isPaid=True, chargeStatus="FULL")
        webhooks = [*webhooks, self.render(order, "ORDER_FULLY_PAID")]
        if rng.random() < CANCEL_BEFORE_SHARE:
            # cancelled before any of its events reached the app: the app never sees it live
            self.saleor.update_order(order_id, status="CANCELED")
            webhooks.append(self.render(order, "ORDER_CANCELLED"))
            self.cancelled_before.add(number)
            self.figures.cancelled_before += 1
        elif rng.random() < EARLY_UPDATE_SHARE:
            self.change(order)
            webhooks.append(self.render(order, "ORDER_UPDATED"))
            self.figures.early_updates += 1
        if rng.random() < SHUFFLE_SHARE:
            rng.shuffle(webhooks)
        later = rng.random()
        if number not in self.cancelled_before:
            if later < LATE_UPDATE_SHARE:
                self.late_pending[number] = order
            elif later < LATE_UPDATE_SHARE + CANCEL_AFTER_SHARE:
                self.cancel_pending[number] = order
        await self.enqueue(order, webhooks)

    async def changes_round(self) -> bool:
        """Change or cancel the orders Gordon has now (the newer change's event first when changed
        twice); True once every order picked for it was changed or cancelled."""
        for number in [number for number in self.late_pending if number in self.gordon.orders]:
            order = self.late_pending.pop(number)
            self.change(order)
            webhooks = [self.render(order, "ORDER_UPDATED")]
            if self.order_rng(order).random() < SECOND_UPDATE_SHARE:
                self.change(order)
                webhooks.insert(0, self.render(order, "ORDER_UPDATED"))
            self.figures.late_updates += 1
            await self.enqueue(order, webhooks)
        for number in [number for number in self.cancel_pending if number in self.gordon.orders]:
            order = self.cancel_pending.pop(number)
            self.saleor.update_order(str(order["id"]), status="CANCELED")
            self.cancelled_after.add(number)
            self.figures.cancelled_after += 1
            await self.enqueue(order, [self.render(order, "ORDER_CANCELLED")])
        await self.flush_later()
        return not self.late_pending and not self.cancel_pending

    async def send(self, http: httpx.AsyncClient) -> None:
        """Deliver queued webhooks one after the other, retrying like Saleor."""
        while True:
            webhook = await self.queue.get()
            self.delivering += 1
            [hook] = self.saleor.webhooks_for(webhook.event)
            seen = self.delivered.setdefault(webhook.order_id, set())
            if webhook.seq in seen:
                self.figures.duplicates_delivered += 1
            elif seen and webhook.seq < max(seen):
                self.figures.out_of_order_deliveries += 1
            seen.add(webhook.seq)
            delivery = await self.saleor.deliver(
                http,
                hook.target_url,
                webhook.event,
                webhook.payload,
                retries=DELIVERY_RETRIES,
                backoff=DELIVERY_BACKOFF,
            )
            self.figures.deliveries += 1
            if delivery.status != 200:
                self.figures.failed_deliveries += 1
            self.delivering -= 1
            self.queue.task_done()

    # --- the end -------------------------------------------------------------------------------

    @property
    def cancelled(self) -> set[str]:
        return self.cancelled_before | self.cancelled_after

    def expected_status(self, number: str) -> str:
        return "cancelled" if number in self.cancelled else "synced"

    async def settled(self) -> bool:
        """Nothing is left to happen: every webhook delivered, a job for every order, none leased
        or due, every webhook the app's requests caused in Saleor (the write-backs' echoes)
        answered (``Stack._quiet``). Whether it ended right is for ``judge`` to say (a job that
        settled wrong fails the run at once, not at the deadline)."""
        if self.delivering or not self.queue.empty() or self.later:
            return False
        jobs = self.last_jobs = await self.stack.jobs()
        if len(jobs) < len(self.orders):
            return False
        if any(job["in_progress"] or job["next_attempt_at"] is not None for job in jobs):
            return False
        return bool(await self.stack._quiet())

    def describe(self) -> str:
        """What keeps the run from settling (for the message of a missed deadline), as of the
        last look at the jobs."""
        jobs = self.last_jobs
        busy = [
            f"{job['order_number']}: {job['status']}, leased {job['in_progress']}, "
            f"next attempt {job['next_attempt_at']}, last {job['last_outcome']}"
            for job in jobs
            if job["in_progress"] or job["next_attempt_at"] is not None
        ]
        written = sum(1 for mutation in self.saleor.mutations if mutation.changed)
        return (
            f"deliveries in progress {self.delivering}, queued {self.queue.qsize()}, held back "
            f"{len(self.later)}; jobs {len(jobs)} of {len(self.orders)} orders; metadata writes "
            f"{written}; to change {sorted(self.late_pending)}, to cancel "
            f"{sorted(self.cancel_pending)}; jobs not settled ({len(busy)}): {busy[:20]}"
        )


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


async def recorded_history(stack: Stack) -> tuple[Counter[int], list[Takeover | str]]:
    """From the job history: unanswered Gordon calls per job, and every lease takeover (or the
    text of an entry that cannot be read as one)."""
    query = select(
        job_history.c.job_id, job_history.c.at, job_history.c.outcome, job_history.c.message
    ).where(job_history.c.outcome.in_([NO_ANSWER, LEASE_TAKEN_OVER]))
    async with stack.engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    no_answers: Counter[int] = Counter()
    takeovers: list[Takeover | str] = []
    for row in rows:
        if row.outcome == NO_ANSWER:
            no_answers[row.job_id] += 1
            continue
        match = TAKEOVER.match(row.message or "")
        if match is None:
            takeovers.append(f"job {row.job_id}: unreadable takeover entry {row.message!r}")
            continue
        expired = datetime.fromisoformat(match["at"])
        takeovers.append(Takeover(row.job_id, row.at, match["owner"], expired))
    return no_answers, takeovers


async def judge(chaos: Chaos) -> None:
    """Compare what Gordon and Saleor hold with what they must hold; record every mismatch."""
    stack, figures = chaos.stack, chaos.figures
    gordon, saleor = stack.gordon.state, stack.saleor.state
    mismatches = figures.mismatches
    numbers = {str(order["number"]) for order in chaos.orders}
    live = numbers - chaos.cancelled
    if set(gordon.orders) != live:
        missing, extra = live - set(gordon.orders), set(gordon.orders) - live
        mismatches.add("in Gordon", f"missing {sorted(missing)}, extra {sorted(extra)}")
    requests = gordon.requests(path_prefix="/api/orders")
    figures.gordon_requests = Counter(str(entry["method"]) for entry in requests)
    # A create that Gordon did: accepted, or done with its answer lost. There can be only one per
    # ref unless the app POSTs again after Gordon has the order (after a PUT said "not found").
    creates = Counter(
        str(entry["body"]["external_ref"])  # type: ignore[index]
        for entry in requests
        if entry["method"] == "POST" and (entry["status"] == 200 or entry["fault"] == "lost")
    )
    pushed = Counter(_pushed_ref(entry) for entry in requests if entry["method"] in ("PUT", "POST"))
    deletes = Counter(str(entry["ref"]) for entry in requests if entry["method"] == "DELETE")
    tracking_writes = Counter(
        mutation.order_id
        for mutation in saleor.mutations
        if mutation.field == "updateMetadata"
        and isinstance(mutation.items, Mapping)
        and TRACKING_ID_KEY in mutation.items
    )
    jobs = {str(job["order_id"]): job for job in await stack.jobs()}
    no_answers, takeovers = await recorded_history(stack)
    taken_over = _judge_takeovers(chaos, takeovers)
    expected = await expected_bodies(
        stack.saleor, stack.gordon, [o for o in chaos.orders if str(o["number"]) in live]
    )
    for order in chaos.orders:
        number, order_id = str(order["number"]), str(order["id"])
        job = jobs.get(order_id)
        if job is None:
            mismatches.add("job", f"{number}: no job")
            continue
        if job["status"] != chaos.expected_status(number) or job["in_progress"]:
            mismatches.add("job", f"job {job['id']} ({number}) left {job['status']}")
        if job["next_attempt_at"] is not None:
            mismatches.add("job", f"job {job['id']} ({number}) still due")
        writes = gordon.writes.get(number, OrderWrites())
        allowed = writes.contents_sent + no_answers[job["id"]] + taken_over[job["id"]]
        if writes.applied > allowed:
            mismatches.add(
                "Gordon writes",
                f"{number}: Gordon applied {writes.applied} writes > {writes.contents_sent} "
                f"contents sent + {no_answers[job['id']]} answers recorded as lost + "
                f"{taken_over[job['id']]} lease takeovers recorded",
            )
        tracking = stack.metadata(order).get(TRACKING_ID_KEY)
        if number in chaos.cancelled_before:
            if pushed[number] or writes.applied or tracking_writes[order_id] or tracking:
                mismatches.add(
                    "cancelled before",
                    f"{number}: cancelled before reaching Gordon, yet {pushed[number]} PUT/POST "
                    f"requests, {writes.applied} writes, {tracking_writes[order_id]} tracking writes",
                )
        elif number in chaos.cancelled_after:
            if writes.deleted != 1:
                mismatches.add("cancelled after", f"{number}: deleted {writes.deleted} times")
            if tracking_writes[order_id] > 1 or tracking not in (None, tracking_id_for(number)):
                mismatches.add(
                    "cancelled after",
                    f"{number}: tracking ID {tracking!r} written {tracking_writes[order_id]} times",
                )
        else:
            stored = gordon.orders.get(number)
            if stored is None:
                continue
            if creates[number] != 1:
                mismatches.add("creates", f"{number}: created {creates[number]} times")
            if deletes[number]:
                mismatches.add("deletes", f"{number}: {deletes[number]} DELETE requests")
            if stored.body != expected[number]:
                mismatches.add(
                    "content", f"{number}: Gordon has {stored.body}, expected {expected[number]}"
                )
            if tracking != stored.tracking_id:
                mismatches.add("tracking", f"{number}: {tracking!r} != {stored.tracking_id!r}")
            if tracking_writes[order_id] != 1:
                mismatches.add(
                    "tracking", f"{number}: tracking ID written {tracking_writes[order_id]} times"
                )
    figures.no_answers = sum(no_answers.values())
    figures.takeovers = sum(taken_over.values())
    for writes in gordon.writes.values():
        figures.gordon_writes.applied += writes.applied
        figures.gordon_writes.deleted += writes.deleted
        figures.gordon_writes.contents_sent += writes.contents_sent


def _pushed_ref(entry: Mapping[str, object]) -> str:
    body = entry["body"]
    ref = entry["ref"] or (body.get("external_ref") if isinstance(body, dict) else None)
    return str(ref)


def _judge_takeovers(chaos: Chaos, takeovers: list[Takeover | str]) -> Counter[int]:
    """Takeovers of expired leases per job; a takeover of a lease still running is a double claim.
    Every job a killed worker held must have been taken over from it, once."""
    mismatches = chaos.figures.mismatches
    valid: Counter[int] = Counter()
    from_owner: Counter[tuple[int, str]] = Counter()
    for takeover in takeovers:
        if isinstance(takeover, str):
            mismatches.add("takeover", takeover)
            continue
        if takeover.expired_at >= takeover.at:
            mismatches.add(
                "double claim",
                f"job {takeover.job_id}: claimed at {takeover.at.isoformat()} while "
                f"{takeover.previous_owner} held its lease until {takeover.expired_at.isoformat()}",
            )
            continue
        valid[takeover.job_id] += 1
        from_owner[(takeover.job_id, takeover.previous_owner)] += 1
    for job_id, owner in chaos.in_flight:
        if from_owner[(job_id, owner)] != 1:
            mismatches.add(
                "killed mid-attempt",
                f"job {job_id}: held by {owner} when it was killed, taken over from it "
                f"{from_owner[(job_id, owner)]} times",
            )
    return valid


async def run_chaos(
    stack: Stack,
    tmp_path: Path,
    *,
    title: str,
    workers: int,
    concurrency: int,
    database: ThrowawayPostgres | None = None,
) -> Figures:
    chaos = Chaos(stack, workers=workers, concurrency=concurrency, database=database)
    stack.saleor.state.inject_graphql_faults(SALEOR_FAULTS)
    chaos.start_workers()
    started = time.monotonic()
    killer = asyncio.create_task(chaos.kill_workers_periodically())
    async with httpx.AsyncClient(timeout=30) as http:
        senders = [asyncio.create_task(chaos.send(http)) for _ in range(SENDERS)]
        try:
            await chaos.produce()
            await stack.wait_until(
                chaos.changes_round, timeout=DEADLINE_SECONDS, message=chaos.describe
            )
            await stack.wait_until(chaos.settled, timeout=DEADLINE_SECONDS, message=chaos.describe)
        finally:
            chaos.stop.set()
            await killer
            for sender in senders:
                sender.cancel()
            await asyncio.gather(*senders, return_exceptions=True)
            stack.saleor.state.inject_graphql_faults(GraphQLFaults())  # the judge reads Saleor
    figures = chaos.figures
    figures.seconds = time.monotonic() - started
    figures.faults = Counter(stack.gordon.state.faults_injected)
    figures.saleor_faults = Counter(stack.saleor.state.faults_injected)
    figures.lost_tracking_writes = sum(
        1
        for mutation in stack.saleor.state.lost_answers
        if isinstance(mutation.items, Mapping) and TRACKING_ID_KEY in mutation.items
    )
    figures.saleor_refused = stack.saleor.state.refused
    await judge(chaos)
    lines = figures.lines()
    FIGURES.append((title, lines))
    (tmp_path / "chaos-figures.txt").write_text(
        "\n".join([title, *lines, *figures.mismatches.all()]) + "\n"
    )
    print("\n".join([title, *lines]))  # noqa: T201 - also shown with -s, beside the summary
    return figures


def assert_chaos_happened(figures: Figures, *, database_restarts: int) -> None:
    assert not figures.mismatches, figures.mismatches.summary()
    assert figures.failed_deliveries == 0
    assert figures.kills_in_flight >= 1  # a SIGKILL hit a job mid-attempt, and it was taken over
    assert figures.takeovers >= figures.jobs_in_flight_at_kills
    assert figures.no_answers > 0
    assert figures.saleor_refused > 0
    assert figures.duplicates_delivered > 0
    assert figures.out_of_order_deliveries > 0
    assert figures.late_updates > 0
    assert figures.cancelled_before > 0
    assert figures.cancelled_after > 0
    assert figures.gordon_writes.deleted == figures.cancelled_after
    assert {"503", "429", "timeout", "lost"} <= set(figures.faults)
    assert {"timeout", "lost"} <= set(figures.saleor_faults)
    assert figures.lost_tracking_writes > 0
    assert figures.database_restarts == database_restarts


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
    assert_chaos_happened(figures, database_restarts=0)


@pytest.mark.postgres
@pytest.mark.timeout(int(2 * DEADLINE_SECONDS) + 300)
async def test_chaos_on_postgresql_with_serve_two_worker_processes_and_a_restart(
    saleor_fake: RunningSaleorFake,
    start_gordon_sandbox: Any,
    throwaway_postgres: ThrowawayPostgres,
    tmp_path: Path,
) -> None:
    gordon = _sandbox(start_gordon_sandbox)
    async with running_stack(
        saleor_fake, gordon, tmp_path, throwaway_postgres.url, workers=4, settings=CHAOS_SETTINGS
    ) as stack:
        figures = await run_chaos(
            stack,
            tmp_path,
            title=f"chaos on PostgreSQL, {SIZE} orders",
            workers=2,
            concurrency=6,
            database=throwaway_postgres,
        )
    assert_chaos_happened(figures, database_restarts=1)
