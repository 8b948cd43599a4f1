"""One attempt of a sync job: read the order from Saleor, decide, talk to Gordon, write back.

This is the only module that combines Saleor, Gordon and the store. Decisions come from the pure
core (``translate_order``, ``decide_sync``, ``RetryPolicy``, ``desired_metadata``); this module
performs them and turns what happened into a ``JobResult`` for the worker to record.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from saleor_gordon import metrics
from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.order import OrderPayloadInvalid, SaleorOrder
from saleor_gordon.core.outcomes import Accepted, NotFound, Rejected, Retryable
from saleor_gordon.core.retry import GiveUp, RetryPolicy
from saleor_gordon.core.shop_config import ShopConfig
from saleor_gordon.core.sync_decision import (
    Fix,
    MetadataPlan,
    OrderState,
    Push,
    Settle,
    Withdraw,
    decide_sync,
    desired_metadata,
    metadata_changes,
)
from saleor_gordon.core.translate import (
    Translated,
    TranslationResult,
    Untranslatable,
    translate_order,
)
from saleor_gordon.errors import (
    SaleorError,
    SaleorGraphQLError,
    SaleorTokenRevoked,
    SaleorUnavailable,
    ShopConfigInvalid,
    StoreUnavailable,
)
from saleor_gordon.gordon.client import GordonClient
from saleor_gordon.gordon.rate_limit import RequestPacer
from saleor_gordon.gordon.tokens import TokenCache
from saleor_gordon.runtime import Runtime
from saleor_gordon.saleor.graphql_client import SaleorClient
from saleor_gordon.store.jobs import ClaimedJob, HistoryEntry, JobResult
from saleor_gordon.store.rate import DatabaseRateLimiter

logger = logging.getLogger(__name__)

#: The history entry of a Gordon call that got no answer (``Retryable.answered`` False).
NO_ANSWER = "no_answer"
NO_ANSWER_MESSAGE = (
    "Gordon did not answer: it may have done what was asked, so the next attempt asks again."
)

NOT_CONFIGURED = (
    "The app is not configured for this shop yet: enter the Gordon credentials and delivery "
    "groups on the app's page in the Saleor Dashboard (Apps → Gordon Delivery)."
)


@dataclass
class SyncServices:
    """What every job attempt of a process shares."""

    runtime: Runtime
    retry_policy: RetryPolicy
    token_cache: TokenCache = field(default_factory=TokenCache)
    rate_limiter: RequestPacer | None = None
    random: Callable[[], float] = random.random

    @classmethod
    def from_runtime(cls, runtime: Runtime) -> SyncServices:
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
class _Step:
    """What one action did, before retry and write-back are decided."""

    status: JobStatus
    action: str
    outcome: str
    message: str
    changes: Mapping[str, Any] = field(default_factory=dict)
    retry_after: float | None = None


class _Attempt:
    """The state of one job attempt; ``run`` returns the result to record."""

    def __init__(self, services: SyncServices, job: ClaimedJob) -> None:
        self.services = services
        self.runtime = services.runtime
        self.job = job
        self.now = self.runtime.clock()
        self.history: list[HistoryEntry] = []

    async def run(self) -> JobResult:
        try:
            return await self._run()
        except StoreUnavailable as exc:  # reading the shop, or the shared rate schedule
            return self._retry(_Step(JobStatus.RETRYING, "store", "unavailable", exc.message))

    async def _run(self) -> JobResult:
        installation = await self.runtime.installations.get_installation_by_id(
            self.job.installation_id
        )
        if installation is None:
            return self._settle(JobStatus.SKIPPED, "read_config", "uninstalled", "App uninstalled.")
        try:
            config = await self.runtime.installations.get_config(installation.id)
        except ShopConfigInvalid as exc:
            return self._settle(JobStatus.NEEDS_ATTENTION, "read_config", "invalid", exc.message)
        if config is None:
            return self._settle(
                JobStatus.NEEDS_ATTENTION, "read_config", "not_configured", NOT_CONFIGURED
            )
        saleor = SaleorClient(
            saleor_api_url=installation.saleor_api_url,
            token=installation.token,
            http=self.runtime.http,
            timeout=self.runtime.settings.saleor_timeout_seconds,
        )
        try:
            return await self._sync(config, saleor)
        except SaleorTokenRevoked as exc:
            await self.runtime.installations.mark_revoked(installation.id, now=self.now)
            logger.warning("installation.revoked installation_id=%s", installation.id)
            # Stays due: claims skip revoked installations until the app is installed again.
            return self._result(
                _Step(self.job.status, "saleor", "token_revoked", exc.message), next_at=self.now
            )
        except SaleorUnavailable as exc:
            step = _Step(JobStatus.RETRYING, "saleor", "unavailable", exc.message)
            return self._retry(step, retry_after=exc.retry_after)
        except SaleorGraphQLError as exc:  # e.g. a permission the app lacks: a person must look
            message = f"Saleor refused to read the order: {exc.message}"
            return self._settle(JobStatus.NEEDS_ATTENTION, "saleor", "refused", message)

    async def _sync(self, config: ShopConfig, saleor: SaleorClient) -> JobResult:
        data = await saleor.fetch_order(self.job.order_id)
        if data is None:
            return self._settle(
                JobStatus.SKIPPED, "read_order", "not_found", "The order no longer exists."
            )
        try:
            order = SaleorOrder.from_graphql(data)
        except OrderPayloadInvalid as exc:
            return self._settle(JobStatus.NEEDS_ATTENTION, "read_order", "invalid", str(exc))
        step = await self._act(order, data, config)
        if step.status is JobStatus.RETRYING:
            result = self._retry(step, retry_after=step.retry_after)
        else:
            result = self._result(step, next_at=None, settled=True)
        return await self._write_back(saleor, order, result)

    def _translate(self, order: SaleorOrder, config: ShopConfig) -> TranslationResult:
        return translate_for_job(
            order,
            config,
            now=self.now,
            external_ref=self.job.external_ref,
            pushed_at=self.job.pushed_at,
            pushed_hash=self.job.pushed_hash,
            pushed_delivery_date=self.job.pushed_delivery_date,
        )

    async def _act(self, order: SaleorOrder, data: Mapping[str, Any], config: ShopConfig) -> _Step:
        decision = decide_sync(
            state=order_state(order, data),
            translation=self._translate(order, config),
            triggers=tuple(config.trigger_events),
            events_seen=self.job.events_seen,
            pushed_hash=self.job.pushed_hash,
            known_ref=self.job.external_ref,
        )
        if isinstance(decision, Push):
            return await self._push(decision, self._gordon(config))
        if isinstance(decision, Withdraw):
            return await self._withdraw(decision, self._gordon(config))
        if isinstance(decision, Fix):
            return _Step(JobStatus.NEEDS_ATTENTION, "translate", "problems", decision.message)
        assert isinstance(decision, Settle)
        return _Step(decision.status, "check", "settled", decision.message)

    def _gordon(self, config: ShopConfig) -> GordonClient:
        return GordonClient(
            base_url=config.gordon.base_url,
            client_id=config.gordon.client_id,
            client_secret=config.gordon.client_secret.get_secret_value(),
            http=self.runtime.http,
            token_cache=self.services.token_cache,
            rate_limiter=self.services.rate_limiter,
            timeout=self.runtime.settings.gordon_timeout_seconds,
        )

    async def _push(self, push: Push, gordon: GordonClient) -> _Step:
        ref = push.gordon_order.external_ref
        outcome = await gordon.push_order(push.gordon_order.to_json())
        if isinstance(outcome, Accepted):
            tracking_id = outcome.tracking_id or self.job.tracking_id
            logger.info(
                "gordon.pushed job_id=%s order_number=%s tracking_id=%s",
                self.job.id,
                self.job.order_number,
                tracking_id,
            )
            changes = {
                "pushed_hash": push.content_hash,
                "pushed_at": self.now,
                "pushed_delivery_date": date.fromisoformat(push.gordon_order.deliverydate),
                "tracking_id": tracking_id,
                "external_ref": ref,
                "withdrawn_at": None,
                "pushed_time_window": push.gordon_order.time_window,
            }
            message = f"Gordon accepted order {ref} (tracking ID {tracking_id})."
            if push.warnings:
                message += " Warnings: " + " ".join(w.message for w in push.warnings)
            return _Step(JobStatus.SYNCED, "push", "accepted", message, changes)
        # Only a push whose answer was lost may have created the order under this ref; a refused
        # one did not, and must not pin the order to a ref the shop owner may be changing.
        maybe_sent = {"external_ref": ref} if isinstance(outcome, Retryable) else {}
        return self._failed_call("push", outcome, maybe_sent)

    async def _withdraw(self, withdraw: Withdraw, gordon: GordonClient) -> _Step:
        ref = withdraw.external_ref
        outcome = await gordon.delete_order(ref)
        if isinstance(outcome, Accepted | NotFound):
            logger.info(
                "gordon.withdrawn job_id=%s order_number=%s", self.job.id, self.job.order_number
            )
            changes = {
                "pushed_hash": None,
                "pushed_delivery_date": None,
                "pushed_time_window": None,
                "withdrawn_at": self.now,
                "pushed_at": self.now,
                "external_ref": ref,
            }
            message = f"Withdrawn from Gordon: {withdraw.reason}."
            return _Step(JobStatus.CANCELLED, "withdraw", "accepted", message, changes)
        if isinstance(outcome, Rejected) and not outcome.is_auth_failure:
            message = (
                f"Cancel order {ref} in the Gordon platform by hand: Gordon refused to withdraw "
                f"it ({outcome.message})."
            )
            return _Step(JobStatus.NEEDS_ATTENTION, "withdraw", "rejected", message)
        return self._failed_call("withdraw", outcome, {"external_ref": ref})

    def _failed_call(
        self, action: str, outcome: Rejected | Retryable | NotFound, changes: Mapping[str, Any]
    ) -> _Step:
        if isinstance(outcome, Retryable):
            if not outcome.answered:
                self.history.append(HistoryEntry(action, NO_ANSWER, NO_ANSWER_MESSAGE))
            message = f"Gordon is unavailable ({outcome.reason})."
            return _Step(
                JobStatus.RETRYING, action, "retryable", message, changes, outcome.retry_after
            )
        logger.info("gordon.rejected job_id=%s action=%s", self.job.id, action)
        return _Step(
            JobStatus.NEEDS_ATTENTION,
            action,
            "rejected",
            f"Gordon refused: {outcome.message}",
            changes,
        )

    def _retry(self, step: _Step, *, retry_after: float | None = None) -> JobResult:
        decision = self.services.retry_policy.decide(
            attempts=self.job.attempts,
            pending_since=self.job.pending_since or self.now,
            now=self.now,
            retry_after=retry_after,
            random=self.services.random(),
        )
        if isinstance(decision, GiveUp):
            message = f"{step.message} Retries stopped: {decision.reason}."
            failed = _Step(JobStatus.FAILED, step.action, "gave_up", message, step.changes)
            return self._result(failed, next_at=None, settled=True)
        return self._result(step, next_at=decision.when)

    async def _write_back(
        self, saleor: SaleorClient, order: SaleorOrder, result: JobResult
    ) -> JobResult:
        plan = self._metadata_plan(result)
        if plan is None:
            return result
        changes = metadata_changes(
            plan,
            public_now={item.key: item.value for item in order.metadata},
            private_now={item.key: item.value for item in order.private_metadata},
        )
        if changes.empty:
            return result
        try:
            if changes.public:
                await saleor.update_metadata(self.job.order_id, changes.public)
            if changes.private:
                await saleor.update_private_metadata(self.job.order_id, changes.private)
            if changes.delete_private:
                await saleor.delete_private_metadata(self.job.order_id, changes.delete_private)
        except SaleorTokenRevoked as exc:
            # What Gordon accepted is still recorded (result.changes); the write-back waits for
            # the app to be installed again (claims skip revoked installations).
            with contextlib.suppress(StoreUnavailable):  # the result below must still be recorded
                await self.runtime.installations.mark_revoked(
                    self.job.installation_id, now=self.now
                )
            logger.warning("installation.revoked installation_id=%s", self.job.installation_id)
            return self._write_back_failed(result, exc, next_at=self.now)
        except SaleorError as exc:
            return self._write_back_failed(result, exc)
        metrics.WRITE_BACKS.labels("written").inc()
        self.history.append(HistoryEntry("write_back", "written", _keys(changes)))
        return _with_history(result, self.history)

    def _metadata_plan(self, result: JobResult) -> MetadataPlan | None:
        changes = result.changes
        external_ref = changes.get("external_ref", self.job.external_ref)
        if result.status is JobStatus.CANCELLED and external_ref is None:
            return None  # never reached Gordon: nothing to tell on the order
        error = result.message if result.status in _ERROR_STATUSES else None
        return desired_metadata(
            status=result.status,
            tracking_id=changes.get("tracking_id", self.job.tracking_id),
            external_ref=external_ref,
            synced_at=changes.get("pushed_at", self.job.pushed_at),
            error=error,
        )

    def _write_back_failed(
        self, result: JobResult, exc: SaleorError, *, next_at: datetime | None = None
    ) -> JobResult:
        """Retry the write-back on its own: what Gordon accepted stays in ``result.changes``, so
        the next attempt finds the content unchanged and only writes the metadata."""
        metrics.WRITE_BACKS.labels("failed").inc()
        self.history.append(HistoryEntry("write_back", "failed", exc.message))
        message = f"{result.message} Writing the status to the order failed ({exc.message})."
        if next_at is None:
            retry_after = exc.retry_after if isinstance(exc, SaleorUnavailable) else None
            decision = self.services.retry_policy.decide(
                attempts=self.job.attempts,
                pending_since=self.job.pending_since or self.now,
                now=self.now,
                retry_after=retry_after,
                random=self.services.random(),
            )
            if isinstance(decision, GiveUp):
                return self._recorded(
                    result, JobStatus.FAILED, None, f"{message} Retries stopped: {decision.reason}."
                )
            next_at = decision.when
        return self._recorded(result, JobStatus.RETRYING, next_at, message)

    def _recorded(
        self, result: JobResult, status: JobStatus, next_at: datetime | None, message: str
    ) -> JobResult:
        return JobResult(
            status=status,
            next_attempt_at=next_at,
            action=result.action,
            outcome=result.outcome,
            message=message,
            history=tuple(self.history),
            changes=result.changes,
            settled=next_at is None,
        )

    def _settle(self, status: JobStatus, action: str, outcome: str, message: str) -> JobResult:
        return self._result(_Step(status, action, outcome, message), next_at=None, settled=True)

    def _result(self, step: _Step, *, next_at: datetime | None, settled: bool = False) -> JobResult:
        self.history.append(HistoryEntry(step.action, step.outcome, step.message))
        return JobResult(
            status=step.status,
            next_attempt_at=next_at,
            action=step.action,
            outcome=step.outcome,
            message=step.message,
            history=tuple(self.history),
            changes=dict(step.changes),
            settled=settled,
        )


_ERROR_STATUSES = frozenset({JobStatus.NEEDS_ATTENTION, JobStatus.FAILED, JobStatus.RETRYING})


def _with_history(result: JobResult, history: list[HistoryEntry]) -> JobResult:
    return JobResult(
        status=result.status,
        next_attempt_at=result.next_attempt_at,
        action=result.action,
        outcome=result.outcome,
        message=result.message,
        history=tuple(history),
        changes=result.changes,
        settled=result.settled,
    )


def _keys(plan: MetadataPlan) -> str:
    keys = [*plan.public, *plan.private, *(f"-{key}" for key in plan.delete_private)]
    return "metadata " + ", ".join(keys)


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def order_state(order: SaleorOrder, data: Mapping[str, Any]) -> OrderState:
    """The facts of a fetched order that decide whether it goes to Gordon."""
    return OrderState(
        status=order.status,
        charge_status=_optional_str(data.get("chargeStatus")),
        is_paid=data.get("isPaid") is True,
    )


def translate_for_job(
    order: SaleorOrder,
    config: ShopConfig,
    *,
    now: datetime,
    external_ref: str | None,
    pushed_at: datetime | None,
    pushed_hash: str | None,
    pushed_delivery_date: date | None,
) -> TranslationResult:
    """The Gordon order a job would send now, given what it sent before.

    The date Gordon has is kept while it is allowed: a re-push does not move the delivery. After a
    push the order keeps the reference Gordon knows it by, even if the prefix changed since. A
    requested delivery date that has passed since the push is no reason to flag an order whose
    content Gordon already has; any other change is judged as of now.
    """
    kept = pushed_delivery_date or _date_pushed_before_0003(order, config, pushed_hash)
    translation = _keep_ref(
        translate_order(order, config, now=now, pushed_delivery_date=kept), external_ref
    )
    if isinstance(translation, Untranslatable) and pushed_at is not None:
        as_pushed = _keep_ref(
            translate_order(order, config, now=pushed_at, pushed_delivery_date=kept), external_ref
        )
        if (
            isinstance(as_pushed, Translated)
            and as_pushed.gordon_order.content_hash() == pushed_hash
        ):
            return as_pushed
    return translation


def _date_pushed_before_0003(
    order: SaleorOrder, config: ShopConfig, pushed_hash: str | None
) -> date | None:
    """Pushes recorded before migration 0003 kept no date; the app then counted it from the
    order's creation time alone, which is what translating as of that time gives."""
    if pushed_hash is None or order.created is None:
        return None
    as_created = translate_order(order, config, now=order.created)
    if not isinstance(as_created, Translated):
        return None
    return date.fromisoformat(as_created.gordon_order.deliverydate)


def _keep_ref(translation: TranslationResult, ref: str | None) -> TranslationResult:
    if not isinstance(translation, Translated) or not ref:
        return translation
    if translation.gordon_order.external_ref == ref:
        return translation
    gordon_order = translation.gordon_order.model_copy(update={"external_ref": ref})
    return dataclasses.replace(translation, gordon_order=gordon_order)


async def run_job(services: SyncServices, job: ClaimedJob) -> JobResult:
    """Run one attempt of ``job``; Saleor and Gordon failures become results, never exceptions."""
    result = await _Attempt(services, job).run()
    if result.status is JobStatus.RETRYING:
        metrics.RETRIES.inc()
    return result
