"""``jobs.lifecycle``: every job status against every attempt outcome, each with its exact result.

The policy retries after 10 s, jittered (``RANDOM`` 0.25 is not the middle: a jitter left out
shows), and gives up after an hour. A *fresh* job is on its first attempt, pending for ten minutes;
a *spent* one on its seventh, pending for two hours: its next retry would fall past the hour.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.messages import Message
from saleor_gordon.core.retry import RetryPolicy
from saleor_gordon.jobs.lifecycle import (
    SETTLED_STATUSES,
    AttemptOutcome,
    Crashed,
    Due,
    Episode,
    Fulfilled,
    FulfillmentFailed,
    FulfillmentRecord,
    FulfillmentRefused,
    GordonCopy,
    HistoryEntry,
    JobState,
    LastRecorded,
    NeedsPerson,
    NothingToDo,
    Outcome,
    Pushed,
    PushRecorded,
    RefRecorded,
    Said,
    Step,
    TokenRevoked,
    Transition,
    Unavailable,
    WithdrawalRecorded,
    Withdrawn,
    WriteBackFailed,
    WrittenBack,
    on_new_event,
    on_retry_requested,
    transition,
    unnoticed,
    with_newer_work,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(first_delay=10.0, max_delay=600.0, max_age=timedelta(hours=1), jitter=0.5)
RANDOM = 0.25
RETRY_AT = NOW + timedelta(seconds=8.75)  # 10 s x (1 - 0.5/2 + 0.5 x 0.25)
FRESH = (1, NOW - timedelta(minutes=10))
SPENT = (7, NOW - timedelta(hours=2))
GAVE_UP = "Retries stopped: gave up after 7 attempts over 1 hour."

COPY = GordonCopy(
    external_ref="45",
    content_hash="hash-45",
    delivery_date=date(2026, 12, 3),
    time_window="17:00 - 21:00",
    tracking_id="0Zj7YGCUr",
)
PUSHED_TEXT = "Gordon accepted order 45 (tracking ID 0Zj7YGCUr)."
WITHDRAWN_TEXT = "Withdrawn from Gordon: the order is canceled in Saleor."
UNCHANGED_TEXT = "Gordon already has this content."
NOT_FOR_GORDON_TEXT = "Not for Gordon: no delivery-group rule matches"
UNSENT_TEXT = "The order was cancelled before it reached Gordon."
WITHDRAWN_EXPIRED_TEXT = "Withdrawn from Gordon: the order is expired in Saleor."
EXPIRED_UNSENT_TEXT = "The order expired before it reached Gordon."
REFUSED_TEXT = "Gordon refused: Unable to find deliverygroup"
AUTH_TEXT = "Gordon refused: the credentials were not accepted"
GORDON_DOWN_TEXT = "Gordon is unavailable (Gordon answered HTTP 503)."
SALEOR_DOWN_TEXT = "Saleor is unavailable (HTTP 503)."
CRASH_TEXT = "Unexpected error (RuntimeError); the job will be retried."
TIMED_OUT_TEXT = "Gordon is unavailable (Gordon did not answer within 3 s)."
NO_ANSWER_TEXT = (
    "Gordon did not answer: it may have done what was asked, so the next attempt asks again."
)
REVOKED_TEXT = "Saleor no longer accepts the app token."
WRITE_FAILED = " Writing the status to the order failed (Saleor is down)."
NOT_FOUND_TEXT = "Saleor refused updatePrivateMetadata: NOT_FOUND id: Couldn't resolve to a node"
DELETED_TEXT = (
    "The order was deleted in Saleor while the app worked on it. The app checks again at its next "
    "attempt and withdraws it from Gordon if Gordon has it."
)

PUSHED = Pushed(COPY, PUSHED_TEXT)
UNCHANGED_OUTCOME = NothingToDo(JobStatus.SYNCED, Step("check", "settled"), UNCHANGED_TEXT)
LINK = "https://track.example.com/0Zj7YGCUr"
FULFILLED_TEXT = Message.of(
    "job.fulfilled_in_saleor",
    f"Fulfilled the order in Saleor with tracking number {LINK}.",
    tracking_number=LINK,
)
ON_FULFILLMENT = FulfillmentRecord(
    "done",
    Message.of(
        "fulfillment_reason.done", "Gordon's tracking number is on the order's fulfillment."
    ),
)
AWAITING = FulfillmentRecord(
    "awaiting_fulfillment",
    Message.of(
        "fulfillment_reason.awaiting_fulfillment",
        "Gordon's tracking number is added to the order's fulfillment once it is fulfilled in "
        "Saleor.",
    ),
)
NO_STOCK = FulfillmentRecord(
    "blocked",
    Message.of(
        "fulfillment_reason.not_enough_stock_in",
        "Saleor has not enough stock of Juice in Main warehouse to fulfil the order.",
        lines=["Juice"],
        warehouses=["Main warehouse"],
    ),
)
SALEOR_FULFIL_DOWN = FulfillmentRecord(
    "to_do",
    Message.of(
        "fulfillment_reason.saleor_failed",
        "Fulfilling in Saleor failed: Saleor is down.",
        detail="Saleor is down.",
    ),
)
FULFIL_REFUSED = FulfillmentRecord(
    "blocked",
    Message.of(
        "fulfillment_reason.saleor_refused",
        "Saleor refused to fulfil the order (GRAPHQL_ERROR: bad input).",
        detail="GRAPHQL_ERROR: bad input",
    ),
)
REFUSED = NeedsPerson(Step("push", "rejected"), REFUSED_TEXT)
GORDON_DOWN = Unavailable(Step("push", "retryable"), GORDON_DOWN_TEXT, sent_ref="45")

OUTCOMES: dict[str, tuple[tuple[int, datetime], Outcome]] = {
    "pushed": (FRESH, PUSHED),
    "withdrawn": (FRESH, Withdrawn("45", WITHDRAWN_TEXT, JobStatus.CANCELLED)),
    "unchanged": (FRESH, NothingToDo(JobStatus.SYNCED, Step("check", "settled"), UNCHANGED_TEXT)),
    "not_for_gordon": (
        FRESH,
        NothingToDo(JobStatus.SKIPPED, Step("check", "settled"), NOT_FOR_GORDON_TEXT),
    ),
    "cancelled_unsent": (
        FRESH,
        NothingToDo(JobStatus.CANCELLED, Step("check", "settled"), UNSENT_TEXT),
    ),
    "withdrawn_expired": (FRESH, Withdrawn("45", WITHDRAWN_EXPIRED_TEXT, JobStatus.EXPIRED)),
    "expired_unsent": (
        FRESH,
        NothingToDo(JobStatus.EXPIRED, Step("check", "settled"), EXPIRED_UNSENT_TEXT),
    ),
    "refused": (FRESH, REFUSED),
    "refused_after_sending": (
        FRESH,
        NeedsPerson(Step("withdraw", "rejected"), AUTH_TEXT, sent_ref="45"),
    ),
    "unavailable": (
        FRESH,
        Unavailable(Step("push", "retryable"), GORDON_DOWN_TEXT, sent_ref="45"),
    ),
    "unavailable_retry_after": (
        FRESH,
        Unavailable(Step("saleor", "unavailable"), SALEOR_DOWN_TEXT, retry_after=120.0),
    ),
    "unavailable_spent": (
        SPENT,
        Unavailable(Step("push", "retryable"), GORDON_DOWN_TEXT, sent_ref="45"),
    ),
    "unanswered": (
        FRESH,
        Unavailable(Step("push", "retryable"), TIMED_OUT_TEXT, sent_ref="45", unanswered=True),
    ),
    "unanswered_spent": (
        SPENT,
        Unavailable(Step("withdraw", "retryable"), TIMED_OUT_TEXT, sent_ref="45", unanswered=True),
    ),
    "crashed": (FRESH, Crashed("RuntimeError")),
    "crashed_spent": (SPENT, Crashed("RuntimeError")),
    "token_revoked": (FRESH, TokenRevoked(REVOKED_TEXT)),
    "written_back": (FRESH, WrittenBack(PUSHED, "metadata gordon.status")),
    "written_back_retrying": (FRESH, WrittenBack(GORDON_DOWN, "metadata gordon.status")),
    "write_back_failed": (FRESH, WriteBackFailed(PUSHED, "Saleor is down")),
    "write_back_failed_retry_after": (
        FRESH,
        WriteBackFailed(REFUSED, "Saleor is down", retry_after=300.0),
    ),
    "write_back_failed_spent": (SPENT, WriteBackFailed(PUSHED, "Saleor is down")),
    "write_back_failed_past_the_deadline": (
        FRESH,
        WriteBackFailed(GORDON_DOWN, "Saleor is down", retry_after=3600.0),
    ),
    "write_back_failed_revoked": (
        FRESH,
        WriteBackFailed(PUSHED, "Saleor is down", token_revoked=True),
    ),
    "fulfilled": (FRESH, Fulfilled(PUSHED, ON_FULFILLMENT, (FULFILLED_TEXT,))),
    "fulfillment_unchanged": (FRESH, Fulfilled(UNCHANGED_OUTCOME, AWAITING)),
    "fulfillment_failed": (FRESH, FulfillmentFailed(PUSHED, NO_STOCK)),
    "fulfillment_failed_retry_after": (
        FRESH,
        FulfillmentFailed(UNCHANGED_OUTCOME, SALEOR_FULFIL_DOWN, retry_after=120.0),
    ),
    "fulfillment_failed_spent": (SPENT, FulfillmentFailed(UNCHANGED_OUTCOME, NO_STOCK)),
    "fulfillment_failed_revoked": (
        FRESH,
        FulfillmentFailed(PUSHED, SALEOR_FULFIL_DOWN, token_revoked=True),
    ),
    "fulfillment_refused": (FRESH, FulfillmentRefused(PUSHED, FULFIL_REFUSED)),
    # the order was deleted in Saleor before its status was written (even past the budget: no
    # retry of the write; after the backoff's delay the next attempt finds it gone, withdraws it)
    "write_back_order_gone": (SPENT, WriteBackFailed(PUSHED, NOT_FOUND_TEXT, order_gone=True)),
    "write_back_order_gone_refused": (
        FRESH,
        WriteBackFailed(REFUSED, NOT_FOUND_TEXT, order_gone=True),
    ),
    "write_back_order_gone_withdrawn": (
        FRESH,
        WriteBackFailed(
            Withdrawn("45", WITHDRAWN_TEXT, JobStatus.CANCELLED), NOT_FOUND_TEXT, order_gone=True
        ),
    ),
    "write_back_order_gone_expired": (
        FRESH,
        WriteBackFailed(
            Withdrawn("45", WITHDRAWN_EXPIRED_TEXT, JobStatus.EXPIRED),
            NOT_FOUND_TEXT,
            order_gone=True,
        ),
    ),
}


def _entry(action: str, outcome: str, message: str | None = None) -> HistoryEntry:
    return HistoryEntry(action, outcome, message)


SYNCED = Transition(
    status=JobStatus.SYNCED,
    next_attempt_at=None,
    episode=Episode.ENDS,
    action="push",
    outcome="accepted",
    message=PUSHED_TEXT,
    history=(_entry("push", "accepted", PUSHED_TEXT),),
    gordon=PushRecorded(COPY, NOW),
)
WITHDRAWN = Transition(
    status=JobStatus.CANCELLED,
    next_attempt_at=None,
    episode=Episode.ENDS,
    action="withdraw",
    outcome="accepted",
    message=WITHDRAWN_TEXT,
    history=(_entry("withdraw", "accepted", WITHDRAWN_TEXT),),
    gordon=WithdrawalRecorded("45", NOW),
)
UNCHANGED = Transition(
    status=JobStatus.SYNCED,
    next_attempt_at=None,
    episode=Episode.ENDS,
    action="check",
    outcome="settled",
    message=UNCHANGED_TEXT,
    history=(_entry("check", "settled", UNCHANGED_TEXT),),
)
NOT_FOR_GORDON = Transition(
    status=JobStatus.SKIPPED,
    next_attempt_at=None,
    episode=Episode.ENDS,
    action="check",
    outcome="settled",
    message=NOT_FOR_GORDON_TEXT,
    history=(_entry("check", "settled", NOT_FOR_GORDON_TEXT),),
)
CANCELLED_UNSENT = Transition(
    status=JobStatus.CANCELLED,
    next_attempt_at=None,
    episode=Episode.ENDS,
    action="check",
    outcome="settled",
    message=UNSENT_TEXT,
    history=(_entry("check", "settled", UNSENT_TEXT),),
)
WITHDRAWN_EXPIRED = Transition(
    status=JobStatus.EXPIRED,
    next_attempt_at=None,
    episode=Episode.ENDS,
    action="withdraw",
    outcome="accepted",
    message=WITHDRAWN_EXPIRED_TEXT,
    history=(_entry("withdraw", "accepted", WITHDRAWN_EXPIRED_TEXT),),
    gordon=WithdrawalRecorded("45", NOW),
)
EXPIRED_UNSENT = Transition(
    status=JobStatus.EXPIRED,
    next_attempt_at=None,
    episode=Episode.ENDS,
    action="check",
    outcome="settled",
    message=EXPIRED_UNSENT_TEXT,
    history=(_entry("check", "settled", EXPIRED_UNSENT_TEXT),),
)
NEEDS_ATTENTION = Transition(
    status=JobStatus.NEEDS_ATTENTION,
    next_attempt_at=None,
    episode=Episode.ENDS,
    action="push",
    outcome="rejected",
    message=REFUSED_TEXT,
    history=(_entry("push", "rejected", REFUSED_TEXT),),
)
NEEDS_ATTENTION_WITH_REF = Transition(
    status=JobStatus.NEEDS_ATTENTION,
    next_attempt_at=None,
    episode=Episode.ENDS,
    action="withdraw",
    outcome="rejected",
    message=AUTH_TEXT,
    history=(_entry("withdraw", "rejected", AUTH_TEXT),),
    gordon=RefRecorded("45"),
)
RETRYING = Transition(
    status=JobStatus.RETRYING,
    next_attempt_at=RETRY_AT,
    episode=Episode.GOES_ON,
    action="push",
    outcome="retryable",
    message=GORDON_DOWN_TEXT,
    history=(_entry("push", "retryable", GORDON_DOWN_TEXT),),
    gordon=RefRecorded("45"),
)
RETRYING_AFTER_ITS_WISH = Transition(
    status=JobStatus.RETRYING,
    next_attempt_at=NOW + timedelta(seconds=120),
    episode=Episode.GOES_ON,
    action="saleor",
    outcome="unavailable",
    message=SALEOR_DOWN_TEXT,
    history=(_entry("saleor", "unavailable", SALEOR_DOWN_TEXT),),
)
GAVE_UP_ON_GORDON = Transition(
    status=JobStatus.FAILED,
    next_attempt_at=None,
    episode=Episode.ENDS,
    action="push",
    outcome="gave_up",
    message=f"{GORDON_DOWN_TEXT} {GAVE_UP}",
    history=(_entry("push", "gave_up", f"{GORDON_DOWN_TEXT} {GAVE_UP}"),),
    gordon=RefRecorded("45"),
)
RETRYING_WITHOUT_AN_ANSWER = Transition(
    status=JobStatus.RETRYING,
    next_attempt_at=RETRY_AT,
    episode=Episode.GOES_ON,
    action="push",
    outcome="retryable",
    message=TIMED_OUT_TEXT,
    history=(
        _entry("push", "no_answer", NO_ANSWER_TEXT),
        _entry("push", "retryable", TIMED_OUT_TEXT),
    ),
    gordon=RefRecorded("45"),
)
GAVE_UP_WITHOUT_AN_ANSWER = Transition(
    status=JobStatus.FAILED,
    next_attempt_at=None,
    episode=Episode.ENDS,
    action="withdraw",
    outcome="gave_up",
    message=f"{TIMED_OUT_TEXT} {GAVE_UP}",
    history=(
        _entry("withdraw", "no_answer", NO_ANSWER_TEXT),
        _entry("withdraw", "gave_up", f"{TIMED_OUT_TEXT} {GAVE_UP}"),
    ),
    gordon=RefRecorded("45"),
)
CRASHED = Transition(
    status=JobStatus.RETRYING,
    next_attempt_at=RETRY_AT,
    episode=Episode.GOES_ON,
    action="run",
    outcome="crashed",
    message=CRASH_TEXT,
    history=(_entry("run", "crashed", CRASH_TEXT),),
)
CRASHED_FOR_GOOD = Transition(
    status=JobStatus.FAILED,
    next_attempt_at=None,
    episode=Episode.ENDS,
    action="run",
    outcome="crashed",
    message=f"{CRASH_TEXT} {GAVE_UP}",
    history=(_entry("run", "crashed", f"{CRASH_TEXT} {GAVE_UP}"),),
)


def revoked(status: JobStatus) -> Transition:
    """The token was refused: the job keeps its status and stays due."""
    return Transition(
        status=status,
        next_attempt_at=NOW,
        episode=Episode.GOES_ON,
        action="saleor",
        outcome="token_revoked",
        message=REVOKED_TEXT,
        history=(_entry("saleor", "token_revoked", REVOKED_TEXT),),
    )


WRITTEN_BACK = Transition(
    status=JobStatus.SYNCED,
    next_attempt_at=None,
    episode=Episode.ENDS,
    action="push",
    outcome="accepted",
    message=PUSHED_TEXT,
    history=(
        _entry("push", "accepted", PUSHED_TEXT),
        _entry("write_back", "written", "metadata gordon.status"),
    ),
    gordon=PushRecorded(COPY, NOW),
)
WRITTEN_BACK_RETRYING = Transition(
    status=JobStatus.RETRYING,
    next_attempt_at=RETRY_AT,
    episode=Episode.GOES_ON,
    action="push",
    outcome="retryable",
    message=GORDON_DOWN_TEXT,
    history=(
        _entry("push", "retryable", GORDON_DOWN_TEXT),
        _entry("write_back", "written", "metadata gordon.status"),
    ),
    gordon=RefRecorded("45"),
)
WRITE_BACK_RETRYING = Transition(
    status=JobStatus.RETRYING,
    next_attempt_at=RETRY_AT,
    episode=Episode.GOES_ON,
    action="push",
    outcome="accepted",
    message=PUSHED_TEXT + WRITE_FAILED,
    history=(
        _entry("push", "accepted", PUSHED_TEXT),
        _entry("write_back", "failed", "Saleor is down"),
    ),
    gordon=PushRecorded(COPY, NOW),
)
WRITE_BACK_RETRYING_AFTER_ITS_WISH = Transition(
    status=JobStatus.RETRYING,
    next_attempt_at=NOW + timedelta(seconds=300),
    episode=Episode.GOES_ON,
    action="push",
    outcome="rejected",
    message=REFUSED_TEXT + WRITE_FAILED,
    history=(
        _entry("push", "rejected", REFUSED_TEXT),
        _entry("write_back", "failed", "Saleor is down"),
    ),
)
WRITE_BACK_GAVE_UP = Transition(
    status=JobStatus.FAILED,
    next_attempt_at=None,
    episode=Episode.ENDS,
    action="push",
    outcome="accepted",
    message=f"{PUSHED_TEXT}{WRITE_FAILED} {GAVE_UP}",
    history=(
        _entry("push", "accepted", PUSHED_TEXT),
        _entry("write_back", "failed", "Saleor is down"),
    ),
    gordon=PushRecorded(COPY, NOW),
)
WRITE_BACK_PAST_THE_DEADLINE = Transition(
    status=JobStatus.FAILED,
    next_attempt_at=None,
    episode=Episode.ENDS,
    action="push",
    outcome="retryable",
    message=(
        f"{GORDON_DOWN_TEXT}{WRITE_FAILED} Retries stopped: gave up after 1 attempt over 1 hour."
    ),
    history=(
        _entry("push", "retryable", GORDON_DOWN_TEXT),
        _entry("write_back", "failed", "Saleor is down"),
    ),
    gordon=RefRecorded("45"),
)
WRITE_BACK_WAITS_FOR_REINSTALL = Transition(
    status=JobStatus.RETRYING,
    next_attempt_at=NOW,
    episode=Episode.GOES_ON,
    action="push",
    outcome="accepted",
    message=PUSHED_TEXT + WRITE_FAILED,
    history=(
        _entry("push", "accepted", PUSHED_TEXT),
        _entry("write_back", "failed", "Saleor is down"),
    ),
    gordon=PushRecorded(COPY, NOW),
)
WRITE_BACK_FINDS_IT_DELETED = Transition(
    status=JobStatus.RETRYING,
    next_attempt_at=NOW + timedelta(seconds=525),  # 7th attempt: 600 s capped, x 0.875 (jitter)
    episode=Episode.GOES_ON,
    action="push",
    outcome="accepted",
    message=DELETED_TEXT,
    history=(
        _entry("push", "accepted", PUSHED_TEXT),
        _entry("write_back", "order_gone", DELETED_TEXT),
    ),
    gordon=PushRecorded(COPY, NOW),
)
WRITE_BACK_FINDS_IT_DELETED_AFTER_A_REFUSAL = Transition(
    status=JobStatus.RETRYING,
    next_attempt_at=NOW + timedelta(seconds=8.75),  # 1st attempt: 10 s x 0.875 (jitter)
    episode=Episode.GOES_ON,
    action="push",
    outcome="rejected",
    message=DELETED_TEXT,
    history=(
        _entry("push", "rejected", REFUSED_TEXT),
        _entry("write_back", "order_gone", DELETED_TEXT),
    ),
)
WITHDRAWN_AND_DELETED = Transition(
    status=JobStatus.CANCELLED,
    next_attempt_at=None,
    episode=Episode.ENDS,
    action="withdraw",
    outcome="accepted",
    message=WITHDRAWN_TEXT,
    history=(
        _entry("withdraw", "accepted", WITHDRAWN_TEXT),
        _entry("write_back", "order_gone", DELETED_TEXT),
    ),
    gordon=WithdrawalRecorded("45", NOW),
)
EXPIRED_AND_DELETED = Transition(
    status=JobStatus.EXPIRED,
    next_attempt_at=None,
    episode=Episode.ENDS,
    action="withdraw",
    outcome="accepted",
    message=WITHDRAWN_EXPIRED_TEXT,
    history=(
        _entry("withdraw", "accepted", WITHDRAWN_EXPIRED_TEXT),
        _entry("write_back", "order_gone", DELETED_TEXT),
    ),
    gordon=WithdrawalRecorded("45", NOW),
)

FULFILLED = Transition(
    status=JobStatus.SYNCED,
    next_attempt_at=None,
    episode=Episode.ENDS,
    action="push",
    outcome="accepted",
    message=PUSHED_TEXT,
    history=(_entry("push", "accepted", PUSHED_TEXT), _entry("fulfill", "done", FULFILLED_TEXT)),
    gordon=PushRecorded(COPY, NOW),
    fulfillment=ON_FULFILLMENT,
)
FULFILLMENT_UNCHANGED = Transition(
    status=JobStatus.SYNCED,
    next_attempt_at=None,
    episode=Episode.ENDS,
    action="check",
    outcome="settled",
    message=UNCHANGED_TEXT,
    history=(_entry("check", "settled", UNCHANGED_TEXT),),
    fulfillment=AWAITING,
)
FULFILLMENT_RETRYING = Transition(
    status=JobStatus.RETRYING,
    next_attempt_at=RETRY_AT,
    episode=Episode.GOES_ON,
    action="fulfill",
    outcome="failed",
    message=f"{PUSHED_TEXT} {NO_STOCK.message}",
    history=(
        _entry("push", "accepted", PUSHED_TEXT),
        _entry("fulfill", "failed", NO_STOCK.message),
    ),
    gordon=PushRecorded(COPY, NOW),
    fulfillment=NO_STOCK,
)
FULFILLMENT_RETRYING_AFTER_ITS_WISH = Transition(
    status=JobStatus.RETRYING,
    next_attempt_at=NOW + timedelta(seconds=120),
    episode=Episode.GOES_ON,
    action="fulfill",
    outcome="failed",
    message=f"{UNCHANGED_TEXT} {SALEOR_FULFIL_DOWN.message}",
    history=(
        _entry("check", "settled", UNCHANGED_TEXT),
        _entry("fulfill", "failed", SALEOR_FULFIL_DOWN.message),
    ),
    fulfillment=SALEOR_FULFIL_DOWN,
)
FULFILLMENT_GAVE_UP = Transition(
    status=JobStatus.FAILED,
    next_attempt_at=None,
    episode=Episode.ENDS,
    action="fulfill",
    outcome="gave_up",
    message=f"{UNCHANGED_TEXT} {NO_STOCK.message} {GAVE_UP}",
    history=(
        _entry("check", "settled", UNCHANGED_TEXT),
        _entry("fulfill", "failed", NO_STOCK.message),
    ),
    fulfillment=NO_STOCK,
)
FULFILLMENT_WAITS_FOR_REINSTALL = Transition(
    status=JobStatus.RETRYING,
    next_attempt_at=NOW,
    episode=Episode.GOES_ON,
    action="fulfill",
    outcome="failed",
    message=f"{PUSHED_TEXT} {SALEOR_FULFIL_DOWN.message}",
    history=(
        _entry("push", "accepted", PUSHED_TEXT),
        _entry("fulfill", "failed", SALEOR_FULFIL_DOWN.message),
    ),
    gordon=PushRecorded(COPY, NOW),
    fulfillment=SALEOR_FULFIL_DOWN,
)
FULFILLMENT_REFUSED = Transition(
    status=JobStatus.NEEDS_ATTENTION,
    next_attempt_at=None,
    episode=Episode.ENDS,
    action="fulfill",
    outcome="refused",
    message=f"{PUSHED_TEXT} {FULFIL_REFUSED.message}",
    history=(
        _entry("push", "accepted", PUSHED_TEXT),
        _entry("fulfill", "refused", FULFIL_REFUSED.message),
    ),
    gordon=PushRecorded(COPY, NOW),
    fulfillment=FULFIL_REFUSED,
)

P, R, S, N, F, C, E, K = (
    JobStatus.PENDING,
    JobStatus.RETRYING,
    JobStatus.SYNCED,
    JobStatus.NEEDS_ATTENTION,
    JobStatus.FAILED,
    JobStatus.CANCELLED,
    JobStatus.EXPIRED,
    JobStatus.SKIPPED,
)

EVERY_STATUS = (P, R, S, N, F, C, E, K)


def _from_every_status(case: str, expected: Transition) -> list[tuple[JobStatus, str, Transition]]:
    """``case`` leads to ``expected`` whatever the job's status before."""
    return [(status, case, expected) for status in EVERY_STATUS]


TABLE: list[tuple[JobStatus, str, Transition]] = [
    (P, "pushed", SYNCED),
    (R, "pushed", SYNCED),
    (S, "pushed", SYNCED),
    (N, "pushed", SYNCED),
    (F, "pushed", SYNCED),
    (C, "pushed", SYNCED),
    (K, "pushed", SYNCED),
    (E, "pushed", SYNCED),
    (P, "withdrawn", WITHDRAWN),
    (R, "withdrawn", WITHDRAWN),
    (S, "withdrawn", WITHDRAWN),
    (N, "withdrawn", WITHDRAWN),
    (F, "withdrawn", WITHDRAWN),
    (C, "withdrawn", WITHDRAWN),
    (K, "withdrawn", WITHDRAWN),
    (E, "withdrawn", WITHDRAWN),
    (P, "unchanged", UNCHANGED),
    (R, "unchanged", UNCHANGED),
    (S, "unchanged", UNCHANGED),
    (N, "unchanged", UNCHANGED),
    (F, "unchanged", UNCHANGED),
    (C, "unchanged", UNCHANGED),
    (K, "unchanged", UNCHANGED),
    (E, "unchanged", UNCHANGED),
    (P, "not_for_gordon", NOT_FOR_GORDON),
    (R, "not_for_gordon", NOT_FOR_GORDON),
    (S, "not_for_gordon", NOT_FOR_GORDON),
    (N, "not_for_gordon", NOT_FOR_GORDON),
    (F, "not_for_gordon", NOT_FOR_GORDON),
    (C, "not_for_gordon", NOT_FOR_GORDON),
    (K, "not_for_gordon", NOT_FOR_GORDON),
    (E, "not_for_gordon", NOT_FOR_GORDON),
    (P, "cancelled_unsent", CANCELLED_UNSENT),
    (R, "cancelled_unsent", CANCELLED_UNSENT),
    (S, "cancelled_unsent", CANCELLED_UNSENT),
    (N, "cancelled_unsent", CANCELLED_UNSENT),
    (F, "cancelled_unsent", CANCELLED_UNSENT),
    (C, "cancelled_unsent", CANCELLED_UNSENT),
    (K, "cancelled_unsent", CANCELLED_UNSENT),
    (E, "cancelled_unsent", CANCELLED_UNSENT),
    (P, "refused", NEEDS_ATTENTION),
    (R, "refused", NEEDS_ATTENTION),
    (S, "refused", NEEDS_ATTENTION),
    (N, "refused", NEEDS_ATTENTION),
    (F, "refused", NEEDS_ATTENTION),
    (C, "refused", NEEDS_ATTENTION),
    (K, "refused", NEEDS_ATTENTION),
    (E, "refused", NEEDS_ATTENTION),
    (P, "refused_after_sending", NEEDS_ATTENTION_WITH_REF),
    (R, "refused_after_sending", NEEDS_ATTENTION_WITH_REF),
    (S, "refused_after_sending", NEEDS_ATTENTION_WITH_REF),
    (N, "refused_after_sending", NEEDS_ATTENTION_WITH_REF),
    (F, "refused_after_sending", NEEDS_ATTENTION_WITH_REF),
    (C, "refused_after_sending", NEEDS_ATTENTION_WITH_REF),
    (K, "refused_after_sending", NEEDS_ATTENTION_WITH_REF),
    (E, "refused_after_sending", NEEDS_ATTENTION_WITH_REF),
    (P, "unavailable", RETRYING),
    (R, "unavailable", RETRYING),
    (S, "unavailable", RETRYING),
    (N, "unavailable", RETRYING),
    (F, "unavailable", RETRYING),
    (C, "unavailable", RETRYING),
    (K, "unavailable", RETRYING),
    (E, "unavailable", RETRYING),
    (P, "unavailable_retry_after", RETRYING_AFTER_ITS_WISH),
    (R, "unavailable_retry_after", RETRYING_AFTER_ITS_WISH),
    (S, "unavailable_retry_after", RETRYING_AFTER_ITS_WISH),
    (N, "unavailable_retry_after", RETRYING_AFTER_ITS_WISH),
    (F, "unavailable_retry_after", RETRYING_AFTER_ITS_WISH),
    (C, "unavailable_retry_after", RETRYING_AFTER_ITS_WISH),
    (K, "unavailable_retry_after", RETRYING_AFTER_ITS_WISH),
    (E, "unavailable_retry_after", RETRYING_AFTER_ITS_WISH),
    (P, "unavailable_spent", GAVE_UP_ON_GORDON),
    (R, "unavailable_spent", GAVE_UP_ON_GORDON),
    (S, "unavailable_spent", GAVE_UP_ON_GORDON),
    (N, "unavailable_spent", GAVE_UP_ON_GORDON),
    (F, "unavailable_spent", GAVE_UP_ON_GORDON),
    (C, "unavailable_spent", GAVE_UP_ON_GORDON),
    (K, "unavailable_spent", GAVE_UP_ON_GORDON),
    (E, "unavailable_spent", GAVE_UP_ON_GORDON),
    (P, "unanswered", RETRYING_WITHOUT_AN_ANSWER),
    (R, "unanswered", RETRYING_WITHOUT_AN_ANSWER),
    (S, "unanswered", RETRYING_WITHOUT_AN_ANSWER),
    (N, "unanswered", RETRYING_WITHOUT_AN_ANSWER),
    (F, "unanswered", RETRYING_WITHOUT_AN_ANSWER),
    (C, "unanswered", RETRYING_WITHOUT_AN_ANSWER),
    (K, "unanswered", RETRYING_WITHOUT_AN_ANSWER),
    (E, "unanswered", RETRYING_WITHOUT_AN_ANSWER),
    (P, "unanswered_spent", GAVE_UP_WITHOUT_AN_ANSWER),
    (R, "unanswered_spent", GAVE_UP_WITHOUT_AN_ANSWER),
    (S, "unanswered_spent", GAVE_UP_WITHOUT_AN_ANSWER),
    (N, "unanswered_spent", GAVE_UP_WITHOUT_AN_ANSWER),
    (F, "unanswered_spent", GAVE_UP_WITHOUT_AN_ANSWER),
    (C, "unanswered_spent", GAVE_UP_WITHOUT_AN_ANSWER),
    (K, "unanswered_spent", GAVE_UP_WITHOUT_AN_ANSWER),
    (E, "unanswered_spent", GAVE_UP_WITHOUT_AN_ANSWER),
    (P, "crashed", CRASHED),
    (R, "crashed", CRASHED),
    (S, "crashed", CRASHED),
    (N, "crashed", CRASHED),
    (F, "crashed", CRASHED),
    (C, "crashed", CRASHED),
    (K, "crashed", CRASHED),
    (E, "crashed", CRASHED),
    (P, "crashed_spent", CRASHED_FOR_GOOD),
    (R, "crashed_spent", CRASHED_FOR_GOOD),
    (S, "crashed_spent", CRASHED_FOR_GOOD),
    (N, "crashed_spent", CRASHED_FOR_GOOD),
    (F, "crashed_spent", CRASHED_FOR_GOOD),
    (C, "crashed_spent", CRASHED_FOR_GOOD),
    (K, "crashed_spent", CRASHED_FOR_GOOD),
    (E, "crashed_spent", CRASHED_FOR_GOOD),
    (P, "token_revoked", revoked(P)),
    (R, "token_revoked", revoked(R)),
    (S, "token_revoked", revoked(S)),
    (N, "token_revoked", revoked(N)),
    (F, "token_revoked", revoked(F)),
    (C, "token_revoked", revoked(C)),
    (K, "token_revoked", revoked(K)),
    (E, "token_revoked", revoked(E)),
    (P, "written_back", WRITTEN_BACK),
    (R, "written_back", WRITTEN_BACK),
    (S, "written_back", WRITTEN_BACK),
    (N, "written_back", WRITTEN_BACK),
    (F, "written_back", WRITTEN_BACK),
    (C, "written_back", WRITTEN_BACK),
    (K, "written_back", WRITTEN_BACK),
    (E, "written_back", WRITTEN_BACK),
    (P, "written_back_retrying", WRITTEN_BACK_RETRYING),
    (R, "written_back_retrying", WRITTEN_BACK_RETRYING),
    (S, "written_back_retrying", WRITTEN_BACK_RETRYING),
    (N, "written_back_retrying", WRITTEN_BACK_RETRYING),
    (F, "written_back_retrying", WRITTEN_BACK_RETRYING),
    (C, "written_back_retrying", WRITTEN_BACK_RETRYING),
    (K, "written_back_retrying", WRITTEN_BACK_RETRYING),
    (E, "written_back_retrying", WRITTEN_BACK_RETRYING),
    (P, "write_back_failed", WRITE_BACK_RETRYING),
    (R, "write_back_failed", WRITE_BACK_RETRYING),
    (S, "write_back_failed", WRITE_BACK_RETRYING),
    (N, "write_back_failed", WRITE_BACK_RETRYING),
    (F, "write_back_failed", WRITE_BACK_RETRYING),
    (C, "write_back_failed", WRITE_BACK_RETRYING),
    (K, "write_back_failed", WRITE_BACK_RETRYING),
    (E, "write_back_failed", WRITE_BACK_RETRYING),
    (P, "write_back_failed_retry_after", WRITE_BACK_RETRYING_AFTER_ITS_WISH),
    (R, "write_back_failed_retry_after", WRITE_BACK_RETRYING_AFTER_ITS_WISH),
    (S, "write_back_failed_retry_after", WRITE_BACK_RETRYING_AFTER_ITS_WISH),
    (N, "write_back_failed_retry_after", WRITE_BACK_RETRYING_AFTER_ITS_WISH),
    (F, "write_back_failed_retry_after", WRITE_BACK_RETRYING_AFTER_ITS_WISH),
    (C, "write_back_failed_retry_after", WRITE_BACK_RETRYING_AFTER_ITS_WISH),
    (K, "write_back_failed_retry_after", WRITE_BACK_RETRYING_AFTER_ITS_WISH),
    (E, "write_back_failed_retry_after", WRITE_BACK_RETRYING_AFTER_ITS_WISH),
    (P, "write_back_failed_spent", WRITE_BACK_GAVE_UP),
    (R, "write_back_failed_spent", WRITE_BACK_GAVE_UP),
    (S, "write_back_failed_spent", WRITE_BACK_GAVE_UP),
    (N, "write_back_failed_spent", WRITE_BACK_GAVE_UP),
    (F, "write_back_failed_spent", WRITE_BACK_GAVE_UP),
    (C, "write_back_failed_spent", WRITE_BACK_GAVE_UP),
    (K, "write_back_failed_spent", WRITE_BACK_GAVE_UP),
    (E, "write_back_failed_spent", WRITE_BACK_GAVE_UP),
    (P, "write_back_failed_past_the_deadline", WRITE_BACK_PAST_THE_DEADLINE),
    (R, "write_back_failed_past_the_deadline", WRITE_BACK_PAST_THE_DEADLINE),
    (S, "write_back_failed_past_the_deadline", WRITE_BACK_PAST_THE_DEADLINE),
    (N, "write_back_failed_past_the_deadline", WRITE_BACK_PAST_THE_DEADLINE),
    (F, "write_back_failed_past_the_deadline", WRITE_BACK_PAST_THE_DEADLINE),
    (C, "write_back_failed_past_the_deadline", WRITE_BACK_PAST_THE_DEADLINE),
    (K, "write_back_failed_past_the_deadline", WRITE_BACK_PAST_THE_DEADLINE),
    (E, "write_back_failed_past_the_deadline", WRITE_BACK_PAST_THE_DEADLINE),
    (P, "write_back_failed_revoked", WRITE_BACK_WAITS_FOR_REINSTALL),
    (R, "write_back_failed_revoked", WRITE_BACK_WAITS_FOR_REINSTALL),
    (S, "write_back_failed_revoked", WRITE_BACK_WAITS_FOR_REINSTALL),
    (N, "write_back_failed_revoked", WRITE_BACK_WAITS_FOR_REINSTALL),
    (F, "write_back_failed_revoked", WRITE_BACK_WAITS_FOR_REINSTALL),
    (C, "write_back_failed_revoked", WRITE_BACK_WAITS_FOR_REINSTALL),
    (K, "write_back_failed_revoked", WRITE_BACK_WAITS_FOR_REINSTALL),
    (E, "write_back_failed_revoked", WRITE_BACK_WAITS_FOR_REINSTALL),
    # The fulfillment step wraps Gordon's outcome; the job's status before plays no part.
    *_from_every_status("fulfilled", FULFILLED),
    *_from_every_status("fulfillment_unchanged", FULFILLMENT_UNCHANGED),
    *_from_every_status("fulfillment_failed", FULFILLMENT_RETRYING),
    *_from_every_status("fulfillment_failed_retry_after", FULFILLMENT_RETRYING_AFTER_ITS_WISH),
    *_from_every_status("fulfillment_failed_spent", FULFILLMENT_GAVE_UP),
    *_from_every_status("fulfillment_failed_revoked", FULFILLMENT_WAITS_FOR_REINSTALL),
    *_from_every_status("fulfillment_refused", FULFILLMENT_REFUSED),
    # The order was deleted before its status was written: due now, unless nothing is in Gordon.
    *_from_every_status("write_back_order_gone", WRITE_BACK_FINDS_IT_DELETED),
    *_from_every_status(
        "write_back_order_gone_refused", WRITE_BACK_FINDS_IT_DELETED_AFTER_A_REFUSAL
    ),
    *_from_every_status("write_back_order_gone_withdrawn", WITHDRAWN_AND_DELETED),
    # An order that expired (not cancelled) in Saleor: the job says it expired.
    *_from_every_status("withdrawn_expired", WITHDRAWN_EXPIRED),
    *_from_every_status("expired_unsent", EXPIRED_UNSENT),
    *_from_every_status("write_back_order_gone_expired", EXPIRED_AND_DELETED),
]


def _transition(status: JobStatus, case: str) -> Transition:
    (attempts, pending_since), outcome = OUTCOMES[case]
    job = JobState(status, attempts=attempts, pending_since=pending_since)
    return transition(job, outcome, policy=POLICY, now=NOW, random=RANDOM)


def test_the_table_has_every_status_against_every_outcome() -> None:
    pairs = [(status, case) for status, case, _ in TABLE]

    assert sorted(pairs) == sorted((status, case) for status in JobStatus for case in OUTCOMES)
    assert len(pairs) == len(set(pairs))


@pytest.mark.parametrize(
    ("status", "case", "expected"),
    TABLE,
    ids=[f"{status.value}-{case}" for status, case, _ in TABLE],
)
def test_transition(status: JobStatus, case: str, expected: Transition) -> None:
    assert _transition(status, case) == expected


def test_a_withdrawal_stores_where_the_order_s_fulfillment_stands_now() -> None:
    closed = FulfillmentRecord(
        "order_closed",
        Message.of(
            "fulfillment_reason.order_cancelled",
            "The order is cancelled in Saleor: the app leaves its fulfillments alone.",
        ),
    )
    job = JobState(JobStatus.SYNCED, attempts=0, pending_since=None)

    done = transition(
        job,
        Withdrawn("45", WITHDRAWN_TEXT, JobStatus.CANCELLED, closed),
        policy=POLICY,
        now=NOW,
        random=RANDOM,
    )

    assert (done.status, done.fulfillment) == (JobStatus.CANCELLED, closed)


def test_a_transition_is_settled_exactly_when_nothing_is_due() -> None:
    settled = {(s, c) for s, c, _ in TABLE if _transition(s, c).settled}

    assert settled == {(s, c) for s, c, e in TABLE if e.next_attempt_at is None}
    assert {c for _, c in settled} == {
        "pushed",
        "withdrawn",
        "unchanged",
        "not_for_gordon",
        "cancelled_unsent",
        "refused",
        "refused_after_sending",
        "unavailable_spent",
        "unanswered_spent",
        "crashed_spent",
        "written_back",
        "write_back_failed_spent",
        "write_back_failed_past_the_deadline",
        "fulfilled",
        "fulfillment_unchanged",
        "fulfillment_failed_spent",
        "fulfillment_refused",
        "write_back_order_gone_withdrawn",
        "withdrawn_expired",
        "expired_unsent",
        "write_back_order_gone_expired",
    }


def test_an_episode_ends_exactly_when_the_job_settles() -> None:
    for status, case, _ in TABLE:
        result = _transition(status, case)
        assert (result.episode is Episode.ENDS) == result.settled, (status, case)


def test_a_job_without_a_pending_time_counts_its_age_from_now() -> None:
    """Seven attempts over no time at all: the retry budget is not spent."""
    job = JobState(JobStatus.RETRYING, attempts=7, pending_since=None)
    outcome = Unavailable(Step("push", "retryable"), GORDON_DOWN_TEXT)

    result = transition(job, outcome, policy=POLICY, now=NOW, random=RANDOM)

    assert (result.status, result.next_attempt_at) == (
        JobStatus.RETRYING,
        NOW + timedelta(seconds=525),  # 640 s capped at 600, x 0.875
    )


def test_the_retry_budget_ends_at_the_policy_s_maximum_age() -> None:
    """Due exactly at the deadline still retries; a microsecond later gives up."""
    deadline_job = JobState(
        JobStatus.RETRYING, 1, NOW - timedelta(hours=1) + timedelta(seconds=8.75)
    )
    late_job = JobState(JobStatus.RETRYING, 1, NOW - timedelta(hours=1) + timedelta(seconds=8.74))
    outcome = Crashed("RuntimeError")

    at_deadline = transition(deadline_job, outcome, policy=POLICY, now=NOW, random=RANDOM)
    past_deadline = transition(late_job, outcome, policy=POLICY, now=NOW, random=RANDOM)

    assert (at_deadline.status, at_deadline.next_attempt_at) == (JobStatus.RETRYING, RETRY_AT)
    assert (past_deadline.status, past_deadline.message) == (
        JobStatus.FAILED,
        f"{CRASH_TEXT} Retries stopped: gave up after 1 attempt over 1 hour.",
    )


def test_a_write_back_failure_after_an_unavailable_gordon_decides_the_retry_once_more() -> None:
    """Gordon was down (retry in 8.75 s), and Saleor asks for 60 s: the later time wins."""
    job = JobState(JobStatus.PENDING, *FRESH)
    down = Unavailable(Step("push", "retryable"), GORDON_DOWN_TEXT, sent_ref="45")

    result = transition(
        job,
        WriteBackFailed(down, "Saleor is down", retry_after=60.0),
        policy=POLICY,
        now=NOW,
        random=RANDOM,
    )

    assert result == Transition(
        status=JobStatus.RETRYING,
        next_attempt_at=NOW + timedelta(seconds=60),
        episode=Episode.GOES_ON,
        action="push",
        outcome="retryable",
        message=GORDON_DOWN_TEXT + WRITE_FAILED,
        history=(
            _entry("push", "retryable", GORDON_DOWN_TEXT),
            _entry("write_back", "failed", "Saleor is down"),
        ),
        gordon=RefRecorded("45"),
    )


# --- newer work, new events, retries asked for --------------------------------------------------


@pytest.mark.parametrize(
    ("done", "expected"),
    [
        (
            SYNCED,
            Transition(
                status=JobStatus.PENDING,
                next_attempt_at=NOW,
                episode=Episode.STARTS_AGAIN,
                action="push",
                outcome="accepted",
                message=PUSHED_TEXT,
                history=SYNCED.history,
                gordon=PushRecorded(COPY, NOW),
            ),
        ),
        (
            GAVE_UP_ON_GORDON,
            Transition(
                status=JobStatus.PENDING,
                next_attempt_at=NOW,
                episode=Episode.STARTS_AGAIN,
                action="push",
                outcome="gave_up",
                message=f"{GORDON_DOWN_TEXT} {GAVE_UP}",
                history=GAVE_UP_ON_GORDON.history,
                gordon=RefRecorded("45"),
            ),
        ),
        (
            RETRYING,
            Transition(
                status=JobStatus.RETRYING,
                next_attempt_at=NOW,
                episode=Episode.GOES_ON,
                action="push",
                outcome="retryable",
                message=GORDON_DOWN_TEXT,
                history=RETRYING.history,
                gordon=RefRecorded("45"),
            ),
        ),
        (
            revoked(JobStatus.PENDING),
            Transition(
                status=JobStatus.PENDING,
                next_attempt_at=NOW,
                episode=Episode.GOES_ON,
                action="saleor",
                outcome="token_revoked",
                message=REVOKED_TEXT,
                history=revoked(JobStatus.PENDING).history,
            ),
        ),
    ],
    ids=["settled", "gave-up", "retrying", "revoked"],
)
def test_newer_work_keeps_the_job_due_and_restarts_a_settled_episode(
    done: Transition, expected: Transition
) -> None:
    assert with_newer_work(done, now=NOW) == expected


EARLIER = NOW - timedelta(minutes=5)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (JobStatus.PENDING, Due(JobStatus.PENDING, EARLIER, 3, NOW)),
        (JobStatus.RETRYING, Due(JobStatus.RETRYING, EARLIER, 3, NOW)),
        (JobStatus.SYNCED, Due(JobStatus.PENDING, NOW, 0, NOW)),
        (JobStatus.NEEDS_ATTENTION, Due(JobStatus.PENDING, NOW, 0, NOW)),
        (JobStatus.FAILED, Due(JobStatus.PENDING, NOW, 0, NOW)),
        (JobStatus.CANCELLED, Due(JobStatus.PENDING, NOW, 0, NOW)),
        (JobStatus.EXPIRED, Due(JobStatus.PENDING, NOW, 0, NOW)),
        (JobStatus.SKIPPED, Due(JobStatus.PENDING, NOW, 0, NOW)),
    ],
    ids=lambda value: value.value if isinstance(value, JobStatus) else "",
)
def test_a_new_event_makes_the_job_due_and_restarts_a_settled_episode(
    status: JobStatus, expected: Due
) -> None:
    assert on_new_event(status, pending_since=EARLIER, attempts=3, now=NOW) == expected


def test_a_new_event_on_an_unsettled_job_without_a_pending_time_starts_it_now() -> None:
    assert on_new_event(JobStatus.RETRYING, pending_since=None, attempts=2, now=NOW) == Due(
        JobStatus.RETRYING, NOW, 2, NOW
    )


def test_the_settled_statuses_are_those_with_nothing_left_to_do() -> None:
    assert frozenset(JobStatus) - SETTLED_STATUSES == {JobStatus.PENDING, JobStatus.RETRYING}


def test_a_retry_asked_for_starts_a_new_episode_due_now() -> None:
    assert on_retry_requested(now=NOW) == Due(JobStatus.PENDING, NOW, 0, NOW)


def test_every_attempt_outcome_is_in_the_table() -> None:
    """A new kind of outcome must get its rows (the union is what the attempt may return)."""
    kinds = {type(outcome) for _, outcome in OUTCOMES.values()}
    attempt_kinds = set(AttemptOutcome.__args__)  # type: ignore[attr-defined]

    assert attempt_kinds | {WrittenBack, WriteBackFailed} == kinds


@pytest.mark.parametrize(
    ("outcome", "last"),
    [
        (FulfillmentFailed(PUSHED, SALEOR_FULFIL_DOWN, acted=(FULFILLED_TEXT,)), "failed"),
        (FulfillmentRefused(PUSHED, FULFIL_REFUSED, acted=(FULFILLED_TEXT,)), "refused"),
    ],
)
def test_what_the_app_did_in_saleor_before_the_step_failed_is_in_the_history(
    outcome: FulfillmentFailed | FulfillmentRefused, last: str
) -> None:
    """Fulfilled, then Saleor went away (or refused) before the tracking numbers were set: the
    history says both, the reason only what stopped the step."""
    done = transition(JobState(JobStatus.PENDING, 1, NOW), outcome, policy=POLICY, now=NOW,
                      random=0.25)  # fmt: skip

    assert [(e.action, e.outcome, str(e.message)) for e in done.history] == [
        ("push", "accepted", PUSHED_TEXT),
        ("fulfill", outcome.fulfillment.state, FULFILLED_TEXT),
        ("fulfill", last, done.history[-1].message),
    ]
    assert done.history[-1].message.params["cause" if last == "failed" else "detail"] == (
        outcome.fulfillment.message
    )


def test_the_job_s_messages_carry_the_fulfillment_s_reason_as_a_nested_code() -> None:
    done = transition(JobState(JobStatus.PENDING, 1, NOW), FulfillmentFailed(PUSHED, NO_STOCK),
                      policy=POLICY, now=NOW, random=0.25)  # fmt: skip

    reason = {
        "code": "fulfillment_reason.not_enough_stock_in",
        "params": {"lines": ["Juice"], "warehouses": ["Main warehouse"]},
        "message": "Saleor has not enough stock of Juice in Main warehouse to fulfil the order.",
    }
    assert done.message.to_json()["params"]["detail"] == reason
    assert done.fulfillment == NO_STOCK
    assert done.fulfillment.message.code == "fulfillment_reason.not_enough_stock_in"


# --- unnoticed re-checks ---------------------------------------------------------------------

WAITING_MESSAGE = Message.of(
    "job.waiting_for", "Waiting for ORDER_FULLY_PAID.", events=["ORDER_FULLY_PAID"]
)
UNCHANGED_MESSAGE = Message.of("job.unchanged", UNCHANGED_TEXT)
ACCEPTED_MESSAGE = Message.of("job.pushed", PUSHED_TEXT, ref="45", tracking_id="0Zj7YGCUr")
CHECKED = Step("check", "settled")
WAITING = NothingToDo(JobStatus.SKIPPED, CHECKED, WAITING_MESSAGE)
SYNCED_UNCHANGED = NothingToDo(JobStatus.SYNCED, CHECKED, UNCHANGED_MESSAGE)
AFTER_WAITING = LastRecorded(JobStatus.SKIPPED, Said.of(WAITING_MESSAGE), None, None)
AFTER_ACCEPTANCE = LastRecorded(
    JobStatus.SYNCED,
    Said.of(ACCEPTED_MESSAGE),
    ON_FULFILLMENT.state,
    Said.of(ON_FULFILLMENT.message),
)


def _rechecked(outcome: Outcome, last: LastRecorded, *, asked: bool = False) -> Transition:
    done = transition(JobState(JobStatus.PENDING, 1, NOW), outcome, policy=POLICY, now=NOW,
                      random=RANDOM)  # fmt: skip
    return unnoticed(done, outcome, last=last, asked=asked)


@pytest.mark.parametrize(
    ("outcome", "last"),
    [
        (WAITING, AFTER_WAITING),
        (Fulfilled(SYNCED_UNCHANGED, ON_FULFILLMENT), AFTER_ACCEPTANCE),
        (SYNCED_UNCHANGED, AFTER_ACCEPTANCE),
        (
            SYNCED_UNCHANGED,
            LastRecorded(JobStatus.SYNCED, Said.of(UNCHANGED_MESSAGE), None, None),
        ),
    ],
    ids=["waiting-again", "unchanged-fulfilled-as-before", "unchanged", "unchanged-again"],
)
def test_a_re_check_that_says_what_the_job_said_is_unnoticed(
    outcome: Outcome, last: LastRecorded
) -> None:
    done = _rechecked(outcome, last)

    plain = transition(JobState(JobStatus.PENDING, 1, NOW), outcome, policy=POLICY, now=NOW,
                       random=RANDOM)  # fmt: skip
    assert done == replace(plain, unnoticed=True)
    assert done.keeps_last_message


NEEDS_PERSON_MESSAGE = Message.of("job.uninstalled", "App uninstalled.")


@pytest.mark.parametrize(
    ("outcome", "last", "asked"),
    [
        (WAITING, AFTER_WAITING, True),
        (SYNCED_UNCHANGED, AFTER_ACCEPTANCE, True),
        (WAITING, LastRecorded(None, None, None, None), False),
        (WAITING, replace(AFTER_WAITING, status=JobStatus.PENDING), False),
        (
            NothingToDo(
                JobStatus.SKIPPED,
                CHECKED,
                Message.of(
                    "job.waiting_for",
                    "Waiting for ORDER_CONFIRMED.",
                    events=["ORDER_CONFIRMED"],
                ),
            ),
            AFTER_WAITING,
            False,
        ),
        (SYNCED_UNCHANGED, replace(AFTER_ACCEPTANCE, status=JobStatus.FAILED), False),
        (
            NothingToDo(JobStatus.SKIPPED, CHECKED, UNCHANGED_MESSAGE),
            replace(AFTER_ACCEPTANCE, status=JobStatus.SKIPPED),
            False,
        ),
        (Fulfilled(SYNCED_UNCHANGED, AWAITING), AFTER_ACCEPTANCE, False),
        (
            Fulfilled(
                SYNCED_UNCHANGED,
                FulfillmentRecord("done", Message.of("fulfillment_reason.kept", "Kept.", count=1)),
            ),
            AFTER_ACCEPTANCE,
            False,
        ),
        (Fulfilled(SYNCED_UNCHANGED, ON_FULFILLMENT, (FULFILLED_TEXT,)), AFTER_ACCEPTANCE, False),
        (WrittenBack(SYNCED_UNCHANGED, "metadata gordon.status"), AFTER_ACCEPTANCE, False),
        (Pushed(COPY, ACCEPTED_MESSAGE), AFTER_ACCEPTANCE, False),
        (
            NeedsPerson(Step("read_config", "invalid"), NEEDS_PERSON_MESSAGE),
            LastRecorded(JobStatus.NEEDS_ATTENTION, Said.of(NEEDS_PERSON_MESSAGE), None, None),
            False,
        ),
    ],
    ids=[
        "send-or-retry-while-waiting",
        "send-or-retry-after-acceptance",
        "nothing-recorded-yet",
        "another-status-before",
        "another-message",
        "unchanged-after-a-failure",
        "unchanged-but-not-synced",
        "fulfillment-moved",
        "fulfillment-reason-changed",
        "fulfilled-in-saleor",
        "metadata-written",
        "pushed-again",
        "not-a-settle",
    ],
)
def test_a_re_check_that_changes_what_a_person_sees_or_was_asked_for_is_recorded(
    outcome: Outcome, last: LastRecorded, asked: bool
) -> None:
    done = _rechecked(outcome, last, asked=asked)

    assert not done.unnoticed
    assert done.history  # what is stored: the entries, and the last message with them


UNCHANGED_CHECK = HistoryEntry("check", "settled", UNCHANGED_MESSAGE)


@pytest.mark.parametrize(
    ("outcome", "history", "message"),
    [
        (Fulfilled(SYNCED_UNCHANGED, AWAITING), (UNCHANGED_CHECK,), UNCHANGED_MESSAGE),
        (
            Fulfilled(SYNCED_UNCHANGED, ON_FULFILLMENT, (FULFILLED_TEXT,)),
            (HistoryEntry("fulfill", "done", FULFILLED_TEXT),),
            FULFILLED_TEXT,  # what it says when it is asked for, or follows another status
        ),
        (
            WrittenBack(SYNCED_UNCHANGED, "metadata gordon.status"),
            (
                HistoryEntry(
                    "write_back",
                    "written",
                    Message.of("job.written_back", "metadata gordon.status"),
                ),
            ),
            UNCHANGED_MESSAGE,
        ),
    ],
    ids=["fulfillment-moved", "fulfilled-in-saleor", "metadata-written"],
)
def test_a_re_check_of_a_synced_order_that_acted_keeps_gordon_s_acceptance_as_its_message(
    outcome: Outcome, history: tuple[HistoryEntry, ...], message: Message
) -> None:
    done = _rechecked(outcome, AFTER_ACCEPTANCE)

    assert (done.unnoticed, done.keeps_message, done.keeps_last_message) == (False, True, True)
    assert done.history == history  # what it did, not the check's "already has this content"
    assert (done.status, done.message) == (JobStatus.SYNCED, message)


@pytest.mark.parametrize(
    ("outcome", "last", "asked"),
    [
        (Fulfilled(SYNCED_UNCHANGED, ON_FULFILLMENT, (FULFILLED_TEXT,)), AFTER_ACCEPTANCE, True),
        (
            Fulfilled(SYNCED_UNCHANGED, ON_FULFILLMENT, (FULFILLED_TEXT,)),
            replace(AFTER_ACCEPTANCE, status=JobStatus.RETRYING),
            False,
        ),
        (Pushed(COPY, ACCEPTED_MESSAGE), AFTER_ACCEPTANCE, False),
    ],
    ids=["asked", "after-a-failed-fulfillment", "pushed-again"],
)
def test_a_re_check_that_was_asked_for_or_follows_another_status_says_its_own_message(
    outcome: Outcome, last: LastRecorded, asked: bool
) -> None:
    done = _rechecked(outcome, last, asked=asked)

    assert (done.unnoticed, done.keeps_last_message) == (False, False)


def test_newer_work_keeps_a_re_check_unnoticed() -> None:
    done = with_newer_work(_rechecked(WAITING, AFTER_WAITING), now=NOW)

    assert (done.unnoticed, done.status, done.next_attempt_at) == (True, JobStatus.PENDING, NOW)
