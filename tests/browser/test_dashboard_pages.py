"""The app's Dashboard pages in a real browser, inside the Dashboard test host.

The app runs as ``saleor-gordon serve`` (a process, on SQLite) against the Saleor fake and the Gordon
sandbox; the host plays the Dashboard with tokens signed by the fake's key. Each test is a scenario
a shop owner lives through; screenshots of the main screens land in ``tests/browser/screenshots``.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from unittest.mock import ANY
from urllib.parse import quote

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Frame, Page, Response, expect

from saleor_gordon.core.shop_config import MAX_EXTERNAL_REF_PREFIX_CHARS
from saleor_gordon.fakes.gordon_sandbox import RunningSandbox
from saleor_gordon.jobs.views import JobViews
from saleor_gordon.store.installations import InstallationStore
from tests.browser.conftest import STAFF, AppInDashboard, Screenshot, token_for
from tests.browser.dashboard_host import (
    POPUP_FRAME_SELECTOR,
    DashboardView,
)
from tests.e2e.conftest import Stack
from tests.support.saleor_fake import SigningKey
from tests.support.shop import CLIENT_ID, CLIENT_SECRET, DELIVERY_GROUP


@pytest_asyncio.fixture
async def dashboard_stack(dashboard: AppInDashboard) -> AsyncIterator[Stack]:
    """The app installed in the fake shop and not configured yet (as after installation)."""
    async with dashboard.with_app(configure=False) as stack:
        yield stack


CONTENT_HEIGHT = "() => Math.ceil(document.body.getBoundingClientRect().bottom + scrollY)"
"""The widget's content, from the top of its document to the bottom of its body."""


async def frame_fits_content(widget: DashboardView) -> bool:
    """The height the Dashboard last received from the widget, and its frame's height, are the
    widget's content height now."""
    content = await widget.frame.evaluate(CONTENT_HEIGHT)
    resizes = await widget.resizes()
    told = resizes[-1]["applied"] if resizes else None
    return told == content == (await widget.frame_size())[1]


async def fill_first_setup(frame: Frame, stack: Stack, *, secret: str = CLIENT_SECRET) -> None:
    await frame.get_by_label("Environment").select_option(label="Other (enter the URL)")
    await frame.get_by_label("Gordon API URL").fill(stack.gordon.base_url)
    await frame.get_by_label("Client ID").fill(CLIENT_ID)
    await frame.get_by_label("Client secret").fill(secret)


async def configure_via_page(frame: Frame, stack: Stack, view: DashboardView) -> None:
    await fill_first_setup(frame, stack)
    await frame.get_by_label("Channel").select_option(label="Sverige (sverige)")
    await frame.get_by_label("Shipping method").select_option(label="Gordon hemleverans 17-21")
    await frame.get_by_label("Gordon delivery group").fill(DELIVERY_GROUP)
    await frame.get_by_role("button", name="Save").click()
    toast = await view.wait_for_toast()
    assert toast["title"] == "Configuration saved"


async def test_a_first_time_owner_sets_up_the_shop_and_a_paid_order_reaches_gordon(
    dashboard_stack: Stack,
    dashboard: AppInDashboard,
    screenshot: Screenshot,
    page_errors: list[str],
) -> None:
    stack = dashboard_stack
    view = await dashboard.open()
    frame = view.frame
    await expect(frame.get_by_role("tab", name="Configuration")).to_have_attribute(
        "aria-selected", "true"
    )
    await expect(frame.get_by_text("Welcome.")).to_be_visible()

    await fill_first_setup(frame, stack)
    await frame.get_by_role("button", name="Test connection").click()
    await expect(frame.get_by_role("status").filter(has_text="Connected to Gordon")).to_be_visible()
    await frame.get_by_label("Channel").select_option(label="Sverige (sverige)")
    await frame.get_by_label("Shipping method").select_option(label="Gordon hemleverans 17-21")
    await frame.get_by_label("Warehouse").select_option(label="Lager Västberga")
    await frame.get_by_label("Gordon delivery group").fill(DELIVERY_GROUP)
    await frame.get_by_label("Default temperature zone").select_option(label="Chilled")
    # the reference prefix takes what the server accepts, and no more
    prefix = frame.get_by_label("Reference prefix")
    assert await prefix.get_attribute("maxlength") == str(MAX_EXTERNAL_REF_PREFIX_CHARS)
    await prefix.fill("matkassen-sverige-hemleverans-")  # 30 characters
    await expect(
        frame.get_by_text(re.compile(r"An order placed now .* is delivered on"))
    ).to_be_visible()
    await screenshot("configuration")
    await frame.get_by_role("region", name="Delivery days").scroll_into_view_if_needed()
    await screenshot("configuration-rules-and-days")
    await frame.get_by_role("button", name="Save").click()

    toast = await view.wait_for_toast()
    assert (toast["status"], toast["title"]) == ("success", "Configuration saved")
    await expect(frame.get_by_text("A secret is saved.")).to_be_visible()
    await expect(frame.get_by_text("Welcome.")).to_have_count(0)
    installation = await stack.installations.get_installation(stack.saleor.api_url)
    assert installation is not None
    config = await stack.installations.get_config(installation.id)
    assert config is not None
    assert config.gordon.client_secret.get_secret_value() == CLIENT_SECRET
    [rule] = config.delivery_groups
    assert (rule.channel, rule.deliverygroup, rule.warehouse) == (
        "sverige",
        DELIVERY_GROUP,
        "lager-vastberga",
    )
    assert rule.shipping_method == "U2hpcHBpbmdNZXRob2RUeXBlOjIx"  # picked from shippingZones
    assert config.default_item_type == "chilled"
    assert config.external_ref_prefix == "matkassen-sverige-hemleverans-"
    order = stack.paid_order()
    await stack.emit("ORDER_FULLY_PAID", order["id"])
    reference = f"matkassen-sverige-hemleverans-{order['number']}"
    await stack.wait_until(lambda: reference in stack.gordon.state.orders)
    assert page_errors == []


async def test_a_wrong_secret_and_an_invalid_rule_are_shown_and_nothing_is_stored(
    dashboard_stack: Stack, dashboard: AppInDashboard, screenshot: Screenshot
) -> None:
    stack = dashboard_stack
    view = await dashboard.open()
    _page, frame = view
    await fill_first_setup(frame, stack, secret="not-the-secret")

    await frame.get_by_role("button", name="Test connection").click()
    await expect(
        frame.get_by_role("status").filter(
            has_text="Gordon did not accept this client ID and secret"
        )
    ).to_be_visible()

    await frame.get_by_label("Gordon delivery group").fill(DELIVERY_GROUP)
    await frame.get_by_label("Time window", exact=True).fill("21:00 - 17:00")
    await frame.get_by_role("button", name="Save").click()

    window = frame.get_by_label("Time window", exact=True)
    await expect(window).to_have_attribute("aria-invalid", "true")
    error_id = (await window.get_attribute("aria-describedby") or "").split()[-1]
    await expect(frame.locator(f"#{error_id}")).not_to_have_text("")
    await expect(frame.get_by_role("alert").filter(has_text="Nothing was saved")).to_be_visible()
    toast = await view.wait_for_toast()
    assert (toast["status"], toast["title"]) == ("error", "Configuration not saved")
    await screenshot("invalid-rule")
    installation = await stack.installations.get_installation(stack.saleor.api_url)
    assert installation is not None
    assert await stack.installations.get_config(installation.id) is None


async def test_the_secret_never_reaches_the_browser_after_saving(
    dashboard_stack: Stack, dashboard: AppInDashboard, page: Page
) -> None:
    stack = dashboard_stack
    bodies: list[str] = []

    async def keep(response: Response) -> None:
        if response.url.startswith(stack.app_url):
            bodies.append(await response.text())

    page.on("response", keep)
    view = await dashboard.open()
    first_secret_field = view.frame.get_by_label("Client secret")
    await expect(first_secret_field).to_have_attribute("placeholder", "Not set")
    await configure_via_page(view.frame, stack, view)
    # the saved answer says a secret is stored now: the field is emptied and says so
    await expect(first_secret_field).to_have_value("")
    await expect(first_secret_field).to_have_attribute("placeholder", re.compile("saved"))

    reopened = await dashboard.open(new_tab=True)
    reopened.page.on("response", keep)
    await expect(reopened.frame.get_by_role("tab", name="Orders")).to_have_attribute(
        "aria-selected", "true"
    )  # a configured shop opens on its orders
    await reopened.frame.get_by_role("tab", name="Configuration").click()
    secret_field = reopened.frame.get_by_label("Client secret")
    await expect(secret_field).to_have_attribute("placeholder", re.compile("saved"))
    await expect(secret_field).to_have_value("")

    assert any('"client_secret_set":true' in body for body in bodies)
    assert not any(CLIENT_SECRET in body for body in bodies)
    assert CLIENT_SECRET not in await reopened.frame.content()
    assert CLIENT_SECRET not in await view.frame.content()


async def test_a_failed_order_shows_its_message_and_retry_syncs_it(
    dashboard: AppInDashboard, page: Page, screenshot: Screenshot
) -> None:
    quick_give_up = {"SALEOR_GORDON_RETRY_MAX_AGE_HOURS": "0.0003"}  # about a second
    async with dashboard.with_app(settings=quick_give_up, error_rate=1.0) as stack:
        order = stack.paid_order()
        await stack.emit("ORDER_FULLY_PAID", order["id"])
        await stack.wait_until(
            lambda: _status_is(stack, order, "failed"), timeout=30, message=lambda: "not failed"
        )
        # The page's clock stands still (at the real time now) until the test moves it: the
        # page's timers fire only then, however slow the machine is.
        now = datetime.now(UTC)
        await page.clock.install(time=now - timedelta(minutes=1))
        await page.clock.pause_at(now)
        view = await dashboard.open()
        frame = view.frame
        row = frame.get_by_role("row").filter(has_text=f"#{order['number']}")
        failed_count = frame.locator(".counts button").filter(has_text="Failed").locator(".number")
        await expect(row.get_by_text("Failed")).to_be_visible()
        # the stored codes worded by the page (job.gave_up around job.gordon_unavailable)
        await expect(row).to_contain_text("Gordon could not take the order just now")
        await expect(row).to_contain_text("The app stopped trying after")
        await screenshot("overview-failed")

        stack.gordon.state.options = _options(stack.gordon, error_rate=0.0)
        await row.get_by_role("button", name=f"Retry order #{order['number']}").click()
        await expect(frame.get_by_role("status").filter(has_text="queued")).to_be_visible()
        toast = await view.wait_for_toast()
        assert toast["title"] == "Retry queued"
        await expect(failed_count).to_have_text("0")  # the page asked again after the Retry
        await stack.wait_until(lambda: _status_is(stack, order, "synced"), timeout=30)
        # the row shows the truth by itself within 2 s of the page's time, well before the 10 s
        # refresh, with the keyboard still on the row (the History button), and without Retry
        # once the order is in Gordon
        await page.clock.run_for(2_000)
        await expect(row.get_by_text("Synced")).to_be_visible()
        await page.clock.set_system_time(datetime.now(UTC))  # "x seconds ago" right from here on
        await page.clock.resume()
        await expect(
            row.get_by_role("button", name=f"History of order #{order['number']}")
        ).to_be_focused()
        await expect(row.get_by_role("button", name=re.compile("^Retry"))).to_have_count(0)
        await row.get_by_role("link", name=f"#{order['number']}").click()
        redirect = await view.wait_for(
            "(state) => state.actions.find((a) => a.type === 'redirect')"
        )
        assert redirect["payload"]["to"] == f"/orders/{quote(order['id'], safe='')}"
        await row.get_by_role("button", name=f"History of order #{order['number']}").click()
        await expect(frame.locator("tr.history")).to_contain_text("Gordon accepted the order")
        await expect(frame.locator("tr.history")).not_to_contain_text("push")
        await screenshot("overview")


async def _status_is(stack: Stack, order: dict[str, Any], status: str) -> bool:
    job = await JobViews(stack.engine).find_job(
        await _installation_id(stack.installations, stack.saleor.api_url), order["id"]
    )
    return job is not None and job.status == status


async def _installation_id(store: InstallationStore, api_url: str) -> int:
    installation = await store.get_installation(api_url)
    assert installation is not None
    return installation.id


def _options(sandbox: RunningSandbox, **changes: Any) -> Any:
    return dataclasses.replace(sandbox.state.options, **changes)


def metadata_value(load: dict[str, Any], key: str) -> str | None:
    return next((m["value"] for m in load["order"]["metadata"] if m["key"] == key), None)


async def test_the_widget_opens_the_popup_which_sends_the_order_and_the_order_page_reloads(
    dashboard: AppInDashboard, screenshot: Screenshot, page_errors: list[str]
) -> None:
    async with dashboard.with_app() as stack:
        synced = stack.paid_order()
        await stack.emit("ORDER_FULLY_PAID", synced["id"])
        await stack.wait_until(lambda: _status_is(stack, synced, "synced"))
        job = await stack.job_for(synced)

        # a sent order: its facts, and Details (nothing to send)
        widget = await dashboard.open("widget", order=synced, new_tab=True)
        await expect(widget.frame.get_by_text(job["tracking_id"], exact=True)).to_be_visible()
        await expect(widget.frame.get_by_text("Synced")).to_be_visible()
        day = date.fromisoformat(job["delivery_date"])
        await expect(
            widget.frame.get_by_text(f"{day:%b} {day.day}, {day.year}", exact=True)
        ).to_be_visible()
        await expect(widget.frame.get_by_role("button", name="Details")).to_be_visible()
        await expect(widget.frame.get_by_role("button", name="Send to Gordon")).to_have_count(0)
        await stack.wait_until(lambda: frame_fits_content(widget), timeout=60)
        resize = (await widget.resizes())[-1]
        assert resize["applied"] is not None
        assert 100 < resize["applied"] < 400
        await screenshot("widget", target=widget.page.locator("iframe"))

        # an order Gordon does not have: Send to Gordon opens the popup for it
        unsent = stack.paid_order()  # no webhook: only "Send to Gordon" sends it
        view = await dashboard.open("widget", order=unsent, new_tab=True)
        await expect(view.frame.get_by_text("Not sent", exact=True)).to_be_visible()
        await view.frame.get_by_role("button", name="Send to Gordon").click()
        frame = await view.popup()
        [opened] = (await view.state())["popupsOpened"]
        assert opened["identifier"] == "send-to-gordon"
        params = json.loads(base64.b64decode(opened["appParams"]))
        assert params == {"orderId": unsent["id"], "view": "send"}
        await expect(
            frame.get_by_text(f"Order #{unsent['number']} is ready for Gordon.")
        ).to_be_visible()
        await expect(frame.get_by_text(DELIVERY_GROUP, exact=True)).to_be_visible()
        await frame.get_by_text("The exact request (JSON)").click()
        body = await frame.locator("pre.json").text_content()
        assert f'"external_ref": "{unsent["number"]}"' in (body or "")
        await screenshot("popup", target=view.page.locator(".modal iframe"))
        assert unsent["number"] not in stack.gordon.state.orders
        [before] = await view.order_loads()
        assert metadata_value(before, "gordon.tracking_id") is None

        await frame.get_by_role("button", name="Send to Gordon").click()
        # synced: Gordon took it and the app stored its answer (the tracking ID)
        await stack.wait_until(lambda: _status_is(stack, unsent, "synced"))
        assert unsent["number"] in stack.gordon.state.orders
        sent = await stack.job_for(unsent)
        # what really happened, at the top, with the tracking ID (and no toast: below)
        result = frame.locator(".result-area")
        await expect(result).to_contain_text(
            f"Gordon accepted order #{unsent['number']}; tracking ID {sent['tracking_id']}."
        )
        assert await result.evaluate("(el) => el.getBoundingClientRect().top") < 60
        # the widget shows it too, well before its own 15 s refresh, and does not resize itself
        # while the popup is open: the Dashboard would set the popup to the widget's height
        await expect(view.frame.get_by_text(sent["tracking_id"], exact=True)).to_be_visible(
            timeout=5_000
        )
        assert await view.page.locator(POPUP_FRAME_SELECTOR).bounding_box() == {
            "x": ANY, "y": ANY, "width": 1230, "height": 726,
        }  # fmt: skip
        # the Dashboard reloads the order page, which now has Gordon's tracking ID
        await view.wait_for("s => s.orderLoads.length === 2")
        after = (await view.order_loads())[-1]
        assert after["reason"] == "refreshEntity"
        assert metadata_value(after, "gordon.tracking_id") == sent["tracking_id"]
        assert metadata_value(after, "gordon.status") == "synced"
        assert len((await view.state())["entityRefreshes"]) == 1
        close = frame.get_by_role("button", name="Close")
        await expect(close).to_be_focused()  # the one thing left to do
        # a click closes the popup: the popup asked for no toast, which the Dashboard shows bottom
        # right, over this button (the real Dashboard 3.23.27: a click there hit the toast and the
        # popup stayed open); the toast would only have repeated the popup's top
        await close.click()
        closed = await view.wait_for("(state) => state.popupCloses[0]")
        assert await view.toasts() == []
        # the popup closed: the widget's new height reaches the Dashboard, for the widget only
        resize = await view.wait_for("(s, t) => s.resizes.find((r) => r.t >= t)", closed["t"])
        assert resize["frames"] == ["widget"]
        assert resize["applied"] == await view.frame.evaluate(
            "() => Math.ceil(document.documentElement.scrollHeight)"
        )
        await screenshot("order-page-refreshed", target=view.page.locator("#content"))

        # Details: the popup with the order's state and history first, the history open
        await view.frame.get_by_role("button", name="Details").click()
        frame = await view.popup()
        status = frame.get_by_role("region", name="Gordon status")
        await expect(status.get_by_text("Synced", exact=True)).to_be_visible()
        await expect(status.get_by_text(sent["tracking_id"], exact=True)).to_be_visible()
        await expect(status.get_by_role("list", name="History, oldest first")).to_contain_text(
            "Gordon accepted the order"
        )
        await expect(frame.get_by_text("Nothing to send.")).to_be_visible()
        # Gordon has the order as it is: good news, shown as such (not as a warning)
        headline = frame.locator(".notice", has_text="Nothing to send.")
        await expect(headline).to_have_class("notice notice-success")
        # nothing to send: no Send button, and the one button closes
        await expect(frame.get_by_role("button", name="Send to Gordon")).to_have_count(0)
        await expect(frame.get_by_role("button", name="Close")).to_be_visible()
        await screenshot("popup-details", target=view.page.locator(".modal iframe"))
        assert page_errors == []


async def test_where_the_dashboard_cannot_open_the_popup_the_widget_points_to_the_orders_menu(
    dashboard: AppInDashboard, screenshot: Screenshot, page_errors: list[str]
) -> None:
    async with dashboard.with_app() as stack:
        unsent = stack.paid_order()
        menu_hint = "Use “Send to Gordon” in the order's menu to send it now."
        # a Dashboard before 3.23.19 has no openPopup: no buttons, the order's menu instead
        old = await dashboard.open("widget", order=unsent, dashboard_version="v3.23.18")
        await expect(old.frame.get_by_text(menu_hint, exact=False)).to_be_visible()
        await expect(old.frame.get_by_role("button")).to_have_count(0)
        await screenshot("widget-3.23.18", target=old.page.locator("iframe"))

        # a current Dashboard that cannot open it (the app was installed before its manifest
        # named the popup: the Dashboard finds no extension of that identifier)
        unnamed = await dashboard.open("widget", order=unsent, new_tab=True, extensions=())
        await unnamed.frame.get_by_role("button", name="Send to Gordon").click()
        await expect(unnamed.frame.get_by_role("status")).to_have_text(
            "The Dashboard could not open “Send to Gordon” from here. Open it from the order's menu.",
            timeout=10_000,  # asked twice, 1.5 s apart
        )
        await expect(unnamed.frame.get_by_text(menu_hint, exact=False)).to_be_visible()
        refusals = (await unnamed.state())["popupRefusals"]
        assert [r["reason"] for r in refusals] == [
            'No POPUP extension with identifier "send-to-gordon"'
        ] * 2  # asked twice: the Dashboard refuses once while it refreshes a stale token

        # a Dashboard before 3.23.9: the popup (from the order's menu) sends; no refreshEntity,
        # and it says that a reload shows the new status on the order
        popup = await dashboard.open(
            "popup", order=unsent, new_tab=True, dashboard_version="v3.23.8"
        )
        await popup.frame.get_by_role("button", name="Send to Gordon").click()
        await stack.wait_until(lambda: _status_is(stack, unsent, "synced"))
        result = popup.frame.locator(".result-area")
        await expect(result).to_contain_text(f"Gordon accepted order #{unsent['number']}")
        await expect(result).to_contain_text(
            "Reload the order page to see the new status on the order."
        )
        await screenshot("popup-3.23.8", target=popup.page.locator(".modal iframe"))
        await popup.frame.get_by_role("button", name="Close").click()
        await popup.wait_for("(state) => state.popupCloses[0]")
        host = await popup.state()
        assert host["toasts"] == []  # the popup's top says it; a toast would cover Close
        assert [a["type"] for a in host["actions"] if a["type"] == "refreshEntity"] == []
        assert [load["reason"] for load in host["orderLoads"]] == ["mount"]
    assert page_errors == []


INVALID_SIGN_IN = "The Dashboard's sign-in for this page is not valid (it may have expired)."


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("missing", "carries no Dashboard token"),  # the API's answer; the page: see below
        ("expired", INVALID_SIGN_IN),
        ("forged", INVALID_SIGN_IN),
        ("other app", INVALID_SIGN_IN),
        ("other shop", INVALID_SIGN_IN),
        ("no permission", "lacks the “Manage orders” permission"),
    ],
)
async def test_refused_tokens_are_explained_on_the_page(
    dashboard_stack: Stack,
    dashboard: AppInDashboard,
    kind: str,
    expected: str,
) -> None:
    stack = dashboard_stack
    now = datetime.now(UTC)
    state = stack.saleor.state
    tokens = {
        "missing": "",
        "expired": state.dashboard_token(now=now - timedelta(minutes=6), user_permissions=STAFF),
        "forged": SigningKey.generate().sign_jwt(
            {"iss": state.api_url, "app": state.app_id, "exp": int(now.timestamp()) + 300}
        ),
        "other app": token_for(stack, app="QXBwOjk5"),
        "other shop": token_for(stack, iss="http://127.0.0.1:9/graphql/"),
        "no permission": token_for(stack, user_permissions=["MANAGE_PRODUCTS"]),
    }
    view = await dashboard.open(token=tokens[kind])
    if kind == "missing":  # a handshake without a token: the page keeps waiting, then says so
        await expect(view.frame.get_by_role("alert")).to_contain_text(
            "has not signed this page in yet"
        )
        response = await view.page.request.get(f"{stack.app_url}/api/dashboard/session")
        assert response.status == 401
        assert expected in (await response.json())["error"]["message"]
        return

    alert = view.frame.get_by_role("alert")
    await expect(alert).to_contain_text("Gordon Delivery could not open")
    await expect(alert).to_contain_text(expected)
    assert "JWKS" not in (await alert.text_content() or "")  # the API's own words stay in its log


async def test_dark_theme_from_the_handshake_and_keyboard_use(
    dashboard_stack: Stack,
    dashboard: AppInDashboard,
    screenshot: Screenshot,
) -> None:
    view = await dashboard.open()
    frame = view.frame
    await expect(frame.get_by_label("Client ID")).to_be_visible()
    assert await frame.evaluate("document.documentElement.dataset.theme") == "light"

    await view.set_theme("dark")
    await expect(frame.locator("html")).to_have_attribute("data-theme", "dark")
    background = await frame.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == await dashboard_dark_background(frame)
    await screenshot("configuration-dark")

    unlabeled = await frame.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
              .filter((el) => !(el.labels && el.labels.length) && !el.closest('label')
                              && !el.getAttribute('aria-label'))
              .map((el) => el.outerHTML)"""
    )
    assert unlabeled == []
    # Every enabled, visible control in the tab order; the unselected tab is reached with the
    # arrow keys instead (roving tabindex, as ARIA's tabs pattern has it), checked below, as is
    # a radio button beside the checked one of its group (the browser's own arrow keys).
    controls = await frame.evaluate(
        """() => [...document.querySelectorAll('input, select, button, a[href], [tabindex]')]
              .filter((el) => !el.disabled && el.offsetParent !== null && el.tabIndex >= 0)
              .filter((el) => el.type !== 'radio' || el.checked)
              .length"""
    )
    reached: set[str] = set()
    # How each control reached shows that it has the focus: text fields and selects as
    # macaw-ui's Input (accent border and a 1 px ring), every other control a 2 px ring outside
    # it (checkboxes and radio buttons had only a 1 px shadow, hard to see, in dark above all).
    focus_shown: dict[str, set[str]] = {}
    await frame.locator("body").focus()
    for _ in range(controls + 5):
        await view.page.keyboard.press("Tab")
        key, kind, shown = await frame.evaluate(
            """() => { const el = document.activeElement;
                       if (!el || el === document.body) return ['', '', ''];
                       if (!el.dataset.tabKey) el.dataset.tabKey = String(Math.random());
                       const style = getComputedStyle(el);
                       const field = el.matches(
                         'input:not([type="checkbox"], [type="radio"]), select');
                       return [el.dataset.tabKey, `${el.tagName.toLowerCase()} ${el.type || ''}`,
                               field ? `border ${style.borderColor} ring ${style.boxShadow}`
                                     : `${style.outlineStyle} ${style.outlineWidth}`
                                       + ` ${style.outlineColor}`]; }"""
        )
        if key:
            reached.add(key)
            focus_shown.setdefault(kind.strip(), set()).add(shown)
    assert len(reached) >= controls
    accent = await frame.evaluate(
        """() => { const probe = document.createElement('i');
                   probe.style.color = 'var(--accent)'; document.body.append(probe);
                   const color = getComputedStyle(probe).color; probe.remove();
                   return color; }"""
    )
    ring = f"solid 2px {accent}"
    assert focus_shown == {
        "select select-one": {f"border {accent} ring {accent} 0px 0px 0px 1px"},
        "input text": {f"border {accent} ring {accent} 0px 0px 0px 1px"},
        "input url": {f"border {accent} ring {accent} 0px 0px 0px 1px"},
        "input password": {f"border {accent} ring {accent} 0px 0px 0px 1px"},
        "input number": {f"border {accent} ring {accent} 0px 0px 0px 1px"},
        "input checkbox": {ring},
        "input radio": {ring},
        "button button": {ring},
        "button submit": {ring},
        "div": {ring},  # the tab panel
    }

    await frame.get_by_role("tab", name="Configuration").focus()
    await view.page.keyboard.press("ArrowLeft")
    await expect(frame.get_by_role("tab", name="Orders")).to_have_attribute("aria-selected", "true")


async def test_opened_outside_the_dashboard_it_explains_how_to_open_it(
    dashboard_stack: Stack, page: Page
) -> None:
    await page.goto(f"{dashboard_stack.app_url}/app")

    await expect(
        page.get_by_role("heading", name="Open this page from the Saleor Dashboard")
    ).to_be_visible()
    await expect(page.get_by_text(f"{dashboard_stack.app_url}/api/manifest")).to_be_visible()


async def test_a_refreshed_token_is_used_and_another_frames_responses_are_ignored(
    dashboard_stack: Stack, dashboard: AppInDashboard, page_errors: list[str]
) -> None:
    stack = dashboard_stack
    view = await dashboard.open()
    frame = view.frame
    await expect(frame.get_by_label("Client ID")).to_be_visible()

    await view.send_response()  # the Dashboard routes by origin: other frames' answers arrive
    await view.handshake()  # ...and extra handshakes with the same token
    # The Dashboard pushes a new token whenever it has one; this one lacks Manage orders, so the
    # next call shows whether the page uses it.
    await view.refresh_token(token_for(stack, user_permissions=["MANAGE_APPS"]))
    await frame.get_by_role("tab", name="Orders").click()

    await expect(frame.get_by_role("alert")).to_contain_text("lacks the “Manage orders” permission")
    assert page_errors == []


async def dashboard_dark_background(frame: Frame) -> str:
    """macaw-ui's dark background.default1, hsla(232, 17%, 18%), as the browser computes it."""
    return str(
        await frame.evaluate(
            """() => { const probe = document.createElement('div');
                       probe.style.color = 'hsla(232, 17%, 18%, 1)';
                       document.body.append(probe);
                       const rgb = getComputedStyle(probe).color; probe.remove(); return rgb; }"""
        )
    )


async def test_without_the_dashboards_origin_the_page_posts_nothing_and_says_how_to_open_it(
    dashboard_stack: Stack, dashboard: AppInDashboard
) -> None:
    """No referrer, so no known Dashboard origin: nothing goes to "*", no message is believed."""
    view = await dashboard.open(referrer_policy="no-referrer")

    await expect(
        view.frame.get_by_text("could not tell which Saleor Dashboard opened it")
    ).to_be_visible()
    await expect(view.frame.get_by_role("heading")).to_have_text(
        "Open this page from the Saleor Dashboard"
    )
    assert await view.frame.evaluate("document.referrer") == ""
    state = await view.state()
    assert [entry for entry in state["received"] if entry["fromFrame"]] == []
    await expect(view.frame.get_by_role("tab")).to_have_count(0)  # the token was not taken


async def test_outside_the_dashboard_the_notice_follows_the_browsers_language(
    dashboard_stack: Stack, browser: Browser
) -> None:
    context = await browser.new_context(locale="sv-SE")
    try:
        page = await context.new_page()
        await page.goto(f"{dashboard_stack.app_url}/app")
        await expect(
            page.get_by_role("heading", name="Öppna sidan från Saleor Dashboard")
        ).to_be_visible()
        await expect(page.locator("html")).to_have_attribute("lang", "sv")
    finally:
        await context.close()


async def test_a_saved_secret_is_not_reused_for_another_gordon_url_and_the_page_says_why(
    dashboard_stack: Stack, dashboard: AppInDashboard
) -> None:
    stack = dashboard_stack
    view = await dashboard.open()
    await configure_via_page(view.frame, stack, view)
    frame = view.frame
    secret = frame.get_by_label("Client secret")
    hint_id = (await secret.get_attribute("aria-describedby") or "").split()[0]
    hint = frame.locator(f"#{hint_id}")
    await expect(hint).to_have_text(
        "A secret is saved. It is never shown; type a new one to replace it."
    )

    await frame.get_by_label("Gordon API URL").fill("https://backend.gordondelivery.com")
    await expect(hint).to_contain_text("is not used for this one")
    await expect(secret).to_have_attribute("placeholder", "Required for this account")
    await frame.get_by_label("Client ID").press("Enter")  # saves (the first toast covers Save)

    error_id = (await secret.get_attribute("aria-describedby") or "").split()[-1]
    await expect(frame.locator(f"#{error_id}")).to_have_text(
        "Type the secret for this Gordon account: the saved one belongs to another URL or client "
        "ID and is never sent to a different account."
    )
    await expect(secret).to_have_attribute("aria-invalid", "true")
    await expect(secret).to_be_focused()

    await frame.get_by_label("Gordon API URL").fill(stack.gordon.base_url)  # back: kept again
    await expect(hint).to_contain_text("A secret is saved.")
