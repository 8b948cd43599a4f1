"""The life of a sync job as one table: from the job's state and what an attempt found, the next
state and what to store. Pure: no I/O, no clock, no randomness of its own (the caller passes
``now`` and ``random``); ``tests/core/test_core_is_pure.py`` keeps it so.

A job (one per order) lives in *episodes*: an episode starts when work becomes pending (an event,
a person asking) and ends when the job *settles*, i.e. when nothing is left to do until the next
event. Attempts are counted, and the retry budget (``RetryPolicy.max_age``) measured, per episode.

Attempt outcomes (``transition``), for a job in any status:

| outcome                         | next status      | next attempt         | episode  | stored of Gordon    |
|---------------------------------|------------------|----------------------|----------|---------------------|
| ``Pushed``                      | synced           | none                 | ends     | the pushed copy     |
| ``Withdrawn``                   | cancelled, or    | none                 | ends     | the withdrawal      |
|                                 | expired          |                      |          |                     |
| ``NothingToDo``                 | its status       | none                 | ends     | nothing             |
| ``NeedsPerson``                 | needs_attention  | none                 | ends     | the ref it may have |
| ``Unavailable``, retry left     | retrying         | the retry's time     | goes on  | the ref it may have |
| ``Unavailable``, budget spent   | failed           | none                 | ends     | the ref it may have |
| ``Crashed``, retry left         | retrying         | the retry's time     | goes on  | nothing             |
| ``Crashed``, budget spent       | failed           | none                 | ends     | nothing             |
| ``TokenRevoked``                | unchanged        | now (claims wait for | goes on  | nothing             |
|                                 |                  | a new installation)  |          |                     |
| ``WrittenBack(done)``           | as ``done``      | as ``done``          | as done  | as ``done``         |
| ``WriteBackFailed(done)``       | retrying         | the retry's time     | goes on  | as ``done``         |
| ... budget spent                | failed           | none                 | ends     | as ``done``         |
| ... the token was revoked       | retrying         | now                  | goes on  | as ``done``         |
| ... the order was deleted       | retrying         | the backoff's delay, | goes on  | as ``done``         |
|                                 |                  | budget or not (finds |          |                     |
|                                 |                  | it gone: withdraws)  |          |                     |
| ... deleted, ``done`` cancelled | as ``done``      | none                 | ends     | as ``done``         |
|     expired or skipped          |                  |                      |          |                     |
| ``Fulfilled(done)``             | as ``done``      | as ``done``          | as done  | as ``done``         |
| ``FulfillmentFailed(done)``     | retrying         | the retry's time     | goes on  | as ``done``         |
| ... budget spent                | failed           | none                 | ends     | as ``done``         |
| ... the token was revoked       | retrying         | now                  | goes on  | as ``done``         |
| ``FulfillmentRefused(done)``    | needs_attention  | none                 | ends     | as ``done``         |

The three fulfillment outcomes wrap what Gordon's step found (``Pushed``, or ``NothingToDo`` for an
order Gordon already has) and carry where the order's fulfillment stands (``FulfillmentRecord``,
stored beside the job: ``fulfillment_state`` / ``fulfillment_message`` with its code), and what
the step changed in Saleor (``acted``: history entries, also before a failure or a refusal). A failed fulfillment is
retried on its own: Gordon's acceptance is recorded with it, so the next attempt finds Gordon's
copy unchanged and only fulfils (``jobs/attempt.py``).

A job whose next attempt is "none" is *settled*. A Gordon call that got no answer
(``Unavailable.unanswered``: Gordon may have done it) adds a ``NO_ANSWER`` entry to the history
before the step's own. A re-check nobody asked for that settles as the job last said (the same
status and message, or "Gordon already has this content" while synced) is ``unnoticed``: it adds
no history entry and keeps the job's last message. Other events of the life:

- ``on_new_event``: an order event (or a catch-up scan) makes the job due now; a settled job starts
  a new episode (pending, attempts from zero). The webhook path runs this rule as SQL
  (``jobs/queue.py``), tested against this function for every status;
- ``with_newer_work``: an event arrived while an attempt ran (the job's version moved on): the
  job stays due, and a settled result starts a new episode at once;
- ``on_retry_requested``: a person asked for the job again (the Dashboard, the CLI, a saved
  configuration): a new episode, due now.

The retry decision (``RetryPolicy.decide``: backoff, jitter, Retry-After, the maximum age) is
taken here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any, TypeAlias

from saleor_gordon.core.fulfillment import FulfillmentState
from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.messages import Message
from saleor_gordon.core.retry import GiveUp, RetryDecision, RetryPolicy
from saleor_gordon.core.sync_decision import UNCHANGED

SETTLED_STATUSES = frozenset(
    {
        JobStatus.SYNCED,
        JobStatus.NEEDS_ATTENTION,
        JobStatus.FAILED,
        JobStatus.CANCELLED,
        JobStatus.EXPIRED,
        JobStatus.SKIPPED,
    }
)
"""The statuses of a settled job: a new event starts a fresh episode."""


@dataclass(frozen=True, slots=True)
class JobState:
    """Where a job stands in its episode when an attempt ends."""

    status: JobStatus
    attempts: int
    """Attempts in this episode, the one ending included."""
    pending_since: datetime | None
    """When the episode's work became pending."""


# --- what an attempt found -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """The step of the attempt that decided it, as the job's history names it."""

    action: str
    """``push``, ``withdraw``, ``check``, ``read_config``, ``read_order``, ``saleor``, ``store``…"""
    outcome: str
    """``accepted``, ``rejected``, ``retryable``, ``settled``, ``unavailable``…"""


@dataclass(frozen=True, slots=True)
class GordonCopy:
    """The order as Gordon accepted it: what the job keeps to compare the next push with."""

    external_ref: str
    content_hash: str
    delivery_date: date
    time_window: str
    tracking_id: str | None


@dataclass(frozen=True, slots=True)
class Pushed:
    """Gordon accepted the order (created or updated): it holds ``copy``."""

    copy: GordonCopy
    message: Message


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """The order is no longer in Gordon (deleted now, or Gordon did not know it)."""

    external_ref: str
    message: Message
    status: JobStatus
    """What the job settles as (``Withdraw.settles_as``): expired, or cancelled."""
    fulfillment: FulfillmentRecord | None = None
    """Where the order's fulfillment stands now (a closed order's fulfillments are left alone)."""


@dataclass(frozen=True, slots=True)
class NothingToDo:
    """No Gordon call was needed: the job settles with ``status`` (synced, skipped, cancelled,
    expired)."""

    status: JobStatus
    step: Step
    message: Message


@dataclass(frozen=True, slots=True)
class NeedsPerson:
    """A person must act (the order, the configuration, Gordon's refusal); retrying cannot help."""

    step: Step
    message: Message
    sent_ref: str | None = None
    """A reference a request may have reached Gordon under (kept to withdraw it later)."""


@dataclass(frozen=True, slots=True)
class Unavailable:
    """Something needed is down (Gordon, Saleor, the database): retry later."""

    step: Step
    message: Message
    retry_after: float | None = None
    """Seconds the other side asked to wait (a floor for the backoff)."""
    sent_ref: str | None = None
    """A reference a request may have reached Gordon under (its answer was lost)."""
    unanswered: bool = False
    """The Gordon call got no answer (timed out, connection lost): it may have been done, so the
    history says so (``NO_ANSWER``) and the next attempt asks again."""


@dataclass(frozen=True, slots=True)
class TokenRevoked:
    """Saleor refused the app's token: the job waits, due, until the app is installed again."""

    message: Message


@dataclass(frozen=True, slots=True)
class Crashed:
    """The attempt failed unexpectedly (a bug): ``error`` names the exception's type."""

    error: str


@dataclass(frozen=True, slots=True)
class WrittenBack:
    """``done`` happened and the order's metadata now says so (``keys`` were written)."""

    done: AttemptOutcome
    keys: str


@dataclass(frozen=True, slots=True)
class WriteBackFailed:
    """``done`` happened, but writing it to the order's metadata failed: the write-back is
    retried on its own (what Gordon accepted is stored, so the next attempt only writes)."""

    done: AttemptOutcome
    error: str
    """Why, in English (Saleor's error), or a ``Message`` of its own (the attempt's deadline)."""
    retry_after: float | None = None
    token_revoked: bool = False
    order_gone: bool = False
    """Saleor no longer has the order (deleted meanwhile): nothing is left to write, and no
    retry of the write would succeed. The job is due now: that attempt finds the order gone and
    withdraws what Gordon may have (``sync_decision.decide_for_deleted_order``)."""


@dataclass(frozen=True, slots=True)
class FulfillmentRecord:
    """Where the order's fulfillment stands (``core.fulfillment.FulfillmentState``) and why (a
    code of ``core.messages.FULFILLMENT_REASONS`` with its English; for an attempt stopped in the
    fulfillment step, its stop message)."""

    state: str
    message: Message


@dataclass(frozen=True, slots=True)
class Fulfilled:
    """``done`` (Gordon has the order), and its fulfillments are as the shop wants them, or wait
    for something an event brings (payment, a fulfillment by staff, an approval)."""

    done: Pushed | NothingToDo
    fulfillment: FulfillmentRecord
    acted: tuple[Message, ...] = ()
    """What the app changed in Saleor (fulfilled, set a tracking number), one entry each."""


@dataclass(frozen=True, slots=True)
class FulfillmentFailed:
    """``done`` happened, but fulfilling or setting the tracking number failed in a way a later
    attempt may get past (not enough stock, Saleor unavailable): retried on its own."""

    done: Pushed | NothingToDo
    fulfillment: FulfillmentRecord
    retry_after: float | None = None
    token_revoked: bool = False
    acted: tuple[Message, ...] = ()
    """What the app changed in Saleor before it failed (as ``Fulfilled.acted``)."""


@dataclass(frozen=True, slots=True)
class FulfillmentRefused:
    """``done`` happened, but Saleor refused the app's fulfillment request for a reason retrying
    cannot fix (the request itself, a permission): a person looks."""

    done: Pushed | NothingToDo
    fulfillment: FulfillmentRecord
    acted: tuple[Message, ...] = ()
    """What the app changed in Saleor before it was refused (as ``Fulfilled.acted``)."""


FulfillmentOutcome: TypeAlias = Fulfilled | FulfillmentFailed | FulfillmentRefused
"""What the fulfillment step found, with what Gordon's step found before it."""

AttemptOutcome: TypeAlias = (
    Pushed
    | Withdrawn
    | NothingToDo
    | NeedsPerson
    | Unavailable
    | TokenRevoked
    | Crashed
    | Fulfilled
    | FulfillmentFailed
    | FulfillmentRefused
)
"""What an attempt found before telling Saleor."""
Outcome: TypeAlias = AttemptOutcome | WrittenBack | WriteBackFailed


# --- what to store ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PushRecorded:
    """Gordon holds ``copy`` since ``at``."""

    copy: GordonCopy
    at: datetime

    @property
    def external_ref(self) -> str:
        return self.copy.external_ref


@dataclass(frozen=True, slots=True)
class WithdrawalRecorded:
    """The order under ``external_ref`` left Gordon at ``at``."""

    external_ref: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RefRecorded:
    """A request may have reached Gordon under ``external_ref``."""

    external_ref: str


GordonRecord: TypeAlias = PushRecorded | WithdrawalRecorded | RefRecorded


class Episode(Enum):
    GOES_ON = "goes_on"
    """Attempts and the pending time stay as they are."""
    ENDS = "ends"
    """Nothing is pending any more."""
    STARTS_AGAIN = "starts_again"
    """New work: attempts start from zero and the work is pending from now."""


NO_ANSWER = "no_answer"
"""The outcome of the history entry of a Gordon call that got no answer."""
NO_ANSWER_MESSAGE = Message.of(
    "job.no_answer",
    "Gordon did not answer: it may have done what was asked, so the next attempt asks again.",
)


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    action: str
    outcome: str
    message: Message
    """What happened, as a code with parameters and in English (``core.messages``)."""


@dataclass(frozen=True, slots=True)
class Transition:
    """The job's next state and what to store with it."""

    status: JobStatus
    next_attempt_at: datetime | None
    """When to try again; None when nothing is left to do."""
    episode: Episode
    action: str
    outcome: str
    message: Message
    """The job's status message (the order's ``gordon.error`` takes its English)."""
    history: tuple[HistoryEntry, ...] = ()
    """What the attempt did, step by step (``action``/``outcome`` name the decisive one)."""
    gordon: GordonRecord | None = None
    """What to record of Gordon's copy; None leaves it as it is."""
    fulfillment: FulfillmentRecord | None = None
    """Where the order's fulfillment stands now; None leaves it as it is."""
    unnoticed: bool = False
    """A re-check that changes nothing a person sees (``unnoticed``): it adds no history entry
    and leaves the job's last action, outcome and message as they are; the rest (status, the
    lease, the episode, the fulfillment) is stored as for any transition."""
    keeps_message: bool = False
    """A re-check that only acted in Saleor for an order Gordon already has (``unnoticed``): its
    history says what it did; the job's last action, outcome and message stay as they are."""

    @property
    def keeps_last_message(self) -> bool:
        """Whether the job's last action, outcome and message stay as they are."""
        return self.unnoticed or self.keeps_message

    @property
    def settled(self) -> bool:
        """The episode is over: nothing is due until the next event."""
        return self.next_attempt_at is None


# --- the transitions ---------------------------------------------------------------------------


def transition(
    job: JobState, outcome: Outcome, *, policy: RetryPolicy, now: datetime, random: float
) -> Transition:
    """The next state of ``job`` after an attempt that found ``outcome``.

    ``random`` (uniform in [0, 1)) spreads the retry's wait (``RetryPolicy.jitter``).
    """
    if isinstance(outcome, WrittenBack):
        done = transition(job, outcome.done, policy=policy, now=now, random=random)
        written = HistoryEntry(
            "write_back", "written", Message.of("job.written_back", outcome.keys)
        )
        return replace(done, history=(*done.history, written))
    if isinstance(outcome, WriteBackFailed):
        return _write_back_failed(job, outcome, policy=policy, now=now, random=random)
    if isinstance(outcome, Fulfilled | FulfillmentFailed | FulfillmentRefused):
        return _fulfillment(job, outcome, policy=policy, now=now, random=random)
    if isinstance(outcome, Pushed):
        record: GordonRecord = PushRecorded(outcome.copy, now)
        return _settles(JobStatus.SYNCED, Step("push", "accepted"), outcome.message, record)
    if isinstance(outcome, Withdrawn):
        record = WithdrawalRecorded(outcome.external_ref, now)
        withdrawn = _settles(outcome.status, Step("withdraw", "accepted"), outcome.message, record)
        return replace(withdrawn, fulfillment=outcome.fulfillment)
    if isinstance(outcome, NothingToDo):
        return _settles(outcome.status, outcome.step, outcome.message, None)
    if isinstance(outcome, NeedsPerson):
        record_ref = _ref(outcome.sent_ref)
        return _settles(JobStatus.NEEDS_ATTENTION, outcome.step, outcome.message, record_ref)
    if isinstance(outcome, TokenRevoked):
        # Stays due: claims skip revoked installations until the app is installed again.
        step = Step("saleor", "token_revoked")
        return _goes_on(job.status, now, step, outcome.message, None)
    if isinstance(outcome, Crashed):
        english = f"Unexpected error ({outcome.error}); the job will be retried."
        message = Message.of("job.crashed", english)
        decision = _decide(job, policy, now=now, retry_after=None, random=random)
        if isinstance(decision, GiveUp):
            stopped = _gave_up(message, decision, job, policy)
            return _settles(JobStatus.FAILED, Step("run", "crashed"), stopped, None)
        return _goes_on(JobStatus.RETRYING, decision.when, Step("run", "crashed"), message, None)
    decision = _decide(job, policy, now=now, retry_after=outcome.retry_after, random=random)
    record_ref = _ref(outcome.sent_ref)
    if isinstance(decision, GiveUp):
        stopped = _gave_up(outcome.message, decision, job, policy)
        gave_up = Step(outcome.step.action, "gave_up")
        done = _settles(JobStatus.FAILED, gave_up, stopped, record_ref)
    else:
        done = _goes_on(
            JobStatus.RETRYING, decision.when, outcome.step, outcome.message, record_ref
        )
    if outcome.unanswered:
        lost = HistoryEntry(outcome.step.action, NO_ANSWER, NO_ANSWER_MESSAGE)
        return replace(done, history=(lost, *done.history))
    return done


def _write_back_failed(
    job: JobState, outcome: WriteBackFailed, *, policy: RetryPolicy, now: datetime, random: float
) -> Transition:
    done = transition(job, outcome.done, policy=policy, now=now, random=random)
    if outcome.order_gone:
        return _deleted_meanwhile(job, done, policy=policy, now=now, random=random)
    english = f"{done.message} Writing the status to the order failed ({outcome.error})."
    message = Message.of("job.write_back_failed", english, then=done.message)
    error = (
        outcome.error
        if isinstance(outcome.error, Message)
        else Message.of("job.write_back_error", outcome.error)
    )
    history = (*done.history, HistoryEntry("write_back", "failed", error))
    failed = replace(done, message=message, history=history)
    return _retried_on_its_own(job, failed, outcome, policy=policy, now=now, random=random)


ORDER_DELETED_MEANWHILE = Message.of(
    "job.order_deleted_meanwhile",
    "The order was deleted in Saleor while the app worked on it. The app checks again at its next "
    "attempt and withdraws it from Gordon if Gordon has it.",
)
NOTHING_IN_GORDON = frozenset({JobStatus.CANCELLED, JobStatus.EXPIRED, JobStatus.SKIPPED})
"""Statuses of a job that leaves nothing in Gordon (withdrawn, never sent)."""


def _deleted_meanwhile(
    job: JobState, done: Transition, *, policy: RetryPolicy, now: datetime, random: float
) -> Transition:
    """``done``, but Saleor deleted the order before its status was written. Retrying the write
    cannot help. A job that left nothing in Gordon ends as ``done`` says; any other is tried again
    after the backoff's delay, whatever is left of the retry budget (a deleted order is always
    withdrawn; never at once, so a Saleor refusing the write of an order it still shows is not
    asked in a loop), and that attempt finds the order gone and withdraws it from Gordon (or
    settles, skipped, if Gordon never had it)."""
    history = (*done.history, HistoryEntry("write_back", "order_gone", ORDER_DELETED_MEANWHILE))
    if done.settled and done.status in NOTHING_IN_GORDON:
        return replace(done, history=history)
    return replace(
        done,
        status=JobStatus.RETRYING,
        next_attempt_at=now + timedelta(seconds=policy.backoff(job.attempts, random=random)),
        episode=Episode.GOES_ON,
        message=ORDER_DELETED_MEANWHILE,
        history=history,
    )


def _retried_on_its_own(
    job: JobState,
    failed: Transition,
    outcome: WriteBackFailed | FulfillmentFailed,
    *,
    policy: RetryPolicy,
    now: datetime,
    random: float,
) -> Transition:
    """``failed`` (Gordon's part done and recorded, a later step failed: the write-back, the
    fulfilment), retried on its own: due now after a revoked token (claims wait for the app to
    be installed again), else at the retry's time; failed once the retry budget is spent, its
    message then saying so."""
    if outcome.token_revoked:
        return replace(
            failed, status=JobStatus.RETRYING, next_attempt_at=now, episode=Episode.GOES_ON
        )
    decision = _decide(job, policy, now=now, retry_after=outcome.retry_after, random=random)
    if isinstance(decision, GiveUp):
        return replace(
            failed,
            status=JobStatus.FAILED,
            next_attempt_at=None,
            episode=Episode.ENDS,
            message=_gave_up(failed.message, decision, job, policy),
        )
    return replace(
        failed, status=JobStatus.RETRYING, next_attempt_at=decision.when, episode=Episode.GOES_ON
    )


def _gave_up(cause: Message, decision: GiveUp, job: JobState, policy: RetryPolicy) -> Message:
    return Message.of(
        "job.gave_up",
        f"{cause} Retries stopped: {decision.reason}.",
        cause=cause,
        attempts=job.attempts,
        hours=policy.max_age.total_seconds() / 3600,
    )


FULFILL = "fulfill"
"""The action of the fulfillment step in the job's history."""


def _fulfillment(
    job: JobState,
    outcome: FulfillmentOutcome,
    *,
    policy: RetryPolicy,
    now: datetime,
    random: float,
) -> Transition:
    done = transition(job, outcome.done, policy=policy, now=now, random=random)
    record = outcome.fulfillment
    acted = tuple(HistoryEntry(FULFILL, record.state, said) for said in outcome.acted)
    done = replace(done, history=(*done.history, *acted))
    if isinstance(outcome, Fulfilled):
        if outcome.acted and isinstance(outcome.done, NothingToDo):
            # Gordon's copy was already right: what the attempt did in Saleor is its answer (a
            # person's Try fulfilling again reads "Fulfilled the order in Saleor …", not "Gordon
            # already has this version")
            last = outcome.acted[-1]
            return replace(
                done, action=FULFILL, outcome=record.state, message=last, fulfillment=record
            )
        return replace(done, fulfillment=record)
    problem = Message.of("job.fulfillment_problem", record.message, detail=record.message)
    message = Message.of(
        "job.fulfillment_failed",
        f"{done.message} {record.message}",
        done=done.message,
        detail=record.message,
    )
    if isinstance(outcome, FulfillmentRefused):
        return replace(
            done,
            status=JobStatus.NEEDS_ATTENTION,
            next_attempt_at=None,
            episode=Episode.ENDS,
            action=FULFILL,
            outcome="refused",
            message=message,
            history=(*done.history, HistoryEntry(FULFILL, "refused", problem)),
            fulfillment=record,
        )
    failed = replace(
        done,
        action=FULFILL,
        outcome="failed",
        message=message,
        history=(*done.history, HistoryEntry(FULFILL, "failed", problem)),
        fulfillment=record,
    )
    retried = _retried_on_its_own(job, failed, outcome, policy=policy, now=now, random=random)
    if retried.status is JobStatus.FAILED:
        return replace(retried, outcome="gave_up")
    if outcome.token_revoked or retried.next_attempt_at is None:
        return retried
    when = retried.next_attempt_at.isoformat()  # the history's entry says when it is planned
    retrying = Message.of("job.retrying", problem, cause=problem, retry_at=when)
    return replace(retried, history=(*done.history, HistoryEntry(FULFILL, "failed", retrying)))


def _decide(
    job: JobState, policy: RetryPolicy, *, now: datetime, retry_after: float | None, random: float
) -> RetryDecision:
    return policy.decide(
        attempts=job.attempts,
        pending_since=job.pending_since or now,
        now=now,
        retry_after=retry_after,
        random=random,
    )


def _settles(
    status: JobStatus, step: Step, message: Message, gordon: GordonRecord | None
) -> Transition:
    return Transition(
        status=status,
        next_attempt_at=None,
        episode=Episode.ENDS,
        action=step.action,
        outcome=step.outcome,
        message=message,
        history=(HistoryEntry(step.action, step.outcome, message),),
        gordon=gordon,
    )


def _goes_on(
    status: JobStatus, when: datetime, step: Step, message: Message, gordon: GordonRecord | None
) -> Transition:
    said = message
    if status is JobStatus.RETRYING:  # the history's entry also says when the retry is planned
        said = Message.of("job.retrying", message, cause=message, retry_at=when.isoformat())
    return Transition(
        status=status,
        next_attempt_at=when,
        episode=Episode.GOES_ON,
        action=step.action,
        outcome=step.outcome,
        message=message,
        history=(HistoryEntry(step.action, step.outcome, said),),
        gordon=gordon,
    )


def _ref(sent_ref: str | None) -> RefRecorded | None:
    return None if sent_ref is None else RefRecorded(sent_ref)


@dataclass(frozen=True, slots=True)
class Said:
    """A message as the job stores it: its code and its parameters as JSON values
    (``Message.to_json``), what a person reads it from in their language."""

    code: str
    params: Mapping[str, Any]

    @classmethod
    def of(cls, message: Message) -> Said:
        coded = message.to_json()
        return cls(coded["code"], coded["params"])


@dataclass(frozen=True, slots=True)
class LastRecorded:
    """What a person sees of the job as its last recorded attempt left it (None: not known, e.g.
    a row written before these were stored)."""

    status: JobStatus | None
    message: Said | None
    fulfillment_state: str | None
    fulfillment_message: Said | None


def unnoticed(done: Transition, outcome: Outcome, *, last: LastRecorded, asked: bool) -> Transition:
    """``done`` (what ``outcome`` leads to), marked ``unnoticed`` when it changes nothing a
    person sees.

    That is a re-check nobody asked for (``asked``: a person's Send to Gordon, Retry, Try
    fulfilling again, a saved configuration, or a claim taking over a lost attempt always
    records) that settles without calling Gordon (``NothingToDo``, its fulfillment step included)
    as one plain entry (nothing fulfilled or written to the order), with the status the job last
    recorded and the same message (code and parameters),
    or with "Gordon already has this content" while the job is synced (its last message, say
    Gordon's acceptance with the tracking ID, stays what the order widget shows), and with the
    fulfillment where it stood. Two events before the order is paid then say "Not sent yet"
    once, and the events the sync itself causes (the fulfillment with the tracking number,
    Saleor's ORDER_UPDATED) leave the job's history and message alone.

    Such a re-check of a synced order that did act in Saleor (set the tracking number on the
    fulfillment staff made, wrote the order's status) ``keeps_message`` only: its history holds
    what it did, without the check's own "already has this content" entry, and the job still
    says what Gordon accepted."""
    checked = outcome
    while isinstance(checked, WrittenBack | Fulfilled):
        checked = checked.done
    if asked or not isinstance(checked, NothingToDo) or not done.settled:
        return done
    if last.status is not done.status:
        return done
    said = Said.of(done.message)
    unchanged_while_synced = (
        Said.of(checked.message) == UNCHANGED_SAID and done.status is JobStatus.SYNCED
    )
    if not (said == last.message or unchanged_while_synced):
        return done
    check = HistoryEntry(checked.step.action, checked.step.outcome, checked.message)
    record = done.fulfillment
    if done.history == (check,) and (
        record is None
        or (
            record.state == last.fulfillment_state
            and Said.of(record.message) == last.fulfillment_message
        )
    ):
        return replace(done, unnoticed=True)
    if unchanged_while_synced:
        # it fulfilled (or wrote the order's status) for an order Gordon already has: the history
        # says what it did, without the check's "already has this version"; the job's message
        # stays Gordon's acceptance
        kept = tuple(entry for entry in done.history if entry != check)
        return replace(done, keeps_message=True, history=kept or done.history)
    return done


UNCHANGED_SAID = Said.of(UNCHANGED)


def with_newer_work(done: Transition, *, now: datetime) -> Transition:
    """``done``, for a job that an event (or a person) made due again while the attempt ran: it
    stays due, and if ``done`` settled it, the newer work starts a new episode."""
    if done.settled:
        return replace(
            done, status=JobStatus.PENDING, next_attempt_at=now, episode=Episode.STARTS_AGAIN
        )
    return replace(done, next_attempt_at=now)


@dataclass(frozen=True, slots=True)
class Due:
    """A job made due by new work: its status, its pending time and its attempts so far."""

    status: JobStatus
    pending_since: datetime
    attempts: int
    next_attempt_at: datetime


def on_new_event(
    status: JobStatus, *, pending_since: datetime | None, attempts: int, now: datetime
) -> Due:
    """A job (``status``) gets an order event at ``now``: due at once; a settled job starts a new
    episode, an unsettled one goes on (pending since its work became pending)."""
    if status in SETTLED_STATUSES:
        return Due(JobStatus.PENDING, pending_since=now, attempts=0, next_attempt_at=now)
    return Due(status, pending_since=pending_since or now, attempts=attempts, next_attempt_at=now)


RETRYABLE_STATUSES = frozenset({JobStatus.RETRYING, JobStatus.NEEDS_ATTENTION, JobStatus.FAILED})
"""Statuses where *Retry* (a person running the job again now) can change something: it failed,
waits for a person, or waits for its next attempt. Pending work is due already; synced, cancelled
and skipped orders would come out the same (a changed order starts a job by itself, and *Send to
Gordon* sends a skipped one). The Dashboard offers Retry for these only."""


FULFILLMENT_RETRY_STATUS = JobStatus.SYNCED
FULFILLMENT_RETRY_STATE = FulfillmentState.BLOCKED
"""Where *Try fulfilling again* can change something: Gordon has the order (the job settled as
synced) but the app could not fulfil it (blocked: no allocation, not stocked in a warehouse of
the channel, not enough stock, Saleor refused). The usual fix (stock, a stock record) sends no
order event, so nothing else runs the job again before the next order change. The attempt it
starts finds Gordon's content unchanged, asks Gordon nothing and only fulfils (a fulfillment
that failed or was refused leaves the job retrying, failed or needing attention: Retry)."""


def fulfillment_retryable(status: str, fulfillment_state: str | None) -> bool:
    """Can *Try fulfilling again* change something for a job in ``status`` whose fulfillment
    stands at ``fulfillment_state``?"""
    return status == FULFILLMENT_RETRY_STATUS and fulfillment_state == FULFILLMENT_RETRY_STATE


def on_retry_requested(*, now: datetime) -> Due:
    """A person asked to run the job again: a new episode, due now, whatever its status."""
    return Due(JobStatus.PENDING, pending_since=now, attempts=0, next_attempt_at=now)
