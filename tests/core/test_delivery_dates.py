"""Stories of first_delivery_date: weekends, cutoff, lead days and Swedish public holidays."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from saleor_gordon.core.delivery_dates import first_delivery_date, holiday_dates

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
