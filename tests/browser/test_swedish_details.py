"""What a Swedish shop owner reads where the pages used to show the server's English: the *Send to
Gordon* preview and its problem list, an order's problems inside the job's message, the
technical detail of Gordon's answer, and a retry budget below one hour.

The Dashboard test host opens every frame in Swedish (``localeChanged`` after the handshake, as
the real Dashboard does for staff who chose Svenska). Each expected text is built from the Swedish
catalogue with the parameters the server stored, and Intl in the browser for a country's name and
a duration; Gordon's own words stay as Gordon wrote them. Nothing may be shown as stored English
(``.stored-message``, ``lang="en"``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from playwright.async_api import Frame, Locator, Page, expect

from tests.browser.conftest import AppInDashboard, Screenshot
from tests.browser.test_catalogues import plural_form
from tests.browser.test_locales_and_look import (
    CATALOGUES,
    assert_no_internal_identifiers,
    switch_locale,
)
from tests.e2e.conftest import Stack

SV = CATALOGUES["sv"]
RETRY_MAX_AGE_HOURS = 0.0003  # about a second
UNAVAILABLE = "Service Unavailable (injected by the Gordon sandbox)"  # Gordon's own words


def say(key: str, **params: str) -> str:
    """The Swedish catalogue's message ``key`` with ``params`` put in, as the page does."""
    return re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], plural_form(SV[key], params))


@dataclasses.dataclass
class Shop:
    stack: Stack
    failed: dict[str, Any]  # Gordon was down and the retry budget was spent at once
    to_fix: dict[str, Any]  # no city, and a time window Gordon cannot read
    warned: dict[str, Any]  # ready to send, but its phone number is not valid


@pytest_asyncio.fixture
async def shop(dashboard: AppInDashboard) -> AsyncIterator[Shop]:
    settings = {  # the first retry would come after the budget: the first failure is the last
        "SALEOR_GORDON_RETRY_MAX_AGE_HOURS": str(RETRY_MAX_AGE_HOURS),
        "SALEOR_GORDON_RETRY_FIRST_DELAY_SECONDS": "5",
        "SALEOR_GORDON_RETRY_MAX_DELAY_SECONDS": "5",
    }
    async with dashboard.with_app(settings=settings) as stack:
        failed = stack.paid_order()
        stack.gordon.state.script_faults([503])
        await stack.emit("ORDER_FULLY_PAID", failed["id"])
        await stack.wait_until(lambda: _status(stack, failed, "failed"))
        to_fix = stack.paid_order()
        address = {**to_fix["shippingAddress"], "city": ""}
        metadata = [
            {"key": "gordon.time_window", "value": "kväll"} if item["key"] == "gordon.time_window"
            else item
            for item in to_fix["metadata"]
        ]  # fmt: skip
        stack.saleor.state.update_order(to_fix["id"], shippingAddress=address, metadata=metadata)
        await stack.emit("ORDER_FULLY_PAID", to_fix["id"])
        await stack.wait_until(lambda: _status(stack, to_fix, "needs_attention"))
        warned = stack.paid_order()
        phone = {**warned["shippingAddress"], "phone": "070-99", "country": {"code": "SE"}}
        stack.saleor.state.update_order(warned["id"], shippingAddress=phone, billingAddress=None)
        yield Shop(stack, failed, to_fix, warned)


async def _status(stack: Stack, order: dict[str, Any], status: str) -> bool:
    jobs = [job for job in await stack.jobs() if job["order_id"] == order["id"]]
    return bool(jobs) and jobs[0]["status"] == status


async def assert_nothing_in_english(frame: Frame, where: Locator) -> None:
    """Nothing shown as the server's English, and no internal name anywhere on the page."""
    await expect(where.locator(".stored-message")).to_have_count(0)
    await expect(where.locator('[lang="en"]')).to_have_count(0)
    await assert_no_internal_identifiers(frame)


async def intl(frame: Frame, script: str) -> str:
    """What the browser's Intl says in Swedish, independently of the page's own code."""
    return str(await frame.evaluate(script))


async def test_the_send_preview_and_its_problems_in_swedish(
    shop: Shop,
    dashboard: AppInDashboard,
    page: Page,
    screenshot: Screenshot,
    page_errors: list[str],
) -> None:
    sweden = await intl(page.main_frame, "new Intl.DisplayNames(['sv'], {type: 'region'}).of('SE')")
    assert sweden == "Sverige"

    # an order ready for Gordon: what sending does, and the warning, in Swedish
    ready = await dashboard.open("popup", order=shop.warned, locale="sv")
    frame = ready.frame
    preview = frame.locator(".preview")
    number = shop.warned["number"]
    await expect(preview.locator(".notice").first).to_have_text(
        f"{say('send.headline_send', number=f'#{number}')} {say('preview.send', ref=number)}"
    )
    warnings = preview.locator("ul.problems > li")
    await expect(warnings).to_have_text(
        [say("problem.shipping_phone_invalid", country=sweden)], use_inner_text=True
    )
    await expect(frame.get_by_role("heading", name=SV["send.warnings"])).to_be_visible()
    await assert_nothing_in_english(frame, preview)
    await screenshot("ready-sv", target=ready.page.locator("iframe"))

    # an order Gordon cannot take yet: every problem in Swedish, the owner's own value kept
    fixing = await dashboard.open("popup", order=shop.to_fix, new_tab=True, locale="sv")
    frame = fixing.frame
    preview = frame.locator(".preview")
    problems = [
        say("problem.order_time_window", value="kväll"),
        say("problem.no_city"),
    ]
    await expect(frame.get_by_role("heading", name=SV["send.to_fix"])).to_be_visible()
    await expect(preview.locator("ul.problems > li")).to_have_text(problems, use_inner_text=True)
    await expect(preview).to_contain_text(SV["send.headline_fix"])
    await assert_nothing_in_english(frame, preview)
    await screenshot("to-fix-sv", target=fixing.page.locator("iframe"))
    assert page_errors == []


async def test_the_orders_problems_gordons_answer_and_a_short_retry_budget_in_swedish(
    shop: Shop,
    dashboard: AppInDashboard,
    screenshot: Screenshot,
    page_errors: list[str],
) -> None:
    view = await dashboard.open(locale="sv")
    frame = view.frame

    # the order's problems inside the job's Swedish sentence, each in Swedish
    row = frame.get_by_role("row").filter(has_text=f"#{shop.to_fix['number']}")
    problems = " ".join([say("problem.order_time_window", value="kväll"), say("problem.no_city")])
    await expect(row.locator("td.message .text")).to_have_text(
        say("job.order_problems", problems=problems)
    )

    # Gordon's answer: the sentence around Gordon's own words in Swedish, and the retry budget
    # (about a second) as a duration in Swedish, where "{hours} timmar" read "0 timmar"
    budget = await intl(
        frame,
        f"""new Intl.NumberFormat('sv', {{style: 'unit', unit: 'second', unitDisplay: 'long',
              maximumFractionDigits: 1}}).format({RETRY_MAX_AGE_HOURS * 3600})""",
    )
    assert budget == "1,1 sekunder"
    answered = say("gordon.answered_status_said", status="503", gordon_message=UNAVAILABLE)
    unavailable = say("job.gordon_unavailable", detail=answered)
    gave_up = say("job.gave_up", cause=unavailable, attempts="1", hours=budget)
    row = frame.get_by_role("row").filter(has_text=f"#{shop.failed['number']}")
    await expect(row.locator("td.message .text")).to_have_text(gave_up)
    await expect(row).not_to_contain_text("0 timmar")
    await row.get_by_role("button", name=f"Historik för order #{shop.failed['number']}").click()
    history = frame.locator("tr.history")
    await expect(history).to_contain_text(SV["history.push.gave_up"])
    await expect(history).to_contain_text(gave_up)
    await assert_nothing_in_english(frame, frame.locator("#panel"))
    await screenshot("orders-sv")
    # one attempt, in English: "1 attempt", not "1 attempts" (the message counts `attempts`)
    await switch_locale(view, "en")
    await expect(row.locator("td.message .text")).to_contain_text(
        "The app stopped trying after 1 attempt over 1.1 seconds."
    )
    assert page_errors == []
