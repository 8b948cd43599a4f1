"""The date Gordon is asked to deliver an order on (``deliverydate``).

Rule (``first_delivery_date``): take a moment in the shop's time zone; at or after the cutoff it counts as
the next day; add ``lead_days`` calendar days; then move forward to the first allowed ISO weekday
(1 = Monday … 7 = Sunday) that is not a public holiday of ``holiday_country``.

The date sent (``delivery_date``) applies that rule to the order's creation time AND to the time of the
translation, and takes the later day: an order placed on Friday evening and paid on Tuesday is not sent
with Monday's date. A date Gordon already has is sent again while it is still allowed, so a re-push after
the cutoff neither moves a planned delivery nor changes the content hash.

Holidays come from the ``holidays`` package: the "public" category plus, where the country has one, the
"de_facto" category (in Sweden: Midsummer Eve, Christmas Eve and New Year's Eve, days nobody works although
they are not statutory holidays).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from holidays.registry import EntityLoader

__all__ = [
    "HOLIDAY_COUNTRIES",
    "delivery_date",
    "first_delivery_date",
    "holiday_dates",
    "is_delivery_day",
]

HOLIDAY_COUNTRIES: frozenset[str] = frozenset(EntityLoader.get_country_codes(include_aliases=True))
"""The country codes the holiday calendar knows (``holidays.list_supported_countries()``'s,
aliases included), from the package's registry: listing them through that function imports
every country's module with its subdivisions (9 MB in a process that needs one or two)."""

_SEARCH_DAYS = 370  # a year and a bit: any non-empty weekday set has a free day in that span
_HOLIDAY_CATEGORIES = ("public", "de_facto")


@lru_cache(maxsize=128)
def holiday_dates(country: str, year: int) -> frozenset[date]:
    """The holidays of ``country`` (ISO alpha-2) in ``year``.

    Raises:
        NotImplementedError: the ``holidays`` package does not know ``country``.
    """
    calendar = holidays.country_holidays(country, years=year)
    categories = tuple(c for c in _HOLIDAY_CATEGORIES if c in calendar.supported_categories)
    calendar = holidays.country_holidays(country, years=year, categories=categories)
    return frozenset(calendar.keys())


def is_delivery_day(day: date, *, weekdays: Collection[int], holiday_country: str | None) -> bool:
    """True when ``day`` is an allowed weekday and not a holiday."""
    if day.isoweekday() not in weekdays:
        return False
    return holiday_country is None or day not in holiday_dates(holiday_country, day.year)


def first_delivery_date(
    ordered_at: datetime,
    *,
    timezone: str,
    cutoff: time,
    weekdays: Collection[int],
    lead_days: int,
    holiday_country: str | None = None,
) -> date:
    """The first allowed delivery date for an order placed at ``ordered_at``.

    Raises:
        ValueError: ``ordered_at`` is naive, ``lead_days`` is negative, or no day within a year is allowed.
    """
    if ordered_at.tzinfo is None or ordered_at.utcoffset() is None:
        raise ValueError("ordered_at must be timezone-aware")
    if lead_days < 0:
        raise ValueError("lead_days must not be negative")
    local = ordered_at.astimezone(ZoneInfo(timezone))
    day = local.date() + timedelta(days=lead_days)
    if local.time().replace(tzinfo=None) >= cutoff:
        day += timedelta(days=1)
    for _ in range(_SEARCH_DAYS):
        if is_delivery_day(day, weekdays=weekdays, holiday_country=holiday_country):
            return day
        day += timedelta(days=1)
    raise ValueError("no allowed delivery day within a year; check delivery_days.weekdays")


def delivery_date(
    ordered_at: datetime,
    *,
    now: datetime,
    kept: date | None = None,
    timezone: str,
    cutoff: time,
    weekdays: Collection[int],
    lead_days: int,
    holiday_country: str | None = None,
) -> date:
    """The delivery date to send for an order placed at ``ordered_at``, translated at ``now``.

    ``kept`` is the date Gordon already has for the order (its last accepted push). It is sent again
    while it is still allowed: a delivery day (weekday, not a holiday), not in the past as of ``now``
    (today counts) and not before the first allowed day of the order's own creation time. Otherwise the
    first allowed day counted from the later of ``ordered_at`` and ``now``.

    Raises:
        ValueError: as ``first_delivery_date``; also when ``now`` is naive.
    """

    def first_from(moment: datetime) -> date:
        return first_delivery_date(
            moment,
            timezone=timezone,
            cutoff=cutoff,
            weekdays=weekdays,
            lead_days=lead_days,
            holiday_country=holiday_country,
        )

    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    from_order = first_from(ordered_at)
    if kept is not None:
        today = now.astimezone(ZoneInfo(timezone)).date()
        if kept >= max(today, from_order) and is_delivery_day(
            kept, weekdays=weekdays, holiday_country=holiday_country
        ):
            return kept
    return max(from_order, first_from(now))
