"""Fulfillments on the Dashboard pages, in a real browser inside the Dashboard test host: the widget
and its Details popup show where the order's fulfillment stands and the tracking link, the Orders
overview shows both per order, and the configuration screen sets the three tracking settings with a
preview of the link. Screenshots land in ``tests/browser/screenshots``."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from saleor_gordon.store.tables import sync_jobs
from tests.browser.conftest import AppInDashboard, Screenshot
from tests.browser.test_history_locales import say
from tests.browser.test_locales_and_look import assert_no_internal_identifiers, switch_locale
from tests.e2e.conftest import Stack

LINK_FORMAT = "https://track.example.com/t/{tracking_id}"
OLD_REASON = (
    "Saleor has no stock allocated in a warehouse for Middagskasse 4 portioner (3 middagar), so "
    "the app cannot tell where to fulfil from (Saleor allocates none for a product whose "
    "inventory it does not track): allocate it in Saleor, or fulfil the order yourself and the "
    "app adds the tracking number."
)  # as an earlier version of the app stored it


async def _fulfillment_is(stack: Stack, order: dict[str, Any], state: str) -> bool:
    jobs = [job for job in await stack.jobs() if job["order_id"] == order["id"]]
    return bool(jobs) and (await stack.job_for(order))["fulfillment_state"] == state


async def _settled_blocked(stack: Stack, order: dict[str, Any]) -> bool:
    """Blocked, and the job settled (nothing brings it back until the order changes)."""
    jobs = [job for job in await stack.jobs() if job["order_id"] == order["id"]]
    if not jobs or jobs[0]["in_progress"]:
        return False
    job = await stack.job_for(order)
    return job["fulfillment_state"] == "blocked" and job["next_attempt_at"] is None


async def test_the_widget_popup_and_overview_show_the_fulfillment_and_the_tracking_link(
    dashboard: AppInDashboard, screenshot: Screenshot, page_errors: list[str]
) -> None:
    async with dashboard.with_app(configure=False) as stack:
        await stack.install(tracking_on_fulfillment="fulfill", tracking_url=LINK_FORMAT)
        fulfilled = stack.paid_order()
        await stack.emit("ORDER_FULLY_PAID", fulfilled["id"])
        await stack.wait_until(lambda: _fulfillment_is(stack, fulfilled, "done"), timeout=30)
        # one whose reason an older version of the app stored: English, without a code
        old = stack.paid_order()
        old["lines"][0]["allocations"] = []  # Saleor allocated nothing: the app cannot fulfil
        await stack.emit("ORDER_FULLY_PAID", old["id"])
        await stack.wait_until(lambda: _settled_blocked(stack, old), timeout=30)
        # another order of the same product, whose stock is gone once it is paid
        short = stack.paid_order()
        [line, *_] = short["lines"]
        warehouse = line["allocations"][0]["warehouse"]["id"]
        stack.saleor.state.set_stock(line["variant"]["id"], warehouse, 0)
        await stack.emit("ORDER_FULLY_PAID", short["id"])
        await stack.wait_until(lambda: _fulfillment_is(stack, short, "blocked"), timeout=30)
        async with stack.engine.begin() as connection:
            await connection.execute(
                sync_jobs.update()
                .where(sync_jobs.c.order_id == old["id"])
                .values(fulfillment_message=OLD_REASON, fulfillment_code=None,
                        fulfillment_params=None)
            )  # fmt: skip
        tracking_id = stack.gordon.state.orders[fulfilled["number"]].tracking_id
        link = LINK_FORMAT.replace("{tracking_id}", tracking_id)

        # the widget of the fulfilled order: the link, and the fulfillment done
        widget = await dashboard.open("widget", order=fulfilled, new_tab=True)
        anchor = widget.frame.get_by_role("link", name=link)
        await expect(anchor).to_have_attribute("href", link)
        await expect(anchor).to_have_attribute("target", "_blank")
        await expect(widget.frame.get_by_text("Tracking number on the fulfillment")).to_be_visible()
        await screenshot("widget-fulfilled", target=widget.page.locator("iframe"))

        # its Details popup says the same
        await widget.frame.get_by_role("button", name="Details").click()
        frame = await widget.popup()
        status = frame.get_by_role("region", name="Gordon status")
        await expect(status.get_by_role("link", name=link)).to_be_visible()
        await expect(status.get_by_text("Tracking number on the fulfillment")).to_be_visible()
        await expect(status.get_by_role("list", name="History, oldest first")).to_contain_text(
            f"Fulfilled the order in Saleor with tracking number {link}."
        )
        await screenshot("popup-fulfilled", target=widget.page.locator(".modal iframe"))

        # the widget of the order Saleor has no stock for: what blocks it, and that it retries
        blocked = await dashboard.open("widget", order=short, new_tab=True)
        await expect(blocked.frame.get_by_text("Cannot be fulfilled", exact=True)).to_be_visible()
        why = blocked.frame.locator(".fulfillment-why")
        await expect(why).to_have_text(
            "Saleor has not enough stock of Middagskasse 4 portioner (3 middagar) in Lager "
            "Västberga to fulfil the order: add stock in Saleor (the app tries again), or fulfil "
            "the order yourself and the app adds the tracking number."
        )
        # said once, under Fulfillment; the message below says only what the attempt did (it
        # repeated the reason: the same three lines twice in the widget's 344 px)
        await expect(blocked.frame.locator(".widget .message")).to_have_text(
            "Gordon already has this version of the order."
        )
        await expect(blocked.frame.get_by_text("Saleor has not enough stock")).to_have_count(1)
        await screenshot("widget-not-enough-stock", target=blocked.page.locator("iframe"))
        # in Swedish, worded by the page from the reason's code: the product and the warehouse
        # as Saleor names them
        words = await switch_locale(blocked, "sv")
        await expect(
            blocked.frame.get_by_text(words["fulfillment.blocked"], exact=True)
        ).to_be_visible()
        await expect(why).to_have_text(
            say("sv", "fulfillment_reason.not_enough_stock_in",
                lines="Middagskasse 4 portioner (3 middagar)", warehouses="Lager Västberga")
        )  # fmt: skip
        await expect(why.locator(".stored-message")).to_have_count(0)
        await expect(blocked.frame.locator(".widget .message")).to_have_text(
            say("sv", "job.unchanged")
        )
        await expect(blocked.frame.get_by_text(await why.inner_text())).to_have_count(1)
        await assert_no_internal_identifiers(blocked.frame)
        await screenshot("widget-not-enough-stock-sv", target=blocked.page.locator("iframe"))

        # the Orders overview: the tracking ID links to the tracking page; each order's state
        view = await dashboard.open(new_tab=True)
        row = view.frame.get_by_role("row").filter(has_text=f"#{fulfilled['number']}")
        await expect(row.get_by_role("link", name=tracking_id)).to_have_attribute("href", link)
        await expect(row).to_contain_text("Tracking number on the fulfillment")
        short_row = view.frame.get_by_role("row").filter(has_text=f"#{short['number']}")
        await expect(short_row).to_contain_text("Cannot be fulfilled")
        # the reason stored before it had a code: shown as it was written, marked English
        old_row = view.frame.get_by_role("row").filter(has_text=f"#{old['number']}")
        stored = old_row.locator(".fulfillment-why .stored-message")
        await expect(stored).to_have_text(OLD_REASON)
        await expect(stored).to_have_attribute("lang", "en")
        await switch_locale(view, "sv")
        await expect(stored).to_have_text(OLD_REASON)
        await expect(short_row.locator(".fulfillment-why")).to_have_text(
            say("sv", "fulfillment_reason.not_enough_stock_in",
                lines="Middagskasse 4 portioner (3 middagar)", warehouses="Lager Västberga")
        )  # fmt: skip
        await switch_locale(view, "en")
        await screenshot("overview-fulfillments", target=view.page.locator("iframe"))
        assert page_errors == []


async def test_the_events_after_gordon_accepted_and_the_app_fulfilled_leave_the_history_alone(
    dashboard: AppInDashboard, screenshot: Screenshot, page_errors: list[str]
) -> None:
    """Each event the sync causes (the fulfillment, the order fulfilled, the metadata written)
    and an ORDER_UPDATED that changes nothing Gordon sees run the job again: it finds nothing
    new and tells nobody. The widget keeps saying Gordon has the order with its tracking ID, and
    the history holds the acceptance, the fulfillment and the status saved, once each."""
    async with dashboard.with_app(configure=False) as stack:
        await stack.install(tracking_on_fulfillment="fulfill", tracking_url=LINK_FORMAT)
        order = stack.paid_order()
        await stack.emit("ORDER_FULLY_PAID", order["id"])
        await stack.wait_until(lambda: _fulfillment_is(stack, order, "done"), timeout=30)
        await stack.wait_quiet()  # the events of the fulfillment and the metadata answered
        await stack.emit("ORDER_UPDATED", order["id"])
        await stack.wait_quiet()
        job = await stack.job_for(order)
        assert [(e["action"], e["outcome"]) for e in job["history"]] == [
            ("push", "accepted"),
            ("fulfill", "done"),
            ("write_back", "written"),
        ]
        assert "ORDER_UPDATED" in job["events_seen"]
        tracking_id = stack.gordon.state.orders[order["number"]].tracking_id
        accepted = f"Gordon has order {order['number']}. Tracking ID: {tracking_id}."

        widget = await dashboard.open("widget", order=order, new_tab=True)
        await expect(widget.frame.get_by_text(accepted)).to_be_visible()
        await screenshot("widget-after-events", target=widget.page.locator("iframe"))
        await widget.frame.get_by_role("button", name="Details").click()
        frame = await widget.popup()
        status = frame.get_by_role("region", name="Gordon status")
        history = status.get_by_role("list", name="History, oldest first")
        await expect(history.get_by_role("listitem")).to_have_count(3)
        await expect(history).not_to_contain_text("Checked the order")
        await screenshot("popup-after-events", target=widget.page.locator(".modal iframe"))
        assert page_errors == []


async def test_the_configuration_screen_sets_the_tracking_settings_with_a_preview(
    dashboard: AppInDashboard, screenshot: Screenshot, page_errors: list[str]
) -> None:
    async with dashboard.with_app() as stack:
        view = await dashboard.open()
        frame = view.frame
        await frame.get_by_role("tab", name="Configuration").click()
        card = frame.get_by_role("region", name="Tracking for the customer")
        await expect(
            card.get_by_role("radio", name="Add it to the fulfillments you create")
        ).to_be_checked()
        await expect(card).to_contain_text("the link of Gordon's own SMS to a customer")
        await expect(card).to_contain_text(
            "Without a link the customer gets the bare tracking ID, e.g. 0Zj7YGCUr."
        )

        # a link is previewed for a sample ID as the customer would get it
        url = card.get_by_label("Tracking link")
        await url.fill(LINK_FORMAT)
        await expect(card).to_contain_text(
            "For tracking ID 0Zj7YGCUr the customer gets: https://track.example.com/t/0Zj7YGCUr"
        )
        fulfil = "Fulfil the order with it when Gordon accepts the order"
        await card.get_by_role("radio", name=fulfil).check()
        await card.get_by_label(
            "E-mail the customer when the app sets the tracking number"
        ).uncheck()
        await screenshot("configuration-tracking", target=card)

        # a link without the place of the ID is refused, saying where it goes; nothing is stored
        await url.fill("https://track.example.com/t/")
        await frame.get_by_role("button", name="Save").click()
        await expect(card).to_contain_text(
            "Put {tracking_id} where the tracking ID goes, e.g. https://track.example.com/{tracking_id}."
        )
        installation = await stack.installations.get_installation(stack.saleor.api_url)
        assert installation is not None
        stored = await stack.installations.get_config(installation.id)
        assert stored is not None
        assert (stored.tracking_on_fulfillment, stored.tracking_url) == ("add", "")

        # corrected, it is saved with the mode and the e-mail choice
        await url.fill(LINK_FORMAT)
        await url.press("Enter")  # submits the form (the refusal's toast may cover Save)
        toast = await view.wait_for_toast(2)  # the first said what was wrong
        assert toast["title"] == "Configuration saved"
        stored = await stack.installations.get_config(installation.id)
        assert stored is not None
        assert (stored.tracking_on_fulfillment, stored.notify_customer, stored.tracking_url) == (
            "fulfill",
            False,
            LINK_FORMAT,
        )
        assert page_errors == []
