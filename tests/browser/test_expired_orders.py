"""An order that expired in Saleor (an unconfirmed order nobody confirmed in time) leaves Gordon
like a cancelled one, and the pages say it expired, never that it was cancelled: the *Send to
Gordon* popup's headline, the job's message and status on the widget and in the popup, and the
Orders list's status, counter and filter, in English and Swedish (the list in light and dark),
beside a cancelled order that still says cancelled. Screenshots land in ``tests/browser/screenshots``."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect

from tests.browser.conftest import AppInDashboard, Screenshot
from tests.browser.test_catalogues import plural_form
from tests.browser.test_locales_and_look import CATALOGUES, look, switch_locale
from tests.e2e.conftest import Stack


def say(locale: str, key: str, **params: str) -> str:
    """The catalogue's message ``key`` with ``params`` put in, as the page does."""
    message = plural_form(CATALOGUES[locale][key], params)
    return re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], message)


async def _settled(stack: Stack, order: dict[str, Any], status: str) -> bool:
    jobs = [job for job in await stack.jobs() if job["order_id"] == order["id"]]
    return bool(jobs) and not jobs[0]["in_progress"] and jobs[0]["status"] == status


async def _withdrawn(stack: Stack, status: str, event: str, job_status: str) -> dict[str, Any]:
    """An order Gordon has, then ``status`` in Saleor (which sends ``event``): withdrawn, its job
    settled ``job_status``."""
    order = stack.paid_order()
    await stack.emit("ORDER_FULLY_PAID", order["id"])
    await stack.wait_until(lambda: _settled(stack, order, "synced"), timeout=30)
    stack.saleor.state.update_order(order["id"], status=status)
    await stack.emit(event, order["id"])
    await stack.wait_until(lambda: _settled(stack, order, job_status), timeout=30)
    assert order["number"] not in stack.gordon.state.orders
    return order


async def test_an_expired_order_is_said_to_have_expired_not_to_be_cancelled(
    dashboard: AppInDashboard, screenshot: Screenshot, page_errors: list[str]
) -> None:
    async with dashboard.with_app() as stack:
        expired = await _withdrawn(stack, "EXPIRED", "ORDER_EXPIRED", "expired")
        cancelled = await _withdrawn(stack, "CANCELED", "ORDER_CANCELLED", "cancelled")
        # an unconfirmed, unpaid order that expired before it was ever sent
        unsent = stack.saleor.state.add_order(status="EXPIRED", isPaid=False, chargeStatus="NONE")
        await stack.emit("ORDER_EXPIRED", unsent["id"])
        await stack.wait_until(lambda: _settled(stack, unsent, "expired"), timeout=30)

        # the popup: its headline says why the order leaves Gordon (the Dashboard's language
        # switched live)
        for order, headline, reason in (
            (expired, "send.headline_withdraw_expired", "preview.withdraw.expired"),
            (cancelled, "send.headline_withdraw", "preview.withdraw.canceled"),
        ):
            popup = await dashboard.open("popup", order=order, new_tab=True)
            number = order["number"]
            notice = popup.frame.locator(".preview .notice").first
            for locale in ("en", "sv"):
                await switch_locale(popup, locale)
                await expect(notice).to_have_text(
                    f"{say(locale, headline, number=f'#{number}')} "
                    f"{say(locale, reason, ref=number)}"
                )
                status = "status.expired" if order is expired else "status.cancelled"
                await expect(popup.frame.locator("#order-status-title .pill")).to_have_text(
                    say(locale, status)
                )
                if order is expired:
                    assert say(locale, "send.headline_withdraw") not in await notice.inner_text()
                    await screenshot(f"popup-expired-{locale}", target=popup.page.locator("iframe"))

        # the widget: the job's message says it expired
        for order, key, params in (
            (expired, "job.withdrawn.expired", {"ref": expired["number"]}),
            (unsent, "job.expired_before_sent", {}),
        ):
            widget = await dashboard.open("widget", order=order, new_tab=True)
            for locale in ("en", "sv"):
                await switch_locale(widget, locale)
                message = widget.frame.locator(".widget .message")
                await expect(message).to_have_text(say(locale, key, **params))
                await expect(widget.frame.locator(".widget .pill")).to_have_text(
                    say(locale, "status.expired")
                )
                if order is unsent:
                    await screenshot(
                        f"widget-expired-unsent-{locale}", target=widget.page.locator("iframe")
                    )
        # the Orders list: each order's status, the counters, and the filter by status
        app = await dashboard.open(new_tab=True)
        frame = app.frame
        for locale in ("en", "sv"):
            await switch_locale(app, locale)
            for order, status in (
                (expired, "expired"),
                (unsent, "expired"),
                (cancelled, "cancelled"),
            ):
                row = frame.get_by_role("row").filter(has_text=f"#{order['number']}")
                await expect(row.locator(".pill")).to_have_text(say(locale, f"status.{status}"))
            for status, number in (("expired", "2"), ("cancelled", "1")):
                label = frame.get_by_text(say(locale, f"status.{status}"), exact=True)
                counter = frame.locator(".counts button", has=label)
                await expect(counter.locator(".number")).to_have_text(number)
        await frame.locator("#orders-status").select_option("expired")
        rows = frame.locator("tbody tr:not(.history)")
        await expect(rows).to_have_count(2)
        await expect(rows.locator(".pill")).to_have_text([say("sv", "status.expired")] * 2)
        await expect(rows.filter(has_text=f"#{cancelled['number']}")).to_have_count(0)
        # the expired rows, pills and counter looked at in both themes, with the accessibility
        # audit (the Expired pill's contrast in light and dark among its checks)
        await look(app, screenshot, "orders-expired", target=app.page.locator("iframe"))
        assert page_errors == []
