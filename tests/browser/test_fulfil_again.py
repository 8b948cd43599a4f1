"""*Try fulfilling again* in a real browser inside the Dashboard test host, in Swedish: an order
Gordon has whose fulfillment is blocked (no warehouse of its channel keeps its products) offers it on the order's
widget, in its popup and on the Orders table; once the shop adds a stock record (which sends the
app no order event) the action fulfils the order, the page shows it and the Dashboard reloads the order.
Screenshots land in ``tests/browser/screenshots``."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from tests.browser.accessibility import axe_problems
from tests.browser.conftest import AppInDashboard, Screenshot
from tests.browser.test_dashboard_pages import CONTENT_HEIGHT, frame_fits_content
from tests.browser.test_locales_and_look import assert_no_internal_identifiers, switch_locale
from tests.e2e.conftest import Stack


async def _settled_blocked(stack: Stack, order: dict[str, Any]) -> bool:
    jobs = [job for job in await stack.jobs() if job["order_id"] == order["id"]]
    if not jobs or jobs[0]["in_progress"]:
        return False
    job = await stack.job_for(order)
    return job["fulfillment_state"] == "blocked" and job["status"] == "synced"


W1 = "V2FyZWhvdXNlOjE="  # Lager Västberga, a warehouse of the order's channel


async def _blocked_order(stack: Stack) -> tuple[dict[str, Any], list[str]]:
    """A paid order, synced with Gordon, whose products Saleor does not track the inventory of
    and no warehouse keeps (no stock record): the app cannot fulfil it, and the job settled."""
    order = stack.paid_order()
    variants = []
    for line in order["lines"]:
        variant = line["variant"]["id"]
        line["variant"]["trackInventory"] = False
        for allocation in line["allocations"]:
            stack.saleor.state.set_stock(variant, allocation["warehouse"]["id"], None)
        line["allocations"] = []
        variants.append(variant)
    await stack.emit("ORDER_FULLY_PAID", order["id"])
    await stack.wait_until(lambda: _settled_blocked(stack, order), timeout=30)
    return order, variants


def _stock_record(stack: Stack, variants: list[str]) -> None:
    """The shop adds the products to a warehouse of the channel: Saleor tells the app nothing."""
    for variant in variants:
        stack.saleor.state.set_stock(variant, W1, 0)


async def test_try_fulfilling_again_in_swedish_fulfils_a_blocked_order_and_reloads_it(
    dashboard: AppInDashboard, screenshot: Screenshot, page_errors: list[str]
) -> None:
    async with dashboard.with_app(configure=False) as stack:
        await stack.install(tracking_on_fulfillment="fulfill")
        order, variants = await _blocked_order(stack)
        other, other_variants = await _blocked_order(stack)

        # the order's widget, in Swedish: what blocks it, and the action
        widget = await dashboard.open("widget", order=order, new_tab=True)
        words = await switch_locale(widget, "sv")
        frame = widget.frame
        await expect(frame.get_by_text(words["fulfillment.blocked"], exact=True)).to_be_visible()
        action = frame.get_by_role("button", name=words["fulfil_again.action"])
        await expect(action).to_be_visible()
        # Details: the popup offers it too
        await frame.get_by_role("button", name=words["widget.details"]).click()
        popup = await widget.popup()
        again = popup.get_by_role("button", name=words["fulfil_again.action"])
        await expect(again).to_be_visible()
        # a step below the message it follows, not touching it
        message = await popup.locator(".order-status .message").bounding_box()
        button = await again.bounding_box()
        assert message is not None
        assert button is not None
        assert button["y"] - (message["y"] + message["height"]) >= 8
        await screenshot("popup-blocked-sv", target=widget.page.locator(".modal iframe"))
        await popup.get_by_role("button", name=words["send.close"]).click()
        await widget.wait_for("(state) => state.popupCloses[0]")
        await screenshot("widget-blocked-sv", target=widget.page.locator("iframe"))
        assert await axe_problems(frame) == []

        _stock_record(stack, variants)
        await action.click()

        await expect(frame.get_by_text(words["fulfil_again.done"], exact=True)).to_be_visible(
            timeout=20_000
        )
        await expect(frame.get_by_text(words["fulfillment.done"], exact=True)).to_be_visible()
        await expect(action).to_have_count(0)
        toast = await widget.wait_for_toast()
        assert (toast["status"], toast["title"], toast["text"]) == (
            "success",
            words["fulfil_again.toast_title"],
            words["fulfil_again.done"],
        )
        # the Dashboard reloads the order page, now fulfilled
        await widget.wait_for("s => s.entityRefreshes.length === 1")
        after = (await widget.order_loads())[-1]
        assert after["reason"] == "refreshEntity"
        tracking_id = stack.gordon.state.orders[order["number"]].tracking_id
        fulfillments = stack.saleor.state.order(order["id"])["fulfillments"]
        assert [(f["status"], f["trackingNumber"]) for f in fulfillments] == [
            ("FULFILLED", tracking_id)
        ]
        assert stack.puts(order) == 1  # Gordon was not asked again
        await assert_no_internal_identifiers(frame)
        await screenshot("widget-fulfilled-again-sv", target=widget.page.locator("iframe"))
        assert await axe_problems(frame) == []  # the result notice included

        # the Orders table: the other blocked order's row offers it; the row shows the truth
        view = await dashboard.open(new_tab=True)
        words = await switch_locale(view, "sv")
        row = view.frame.get_by_role("row").filter(has_text=f"#{other['number']}")
        done_row = view.frame.get_by_role("row").filter(has_text=f"#{order['number']}")
        await expect(
            done_row.get_by_role("button", name=words["fulfil_again.action"])
        ).to_have_count(0)
        row_action = row.get_by_role(
            "button",
            name=words["fulfil_again.action_order"].replace("{number}", f"#{other['number']}"),
        )
        await expect(row_action).to_be_visible()
        await screenshot("orders-blocked-sv", target=view.page.locator("iframe"))
        assert await axe_problems(view.frame) == []
        _stock_record(stack, other_variants)
        await row_action.click()
        await expect(view.frame.locator(".feedback")).to_contain_text(
            words["fulfil_again.queued"].replace("{number}", f"#{other['number']}")
        )
        await expect(row).to_contain_text(words["fulfillment.done"], timeout=20_000)
        await expect(row_action).to_have_count(0)
        assert stack.puts(other) == 1
        assert len(stack.saleor.state.order(other["id"])["fulfillments"]) == 1
        await screenshot("orders-fulfilled-again-sv", target=view.page.locator("iframe"))
        assert page_errors == []


async def test_the_widget_s_height_follows_its_content_after_try_fulfilling_again(
    dashboard: AppInDashboard, screenshot: Screenshot, page_errors: list[str]
) -> None:
    """The blocked widget is tall (the reason, the action); once the order is fulfilled its
    content is shorter, and the Dashboard is told so at once: the frame takes the new height,
    with no empty band below the card until the next resize."""
    async with dashboard.with_app(configure=False) as stack:
        await stack.install(tracking_on_fulfillment="fulfill")
        order, variants = await _blocked_order(stack)
        widget = await dashboard.open("widget", order=order)
        frame = widget.frame
        action = frame.get_by_role("button", name="Try fulfilling again")
        await expect(action).to_be_visible()
        await stack.wait_until(lambda: frame_fits_content(widget), timeout=60)
        blocked = await frame.evaluate(CONTENT_HEIGHT)
        await screenshot("widget-height-blocked", target=widget.page.locator("#content"))

        _stock_record(stack, variants)
        await action.click()
        await expect(
            frame.get_by_text("Tracking number on the fulfillment", exact=True)
        ).to_be_visible(timeout=20_000)
        await expect(action).to_have_count(0)
        await widget.wait_for("s => s.entityRefreshes.length === 1")

        await stack.wait_until(lambda: frame_fits_content(widget), timeout=60)
        fulfilled = await frame.evaluate(CONTENT_HEIGHT)
        assert fulfilled < blocked  # the reason and the action are gone
        last = (await widget.resizes())[-1]
        assert (last["requested"], last["applied"], last["frames"]) == (
            fulfilled,
            fulfilled,
            ["widget"],
        )
        # the frame's document fits its content: nothing to scroll, no empty band
        assert await frame.evaluate("() => document.documentElement.scrollHeight <= innerHeight")
        await screenshot("widget-height-fulfilled", target=widget.page.locator("#content"))
        assert page_errors == []


async def test_try_fulfilling_again_in_the_popup_leaves_close_free_to_click(
    dashboard: AppInDashboard, screenshot: Screenshot, page_errors: list[str]
) -> None:
    """From the popup (Details): the popup's notice says what became of it and Close closes it
    at the first click. The popup asks for no Dashboard toast: the Dashboard shows toasts bottom
    right, over the popup's Close button (the real Dashboard 3.23.27: a click there hit the toast
    and the popup stayed open), and it would only repeat the notice."""
    async with dashboard.with_app(configure=False) as stack:
        await stack.install(tracking_on_fulfillment="fulfill")
        order, variants = await _blocked_order(stack)
        widget = await dashboard.open("widget", order=order)
        await widget.frame.get_by_role("button", name="Details").click()
        popup = await widget.popup()
        again = popup.get_by_role("button", name="Try fulfilling again")
        await expect(again).to_be_visible()

        _stock_record(stack, variants)
        await again.click()
        await expect(popup.locator(".fulfil-again")).to_have_text(
            "The order is fulfilled.", timeout=20_000
        )
        await widget.wait_for("s => s.entityRefreshes.length === 1")
        await screenshot("popup-fulfilled-again", target=widget.page.locator(".modal iframe"))
        await popup.get_by_role("button", name="Close").click()  # the mouse, where a toast would be
        await widget.wait_for("(state) => state.popupCloses[0]")
        assert await widget.toasts() == []
        assert stack.puts(order) == 1
        assert page_errors == []
