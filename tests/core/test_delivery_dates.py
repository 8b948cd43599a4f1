"""Stories of first_delivery_date: weekends, cutoff, lead days and Swedish public holidays."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import holidays
import pytest

from saleor_gordon.core.delivery_dates import (
    HOLIDAY_COUNTRIES,
    delivery_date,
    first_delivery_date,
    holiday_dates,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def _first(
    ordered_at: datetime,
    *,
    lead_days: int = 1,
    weekdays: tuple[int, ...] = (1, 2, 3, 4, 5),
    country: str | None = "SE",
) -> date:
    return first_delivery_date(
        ordered_at,
        timezone="Europe/Stockholm",
        cutoff=time(14),
        weekdays=weekdays,
        lead_days=lead_days,
        holiday_country=country,
    )


@pytest.mark.parametrize(
    ("ordered_at", "expected"),
    [
        (datetime(2026, 12, 1, 10, tzinfo=STOCKHOLM), date(2026, 12, 2)),
        (datetime(2026, 12, 1, 13, 59, tzinfo=STOCKHOLM), date(2026, 12, 2)),
        (datetime(2026, 12, 1, 14, 0, tzinfo=STOCKHOLM), date(2026, 12, 3)),
        (datetime(2026, 12, 1, 23, 30, tzinfo=UTC), date(2026, 12, 3)),
        (datetime(2026, 12, 3, 15, tzinfo=STOCKHOLM), date(2026, 12, 7)),
        (datetime(2026, 12, 4, 10, tzinfo=STOCKHOLM), date(2026, 12, 7)),
        (datetime(2026, 12, 5, 10, tzinfo=STOCKHOLM), date(2026, 12, 7)),
        (datetime(2026, 12, 22, 10, tzinfo=STOCKHOLM), date(2026, 12, 23)),
        (datetime(2026, 12, 23, 10, tzinfo=STOCKHOLM), date(2026, 12, 28)),
        (datetime(2026, 12, 30, 10, tzinfo=STOCKHOLM), date(2027, 1, 4)),
        (datetime(2026, 6, 18, 10, tzinfo=STOCKHOLM), date(2026, 6, 22)),
        (datetime(2026, 4, 2, 10, tzinfo=STOCKHOLM), date(2026, 4, 7)),
    ],
    ids=[
        "next-day",
        "just-before-cutoff",
        "at-cutoff",
        "utc-evening-is-next-local-day",
        "thursday-after-cutoff-skips-weekend",
        "friday-to-monday",
        "saturday-to-monday",
        "day-before-christmas-eve",
        "christmas-eve-christmas-boxing-day",
        "new-years-eve-and-day",
        "midsummer-eve-and-day",
        "easter",
    ],
)
def test_first_delivery_date(ordered_at: datetime, expected: date) -> None:
    """Cutoff 14:00, one lead day, Monday to Friday, Swedish holidays."""
    assert expected == _first(ordered_at)


@pytest.mark.parametrize(
    ("lead_days", "weekdays", "country", "expected"),
    [
        (0, (1, 2, 3, 4, 5), "SE", date(2026, 12, 23)),
        (1, (1, 2, 3, 4, 5), None, date(2026, 12, 24)),
        (1, (6,), "SE", date(2027, 1, 2)),
        (3, (1, 2, 3, 4, 5, 6, 7), "SE", date(2026, 12, 27)),
    ],
    ids=["same-day", "no-holiday-calendar", "saturdays-only", "every-day"],
)
def test_settings_change_the_date(
    lead_days: int, weekdays: tuple[int, ...], country: str | None, expected: date
) -> None:
    """Lead days, weekdays and the holiday country are honoured (order: Wed 23 Dec 2026, 10:00)."""
    assert expected == _first(
        datetime(2026, 12, 23, 10, tzinfo=STOCKHOLM),
        lead_days=lead_days,
        weekdays=weekdays,
        country=country,
    )


def test_swedish_holidays_include_the_eves() -> None:
    """Public holidays plus the de-facto ones: Christmas Eve, Midsummer Eve, New Year's Eve."""
    assert {
        date(2026, 12, 24),
        date(2026, 12, 25),
        date(2026, 12, 26),
        date(2026, 6, 19),
        date(2026, 6, 20),
    } <= holiday_dates("SE", 2026)
    assert date(2027, 1, 1) in holiday_dates("SE", 2027)


def test_naive_time_is_refused() -> None:
    """A naive order time would be read in the machine's zone: refused."""
    with pytest.raises(ValueError, match="timezone-aware"):
        _first(datetime(2026, 12, 1, 10))  # noqa: DTZ001


# --- the date sent: from the order, from now, or the one Gordon has --------------------------------

FRIDAY_EVENING = datetime(2026, 12, 4, 15, 30, tzinfo=STOCKHOLM)  # after the cutoff: Monday 7 Dec


def _sent(now: datetime, kept: date | None = None, *, lead_days: int = 1) -> date:
    return delivery_date(
        FRIDAY_EVENING,
        now=now,
        kept=kept,
        timezone="Europe/Stockholm",
        cutoff=time(14),
        weekdays=(1, 2, 3, 4, 5),
        lead_days=lead_days,
        holiday_country="SE",
    )


@pytest.mark.parametrize(
    ("now", "kept", "expected"),
    [
        (datetime(2026, 12, 4, 16, tzinfo=STOCKHOLM), None, date(2026, 12, 7)),
        (datetime(2026, 12, 8, 10, tzinfo=STOCKHOLM), None, date(2026, 12, 9)),
        (datetime(2026, 12, 8, 15, tzinfo=STOCKHOLM), None, date(2026, 12, 10)),
        (datetime(2026, 12, 3, 10, tzinfo=STOCKHOLM), None, date(2026, 12, 7)),
        (datetime(2026, 12, 8, 15, tzinfo=STOCKHOLM), date(2026, 12, 9), date(2026, 12, 9)),
        (datetime(2026, 12, 9, 18, tzinfo=STOCKHOLM), date(2026, 12, 9), date(2026, 12, 9)),
        (datetime(2026, 12, 8, 10, tzinfo=STOCKHOLM), date(2026, 12, 7), date(2026, 12, 9)),
        (datetime(2026, 12, 4, 16, tzinfo=STOCKHOLM), date(2026, 12, 12), date(2026, 12, 7)),
        (datetime(2026, 12, 4, 16, tzinfo=STOCKHOLM), date(2026, 12, 24), date(2026, 12, 7)),
        (datetime(2026, 12, 4, 16, tzinfo=STOCKHOLM), date(2026, 12, 11), date(2026, 12, 11)),
    ],
    ids=[
        "sent-at-once-from-the-order",
        "paid-on-tuesday-not-monday",
        "paid-on-tuesday-after-cutoff",
        "clock-behind-the-order-time",
        "kept-after-the-cutoff",
        "kept-on-its-own-day",
        "kept-date-passed",
        "kept-saturday-not-a-delivery-day",
        "kept-christmas-eve-a-holiday",
        "kept-later-day-still-allowed",
    ],
)
def test_delivery_date_sent(now: datetime, kept: date | None, expected: date) -> None:
    """Ordered Friday 4 Dec after the cutoff; the day sent as of ``now``, given the date Gordon has."""
    assert _sent(now, kept) == expected


def test_kept_date_before_the_orders_own_first_day_is_not_kept() -> None:
    """Lead days raised to 3 after the push: Monday no longer satisfies the order's rule."""
    now = datetime(2026, 12, 4, 16, tzinfo=STOCKHOLM)

    assert _sent(now, date(2026, 12, 7), lead_days=3) == date(2026, 12, 8)


def test_delivery_date_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        _sent(datetime(2026, 12, 8, 10))  # noqa: DTZ001


def test_the_holiday_countries_are_the_calendars() -> None:
    """Every code the holidays package lists (aliases included), and nothing else."""
    assert frozenset(holidays.list_supported_countries()) == HOLIDAY_COUNTRIES
    assert {"SE", "NO", "DK", "SWE", "GB", "UK"} <= HOLIDAY_COUNTRIES


def test_serving_and_validating_a_configuration_load_no_countrys_calendar() -> None:
    """The web app's start (its Dashboard knowledge lists the countries) and a configuration
    naming SE validated import no country's calendar: listing them through the holidays
    package imports all of them (9 MB in a web process). The first holiday asked for does (the
    package's ``holidays.countries`` imports every country)."""
    script = """
import sys
from datetime import UTC, datetime
import saleor_gordon.web.app
from saleor_gordon.core.shop_config import parse_shop_config
from tests.support.shop import shop_config
loaded = lambda: sum(1 for m in sys.modules if m.startswith("holidays.countries."))
days = {"timezone": "Europe/Stockholm", "cutoff": "14:00", "lead_days": 1, "holiday_country": "se"}
config = parse_shop_config(shop_config("https://gordon.example.com", delivery_days=days))
print(config.delivery_days.holiday_country, loaded())
print(config.delivery_days.first_date(datetime(2026, 12, 23, 9, tzinfo=UTC)), loaded() > 200)
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["SE", "0", "2026-12-28", "True"]
