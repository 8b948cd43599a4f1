"""One attempt of a sync job: read the shop and the order, decide, talk to Gordon, fulfil, tell
Saleor.

This is the only module that combines Saleor, Gordon and the store. The decisions come from the
pure core (``decide_for_order``, ``decide_fulfillment``, ``desired_metadata``); this module performs
them and says what it found as a typed outcome (``jobs/lifecycle.py``: ``Pushed``, ``Withdrawn``,
``NothingToDo``, ``NeedsPerson``, ``Unavailable``, ``TokenRevoked``, and once Gordon has the order
``Fulfilled``, ``FulfillmentFailed`` or ``FulfillmentRefused`` around them). It stores nothing
about the job: the worker turns the outcome into the job's next state (``lifecycle.transition``),
asks this attempt to write that state to the order's metadata (``write_back``), and records the
result.

The fulfillment step runs when Gordon has the order: after Gordon accepted a push, or when Gordon
already has the order's content (a fulfillment event, a retry of a failed fulfillment: Gordon is
not asked again). It decides from the order as Saleor has it (re-read after a push), so the
tracking number on a fulfillment is the marker of what was done: a duplicate event, a retry, an
attempt repeated after a crash or another worker finds it there and does nothing again, and
Saleor itself refuses to fulfil a quantity twice.

An order Saleor no longer has (deleted: ``order: null`` when read, ``NOT_FOUND`` to a mutation)
is never retried: whatever Gordon may have of it is withdrawn (``decide_for_deleted_order``), in
the attempt that finds it gone, or, when the write-back finds it, in the next attempt, due at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from saleor_gordon import metrics
from saleor_gordon.core.fulfillment import (
    FulfillmentPlan,
    FulfillmentState,
    decide_fulfillment,
    tracking_link,
)
from saleor_gordon.core.fulfillment_outcomes import NextStep, Refused, blocked_by
from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.messages import Message
from saleor_gordon.core.order import OrderIdentifierUnusable, OrderPayloadInvalid, SaleorOrder
from saleor_gordon.core.outcomes import Accepted, NotFound, Rejected, Retryable
from saleor_gordon.core.retry import RetryPolicy
from saleor_gordon.core.shop_config import ShopConfig
from saleor_gordon.core.sync_decision import (
    Fix,
    MetadataPlan,
    Push,
    Settle,
    Withdraw,
    decide_for_deleted_order,
    decide_for_order,
    desired_metadata,
    metadata_changes,
    order_state,
)
from saleor_gordon.core.translate import unusable_identifier_problem
from saleor_gordon.errors import (
    SaleorError,
    SaleorGraphQLError,
    SaleorNotFound,
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
    Fulfilled,
    FulfillmentFailed,
    FulfillmentRecord,
    FulfillmentRefused,
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
from saleor_gordon.shop import load_shop_of_job
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
    config: ShopConfig


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
        self._gordon_done: Pushed | NothingToDo | None = None
        """What Gordon's step found, once Gordon has the order (the fulfillment step runs)."""
        self._gordon_client: GordonClient | None = None
        """The shop's Gordon client, made once (its configuration is read once per attempt)."""
        self._token_ahead: asyncio.Task[object] | None = None
        """Gordon's token request this attempt started ahead (``fetch_token_ahead``)."""

    def stopped(self, why: Message) -> AttemptOutcome:
        """What the attempt found when it was stopped mid-way (its deadline passed, or it had to
        give its worker back), to be retried. Stopped during a Gordon request, Gordon may have
        done it: the outcome is unanswered (``NO_ANSWER``) and keeps the ref it went under.
        Stopped in the fulfillment step, Gordon has the order: that is recorded, and the
        fulfillment is what is retried."""
        if self._gordon_call is not None:
            action, ref = self._gordon_call
            return Unavailable(Step(action, "stopped"), why, sent_ref=ref, unanswered=True)
        if self._gordon_done is not None:
            record = FulfillmentRecord(FulfillmentState.TO_DO.value, why)
            return FulfillmentFailed(self._gordon_done, record)
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
            unavailable = Message.of("job.store_unavailable", exc.message)
            return Unavailable(Step("store", "unavailable"), unavailable)
        finally:
            await self._drop_token_ahead()

    async def _drop_token_ahead(self) -> None:
        """A token request started ahead and not needed (the attempt ended before calling
        Gordon, or was stopped) ends with the attempt: nothing of it outlives its worker."""
        ahead, self._token_ahead = self._token_ahead, None
        if ahead is None or ahead.done():
            return
        ahead.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ahead

    async def _act(self) -> AttemptOutcome:
        try:
            shop = await load_shop_of_job(self.runtime, self.job)
        except ShopConfigInvalid as exc:
            invalid = Message.of("job.config_invalid", exc.message)
            return NeedsPerson(Step("read_config", "invalid"), invalid)
        except ShopNotConfigured as exc:
            not_configured = Message.of("job.not_configured", exc.message)
            return NeedsPerson(Step("read_config", "not_configured"), not_configured)
        if shop is None:
            uninstalled = Message.of("job.uninstalled", "App uninstalled.")
            return NothingToDo(JobStatus.SKIPPED, Step("read_config", "uninstalled"), uninstalled)
        installation = shop.installation
        saleor = self.runtime.saleor_client(installation.saleor_api_url, installation.token)
        # Gordon's token, when none is cached (a process's first order of an account, then once
        # an hour), is asked for while the order is read, not after it.
        self._token_ahead = self._gordon_client_of(shop.config).fetch_token_ahead()
        if self._token_ahead is not None:
            self._add_destination(shop.config.gordon.base_url)
        self._step = "saleor"
        try:
            data = await saleor.fetch_order(self.job.order_id)
        except SaleorTokenRevoked as exc:
            await self.runtime.installations.mark_revoked(installation.id, now=self.now)
            logger.warning("installation.revoked installation_id=%s", installation.id)
            return TokenRevoked(Message.of("job.token_revoked", exc.message))
        except SaleorUnavailable as exc:
            unavailable = Message.of("job.saleor_unavailable", exc.message)
            return Unavailable(Step("saleor", "unavailable"), unavailable, exc.retry_after)
        except SaleorGraphQLError as exc:  # e.g. a permission the app lacks: a person must look
            return NeedsPerson(Step("saleor", "refused"), _saleor_refused(exc))
        if data is None:
            return await self._deleted(shop.config, known_ref=self.job.external_ref)
        try:
            order = SaleorOrder.from_graphql(data)
        except OrderIdentifierUnusable as exc:  # a problem to fix, as the preview shows it
            fix = Fix((unusable_identifier_problem(exc),))
            return NeedsPerson(Step("read_order", "invalid"), fix.message)
        except OrderPayloadInvalid as exc:
            unreadable = Message.of("job.order_unreadable", str(exc))
            return NeedsPerson(Step("read_order", "invalid"), unreadable)
        outcome = await self._decide_and_call(order, data, shop.config)
        self._decided = _ReadOrder(saleor, order, shop.config)
        if isinstance(outcome, Withdrawn):  # the widget stops waiting for a tracking number
            plan = decide_fulfillment(
                order,
                paid=order_state(order, data).fully_paid,
                tracking_id=self.job.tracking_id,
                settings=shop.config.fulfillment_settings,
            )
            return replace(outcome, fulfillment=_record(plan))
        if isinstance(outcome, Pushed) or (
            isinstance(outcome, NothingToDo) and outcome.status is JobStatus.SYNCED
        ):
            return await self._fulfil(outcome, saleor, order, data, shop.config)
        return outcome

    async def _deleted(self, config: ShopConfig, *, known_ref: str | None) -> AttemptOutcome:
        """Saleor no longer has the order: withdraw it from Gordon if Gordon may have it (under
        ``known_ref``), else settle. Nothing is written back: there is no order to write to."""
        self._decided = None
        self._gordon_done = None
        logger.info(
            "saleor.order_deleted job_id=%s order_number=%s", self.job.id, self.job.order_number
        )
        decision = decide_for_deleted_order(known_ref=known_ref)
        if isinstance(decision, Withdraw):
            return await self._withdraw(decision, self._gordon(config))
        return NothingToDo(decision.status, Step("read_order", "not_found"), decision.message)

    async def _fulfil(
        self,
        done: Pushed | NothingToDo,
        saleor: SaleorClient,
        order: SaleorOrder,
        data: Mapping[str, Any],
        config: ShopConfig,
    ) -> AttemptOutcome:
        """Gordon has the order: put its tracking number on the order's fulfillments, or fulfil
        the order with it, as the shop chose (``core/fulfillment.py`` decides)."""
        self._gordon_done = done
        tracking_id = done.copy.tracking_id if isinstance(done, Pushed) else self.job.tracking_id
        settings = config.fulfillment_settings
        read_again = isinstance(done, Pushed)  # the order was read before Gordon's answer
        acted: list[Message] = []
        try:
            for _ in range(_FULFILLMENT_ROUNDS):
                plan = decide_fulfillment(
                    order,
                    paid=order_state(order, data).fully_paid,
                    tracking_id=tracking_id,
                    settings=settings,
                )
                if not plan.has_actions:
                    return Fulfilled(done, _record(plan), tuple(acted))
                if read_again:
                    read_again = False
                    order, data = await self._read_again(saleor)
                    continue
                changed = await self._perform(saleor, order, plan, acted)
                if isinstance(changed, Refused):
                    refused = self._refused(done, changed, order, acted)
                    if refused is not None:
                        return refused
                    order, data = await self._read_again(saleor)
                    continue
                order, data = changed
        except _OrderDeleted:
            ref = done.copy.external_ref if isinstance(done, Pushed) else self.job.external_ref
            return await self._deleted(config, known_ref=ref)
        except SaleorTokenRevoked as exc:
            with contextlib.suppress(StoreUnavailable):  # the attempt must still be recorded
                await self.runtime.installations.mark_revoked(
                    self.job.installation_id, now=self.now
                )
            logger.warning("installation.revoked installation_id=%s", self.job.installation_id)
            record = FulfillmentRecord(FulfillmentState.TO_DO.value, _saleor_failed(exc))
            return FulfillmentFailed(done, record, token_revoked=True, acted=tuple(acted))
        except SaleorUnavailable as exc:
            record = FulfillmentRecord(FulfillmentState.TO_DO.value, _saleor_failed(exc))
            return FulfillmentFailed(done, record, retry_after=exc.retry_after, acted=tuple(acted))
        except SaleorError as exc:  # refused the request itself (a permission, a bad answer)
            record = FulfillmentRecord(FulfillmentState.BLOCKED.value, _saleor_failed(exc))
            return FulfillmentRefused(done, record, acted=tuple(acted))
        english = "Saleor's order kept changing while the app fulfilled it; the app tries again."
        changing = Message.of("fulfillment_reason.order_kept_changing", english)
        record = FulfillmentRecord(FulfillmentState.TO_DO.value, changing)
        return FulfillmentFailed(done, record, acted=tuple(acted))

    async def _read_again(self, saleor: SaleorClient) -> tuple[SaleorOrder, Mapping[str, Any]]:
        """The order as Saleor has it now (to decide the fulfillment from what is there).

        Raises:
            _OrderDeleted: Saleor no longer has it.
        """
        data = await saleor.fetch_order(self.job.order_id)
        if data is None:
            raise _OrderDeleted()
        try:
            return SaleorOrder.from_graphql(data), data
        except OrderPayloadInvalid as exc:
            raise SaleorGraphQLError(f"Saleor's order cannot be read: {exc}") from exc

    async def _perform(
        self, saleor: SaleorClient, order: SaleorOrder, plan: FulfillmentPlan, acted: list[Message]
    ) -> tuple[SaleorOrder, Mapping[str, Any]] | Refused:
        """Fulfil and set tracking numbers as ``plan`` says; the order after it (from Saleor's
        last answer), or Saleor's refusal. ``acted`` gets what was done, for the history."""
        answered: Mapping[str, Any] | None = None
        number = plan.tracking_number
        if plan.fulfil:
            answer = await saleor.fulfill_order(
                order.id, plan.fulfil, tracking_number=number, notify_customer=plan.notify_customer
            )
            if isinstance(answer, Refused):
                return answer
            waiting = any(f.status == "WAITING_FOR_APPROVAL" for f in answer.fulfillments)
            acted.append(_fulfilled(number, waiting=waiting))
            logger.info(
                "saleor.fulfilled job_id=%s order_number=%s fulfillments=%s",
                self.job.id,
                self.job.order_number,
                len(answer.fulfillments),
            )
            answered = answer.order
        for update in plan.set_tracking:
            answer = await saleor.update_fulfillment_tracking(
                update.fulfillment_id,
                tracking_number=number,
                notify_customer=update.notify_customer,
            )
            if isinstance(answer, Refused):
                return answer
            acted.append(
                Message.of(
                    "job.tracking_set",
                    f"Set tracking number {number} on the order's fulfillment.",
                    tracking_number=number,
                )
            )
            logger.info(
                "saleor.tracking_set job_id=%s order_number=%s",
                self.job.id,
                self.job.order_number,
            )
            answered = answer.order
        if answered is None:
            return await self._read_again(saleor)
        try:
            return SaleorOrder.from_graphql(answered), answered
        except OrderPayloadInvalid:
            return await self._read_again(saleor)

    def _refused(
        self, done: Pushed | NothingToDo, refused: Refused, order: SaleorOrder, acted: list[Message]
    ) -> AttemptOutcome | None:
        """What Saleor's refusal leads to; None: read the order again and decide again."""
        step = refused.next_step
        if step is NextStep.READ_AGAIN:
            return None
        logger.info(
            "saleor.fulfillment_refused job_id=%s refusal=%s",
            self.job.id,
            refused.refusal.value,
        )
        record = _record(blocked_by(refused, order))
        if step is NextStep.RETRY_LATER:
            return FulfillmentFailed(done, record, acted=tuple(acted))
        if step is NextStep.WAIT_FOR_EVENT:
            return Fulfilled(done, record, tuple(acted))
        return FulfillmentRefused(done, record, acted=tuple(acted))

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
        """The shop's Gordon client, about to be called."""
        self._add_destination(config.gordon.base_url)
        return self._gordon_client_of(config)

    def _gordon_client_of(self, config: ShopConfig) -> GordonClient:
        if self._gordon_client is None:
            self._gordon_client = GordonClient(
                base_url=config.gordon.base_url,
                client_id=config.gordon.client_id,
                client_secret=config.gordon.client_secret.get_secret_value(),
                http=self.runtime.http,
                token_cache=self.services.token_cache,
                rate_limiter=self.services.rate_limiter,
                timeout=self.runtime.settings.gordon_timeout_seconds,
            )
        return self._gordon_client

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
            return Pushed(copy, _accepted(ref, tracking_id, push))
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
            english = f"Withdrawn from Gordon: {withdraw.reason}."
            code = f"job.withdrawn.{withdraw.order_status.lower()}"
            return Withdrawn(ref, Message.of(code, english, ref=ref), withdraw.settles_as)
        if isinstance(outcome, Rejected) and not outcome.is_auth_failure:
            english = (
                f"Cancel order {ref} in the Gordon platform by hand: Gordon refused to withdraw "
                f"it ({outcome.message})."
            )
            words = _gordon_words(outcome)
            refused = (
                Message.of("job.withdraw_refused", english, ref=ref, gordon_message=words)
                if words is not None
                else Message.of(
                    "job.withdraw_refused_explained", english, ref=ref, reason=outcome.message
                )
            )
            return NeedsPerson(Step("withdraw", "rejected"), refused)
        return self._failed_call("withdraw", outcome, ref)

    def _failed_call(
        self, action: str, outcome: Rejected | Retryable, sent_ref: str | None
    ) -> AttemptOutcome:
        if isinstance(outcome, Retryable):
            english = f"Gordon is unavailable ({outcome.reason})."
            message = Message.of("job.gordon_unavailable", english, detail=outcome.reason)
            return Unavailable(
                Step(action, "retryable"),
                message,
                outcome.retry_after,
                sent_ref=sent_ref,
                unanswered=not outcome.answered,
            )
        logger.info("gordon.rejected job_id=%s action=%s", self.job.id, action)
        english = f"Gordon refused: {outcome.message}"
        words = _gordon_words(outcome)
        if words is not None:
            message = Message.of("job.gordon_refused", english, gordon_message=words)
        else:
            message = Message.of("job.gordon_refused_explained", english, reason=outcome.message)
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
        plan = self._metadata_plan(transition, self._decided.config)
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
            await saleor.write_metadata(
                self.job.order_id,
                public=changes.public,
                private=changes.private,
                delete_private=changes.delete_private,
            )
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
        except SaleorNotFound as exc:  # deleted since it was read: the next attempt finds it gone
            logger.info(
                "saleor.order_deleted job_id=%s order_number=%s", self.job.id, self.job.order_number
            )
            metrics.WRITE_BACKS.labels("failed").inc()
            return WriteBackFailed(done, exc.message, order_gone=True)
        except SaleorError as exc:
            metrics.WRITE_BACKS.labels("failed").inc()
            retry_after = exc.retry_after if isinstance(exc, SaleorUnavailable) else None
            return WriteBackFailed(done, exc.message, retry_after=retry_after)
        metrics.WRITE_BACKS.labels("written").inc()
        return WrittenBack(done, _keys(changes))

    def _metadata_plan(self, transition: Transition, config: ShopConfig) -> MetadataPlan | None:
        record = transition.gordon
        external_ref = self.job.external_ref if record is None else record.external_ref
        if transition.status in _WITHDRAWN_STATUSES and external_ref is None:
            return None  # never reached Gordon: nothing to tell on the order
        tracking_id = self.job.tracking_id
        if isinstance(record, PushRecorded):
            tracking_id = record.copy.tracking_id
        synced_at = self.job.pushed_at
        if isinstance(record, PushRecorded | WithdrawalRecorded):
            synced_at = record.at
        error = transition.message if transition.status in _ERROR_STATUSES else None
        link = None
        if tracking_id and transition.status not in _WITHDRAWN_STATUSES:
            link = tracking_link(tracking_id, config.tracking_url)
        return desired_metadata(
            status=transition.status,
            tracking_id=tracking_id,
            tracking_url=link,
            external_ref=external_ref,
            synced_at=synced_at,
            error=error,
        )


class _OrderDeleted(Exception):
    """Saleor no longer has the order the fulfillment step works on (it was deleted)."""


def _saleor_refused(exc: SaleorGraphQLError) -> Message:
    """Why Saleor did not let the app read the order: Saleor's own words, its HTTP status, or
    neither (an answer the app could not use)."""
    english = f"Saleor refused to read the order: {exc.message}"
    if exc.saleor_message:
        return Message.of("job.saleor_refused", english, detail=exc.saleor_message)
    if exc.status is not None:
        return Message.of("job.saleor_refused_status", english, status=exc.status)
    return Message.of("job.saleor_answer_unusable", english)


def _gordon_words(refusal: Rejected) -> str | None:
    """Gordon's own words when the refusal is just them (``gordon.refused``), else None: the
    refusal is the app's explanation of Gordon's answer, a message of its own."""
    if refusal.message.code != "gordon.refused":
        return None
    words = refusal.message.params["gordon_message"]
    return words if isinstance(words, str) else None


def _accepted(ref: str, tracking_id: str | None, push: Push) -> Message:
    """What the job says of an order Gordon accepted (with the warnings it was sent with)."""
    if tracking_id is None:
        english = f"Gordon accepted order {ref} (no tracking ID yet)."
        pushed = Message.of("job.pushed_without_tracking", english, ref=ref)
    else:
        english = f"Gordon accepted order {ref} (tracking ID {tracking_id})."
        pushed = Message.of("job.pushed", english, ref=ref, tracking_id=tracking_id)
    if not push.warnings:
        return pushed
    english = f"{pushed} Warnings: " + " ".join(warning.message for warning in push.warnings)
    advice = [warning.advice for warning in push.warnings]
    return Message.of("job.pushed_with_warnings", english, pushed=pushed, warnings=advice)


_FULFILLMENT_ROUNDS = 4
"""Decide-and-act rounds of one fulfillment step: read again after a push, fulfil, set tracking
numbers, and once more after somebody changed the order meanwhile; then the next attempt."""


def _fulfilled(number: str, *, waiting: bool) -> Message:
    """The history's entry for a fulfillment the app created with Gordon's tracking number."""
    if waiting:
        english = (
            f"Fulfilled the order in Saleor with tracking number {number} "
            "(waiting for approval in Saleor)."
        )
        return Message.of("job.fulfilled_waiting_approval", english, tracking_number=number)
    english = f"Fulfilled the order in Saleor with tracking number {number}."
    return Message.of("job.fulfilled_in_saleor", english, tracking_number=number)


def _record(plan: FulfillmentPlan) -> FulfillmentRecord:
    """Where the fulfillment stands, as stored beside the job."""
    return FulfillmentRecord(plan.state.value, plan.message)


def _saleor_failed(exc: SaleorError) -> Message:
    """Why the fulfillment step stopped: Saleor's answer (what the app did before it is in the
    history: the outcome's ``acted``)."""
    english = f"Fulfilling in Saleor failed: {exc.message}"
    return Message.of("fulfillment_reason.saleor_failed", english, detail=exc.message)


_WITHDRAWN_STATUSES = frozenset({JobStatus.CANCELLED, JobStatus.EXPIRED})
"""Statuses of an order out of Gordon for good: no tracking link, nothing to tell an order that
never reached it."""
_ERROR_STATUSES = frozenset({JobStatus.NEEDS_ATTENTION, JobStatus.FAILED, JobStatus.RETRYING})


def _keys(plan: MetadataPlan) -> str:
    keys = [*plan.public, *plan.private, *(f"-{key}" for key in plan.delete_private)]
    return "metadata " + ", ".join(keys)
