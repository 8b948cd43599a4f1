"""One attempt of a sync job: read the shop and the order, decide, talk to Gordon, tell Saleor.

This is the only module that combines Saleor, Gordon and the store. The decisions come from the
pure core (``decide_for_order``, ``desired_metadata``); this module performs them and says what it
found as a typed outcome (``jobs/lifecycle.py``: ``Pushed``, ``Withdrawn``, ``NothingToDo``,
``NeedsPerson``, ``Unavailable``, ``TokenRevoked``). It stores nothing about the job: the worker
turns the outcome into the job's next state (``lifecycle.transition``), asks this attempt to write
that state to the order's metadata (``write_back``), and records the result.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from saleor_gordon import metrics
from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.order import OrderPayloadInvalid, SaleorOrder
from saleor_gordon.core.outcomes import Accepted, NotFound, Rejected, Retryable
from saleor_gordon.core.retry import RetryPolicy
from saleor_gordon.core.shop_config import ShopConfig
from saleor_gordon.core.sync_decision import (
    Fix,
    MetadataPlan,
    Push,
    Settle,
    Withdraw,
    decide_for_order,
    desired_metadata,
    metadata_changes,
)
from saleor_gordon.errors import (
    SaleorError,
    SaleorGraphQLError,
    SaleorTokenRevoked,
    SaleorUnavailable,
    ShopConfigInvalid,
    ShopNotConfigured,
    StoreUnavailable,
)
from saleor_gordon.gordon.client import GordonClient
from saleor_gordon.gordon.rate_limit import RequestPacer
from saleor_gordon.gordon.tokens import TokenCache
from saleor_gordon.jobs.lifecycle import (
    AttemptOutcome,
    GordonCopy,
    NeedsPerson,
    NothingToDo,
    Pushed,
    PushRecorded,
    Step,
    TokenRevoked,
    Transition,
    Unavailable,
    WithdrawalRecorded,
    Withdrawn,
    WriteBackFailed,
    WrittenBack,
)
from saleor_gordon.jobs.queue import ClaimedJob
from saleor_gordon.outbound import origin_of
from saleor_gordon.runtime import Runtime
from saleor_gordon.saleor.graphql_client import SaleorClient
from saleor_gordon.shop import load_shop
from saleor_gordon.store.rate import DatabaseRateLimiter

logger = logging.getLogger(__name__)


@dataclass
class JobServices:
    """What every job attempt of a process shares."""

    runtime: Runtime
    retry_policy: RetryPolicy
    token_cache: TokenCache = field(default_factory=TokenCache)
    rate_limiter: RequestPacer | None = None
    random: Callable[[], float] = random.random
    """Uniform in [0, 1): spreads the retries (``RetryPolicy.jitter``)."""

    @classmethod
    def from_runtime(cls, runtime: Runtime) -> JobServices:
        settings = runtime.settings
        policy = RetryPolicy(
            first_delay=settings.retry_first_delay_seconds,
            max_delay=settings.retry_max_delay_seconds,
            max_age=settings.retry_max_age,
        )
        # One schedule per Gordon account for all processes sharing the database.
        limiter = DatabaseRateLimiter(runtime.engine, settings.gordon_requests_per_second)
        return cls(runtime=runtime, retry_policy=policy, rate_limiter=limiter)


@dataclass(frozen=True)
class _ReadOrder:
    """The order as the attempt read it, and the client it was read with (for the write-back)."""

    saleor: SaleorClient
    order: SaleorOrder


class Attempt:
    """One attempt of ``job``: ``act()``, then ``write_back(transition)``."""

    def __init__(self, services: JobServices, job: ClaimedJob) -> None:
        self.services = services
        self.runtime = services.runtime
        self.job = job
        self.now = self.runtime.clock()
        self._decided: _ReadOrder | None = None
        """Set once the order was read and a decision acted on: only then is it written back."""
        self.destinations: set[str] = set()
        """The servers (``outbound.origin_of``) this attempt calls or is about to call."""
        self._add_destination(job.saleor_api_url)
        self._step = "read_config"
        """What the attempt is doing now (a history action), for ``stopped``."""
        self._gordon_call: tuple[str, str] | None = None
        """The Gordon request under way, ``(action, external_ref)``: it may be done when cut."""

    def stopped(self, why: str) -> Unavailable:
        """What the attempt found when it was stopped mid-way (its deadline passed, or it had to
        give its worker back): nothing yet, to be retried. Stopped during a Gordon request, Gordon
        may have done it: the outcome is unanswered (``NO_ANSWER``) and keeps the ref it went
        under."""
        if self._gordon_call is not None:
            action, ref = self._gordon_call
            return Unavailable(Step(action, "stopped"), why, sent_ref=ref, unanswered=True)
        return Unavailable(Step(self._step, "stopped"), why)

    def _add_destination(self, url: str) -> None:
        origin = origin_of(url)
        if origin is not None:
            self.destinations.add(origin)

    async def act(self) -> AttemptOutcome:
        """Read the shop and the order, decide and call Gordon; what happened, as an outcome.

        Saleor, Gordon and store failures become outcomes; anything else (a bug) is raised.
        """
        try:
            return await self._act()
        except StoreUnavailable as exc:  # reading the shop, or the shared rate schedule
            return Unavailable(Step("store", "unavailable"), exc.message)

    async def _act(self) -> AttemptOutcome:
        installation = await self.runtime.installations.get_installation_by_id(
            self.job.installation_id
        )
        if installation is None:
            return NothingToDo(
                JobStatus.SKIPPED, Step("read_config", "uninstalled"), "App uninstalled."
            )
        try:
            shop = await load_shop(self.runtime, installation)
        except ShopConfigInvalid as exc:
            return NeedsPerson(Step("read_config", "invalid"), exc.message)
        except ShopNotConfigured as exc:
            return NeedsPerson(Step("read_config", "not_configured"), exc.message)
        saleor = self.runtime.saleor_client(installation.saleor_api_url, installation.token)
        self._step = "saleor"
        try:
            data = await saleor.fetch_order(self.job.order_id)
        except SaleorTokenRevoked as exc:
            await self.runtime.installations.mark_revoked(installation.id, now=self.now)
            logger.warning("installation.revoked installation_id=%s", installation.id)
            return TokenRevoked(exc.message)
        except SaleorUnavailable as exc:
            return Unavailable(Step("saleor", "unavailable"), exc.message, exc.retry_after)
        except SaleorGraphQLError as exc:  # e.g. a permission the app lacks: a person must look
            message = f"Saleor refused to read the order: {exc.message}"
            return NeedsPerson(Step("saleor", "refused"), message)
        if data is None:
            return NothingToDo(
                JobStatus.SKIPPED, Step("read_order", "not_found"), "The order no longer exists."
            )
        try:
            order = SaleorOrder.from_graphql(data)
        except OrderPayloadInvalid as exc:
            return NeedsPerson(Step("read_order", "invalid"), str(exc))
        outcome = await self._decide_and_call(order, data, shop.config)
        self._decided = _ReadOrder(saleor, order)
        return outcome

    async def _decide_and_call(
        self, order: SaleorOrder, data: Mapping[str, Any], config: ShopConfig
    ) -> AttemptOutcome:
        decision = decide_for_order(
            order,
            data,
            config,
            sent=self.job.sent_before,
            events_seen=self.job.events_seen,
            now=self.now,
        ).decision
        if isinstance(decision, Push):
            return await self._push(decision, self._gordon(config))
        if isinstance(decision, Withdraw):
            return await self._withdraw(decision, self._gordon(config))
        if isinstance(decision, Fix):
            return NeedsPerson(Step("translate", "problems"), decision.message)
        assert isinstance(decision, Settle)
        return NothingToDo(decision.status, Step("check", "settled"), decision.message)

    def _gordon(self, config: ShopConfig) -> GordonClient:
        self._add_destination(config.gordon.base_url)
        return GordonClient(
            base_url=config.gordon.base_url,
            client_id=config.gordon.client_id,
            client_secret=config.gordon.client_secret.get_secret_value(),
            http=self.runtime.http,
            token_cache=self.services.token_cache,
            rate_limiter=self.services.rate_limiter,
            timeout=self.runtime.settings.gordon_timeout_seconds,
        )

    async def _push(self, push: Push, gordon: GordonClient) -> AttemptOutcome:
        ref = push.gordon_order.external_ref
        self._gordon_call = ("push", ref)
        outcome = await gordon.push_order(push.gordon_order.to_json())
        self._gordon_call = None
        if isinstance(outcome, Accepted):
            tracking_id = outcome.tracking_id or self.job.tracking_id
            logger.info(
                "gordon.pushed job_id=%s order_number=%s tracking_id=%s",
                self.job.id,
                self.job.order_number,
                tracking_id,
            )
            copy = GordonCopy(
                external_ref=ref,
                content_hash=push.content_hash,
                delivery_date=date.fromisoformat(push.gordon_order.deliverydate),
                time_window=push.gordon_order.time_window,
                tracking_id=tracking_id,
            )
            message = f"Gordon accepted order {ref} (tracking ID {tracking_id})."
            if push.warnings:
                message += " Warnings: " + " ".join(w.message for w in push.warnings)
            return Pushed(copy, message)
        # Only a push whose answer was lost may have created the order under this ref; a refused
        # one did not, and must not pin the order to a ref the shop owner may be changing.
        return self._failed_call("push", outcome, ref if isinstance(outcome, Retryable) else None)

    async def _withdraw(self, withdraw: Withdraw, gordon: GordonClient) -> AttemptOutcome:
        ref = withdraw.external_ref
        self._gordon_call = ("withdraw", ref)
        outcome = await gordon.delete_order(ref)
        self._gordon_call = None
        if isinstance(outcome, Accepted | NotFound):
            logger.info(
                "gordon.withdrawn job_id=%s order_number=%s", self.job.id, self.job.order_number
            )
            return Withdrawn(ref, f"Withdrawn from Gordon: {withdraw.reason}.")
        if isinstance(outcome, Rejected) and not outcome.is_auth_failure:
            message = (
                f"Cancel order {ref} in the Gordon platform by hand: Gordon refused to withdraw "
                f"it ({outcome.message})."
            )
            return NeedsPerson(Step("withdraw", "rejected"), message)
        return self._failed_call("withdraw", outcome, ref)

    def _failed_call(
        self, action: str, outcome: Rejected | Retryable | NotFound, sent_ref: str | None
    ) -> AttemptOutcome:
        if isinstance(outcome, Retryable):
            message = f"Gordon is unavailable ({outcome.reason})."
            return Unavailable(
                Step(action, "retryable"),
                message,
                outcome.retry_after,
                sent_ref=sent_ref,
                unanswered=not outcome.answered,
            )
        logger.info("gordon.rejected job_id=%s action=%s", self.job.id, action)
        message = f"Gordon refused: {outcome.message}"
        return NeedsPerson(Step(action, "rejected"), message, sent_ref=sent_ref)

    async def write_back(
        self, done: AttemptOutcome, transition: Transition
    ) -> WrittenBack | WriteBackFailed | None:
        """Write ``transition`` (what ``done`` leads to) to the order's ``gordon.*`` metadata.

        None when there is nothing to write: the order was not read, its metadata already says
        so, or the job is not one to tell about (skipped, never sent).
        """
        if self._decided is None:
            return None
        plan = self._metadata_plan(transition)
        if plan is None:
            return None
        order = self._decided.order
        changes = metadata_changes(
            plan,
            public_now={item.key: item.value for item in order.metadata},
            private_now={item.key: item.value for item in order.private_metadata},
        )
        if changes.empty:
            return None
        saleor = self._decided.saleor
        self._step = "write_back"
        try:
            if changes.public:
                await saleor.update_metadata(self.job.order_id, changes.public)
            if changes.private:
                await saleor.update_private_metadata(self.job.order_id, changes.private)
            if changes.delete_private:
                await saleor.delete_private_metadata(self.job.order_id, changes.delete_private)
        except SaleorTokenRevoked as exc:
            # What Gordon accepted is still recorded; the write-back waits for the app to be
            # installed again (claims skip revoked installations).
            with contextlib.suppress(StoreUnavailable):  # the attempt must still be recorded
                await self.runtime.installations.mark_revoked(
                    self.job.installation_id, now=self.now
                )
            logger.warning("installation.revoked installation_id=%s", self.job.installation_id)
            metrics.WRITE_BACKS.labels("failed").inc()
            return WriteBackFailed(done, exc.message, token_revoked=True)
        except SaleorError as exc:
            metrics.WRITE_BACKS.labels("failed").inc()
            retry_after = exc.retry_after if isinstance(exc, SaleorUnavailable) else None
            return WriteBackFailed(done, exc.message, retry_after=retry_after)
        metrics.WRITE_BACKS.labels("written").inc()
        return WrittenBack(done, _keys(changes))

    def _metadata_plan(self, transition: Transition) -> MetadataPlan | None:
        record = transition.gordon
        external_ref = self.job.external_ref if record is None else record.external_ref
        if transition.status is JobStatus.CANCELLED and external_ref is None:
            return None  # never reached Gordon: nothing to tell on the order
        tracking_id = self.job.tracking_id
        if isinstance(record, PushRecorded):
            tracking_id = record.copy.tracking_id
        synced_at = self.job.pushed_at
        if isinstance(record, PushRecorded | WithdrawalRecorded):
            synced_at = record.at
        error = transition.message if transition.status in _ERROR_STATUSES else None
        return desired_metadata(
            status=transition.status,
            tracking_id=tracking_id,
            external_ref=external_ref,
            synced_at=synced_at,
            error=error,
        )


_ERROR_STATUSES = frozenset({JobStatus.NEEDS_ATTENTION, JobStatus.FAILED, JobStatus.RETRYING})


def _keys(plan: MetadataPlan) -> str:
    keys = [*plan.public, *plan.private, *(f"-{key}" for key in plan.delete_private)]
    return "metadata " + ", ".join(keys)
