"""An order's history in the staff user's language: what the app did with a retried and a refused
order, worded by the page from the codes the server stored (``core/messages.py``), in English and
in Swedish, switched live by the Dashboard test host (``localeChanged``) as the real Dashboard does.

Gordon's own answer is shown as Gordon wrote it; an entry stored before messages had codes is
shown as its English text, marked as English.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest_asyncio
from playwright.async_api import Frame, Locator, expect

from saleor_gordon.fakes.gordon_sandbox import tracking_id_for
from saleor_gordon.store.tables import job_history
from tests.browser.conftest import AppInDashboard, Screenshot
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
