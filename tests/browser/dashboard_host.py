"""A test host that plays the Saleor Dashboard around an app's page, widget or popup.

It mimics what the real Dashboard 3.23.27 did in the recording in
``shared/saleor/dashboard-samples/README.md``: the page is served from its own origin on
127.0.0.1 (not the app's), and embeds the app in

    <iframe data-test-id="app-frame"
            sandbox="allow-same-origin allow-forms allow-scripts allow-downloads allow-popups">

with the recorded query (``frame_url``): ``domain, saleorApiUrl, id, [orderId],
featureFlags[new_order_ui][enabled|payload], theme`` (widgets carry domain/saleorApiUrl/id twice).
The frame is loaded twice: first without ``theme`` (the app's server gets that GET, the browser
never runs that document: it drops that request itself once the host sets the final src; the host
never fails it, which could lose the final load), then with ``&theme=...``. Frame sizes are the recorded ones: app page
1179x822, widget 344 wide and 200 high until it sends ``widgetResize``, popup 1230x726 in a modal
titled with the extension label (browser viewport 1440x900).

App Bridge, as recorded (``dashboard_host.html`` holds the page and its script):

- on the frame's ``load``: ``handshake {token, version: 1, saleorVersion, dashboardVersion}``, then,
  once, ``localeChanged {locale}`` (the Dashboard's interface language, ``"en"`` unless the mount
  says otherwise), ``theme {theme}``, ``redirect {path}`` (the host page's own path, like
  ``/dashboard/extensions/app/QXBwOjU%3D``); later loads get the handshake only;
- ``view.set_locale(locale)``: ``localeChanged {locale}`` again, as when staff switch language;
- ``notifyReady`` -> another ``handshake`` and ``response {actionId, ok: true}`` (one that comes
  before the load is answered right after the load's handshake, as both recorded handshakes came
  after the probe's notifyReady);
- ``notification`` -> a toast (recorded, and shown bottom-right) + ``response``;
- ``widgetResize {height}`` -> iframe height = ceil(height) capped at 5000, ignored unless a
  positive finite number; + ``response``. Set by every frame's listener on its own iframe, as the
  Dashboard does: with the app's popup open, a widget's resize squeezes the popup too;
- ``popupClose`` -> recorded, ``response``, the popup is removed;
- ``refreshEntity`` (Dashboard 3.23.9+) -> recorded in ``entityRefreshes``, ``response``, and the
  order page behind a widget or popup loads its order again (``orderLoads``; with ``order_view``
  it shows the order's number and metadata, as the real order page refetches its order);
- ``openPopup {extensionIdentifier, appParams}`` (3.23.19+) -> only from a widget: the app's POPUP
  extension with that identifier (``extensions``) opens in a modal, framed at its URL with
  ``domain, saleorApiUrl, id, appParams, featureFlags…, theme`` (no orderId: the app passes what
  it needs in appParams), its own token, and the handshake/locale/theme/redirect sequence;
  ``response {ok: true}``. ``ok: false`` (recorded in ``popupRefusals``) for another frame type,
  an unknown identifier, appParams that are no string or longer than 2048, or a missing or stale
  token (AppExtensionContextProvider.openPopupByIdentifier);
- the other actions the Dashboard knows -> recorded in ``actions`` + ``response {ok: true}``. An
  action the Dashboard version (``dashboard_version``) does not know yet is recorded and never
  answered, as the real one only warns in its console (widgetResize from 3.23.8, refreshEntity
  from 3.23.9, openPopup from 3.23.19).
  Messages are accepted by origin only (as the Dashboard does); every message event is recorded.
  With a widget and its popup mounted, each frame has its own listener (the Dashboard's
  cross-talk): an action of one frame is answered to both frames, and the popup's notifyReady
  also sends the widget a handshake; toasts, closes and refreshes happen once, resizes on each.

Use it through the fixtures in ``tests/browser/conftest.py``:

    async def test_x(open_in_dashboard, screenshot, saleor_fake):
        token = saleor_fake.state.dashboard_token(now=datetime.now(UTC))
        view = await open_in_dashboard(app_url, mount="app", token=token,
                                       saleor_api_url=saleor_fake.api_url, app_id="QXBwOjU=")
        page, frame = view                           # Playwright Page (host) and Frame (app)
        await frame.get_by_role("button", name="Save").click()
        toast = await view.wait_for_toast()          # {"status", "title", "text", "actionId", "t"}
        await view.refresh_token(new_token)          # tokenRefresh {token}
        await view.set_theme("dark")                 # theme {theme: "dark"}
        await view.set_locale("sv")                  # localeChanged {locale: "sv"}
        foreign = await view.send_response()         # response for an actionId the app never sent
        await screenshot("configuration")            # tests/browser/screenshots/<test>--configuration.png

``view.state()`` returns everything the host saw (``window.__host.state`` in the page):

- ``received``: every message event, ``{t, origin, fromFrame, handled, data}``; ``handled`` is
  true for objects with a string ``type`` from the app's origin (``view.received(type)`` gives
  their ``data``);
- ``actions``: the handled ones as ``{t, type, payload}`` (an app's ``redirect`` action lands here:
  recorded and answered, the host does not navigate);
- ``sent``: ``{t, data}`` the host posted to the frame (``view.sent(type)`` gives ``data``);
- ``toasts``: ``{t, status, title, text, actionId}``; ``resizes``: ``{t, requested, applied,
  frames}`` (``applied`` is the px set on the ``frames`` named, or null when ignored);
  ``popupCloses``: ``{t, actionId}``;
- ``loads`` (``{t, frame, src}`` per load of a frame's final src), ``srcs`` (every src set on the
  main frame), ``token`` (what the main frame's next handshake carries), ``theme``, ``locale``,
  ``mount``, ``appOrigin``, ``handshakeDone``, ``frameClosed``, ``dashboardVersion``;
- ``frames`` (``{name, target, src, closed}``, the main frame first, then a popup a widget
  opened), ``popupsOpened`` (``{t, actionId, identifier, src, appParams}``), ``popupRefusals``
  (``{t, actionId, frame, reason}``), ``entityRefreshes`` (``{t, actionId}``), ``orderLoads``
  (``{t, reason, order}``, reason ``"mount"`` or ``"refreshEntity"``).
  ``sent``, ``received`` and ``actions`` entries name their ``frame`` (``"app"``, ``"widget"``,
  ``"popup"``).

``t`` is milliseconds since the host page's script started. Wait on this state with
``view.wait_for("(state, arg) => ...", arg)``, ``wait_for_received``, ``wait_for_toast`` or
``wait_for_resize``, or on the app's own page with Playwright's ``expect``, never with sleeps.
One mount per host page (an app page, a widget or a popup); a widget can add its popup
(``view.popup()`` gives its frame). ``send_response()`` and ``handshake()`` give the main frame
more foreign responses and extra handshakes on demand.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple
from urllib.parse import quote, urlencode, urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Frame, Page, Route, ViewportSize
from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route as StarletteRoute

from tests.support.loopback import serve_on_loopback

Mount = Literal["app", "widget", "popup"]

HOST_PAGE = Path(__file__).with_name("dashboard_host.html")
TIMEOUT_MS = 60_000
"""The bound of every wait on the browser (here, Playwright's ``expect`` and the pages' default,
set in conftest.py): generous, since a loaded machine makes each step slow; a wait that is
never met fails after this long."""
FRAME_SELECTOR = 'iframe[data-test-id="app-frame"]'
POPUP_FRAME_SELECTOR = f".modal {FRAME_SELECTOR}"
VIEWPORT: ViewportSize = {"width": 1440, "height": 900}
"""The browser viewport of the recording; the frame sizes below follow from it."""
FRAME_SIZES: dict[Mount, tuple[int, int]] = {
    "app": (1179, 822),
    "widget": (344, 200),
    "popup": (1230, 726),
}
DASHBOARD_VERSION = "v3.23.27"
SALEOR_VERSION = "3.23.28"
"""What the app page and popup handshakes carried; widget handshakes had ``saleorVersion: ""``."""
DEFAULT_PATHS: dict[Mount, str] = {
    "app": "/app",
    "widget": "/app/order-widget",
    "popup": "/app/send-to-gordon",
}
"""The app's own paths (its manifest's appUrl and extension URLs)."""
FEATURE_FLAGS = [
    ("featureFlags[new_order_ui][enabled]", "false"),
    ("featureFlags[new_order_ui][payload]", "default"),
]
DEFAULT_LABELS: dict[Mount, str] = {
    "app": "Gordon Delivery",
    "widget": "Gordon Delivery",
    "popup": "Send to Gordon",
}

HostState = dict[str, Any]
OrderView = Callable[[str], Awaitable[dict[str, Any] | None] | dict[str, Any] | None]
"""The order page's data for an order id (``{number, metadata: [{key, value}]}``)."""


@dataclass(frozen=True)
class PopupExtension:
    """One of the app's POPUP extensions as the Dashboard's ExtensionList gives it to a page."""

    identifier: str
    url: str
    """Absolute, as core resolves a popup's URL."""
    token: str
    """The extension's access token (its permissions ∩ the user's, ``app_extension`` set)."""
    label: str = DEFAULT_LABELS["popup"]

    def to_js(self) -> dict[str, str]:
        return {
            "identifier": self.identifier,
            "target": "POPUP",
            "url": self.url,
            "token": self.token,
            "label": self.label,
        }


def frame_url(
    app_url: str,
    *,
    mount: Mount,
    saleor_api_url: str,
    app_id: str,
    order_id: str | None = None,
    theme: str | None = None,
) -> str:
    """The iframe ``src`` the Dashboard builds for ``app_url`` (the page's full URL, no query)."""
    if (order_id is None) != (mount == "app"):
        raise ValueError("orderId is given to widgets and popups, and only to them")
    context = [("domain", urlsplit(saleor_api_url).netloc), ("saleorApiUrl", saleor_api_url)]
    context.append(("id", app_id))
    params = context * 2 if mount == "widget" else context
    if order_id is not None:
        params.append(("orderId", order_id))
    params += FEATURE_FLAGS
    if theme is not None:
        params.append(("theme", theme))
    return f"{app_url}?{urlencode(params)}"


def host_path(mount: Mount, *, app_id: str, order_id: str | None) -> str:
    """The Dashboard page that shows the mount; its ``location.pathname`` is the ``redirect`` path."""
    if mount == "app":
        return f"/dashboard/extensions/app/{quote(app_id, safe='')}"
    return f"/dashboard/orders/{quote(order_id or '', safe='')}"


async def _host_page(_request: Request) -> Response:
    return HTMLResponse(
        HOST_PAGE.read_text(encoding="utf-8"), headers={"cache-control": "no-store"}
    )


def create_dashboard_host() -> Starlette:
    """The host's ASGI app: the same page under every ``/dashboard/...`` path."""
    return Starlette(routes=[StarletteRoute("/dashboard/{rest:path}", _host_page)])


@contextmanager
def running_dashboard_host() -> Iterator[str]:
    """Serve the host on 127.0.0.1 (free port) in a thread; yields its origin."""
    with serve_on_loopback(create_dashboard_host()) as origin:
        yield origin


class DashboardView(NamedTuple):
    """An app frame mounted in the host page. Unpacks as ``page, frame``."""

    page: Page
    """The host (Dashboard) page."""
    frame: Frame
    """The app's frame, after its final load."""

    # --- reading what the host saw -----------------------------------------------------------

    async def state(self) -> HostState:
        state: HostState = await self.page.evaluate("() => window.__host.state")
        return state

    async def received(self, message_type: str | None = None) -> list[dict[str, Any]]:
        """The ``data`` of messages the host accepted from the app origin, in order."""
        received = (await self.state())["received"]
        return [
            entry["data"]
            for entry in received
            if entry["handled"] and message_type in (None, entry["data"]["type"])
        ]

    async def sent(self, message_type: str | None = None) -> list[dict[str, Any]]:
        """The messages the host posted to the frame, in order."""
        sent = (await self.state())["sent"]
        return [e["data"] for e in sent if message_type in (None, e["data"]["type"])]

    async def toasts(self) -> list[dict[str, Any]]:
        toasts: list[dict[str, Any]] = (await self.state())["toasts"]
        return toasts

    async def resizes(self) -> list[dict[str, Any]]:
        resizes: list[dict[str, Any]] = (await self.state())["resizes"]
        return resizes

    async def frame_size(self) -> tuple[float, float]:
        """Width and height of the main iframe element as laid out now."""
        box = await self.page.locator(FRAME_SELECTOR).first.bounding_box()
        assert box is not None, "the app frame is not laid out"
        return box["width"], box["height"]

    # --- waiting on the host's state (never on time) -------------------------------------------

    async def wait_for(
        self, predicate: str, arg: Any = None, *, timeout_ms: float = TIMEOUT_MS
    ) -> Any:
        """Wait until ``predicate(state, arg)`` (JS source) is truthy; returns its value."""
        handle = await self.page.wait_for_function(
            f"([arg]) => ({predicate})(window.__host.state, arg)", arg=[arg], timeout=timeout_ms
        )
        return await handle.json_value()

    async def wait_for_received(
        self, message_type: str, count: int = 1, *, timeout_ms: float = TIMEOUT_MS
    ) -> list[dict[str, Any]]:
        """Wait until the app has sent ``count`` messages of ``message_type``; returns them all."""
        await self.wait_for(
            "(s, [type, n]) => s.received.filter(m => m.handled && m.data.type === type).length >= n",
            [message_type, count],
            timeout_ms=timeout_ms,
        )
        return await self.received(message_type)

    async def wait_for_toast(
        self, count: int = 1, *, timeout_ms: float = TIMEOUT_MS
    ) -> dict[str, Any]:
        """Wait for the ``count``-th toast; returns it."""
        await self.wait_for("(s, n) => s.toasts.length >= n", count, timeout_ms=timeout_ms)
        return (await self.toasts())[count - 1]

    async def wait_for_resize(
        self, count: int = 1, *, timeout_ms: float = TIMEOUT_MS
    ) -> dict[str, Any]:
        """Wait for the ``count``-th ``widgetResize``; returns ``{t, requested, applied, frames}``."""
        await self.wait_for("(s, n) => s.resizes.length >= n", count, timeout_ms=timeout_ms)
        return (await self.resizes())[count - 1]

    async def popup(self, *, timeout_ms: float = TIMEOUT_MS) -> Frame:
        """The popup a widget opened (openPopup), once it loaded and got its handshake sequence."""
        await self.wait_for(
            "s => s.frames.some(f => f.target === 'POPUP' && !f.closed)"
            " && s.sent.some(m => m.frame === 'popup' && m.data.type === 'redirect')",
            timeout_ms=timeout_ms,
        )
        element = await self.page.wait_for_selector(POPUP_FRAME_SELECTOR, state="attached")
        assert element is not None
        frame = await element.content_frame()
        assert frame is not None, "the popup frame has no document"
        return frame

    async def order_loads(self) -> list[dict[str, Any]]:
        """Each time the order page loaded its order: ``{t, reason, order}``."""
        loads: list[dict[str, Any]] = (await self.state())["orderLoads"]
        return loads

    # --- acting as the Dashboard on demand ---------------------------------------------------

    async def refresh_token(self, token: str) -> None:
        """Post ``tokenRefresh {token}``; later handshakes carry this token too."""
        await self.page.evaluate("token => window.__host.refreshToken(token)", token)

    async def set_theme(self, theme: str) -> None:
        """Switch the host's theme and post ``theme {theme}``."""
        await self.page.evaluate("theme => window.__host.setTheme(theme)", theme)

    async def set_locale(self, locale: str) -> None:
        """Switch the host's interface language and post ``localeChanged {locale}``."""
        await self.page.evaluate("locale => window.__host.setLocale(locale)", locale)

    async def send_response(self, action_id: str | None = None, *, ok: bool = True) -> str:
        """Post ``response {actionId, ok}`` (default: a fresh, foreign actionId); returns the id."""
        action_id = action_id or str(uuid.uuid4())
        await self.page.evaluate(
            "([id, ok]) => window.__host.sendResponse(id, ok)", [action_id, ok]
        )
        return action_id

    async def handshake(self) -> None:
        """Post another ``handshake`` with the current token (as cross-talk between frames does)."""
        await self.page.evaluate("() => window.__host.handshake()")

    async def send(self, message: dict[str, Any]) -> None:
        """Post any message to the frame, to the app's origin."""
        await self.page.evaluate("message => window.__host.send(message)", message)


async def _host_progress(page: Page) -> str:
    """What the host page saw of its frames so far (srcs set, load events, messages sent) and
    which documents the browser's frames hold: says which step of a mount did not happen."""
    progress = await page.evaluate(
        """() => ({
          srcs: window.__host.state.srcs,
          loads: window.__host.state.loads,
          sent: window.__host.state.sent.map(m => `${m.frame}:${m.data.type}`),
        })"""
    )
    frames = [frame.url for frame in page.frames]
    return f"host state {progress}; browser frames {frames}"


async def mount_in_host(
    page: Page,
    host_origin: str,
    app_url: str,
    *,
    mount: Mount,
    token: str,
    saleor_api_url: str,
    app_id: str,
    order_id: str | None = None,
    theme: str = "light",
    label: str | None = None,
    saleor_version: str | None = None,
    double_load: bool = True,
    locale: str = "en",
    referrer_policy: str | None = None,
    dashboard_version: str = DASHBOARD_VERSION,
    extensions: Sequence[PopupExtension] = (),
    order_view: OrderView | None = None,
    timeout_ms: float = TIMEOUT_MS,
) -> DashboardView:
    """Open the host page on ``page`` and mount ``app_url`` (full page URL) in it.

    Returns once the frame's final document has loaded and the host has sent its handshake,
    ``localeChanged`` (``locale``), ``theme`` and ``redirect``. ``referrer_policy`` (e.g.
    ``"no-referrer"``) goes on the iframe: the app then cannot tell the Dashboard's origin.
    ``dashboard_version`` is what the handshakes say and which actions the host answers;
    ``extensions`` are the popups a widget may open; ``order_view`` gives the order page its data
    (loaded on mount and on each refreshEntity).
    """
    first = frame_url(
        app_url, mount=mount, saleor_api_url=saleor_api_url, app_id=app_id, order_id=order_id
    )
    final = f"{first}&theme={quote(theme, safe='')}"

    async def supersede_first_load(route: Route) -> None:
        # The app's server gets the first GET, as from the Dashboard; the browser never gets its
        # answer, so that document runs no script (as recorded: "superseded", no events). The
        # host's final src makes the browser drop this request itself (net::ERR_ABORTED: a frame
        # navigates to one URL at a time); only then is the route resolved. Aborting it before
        # the browser has begun the final navigation fails the frame's navigation instead: the
        # frame commits an error page, and the final src set meanwhile may never load.
        try:
            await route.fetch()
        finally:
            with suppress(PlaywrightTimeoutError):
                async with page.expect_event(
                    "requestfailed", lambda request: request == route.request, timeout=timeout_ms
                ) as dropped:
                    await page.evaluate("() => window.__host.supersede()")
                await dropped.value
            with suppress(PlaywrightError):
                await route.abort()

    if double_load:
        await page.route(lambda url: url == first, supersede_first_load, times=1)
    if order_view is not None:
        await page.expose_function("dashboardHostOrder", order_view)
    await page.goto(host_origin + host_path(mount, app_id=app_id, order_id=order_id))
    await page.evaluate(
        "options => window.__host.mount(options)",
        {
            "mount": mount,
            "url": first if double_load else final,
            "finalUrl": final,
            "token": token,
            "theme": theme,
            "label": label if label is not None else DEFAULT_LABELS[mount],
            "saleorVersion": saleor_version
            if saleor_version is not None
            else ("" if mount == "widget" else SALEOR_VERSION),
            "coreVersion": SALEOR_VERSION,
            "dashboardVersion": dashboard_version,
            "locale": locale,
            "referrerPolicy": referrer_policy,
            "saleorApiUrl": saleor_api_url,
            "appId": app_id,
            "orderId": order_id,
            "extensions": [extension.to_js() for extension in extensions],
        },
    )
    try:
        await page.wait_for_function(
            "() => window.__host.state.sent.some(m => m.data.type === 'redirect')",
            timeout=timeout_ms,
        )
    except PlaywrightTimeoutError as timeout:
        raise AssertionError(
            f"the {mount} frame did not load its final document within {timeout_ms / 1000:g} s; "
            f"{await _host_progress(page)}"
        ) from timeout
    element = await page.wait_for_selector(f"{FRAME_SELECTOR} >> nth=0", state="attached")
    assert element is not None
    frame = await element.content_frame()
    assert frame is not None, "the app frame has no document"
    return DashboardView(page, frame)
