"""An order's history in the staff user's language: what the app did with a retried and a refused
order, worded by the page from the codes the server stored (``core/messages.py``), in English and
in Swedish, switched live by the Dashboard test host (``localeChanged``) as the real Dashboard does.

Gordon's own answer is shown as Gordon wrote it; an entry stored before messages had codes is
shown as its English text, marked as English. Each entry shows its exact time, to the second, in
the shop's time zone (attempts are often seconds apart: "now, now, now" said nothing), with its date
when it is not today's and how long ago on hover.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest_asyncio
from playwright.async_api import Frame, Locator, Page, expect
from sqlalchemy import update

from saleor_gordon.fakes.gordon_sandbox import tracking_id_for
from saleor_gordon.store.tables import job_history
from tests.browser.accessibility import axe_problems
from tests.browser.conftest import AppInDashboard, Screenshot
from tests.browser.dashboard_host import DashboardView
from tests.browser.test_catalogues import plural_form
from tests.browser.test_locales_and_look import (
    CATALOGUES,
    assert_no_internal_identifiers,
    switch_locale,
)
from tests.e2e.conftest import Stack

REFUSAL = "Unable to find deliverygroup"  # the Gordon sandbox's own words for an unknown group
UNAVAILABLE = "Service Unavailable (injected by the Gordon sandbox)"  # Gordon's own words
OLD_ENTRY = "Gordon refused: Gordon refused the request"  # as the worker wrote it before codes


@dataclasses.dataclass
class Orders:
    stack: Stack
    retried: dict[str, Any]
    refused: dict[str, Any]


@pytest_asyncio.fixture
async def orders(dashboard: AppInDashboard) -> AsyncIterator[Orders]:
    async with dashboard.with_app() as stack:
        retried, refused = stack.paid_order(), stack.paid_order()
        # Gordon is down for the first request, then takes the order at the next attempt.
        stack.gordon.state.script_faults([503])
        await stack.emit("ORDER_FULLY_PAID", retried["id"])
        await stack.wait_until(lambda: _synced_after_a_retry(stack, retried))
        # Gordon refuses the next one: it knows no such delivery group.
        accepting = stack.gordon.state.options
        stack.gordon.state.options = dataclasses.replace(accepting, delivery_groups=("Other",))
        await stack.emit("ORDER_FULLY_PAID", refused["id"])
        await stack.wait_until(lambda: _status(stack, refused, "needs_attention"))
        stack.gordon.state.options = accepting
        # and one entry of its history as an older version of the app stored it: English only
        job = await stack.job_for(refused)
        async with stack.engine.begin() as connection:
            await connection.execute(
                job_history.insert().values(
                    job_id=job["id"],
                    at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
                    attempt=0,
                    action="push",
                    outcome="rejected",
                    message=OLD_ENTRY,
                )
            )
        yield Orders(stack, retried, refused)


async def _status(stack: Stack, order: dict[str, Any], status: str) -> bool:
    jobs = [job for job in await stack.jobs() if job["order_id"] == order["id"]]
    return bool(jobs) and jobs[0]["status"] == status


async def _synced_after_a_retry(stack: Stack, order: dict[str, Any]) -> bool:
    if not await _status(stack, order, "synced"):
        return False
    outcomes = [entry["outcome"] for entry in (await stack.job_for(order))["history"]]
    return outcomes == ["retryable", "written", "accepted", "written"]


def say(locale: str, key: str, **params: str) -> str:
    """The catalogue's message ``key`` in ``locale`` with ``params`` put in (as the page does)."""
    message = plural_form(CATALOGUES[locale][key], params)
    return re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], message)


def entries(history: Locator) -> Locator:
    return history.locator("ol.history-list > li")


async def read_history(frame: Frame, stack: Stack, order: dict[str, Any]) -> Locator:
    """Open the order's history in the Orders table (the page is in English then)."""
    row = frame.get_by_role("row").filter(has_text=f"#{order['number']}")
    await row.get_by_role("button", name=f"History of order #{order['number']}").click()
    job = await stack.job_for(order)
    history = frame.locator(f"tr.history[data-history-of='{job['id']}']")
    await expect(entries(history).first).to_be_visible()
    return history


async def test_the_history_of_a_retried_and_a_refused_order_in_english_and_swedish(
    orders: Orders,
    dashboard: AppInDashboard,
    screenshot: Screenshot,
    page_errors: list[str],
) -> None:
    stack = orders.stack
    view = await dashboard.open()
    frame = view.frame
    retried_job = await stack.job_for(orders.retried)
    number = orders.retried["number"]
    tracking_id = tracking_id_for(number)
    assert retried_job["tracking_id"] == tracking_id
    [first_try] = [e for e in retried_job["history"] if e["outcome"] == "retryable"]
    assert first_try["code"] == "job.retrying"
    planned_at = first_try["params"]["retry_at"]

    history = await read_history(frame, stack, orders.retried)
    for locale in ("en", "sv"):
        await switch_locale(view, locale)
        # the shop's time zone (Europe/Stockholm), the locale's way of writing it, as i18n.js does
        planned = await frame.evaluate(
            """async ([locale, at]) => {
                 const { I18n } = await import("/static/dashboard/i18n.js");
                 const i18n = await I18n.create();
                 await i18n.setLocale(locale);
                 i18n.setTimeZone("Europe/Stockholm");
                 return i18n.dateTime(at);
               }""",
            [locale, planned_at],
        )
        # Gordon's answer in the locale's words around Gordon's own, as Gordon wrote them
        answered = say(
            locale, "gordon.answered_status_said", status="503", gordon_message=UNAVAILABLE
        )
        unavailable = say(locale, "job.gordon_unavailable", detail=answered)
        await expect(entries(history)).to_have_count(4)
        await expect(entries(history).nth(0)).to_contain_text(
            CATALOGUES[locale]["history.push.retryable"]
        )
        await expect(entries(history).nth(0)).to_contain_text(
            say(locale, "job.retrying", cause=unavailable, retry_at=planned)
        )
        await expect(entries(history).nth(2)).to_contain_text(
            CATALOGUES[locale]["history.push.accepted"]
        )
        await expect(entries(history).nth(2)).to_contain_text(
            say(locale, "job.pushed", ref=number, tracking_id=tracking_id)
        )
        # worded from the codes: nothing shown as stored English
        await expect(history.locator(".stored-message")).to_have_count(0)
        await assert_no_internal_identifiers(frame)
        await screenshot(f"retried-{locale}", target=history)
    await switch_locale(view, "en")

    refused = await read_history(frame, stack, orders.refused)
    for locale in ("en", "sv"):
        await switch_locale(view, locale)
        # the stored entry from before codes first (oldest), as it was written, marked English
        old = entries(refused).nth(0).locator(".stored-message")
        await expect(old).to_have_text(OLD_ENTRY)
        await expect(old).to_have_attribute("lang", "en")
        refusal = entries(refused).nth(1)
        await expect(refusal).to_contain_text(CATALOGUES[locale]["history.push.rejected"])
        # Gordon's own words inside the locale's sentence, as Gordon wrote them
        await expect(refusal).to_contain_text(
            say(locale, "job.gordon_refused", gordon_message=REFUSAL)
        )
        row = frame.get_by_role("row").filter(has_text=f"#{orders.refused['number']}")
        await expect(row.locator("td.message")).to_contain_text(
            say(locale, "job.gordon_refused", gordon_message=REFUSAL)
        )
        await screenshot(f"refused-{locale}", target=refused)
    await switch_locale(view, "en")
    assert len((await view.state())["loads"]) == 1  # every switch was live, without a reload
    assert page_errors == []


# The page's clock stands at NOW (09:30 in Stockholm, the shop's time zone: tests/support/shop.py);
# the retried order's four entries are set to these instants, oldest first. In UTC (the browser's
# own zone here is the machine's) the second and third are a day earlier than in Stockholm, the
# second even a year: the day and year shown are the shop's.
NOW = datetime(2026, 1, 2, 8, 30, 0, tzinfo=UTC)
ENTRY_TIMES = [
    datetime(2025, 12, 31, 22, 59, 58, tzinfo=UTC),  # Stockholm: last year, 23:59:58
    datetime(2025, 12, 31, 23, 0, 1, tzinfo=UTC),  # Stockholm: 1 January, 00:00:01
    datetime(2026, 1, 1, 23, 0, 2, tzinfo=UTC),  # Stockholm: today, 00:00:02
    datetime(2026, 1, 2, 8, 29, 51, tzinfo=UTC),  # Stockholm: today, 09:29:51, 9 s ago
]
SHOWN = {
    "en": [
        "Dec 31, 2025, 11:59:58 PM",
        "Jan 1, 12:00:01 AM",
        "12:00:02 AM",
        "9:29:51 AM",
    ],
    "sv": ["31 dec. 2025 23:59:58", "1 jan. 00:00:01", "00:00:02", "09:29:51"],
}
# on hover: how long ago, and the full date and time with the zone (en-US has no name for it)
LAST_TITLE = {
    "en": "now · Jan 2, 2026, 9:29:51 AM GMT+1",
    "sv": "nu · 2 jan. 2026 09:29:51 CET",
}


@pytest_asyncio.fixture
async def timed(dashboard: AppInDashboard, page: Page) -> AsyncIterator[Orders]:
    """A retried order whose four history entries happened at ENTRY_TIMES, seen at NOW."""
    async with dashboard.with_app() as stack:
        retried = stack.paid_order()
        stack.gordon.state.script_faults([503])
        await stack.emit("ORDER_FULLY_PAID", retried["id"])
        await stack.wait_until(lambda: _synced_after_a_retry(stack, retried))
        job = await stack.job_for(retried)
        ids = sorted(entry["id"] for entry in await _history_rows(stack, job["id"]))
        assert len(ids) == len(ENTRY_TIMES)
        async with stack.engine.begin() as connection:
            for entry_id, at in zip(ids, ENTRY_TIMES, strict=True):
                await connection.execute(
                    update(job_history).where(job_history.c.id == entry_id).values(at=at)
                )
        # Date.now() is NOW in the page; its timers run (the pages refresh as they would)
        await page.clock.set_fixed_time(NOW)
        yield Orders(stack, retried, retried)


async def _history_rows(stack: Stack, job_id: int) -> list[dict[str, Any]]:
    async with stack.engine.connect() as connection:
        rows = await connection.execute(job_history.select().where(job_history.c.job_id == job_id))
        return [dict(row._mapping) for row in rows]


async def assert_times(history: Locator, locale: str) -> None:
    """The entries' visible times exactly, each a <time> with its instant and how long ago."""
    times = entries(history).locator("time")
    await expect(times).to_have_text(SHOWN[locale], use_inner_text=True)
    for n, at in enumerate(ENTRY_TIMES):
        await expect(times.nth(n)).to_have_attribute("datetime", at.isoformat())
    await expect(times.nth(3)).to_have_attribute("title", LAST_TITLE[locale])


async def look_at_times(
    view: DashboardView, frame: Frame, history: Locator, screenshot: Screenshot, name: str
) -> None:
    """The times in en and sv, light and dark (switched live by the Dashboard), and a screenshot
    of each."""
    for theme in ("light", "dark"):
        await view.set_theme(theme)
        await expect(frame.locator("html")).to_have_attribute("data-theme", theme)
        for locale in ("en", "sv"):
            await view.set_locale(locale)
            await expect(frame.locator("html")).to_have_attribute("lang", locale)
            await assert_times(history, locale)
            target = view.page.locator(".modal iframe" if view.frame != frame else "iframe")
            await screenshot(f"{name}-{locale}-{theme}", target=target)
    await view.set_theme("light")
    await view.set_locale("en")
    await expect(frame.locator("html")).to_have_attribute("lang", "en")


async def test_each_history_entry_shows_its_exact_time_in_the_shops_zone_in_english_and_swedish(
    timed: Orders,
    dashboard: AppInDashboard,
    screenshot: Screenshot,
    page_errors: list[str],
) -> None:
    stack, order = timed.stack, timed.retried
    # the Orders page's history row
    view = await dashboard.open()
    history = await read_history(view.frame, stack, order)
    await look_at_times(view, view.frame, history, screenshot, "orders")
    assert await axe_problems(view.frame) == []

    # the order page: the widget's Details open the popup, its history open
    widget = await dashboard.open("widget", order=order, new_tab=True)
    await widget.frame.get_by_role("button", name=CATALOGUES["en"]["widget.details"]).click()
    popup = await widget.popup()
    await look_at_times(widget, popup, popup.locator("body"), screenshot, "popup")
    assert await axe_problems(popup) == []
    assert page_errors == []
