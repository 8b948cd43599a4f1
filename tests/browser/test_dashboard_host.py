"""The Dashboard test host against a probe app, checked against the recording of the real Dashboard
3.23.27 (shared/saleor/dashboard-samples/README.md).

The probe (like the recording's) reports its URL, referrer, ancestor origins and viewport, logs
every message it receives, and posts ``notifyReady`` on ``load``; the tests make it post more with
``window.probe.send(type, payload)`` (an ``actionId`` is added).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import urlencode

import pytest
from playwright.async_api import BrowserContext, Frame, Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from tests.browser.conftest import OpenInDashboard, Screenshot
from tests.browser.dashboard_host import (
    POPUP_FRAME_SELECTOR,
    DashboardView,
    Mount,
    OrderView,
    PopupExtension,
    frame_url,
)
from tests.conftest import REPO_ROOT
from tests.support.loopback import serve_on_loopback
from tests.support.saleor_fake import SaleorFakeState

RECORDED_API_URL = "http://127.0.0.1:8000/graphql/"
RECORDED_APP_ID = "QXBwOjU="
RECORDED_ORDER_ID = "T3JkZXI6ODE3ZWY5YzgtYWM0Yy00ODFkLTljNTUtNDlkNTNlMWFmOTQ1"
SANDBOX = "allow-same-origin allow-forms allow-scripts allow-downloads allow-popups"
NOW = datetime(2026, 12, 1, 19, 36, 56, tzinfo=UTC)

PROBE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Probe</title>
<style>body { margin: 8px; font: 12px/1.4 monospace; background: #fff8e1; }</style></head>
<body><h1>Probe</h1><ol id="log"></ol>
<script>
"use strict";
const log = (line) => {
  const item = document.createElement("li");
  item.textContent = line;
  document.getElementById("log").append(item);
};
const viewport = () => ({ width: innerWidth, height: innerHeight });
window.probe = {
  url: location.href, referrer: document.referrer,
  ancestorOrigins: Array.from(location.ancestorOrigins), viewport: viewport(),
  sent: [], messages: [], resizes: [],
  send(type, payload = {}) {
    const data = { type, payload: { actionId: crypto.randomUUID(), ...payload } };
    this.sent.push(data);
    log("-> " + JSON.stringify(data));
    window.parent.postMessage(data, "*");
    return data.payload.actionId;
  },
};
addEventListener("message", (event) => {
  probe.messages.push({ origin: event.origin, fromParent: event.source === window.parent,
                        data: event.data });
  log("<- " + event.origin + " " + JSON.stringify(event.data).slice(0, 140));
});
addEventListener("resize", () => probe.resizes.push(viewport()));
addEventListener("load", () => probe.send("notifyReady"));
</script></body></html>
"""


class Probe(NamedTuple):
    base_url: str
    requests: list[tuple[str, str]]
    """(path, raw query) of every page GET, in arrival order."""


@pytest.fixture
def probe() -> Iterator[Probe]:
    requests: list[tuple[str, str]] = []

    async def page(request: Request) -> Response:
        requests.append((request.url.path, request.url.query))
        return HTMLResponse(PROBE_PAGE)

    app = Starlette(routes=[Route("/{path:path}", page)])
    with serve_on_loopback(app) as base_url:
        yield Probe(base_url, requests)


@pytest.fixture
def saleor() -> SaleorFakeState:
    """The Saleor fake's key and claims, for tokens; no server needed here."""
    return SaleorFakeState(api_url=RECORDED_API_URL, app_id=RECORDED_APP_ID)


async def probe_state(frame: Frame) -> dict[str, Any]:
    state: dict[str, Any] = await frame.evaluate("() => window.probe")
    return state


async def wait_for_probe_messages(frame: Frame, count: int) -> list[dict[str, Any]]:
    await frame.wait_for_function("n => window.probe.messages.length >= n", arg=count)
    messages: list[dict[str, Any]] = (await probe_state(frame))["messages"]
    return messages


def handshake(token: str, saleor_version: str = "3.23.28") -> dict[str, Any]:
    return {
        "type": "handshake",
        "payload": {
            "token": token,
            "version": 1,
            "saleorVersion": saleor_version,
            "dashboardVersion": "v3.23.27",
        },
    }


def response(action_id: str) -> dict[str, Any]:
    return {"type": "response", "payload": {"actionId": action_id, "ok": True}}


def after_load(path: str, theme: str = "light") -> list[dict[str, Any]]:
    return [
        {"type": "localeChanged", "payload": {"locale": "en"}},
        {"type": "theme", "payload": {"theme": theme}},
        {"type": "redirect", "payload": {"path": path}},
    ]


async def open_probe(
    open_in_dashboard: OpenInDashboard,
    probe: Probe,
    token: str,
    mount: Mount = "app",
    *,
    label: str | None = None,
    theme: str = "light",
    double_load: bool = True,
) -> DashboardView:
    """The probe at the recorded paths (``/app``, ``/app/widget``, ``/popup``) and ids."""
    paths: dict[Mount, str] = {"app": "/app", "widget": "/app/widget", "popup": "/popup"}
    return await open_in_dashboard(
        probe.base_url,
        mount,
        paths[mount],
        token=token,
        saleor_api_url=RECORDED_API_URL,
        app_id=RECORDED_APP_ID,
        order_id=None if mount == "app" else RECORDED_ORDER_ID,
        theme=theme,
        label=label,
        double_load=double_load,
    )


# --- URLs -------------------------------------------------------------------------------------


def test_frame_urls_are_the_recorded_ones() -> None:
    # given: the recorded iframe srcs
    recorded = REPO_ROOT / "tests/data/saleor/dashboard-samples/iframe_srcs.json"
    srcs = json.loads(recorded.read_text(encoding="utf-8"))["srcs"]
    base = "http://127.0.0.1:3100"
    common = {"saleor_api_url": RECORDED_API_URL, "app_id": RECORDED_APP_ID, "theme": "light"}
    # when
    app = frame_url(f"{base}/app", mount="app", **common)
    widget = frame_url(f"{base}/app/widget", mount="widget", order_id=RECORDED_ORDER_ID, **common)
    popup = frame_url(f"{base}/popup", mount="popup", order_id=RECORDED_ORDER_ID, **common)
    # then
    assert {app, widget, popup} == set(srcs)


def test_only_widgets_and_popups_get_an_order_id() -> None:
    with pytest.raises(ValueError, match="orderId"):
        frame_url("http://a/app", mount="app", saleor_api_url="http://s/", app_id="x", order_id="o")
    with pytest.raises(ValueError, match="orderId"):
        frame_url("http://a/w", mount="widget", saleor_api_url="http://s/", app_id="x")


# --- app page ---------------------------------------------------------------------------------


async def test_app_page_gets_the_recorded_sequence_and_its_notification_a_toast(
    open_in_dashboard: OpenInDashboard,
    probe: Probe,
    saleor: SaleorFakeState,
    dashboard_host: str,
    screenshot: Screenshot,
) -> None:
    # given
    token = saleor.dashboard_token(now=NOW)
    view = await open_probe(open_in_dashboard, probe, token)
    page, frame = view
    # when: the probe's notifyReady is answered, then it sends a notification
    await wait_for_probe_messages(frame, 6)
    notification = await frame.evaluate(
        "() => window.probe.send('notification', {status: 'success', title: 'Probe', text: 'hello'})"
    )
    messages = await wait_for_probe_messages(frame, 7)
    # then: the recorded sequence, all from the host's origin and from window.parent
    ready = (await probe_state(frame))["sent"][0]
    assert ready["type"] == "notifyReady"
    assert [m["data"] for m in messages] == [
        handshake(token),
        handshake(token),
        response(ready["payload"]["actionId"]),
        *after_load("/dashboard/extensions/app/QXBwOjU%3D"),
        response(notification),
    ]
    assert {(m["origin"], m["fromParent"]) for m in messages} == {(dashboard_host, True)}
    # the toast is recorded and shown
    toast = await view.wait_for_toast()
    assert {k: toast[k] for k in ("status", "title", "text", "actionId")} == {
        "status": "success",
        "title": "Probe",
        "text": "hello",
        "actionId": notification,
    }
    await expect(page.get_by_role("status")).to_have_text("Probehello")
    # the host recorded what the probe sent, in order
    assert [m["type"] for m in await view.received()] == ["notifyReady", "notification"]
    await screenshot("app-page")


async def test_app_page_is_framed_like_the_dashboard_frames_it(
    open_in_dashboard: OpenInDashboard, probe: Probe, saleor: SaleorFakeState, dashboard_host: str
) -> None:
    # when
    view = await open_probe(open_in_dashboard, probe, saleor.dashboard_token(now=NOW))
    page, frame = view
    state = await probe_state(frame)
    # then: other origin, origin-only referrer, recorded size and attributes
    assert state["referrer"] == f"{dashboard_host}/"
    assert state["ancestorOrigins"] == [dashboard_host]
    assert state["viewport"] == {"width": 1179, "height": 822}
    assert await view.frame_size() == (1179, 822)
    iframe = page.locator('iframe[data-test-id="app-frame"]')
    assert await iframe.get_attribute("sandbox") == SANDBOX
    assert await iframe.get_attribute("allow") is None
    # loaded twice, first without theme; only the second document ran
    final = frame_url(
        f"{probe.base_url}/app",
        mount="app",
        saleor_api_url=RECORDED_API_URL,
        app_id=RECORDED_APP_ID,
        theme="light",
    )
    assert state["url"] == final
    query = final.split("?", 1)[1]
    assert probe.requests == [("/app", query.removesuffix("&theme=light")), ("/app", query)]
    assert [load["src"] for load in (await view.state())["loads"]] == [final]


LATE_FINAL_NAVIGATION = """(() => {
  // A browser slow to begin the final navigation: the host's supersede() sets the final src
  // 500 ms after it is called (fault injection, not a wait: the mount waits on events).
  let host;
  Object.defineProperty(window, "__host", {
    configurable: true,
    get: () => host,
    set(value) {
      const supersede = value.supersede;
      value.supersede = () => setTimeout(supersede, 500);
      host = value;
    },
  });
})();"""


async def test_the_browser_drops_the_first_load_itself_even_when_the_final_one_begins_late(
    open_in_dashboard: OpenInDashboard, probe: Probe, saleor: SaleorFakeState, page: Page
) -> None:
    # given: the final navigation begins well after the host asked for it
    await page.add_init_script(LATE_FINAL_NAVIGATION)
    failed: list[tuple[str, str | None]] = []
    documents: list[str] = []
    page.on("requestfailed", lambda request: failed.append((request.url, request.failure)))
    page.on(
        "framenavigated",
        lambda frame: documents.append(frame.url) if frame.parent_frame is not None else None,
    )
    # when
    view = await open_probe(open_in_dashboard, probe, saleor.dashboard_token(now=NOW))
    # then: the app's server got both GETs; the browser dropped the first for the final
    # navigation (the host never failed it), so the frame never showed an error page
    final = frame_url(
        f"{probe.base_url}/app",
        mount="app",
        saleor_api_url=RECORDED_API_URL,
        app_id=RECORDED_APP_ID,
        theme="light",
    )
    first = final.removesuffix("&theme=light")
    assert probe.requests == [("/app", first.split("?", 1)[1]), ("/app", final.split("?", 1)[1])]
    assert failed == [(first, "net::ERR_ABORTED")]
    assert documents == [final]
    assert [load["src"] for load in (await view.state())["loads"]] == [final]
    assert (await probe_state(view.frame))["url"] == final


async def test_a_single_load_when_asked(
    open_in_dashboard: OpenInDashboard, probe: Probe, saleor: SaleorFakeState
) -> None:
    # when
    await open_probe(open_in_dashboard, probe, saleor.dashboard_token(now=NOW), double_load=False)
    # then
    assert [query.endswith("&theme=light") for _, query in probe.requests] == [True]


# --- widget -----------------------------------------------------------------------------------


async def test_widget_is_200_high_until_it_resizes_itself(
    open_in_dashboard: OpenInDashboard,
    probe: Probe,
    saleor: SaleorFakeState,
    screenshot: Screenshot,
) -> None:
    # given: a widget token (extension tokens carry no permissions)
    token = saleor.dashboard_token(now=NOW, permissions=[], app_extension="QXBwRXh0ZW5zaW9uOjU=")
    view = await open_probe(open_in_dashboard, probe, token, "widget", label="Probe widget")
    page, frame = view
    messages = await wait_for_probe_messages(frame, 6)
    assert (await probe_state(frame))["viewport"] == {"width": 344, "height": 200}
    assert [m["data"] for m in messages][:2] == [handshake(token, ""), handshake(token, "")]
    assert [m["data"] for m in messages][3:] == after_load(f"/dashboard/orders/{RECORDED_ORDER_ID}")
    # when
    resize = await frame.evaluate("() => window.probe.send('widgetResize', {height: 321})")
    # then: the iframe is 321 high, the probe sees it, the action is answered
    assert {k: v for k, v in (await view.wait_for_resize()).items() if k != "t"} == {
        "requested": 321,
        "applied": 321,
        "frames": ["widget"],
    }
    await frame.wait_for_function("() => window.probe.resizes.length >= 1")
    assert (await probe_state(frame))["resizes"][-1] == {"width": 344, "height": 321}
    assert await view.frame_size() == (344, 321)
    assert await page.locator('iframe[data-test-id="app-frame"]').get_attribute("style") == (
        "height: 321px; visibility: visible;"
    )
    assert (await wait_for_probe_messages(frame, 7))[-1]["data"] == response(resize)
    await expect(page.get_by_role("heading", name="Probe widget")).to_be_visible()
    await screenshot("widget")


@pytest.mark.parametrize(
    ("height", "applied", "size"),
    [(9000, 5000, 5000), (120.2, 121, 121), (0, None, 200), (-5, None, 200), ("400", None, 200)],
)
async def test_widget_resize_is_capped_and_rounded_and_ignores_non_positive_heights(
    open_in_dashboard: OpenInDashboard,
    probe: Probe,
    saleor: SaleorFakeState,
    height: object,
    applied: int | None,
    size: int,
) -> None:
    # given
    view = await open_probe(open_in_dashboard, probe, saleor.dashboard_token(now=NOW), "widget")
    # when
    action = await view.frame.evaluate(
        "h => window.probe.send('widgetResize', {height: h})", height
    )
    # then
    resize = await view.wait_for_resize()
    assert (resize["requested"], resize["applied"]) == (height, applied)
    assert await view.frame_size() == (344, size)
    assert (await view.sent("response"))[-1] == response(action)


# --- popup ------------------------------------------------------------------------------------


async def test_popup_is_a_modal_titled_with_the_label_and_closes_on_popup_close(
    open_in_dashboard: OpenInDashboard,
    probe: Probe,
    saleor: SaleorFakeState,
    screenshot: Screenshot,
) -> None:
    # given
    token = saleor.dashboard_token(now=NOW, permissions=[], app_extension="QXBwRXh0ZW5zaW9uOjY=")
    view = await open_probe(open_in_dashboard, probe, token, "popup", label="Probe action")
    page, frame = view
    messages = await wait_for_probe_messages(frame, 6)
    state = await probe_state(frame)
    assert state["viewport"] == {"width": 1230, "height": 726}
    assert [m["data"] for m in messages] == [
        handshake(token),
        handshake(token),
        response(state["sent"][0]["payload"]["actionId"]),
        *after_load(f"/dashboard/orders/{RECORDED_ORDER_ID}"),
    ]
    dialog = page.get_by_role("dialog", name="Probe action")
    await expect(dialog.get_by_role("heading", name="Probe action")).to_be_visible()
    await screenshot("popup")
    # when
    close = await frame.evaluate("() => window.probe.send('popupClose')")
    # then
    await expect(dialog).to_have_count(0)
    host = await view.state()
    assert [c["actionId"] for c in host["popupCloses"]] == [close]
    assert host["frameClosed"] is True
    assert host["sent"][-1]["data"] == response(close)


# --- what a test can make the host do ----------------------------------------------------------


async def test_token_refresh_theme_change_and_foreign_response_on_demand(
    open_in_dashboard: OpenInDashboard,
    probe: Probe,
    saleor: SaleorFakeState,
    screenshot: Screenshot,
) -> None:
    # given
    first = saleor.dashboard_token(now=NOW)
    view = await open_probe(open_in_dashboard, probe, first)
    page, frame = view
    await wait_for_probe_messages(frame, 6)
    second = saleor.dashboard_token(now=NOW.replace(second=57))
    assert second != first
    # when
    await view.refresh_token(second)
    await view.set_theme("dark")
    foreign = await view.send_response()
    ready = await frame.evaluate("() => window.probe.send('notifyReady')")
    # then: in that order; the next handshake carries the new token
    messages = await wait_for_probe_messages(frame, 11)
    assert [m["data"] for m in messages[6:]] == [
        {"type": "tokenRefresh", "payload": {"token": second}},
        {"type": "theme", "payload": {"theme": "dark"}},
        response(foreign),
        handshake(second),
        response(ready),
    ]
    assert foreign not in [m["payload"]["actionId"] for m in (await probe_state(frame))["sent"]]
    assert await page.evaluate("() => document.documentElement.dataset.theme") == "dark"
    await screenshot("dark-host")


async def test_a_second_page_hosts_a_second_frame(
    open_in_dashboard: OpenInDashboard,
    probe: Probe,
    saleor: SaleorFakeState,
    context: BrowserContext,
) -> None:
    # given: the app page on the default page
    app = await open_probe(open_in_dashboard, probe, saleor.dashboard_token(now=NOW))
    # when: the widget on another page of the same browser context
    widget = await open_in_dashboard(
        probe.base_url,
        "widget",
        "/app/widget",
        token=saleor.dashboard_token(now=NOW, permissions=[]),
        saleor_api_url=RECORDED_API_URL,
        app_id=RECORDED_APP_ID,
        order_id=RECORDED_ORDER_ID,
        page=await context.new_page(),
    )
    # then: two hosts, each with its own frame and record
    assert widget.page is not app.page
    assert (await app.frame_size(), await widget.frame_size()) == ((1179, 822), (344, 200))
    assert [s["mount"] for s in (await app.state(), await widget.state())] == ["app", "widget"]


async def test_uncaught_errors_in_the_app_frame_are_collected(
    open_in_dashboard: OpenInDashboard,
    probe: Probe,
    saleor: SaleorFakeState,
    page_errors: list[str],
) -> None:
    # given: the host ran without errors
    view = await open_probe(open_in_dashboard, probe, saleor.dashboard_token(now=NOW))
    await wait_for_probe_messages(view.frame, 6)
    assert page_errors == []
    # when
    async with view.page.expect_event("pageerror"):
        await view.frame.evaluate("() => { setTimeout(() => { throw new TypeError('boom'); }); }")
    # then
    assert page_errors == ["TypeError: boom"]


async def test_a_dark_theme_from_the_start(
    open_in_dashboard: OpenInDashboard, probe: Probe, saleor: SaleorFakeState
) -> None:
    # when
    view = await open_probe(open_in_dashboard, probe, saleor.dashboard_token(now=NOW), theme="dark")
    # then
    messages = await wait_for_probe_messages(view.frame, 6)
    assert messages[4]["data"] == {"type": "theme", "payload": {"theme": "dark"}}
    assert (await probe_state(view.frame))["url"].endswith("&theme=dark")


async def test_messages_from_another_origin_are_recorded_but_not_answered(
    open_in_dashboard: OpenInDashboard, probe: Probe, saleor: SaleorFakeState, dashboard_host: str
) -> None:
    # given
    view = await open_probe(open_in_dashboard, probe, saleor.dashboard_token(now=NOW))
    await wait_for_probe_messages(view.frame, 6)
    sent_before = len(await view.sent())
    # when: the host page itself (not the app's origin) posts an action
    await view.page.evaluate(
        "() => window.postMessage({type: 'notification', payload: {actionId: 'x', title: 'no'}}, '*')"
    )
    # then
    await view.wait_for("s => s.received.some(m => m.origin !== s.appOrigin)")
    host = await view.state()
    stranger = [m for m in host["received"] if m["origin"] == dashboard_host]
    assert [(m["handled"], m["fromFrame"]) for m in stranger] == [(False, False)]
    assert host["toasts"] == []
    assert len(host["sent"]) == sent_before


# --- what the Dashboard does for a widget since 3.23.9 / 3.23.19 --------------------------------

POPUP_EXTENSION_ID = "QXBwRXh0ZW5zaW9uOjY="


def probe_popup(probe: Probe, saleor: SaleorFakeState, **claims: Any) -> PopupExtension:
    token = saleor.dashboard_token(
        now=datetime.now(UTC), permissions=[], app_extension=POPUP_EXTENSION_ID, **claims
    )
    return PopupExtension("probe-popup", f"{probe.base_url}/popup", token, label="Probe action")


async def open_widget_probe(
    open_in_dashboard: OpenInDashboard,
    probe: Probe,
    saleor: SaleorFakeState,
    *,
    dashboard_version: str = "v3.23.27",
    extensions: Sequence[PopupExtension] = (),
    order_view: OrderView | None = None,
) -> DashboardView:
    token = saleor.dashboard_token(
        now=datetime.now(UTC), permissions=[], app_extension="QXBwRXh0ZW5zaW9uOjU="
    )
    view = await open_in_dashboard(
        probe.base_url,
        "widget",
        "/app/widget",
        token=token,
        saleor_api_url=RECORDED_API_URL,
        app_id=RECORDED_APP_ID,
        order_id=RECORDED_ORDER_ID,
        double_load=False,
        dashboard_version=dashboard_version,
        extensions=extensions,
        order_view=order_view,
    )
    await wait_for_probe_messages(view.frame, 6)
    return view


async def test_a_widget_opens_its_popup_by_identifier_with_its_params(
    open_in_dashboard: OpenInDashboard,
    probe: Probe,
    saleor: SaleorFakeState,
    screenshot: Screenshot,
) -> None:
    # given: a widget of an app with a POPUP extension "probe-popup"
    extension = probe_popup(probe, saleor)
    view = await open_widget_probe(open_in_dashboard, probe, saleor, extensions=[extension])
    widget = view.frame
    # when: the widget asks for it, with params as @saleor/app-sdk serializes them
    app_params = base64.b64encode(json.dumps({"orderId": "x", "view": "détails"}).encode()).decode()
    action = await widget.evaluate(
        "p => window.probe.send('openPopup', {extensionIdentifier: 'probe-popup', appParams: p})",
        app_params,
    )
    # then: the popup frame at the extension's URL with the Dashboard's context and appParams (no
    # orderId), its own token and the core's version; the widget gets ok
    popup = await view.popup()
    expected_url = f"{probe.base_url}/popup?" + urlencode(
        [
            ("domain", "127.0.0.1:8000"),
            ("saleorApiUrl", RECORDED_API_URL),
            ("id", RECORDED_APP_ID),
            ("appParams", app_params),
            ("featureFlags[new_order_ui][enabled]", "false"),
            ("featureFlags[new_order_ui][payload]", "default"),
            ("theme", "light"),
        ]
    )
    assert (await probe_state(popup))["url"] == expected_url
    assert (await probe_state(popup))["viewport"] == {"width": 1230, "height": 726}
    messages = await wait_for_probe_messages(popup, 6)
    ready = (await probe_state(popup))["sent"][0]["payload"]["actionId"]
    assert [m["data"] for m in messages] == [
        handshake(extension.token),
        handshake(extension.token),
        response(ready),
        *after_load(f"/dashboard/orders/{RECORDED_ORDER_ID}"),
    ]
    host = await view.state()
    assert [(p["identifier"], p["appParams"]) for p in host["popupsOpened"]] == [
        ("probe-popup", app_params)
    ]
    widget_got = [m["data"] for m in await wait_for_probe_messages(widget, 9)]
    # the Dashboard's cross-talk: the popup's notifyReady also reaches the widget's listener,
    # which answers it to the widget with the widget's handshake (as recorded)
    assert widget_got[6:] == [
        response(action),
        handshake((await view.state())["token"], ""),
        response(ready),
    ]
    dialog = view.page.get_by_role("dialog", name="Probe action")
    await expect(dialog).to_be_visible()
    await screenshot("widget-popup")
    # the cross-talk again: the widget's resize also sets the popup's height (widgetIframeResize)
    await widget.evaluate("() => window.probe.send('widgetResize', {height: 250})")
    resize = await view.wait_for_resize()
    assert (resize["applied"], resize["frames"]) == (250, ["widget", "popup"])
    box = await view.page.locator(POPUP_FRAME_SELECTOR).bounding_box()
    assert box is not None
    assert (box["width"], box["height"]) == (1230, 250)
    # when: the popup closes itself
    close = await popup.evaluate("() => window.probe.send('popupClose')")
    # then
    await expect(dialog).to_have_count(0)
    assert [c["actionId"] for c in (await view.state())["popupCloses"]] == [close]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("unknown identifier", 'No POPUP extension with identifier "nope"'),
        ("stale token", "access token is stale"),
        ("params too long", "appParams too large"),
    ],
)
async def test_open_popup_is_refused_as_the_dashboard_refuses_it(
    open_in_dashboard: OpenInDashboard,
    probe: Probe,
    saleor: SaleorFakeState,
    case: str,
    reason: str,
) -> None:
    # given
    stale = case == "stale token"
    extension = probe_popup(probe, saleor, **({"exp": int(time.time()) + 3} if stale else {}))
    view = await open_widget_probe(open_in_dashboard, probe, saleor, extensions=[extension])
    identifier = "nope" if case == "unknown identifier" else "probe-popup"
    params = "A" * 2049 if case == "params too long" else None
    # when
    action = await view.frame.evaluate(
        "([i, p]) => window.probe.send('openPopup', {extensionIdentifier: i, appParams: p ?? undefined})",
        [identifier, params],
    )
    # then
    messages = await wait_for_probe_messages(view.frame, 7)
    assert messages[-1]["data"] == {
        "type": "response",
        "payload": {"actionId": action, "ok": False},
    }
    host = await view.state()
    assert [(r["actionId"], r["reason"]) for r in host["popupRefusals"]] == [(action, reason)]
    assert host["popupsOpened"] == []
    assert [f["target"] for f in host["frames"]] == ["WIDGET"]


async def test_open_popup_only_from_a_widget(
    open_in_dashboard: OpenInDashboard, probe: Probe, saleor: SaleorFakeState
) -> None:
    # given: the app page (not a widget)
    view = await open_probe(open_in_dashboard, probe, saleor.dashboard_token(now=NOW))
    await wait_for_probe_messages(view.frame, 6)
    # when
    action = await view.frame.evaluate(
        "() => window.probe.send('openPopup', {extensionIdentifier: 'probe-popup'})"
    )
    # then
    messages = await wait_for_probe_messages(view.frame, 7)
    assert messages[-1]["data"] == {
        "type": "response",
        "payload": {"actionId": action, "ok": False},
    }
    assert [r["frame"] for r in (await view.state())["popupRefusals"]] == ["app"]


async def test_refresh_entity_reloads_the_order_page(
    open_in_dashboard: OpenInDashboard,
    probe: Probe,
    saleor: SaleorFakeState,
    screenshot: Screenshot,
) -> None:
    # given: an order page whose order changes behind it
    order = {"number": "45", "metadata": [{"key": "gordon.status", "value": "pending"}]}
    view = await open_widget_probe(
        open_in_dashboard, probe, saleor, order_view=lambda _order_id: order
    )
    assert [load["reason"] for load in await view.order_loads()] == ["mount"]
    order["metadata"] = [{"key": "gordon.status", "value": "synced"}]
    # when
    action = await view.frame.evaluate("() => window.probe.send('refreshEntity')")
    # then: answered, and the order page shows the order as it is now
    messages = await wait_for_probe_messages(view.frame, 7)
    assert messages[-1]["data"] == response(action)
    await view.wait_for("s => s.orderLoads.length === 2")
    loads = await view.order_loads()
    assert [(load["reason"], load["order"]) for load in loads] == [
        ("mount", {"number": "45", "metadata": [{"key": "gordon.status", "value": "pending"}]}),
        ("refreshEntity", order),
    ]
    main = view.page.locator(".order-main")
    await expect(main.get_by_role("heading", name="Order #45")).to_be_visible()
    await expect(main.get_by_label("Metadata")).to_have_text("gordon.statussynced")
    assert [r["actionId"] for r in (await view.state())["entityRefreshes"]] == [action]
    await screenshot("refreshed")


@pytest.mark.parametrize(
    ("version", "answered"),
    [
        ("v3.23.8", set()),
        ("v3.23.18", {"refreshEntity"}),
        ("v3.23.19", {"refreshEntity", "openPopup"}),
    ],
)
async def test_an_older_dashboard_leaves_the_actions_it_does_not_know_unanswered(
    open_in_dashboard: OpenInDashboard,
    probe: Probe,
    saleor: SaleorFakeState,
    version: str,
    answered: set[str],
) -> None:
    # given
    extension = probe_popup(probe, saleor)
    view = await open_widget_probe(
        open_in_dashboard, probe, saleor, dashboard_version=version, extensions=[extension]
    )
    assert (await probe_state(view.frame))["messages"][0]["data"]["payload"][
        "dashboardVersion"
    ] == version
    # when: both, then a notification (which every version answers)
    sent = {
        kind: await view.frame.evaluate(
            "k => window.probe.send(k, k === 'openPopup' ? {extensionIdentifier: 'probe-popup'} : {})",
            kind,
        )
        for kind in ("refreshEntity", "openPopup")
    }
    last = await view.frame.evaluate(
        "() => window.probe.send('notification', {status: 'info', title: 'last'})"
    )
    await view.wait_for_toast()
    # then: only the known ones are answered (the notification's answer came after them)
    await view.frame.wait_for_function(
        "id => window.probe.messages.some(m => m.data.payload && m.data.payload.actionId === id)",
        arg=last,
    )
    answers = {
        m["data"]["payload"]["actionId"]
        for m in (await probe_state(view.frame))["messages"]
        if m["data"]["type"] == "response"
    }
    assert {kind for kind, action in sent.items() if action in answers} == answered
    host = await view.state()
    assert len(host["entityRefreshes"]) == ("refreshEntity" in answered)
    assert len(host["popupsOpened"]) == ("openPopup" in answered)
