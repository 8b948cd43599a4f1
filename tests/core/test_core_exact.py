"""Exact messages and boundaries of core/ that mutation testing found unpinned (docs/testing.md).

Configuration problems and order-reading errors are shown to operators; sync decisions carry the
job message and the order to push; the retry deadline is inclusive.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from typing import Any

import pytest

from saleor_gordon.core.delivery_dates import first_delivery_date
from saleor_gordon.core.gordon_order import format_time_window
from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.order import (
    NotAnOrderObject,
    OrderPayloadInvalid,
    SaleorOrder,
    extract_order_data,
)
from saleor_gordon.core.retry import GiveUp, RetryAt, RetryPolicy, english_duration
from saleor_gordon.core.shop_config import parse_shop_config
from saleor_gordon.core.sync_decision import (
    ERROR_KEY,
    STATUS_KEY,
    Fix,
    MetadataPlan,
    OrderState,
    Push,
    Settle,
    decide_sync,
    desired_metadata,
)
from saleor_gordon.core.translate import Problem, Skipped, Translated, translate_order
from saleor_gordon.errors import ShopConfigInvalid
from tests.core.builders import config, config_data, order, order_data

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PAID = OrderState(status="UNFULFILLED", charge_status="FULL", is_paid=True)
UNPAID = OrderState(status="UNFULFILLED", charge_status="NONE", is_paid=False)
CANCELLED = OrderState(status="CANCELED", charge_status="NONE", is_paid=False)
GORDON = {"base_url": "https://backend.staging.gordondelivery.com", "client_id": "id"}

# --- shop configuration ---------------------------------------------------------------------------


def _problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ShopConfigInvalid) as caught:
        parse_shop_config(data)
    return caught.value.problems


def _lead_days(value: object) -> dict[str, Any]:
    data = config_data()
    data["delivery_days"]["lead_days"] = value
    return data


@pytest.mark.parametrize(
    ("data", "problems"),
    [
        (
            config_data(gordon={**GORDON, "client_id": " ", "client_secret": "s" * 8}),
            [
                "gordon.client_id: must not be empty; copy it from Last Mile Platform → "
                "Account → API Credentials"
            ],
        ),
        (
            config_data(external_ref_prefix=5),
            ["external_ref_prefix: Input should be a valid string (got 5)"],
        ),
        (
            # repr of 58 x is 60 characters: shown whole
            _lead_days("x" * 58),
            [
                "delivery_days.lead_days: Input should be a valid integer, unable to parse string "
                f"as an integer (got '{'x' * 58}')"
            ],
        ),
        (
            # 61 characters: cut to 57 and "..."
            _lead_days("x" * 59),
            [
                "delivery_days.lead_days: Input should be a valid integer, unable to parse string "
                f"as an integer (got '{'x' * 56}...)"
            ],
        ),
    ],
    ids=["empty-client-id", "wrong-type", "input-60", "input-61"],
)
def test_configuration_problems_in_full(data: dict[str, Any], problems: list[str]) -> None:
    assert _problems(data) == problems


@pytest.mark.parametrize(("secret", "shown"), [("1234567", "********"), ("12345678", "********78")])
def test_secrets_of_eight_characters_or_more_show_their_last_two(secret: str, shown: str) -> None:
    shop = config(gordon={**GORDON, "client_secret": secret})

    assert shop.masked_dict()["gordon"]["client_secret"] == shown


# --- reading orders -------------------------------------------------------------------------------

FIVE_WRONG = {"number": 1, "userEmail": 2, "customerNote": 3, "status": 4, "created": "x"}
FIVE_MESSAGES = (
    "not a readable Saleor order: number: Input should be a valid string; created: Input should "
    "be a valid datetime or date, input is too short; status: Input should be a valid string; "
    "userEmail: Input should be a valid string; customerNote: Input should be a valid string"
)


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (FIVE_WRONG, FIVE_MESSAGES),
        ({**FIVE_WRONG, "shippingMethodName": 7}, FIVE_MESSAGES + " (and 1 more)"),
    ],
    ids=["five", "six"],
)
def test_an_unreadable_order_names_five_errors_and_counts_the_rest(
    wrong: dict[str, Any], message: str
) -> None:
    with pytest.raises(OrderPayloadInvalid) as caught:
        SaleorOrder.from_graphql(order_data(**wrong))

    assert str(caught.value) == message


@pytest.mark.parametrize("document", [{"id": "x", "data": 5}, {"id": "x", "order": 5}])
def test_an_object_with_an_id_is_the_order_itself(document: dict[str, Any]) -> None:
    """An order may have fields called data or order; an id says which object is the order."""
    assert extract_order_data(document) is document


def test_a_value_of_no_json_kind_is_named_so() -> None:
    with pytest.raises(NotAnOrderObject) as caught:
        extract_order_data(object())

    assert str(caught.value) == "expected a JSON object, got a value of another kind"


# --- sync decisions -------------------------------------------------------------------------------


def _translated() -> Translated:
    result = translate_order(order(), config(), now=NOW)
    assert isinstance(result, Translated)
    return result


def _decide(state: OrderState, translation: object, **changes: Any) -> object:
    arguments: dict[str, Any] = {
        "state": state,
        "translation": translation,
        "triggers": ("ORDER_CONFIRMED", "ORDER_FULLY_PAID"),
        "events_seen": frozenset(),
        "pushed_hash": None,
    }
    return decide_sync(**(arguments | changes))


def test_a_push_carries_the_order_its_hash_and_warnings() -> None:
    translated = _translated()
    warned = Translated(translated.gordon_order, (Problem("f", "r", "x", "problem.no_phone"),), 0)

    assert _decide(PAID, warned) == Push(
        translated.gordon_order,
        translated.gordon_order.content_hash(),
        (Problem("f", "r", "x", "problem.no_phone"),),
    )


def test_settle_messages_in_full() -> None:
    translated = _translated()
    waiting = OrderState(status="UNCONFIRMED", charge_status="NONE", is_paid=False)

    assert _decide(waiting, translated) == Settle(
        JobStatus.SKIPPED, "Waiting for ORDER_CONFIRMED or ORDER_FULLY_PAID."
    )
    assert _decide(PAID, translated, pushed_hash=translated.gordon_order.content_hash()) == Settle(
        JobStatus.SYNCED, "Gordon already has this content."
    )
    assert _decide(CANCELLED, translated, triggers=("ORDER_FULLY_PAID",)) == Settle(
        JobStatus.CANCELLED, "The order was cancelled before it reached Gordon."
    )


@pytest.mark.parametrize(("known_ref", "what"), [("45", "order 45"), (None, "the order")])
def test_an_order_in_gordon_that_no_rule_matches_needs_a_person(
    known_ref: str | None, what: str
) -> None:
    decision = _decide(PAID, Skipped("no rule matches"), pushed_hash="h", known_ref=known_ref)

    assert decision == Fix(
        (
            Problem(
                "delivery_groups",
                f"{what} is in Gordon but is no longer for Gordon (no rule matches)",
                "Cancel it in the Gordon platform by hand if it should not be delivered, or "
                "correct the delivery-group rules.",
                "problem.no_longer_for_gordon",
                {"reason": "no rule matches"},
            ),
        )
    )


def test_metadata_without_tracking_id_and_with_an_error() -> None:
    plan = desired_metadata(
        status=JobStatus.NEEDS_ATTENTION,
        tracking_id=None,
        external_ref=None,
        synced_at=None,
        error="fix it",
    )

    assert plan == MetadataPlan(
        public={},
        private={STATUS_KEY: JobStatus.NEEDS_ATTENTION.value, ERROR_KEY: "fix it"},
        delete_private=(),
    )


# --- retry ----------------------------------------------------------------------------------------


def test_a_retry_due_exactly_at_the_deadline_is_still_made() -> None:
    policy = RetryPolicy(first_delay=10.0, max_delay=10.0, max_age=timedelta(seconds=100), jitter=0)
    start = datetime(2026, 12, 1, tzinfo=UTC)

    assert policy.decide(attempts=1, pending_since=start, now=start + timedelta(seconds=90)) == (
        RetryAt(when=start + timedelta(seconds=100), delay_seconds=10.0)
    )
    assert policy.decide(
        attempts=3, pending_since=start, now=start + timedelta(seconds=91)
    ) == GiveUp("gave up after 3 attempts over 1.7 minutes")


# --- delivery dates -------------------------------------------------------------------------------


class _NoOffset(tzinfo):
    """A time zone that knows no offset: the datetime is aware in name only."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None


@pytest.mark.parametrize(
    ("ordered_at", "weekdays", "lead_days", "message"),
    [
        (datetime(2026, 12, 1, 9), (1,), 0, "ordered_at must be timezone-aware"),  # noqa: DTZ001
        (
            datetime(2026, 12, 1, 9, tzinfo=_NoOffset()),
            (1,),
            0,
            "ordered_at must be timezone-aware",
        ),
        (NOW, (1,), -1, "lead_days must not be negative"),
        (NOW, (), 0, "no allowed delivery day within a year; check delivery_days.weekdays"),
    ],
    ids=["naive", "no-offset", "negative-lead", "no-weekday"],
)
def test_delivery_date_errors_say_what_is_wrong(
    ordered_at: datetime, weekdays: tuple[int, ...], lead_days: int, message: str
) -> None:
    with pytest.raises(ValueError, match=r"\w") as caught:
        first_delivery_date(
            ordered_at,
            timezone="Europe/Stockholm",
            cutoff=time(14, 0),
            weekdays=weekdays,
            lead_days=lead_days,
        )

    assert str(caught.value) == message


# --- clock times ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("23:00 - 23:59", "23:00 - 23:59"),
        ("00:59 - 01:00", "00:59 - 01:00"),
        ("17:30 - 21:45", "17:30 - 21:45"),
    ],
)
def test_windows_at_the_last_hour_and_minute(text: str, expected: str) -> None:
    assert format_time_window(text) == expected


@pytest.mark.parametrize(
    "text", ["24:00 - 23:00", "22:00 - 24:00", "10:60 - 11:00", "10:00 - 10:60"]
)
def test_impossible_times_in_a_window(text: str) -> None:
    with pytest.raises(ValueError, match=r"\w") as caught:
        format_time_window(text)

    assert str(caught.value) == (
        f"{text!r} holds an impossible time; hours run 00-23, minutes 00-59, e.g. 08:00 - 12:00"
    )


@pytest.mark.parametrize(
    ("cutoff", "stored"), [("23:59", "23:59"), ("14:30", "14:30"), ("0:05", "00:05")]
)
def test_cutoffs_at_the_last_hour_and_minute(cutoff: str, stored: str) -> None:
    data = config_data()
    data["delivery_days"]["cutoff"] = cutoff

    assert parse_shop_config(data).delivery_days.cutoff == stored


@pytest.mark.parametrize("cutoff", ["24:00", "12:60", "24:60"])
def test_impossible_cutoffs(cutoff: str) -> None:
    data = config_data()
    data["delivery_days"]["cutoff"] = cutoff

    assert _problems(data) == [
        f"delivery_days.cutoff: {cutoff!r} is not a time of day; write HH:MM, e.g. 14:00"
    ]


# --- what counts as an order ----------------------------------------------------------------------


def test_a_number_without_an_id_is_an_order() -> None:
    assert SaleorOrder.from_graphql({"number": "45"}).number == "45"


@pytest.mark.parametrize(
    ("data", "keys"),
    [({}, "none"), (dict.fromkeys("ihgfedcba", 1), "a, b, c, d, e, f, g, h")],
    ids=["empty", "nine-keys"],
)
def test_an_object_without_id_or_number_lists_its_first_eight_keys(
    data: dict[str, Any], keys: str
) -> None:
    with pytest.raises(OrderPayloadInvalid) as caught:
        SaleorOrder.from_graphql(data)

    assert str(caught.value) == (
        f"expected a Saleor order object with 'id' and 'number'; its keys are: {keys}"
    )


def test_now_is_read_in_its_own_offset() -> None:
    """00:30 at +05:00 is still 30 November in Stockholm: a delivery that day is not in the past."""
    now = datetime(2026, 12, 1, 0, 30, tzinfo=timezone(timedelta(hours=5)))
    data = order_data(metadata=[{"key": "gordon.delivery_date", "value": "2026-11-30"}])

    result = translate_order(SaleorOrder.from_graphql(data), config(), now=now)

    assert isinstance(result, Translated)
    assert result.gordon_order.deliverydate == "2026-11-30"


@pytest.mark.parametrize(
    ("seconds", "english"),
    [
        (1, "1 second"),
        (45, "45 seconds"),
        (100, "1.7 minutes"),
        (1800, "30 minutes"),
        (3590, "59.8 minutes"),
        (3600, "1 hour"),
        (5400, "1.5 hours"),
        (48 * 3600, "48 hours"),
    ],
)
def test_a_retry_budget_is_worded_in_the_unit_it_reaches(seconds: float, english: str) -> None:
    """Below an hour in minutes, never "0.0277778 hours" (the pages do the same through Intl)."""
    assert english_duration(seconds) == english
