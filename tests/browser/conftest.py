"""Browser-test fixtures: Debian's Chromium driven by Playwright, and the Dashboard test host.

- ``chromium_endpoint`` (session): one Chromium process for the session (``/usr/bin/chromium``,
  or ``SALEOR_GORDON_TEST_CHROMIUM``), reached over CDP. Missing Chromium: skip locally, **fail**
  in CI (``CI`` set). ``.ci/run`` installs the ``chromium`` package when it is missing.
- ``browser`` / ``context`` / ``page`` (per test): a Playwright connection to that Chromium in the
  test's own event loop, a fresh browser context (1440x900, as recorded) and a page in it. Each
  test connecting anew keeps every async fixture in the function loop the project uses; only the
  browser process is shared.
- ``dashboard_host`` (session): origin of the host server (``dashboard_host.py``).
- ``open_in_dashboard(app_base_url, mount="app", path=None, *, token, saleor_api_url, app_id,
  order_id=None, theme="light", label=None, saleor_version=None, double_load=True, page=None,
  locale="en", referrer_policy=None, dashboard_version="v3.23.27", extensions=(), order_view=None)
  -> DashboardView``: the host page on ``page`` with the app mounted; unpacks as ``page, frame``.
  ``extensions`` (``PopupExtension``) are the popups a widget may open with openPopup;
  ``order_view(order_id)`` gives the order page behind a widget or popup its data (reloaded on
  refreshEntity).
  One mount per page: for a second frame, pass ``page=await context.new_page()``.
  ``path`` defaults to ``DEFAULT_PATHS[mount]`` (the app's ``/app``, ``/app/order-widget``,
  ``/app/send-to-gordon``).
- ``dashboard`` (per test): the app as a shop owner meets it (``AppInDashboard``):
  ``async with dashboard.with_app(configure=True, settings=None, **sandbox_options) as stack``
  runs it (``serve``) against the test's Saleor fake and a Gordon sandbox that knows the shop's
  delivery group; ``await dashboard.open(mount="app", order=None, new_tab=False, locale=None,
  **open_in_dashboard_options)`` opens one of its pages for a member of staff with all the app's
  permissions (``STAFF``, ``token_for``): an order's widget with the "Send to Gordon" popup it may
  open (``send_popup``), a widget or popup with the order page behind it (``order_page``); a new
  tab comes to the front before the page is mounted.
- ``page_errors`` (per test): uncaught JavaScript errors of the host page and the app's frame
  (``assert page_errors == []`` at the end of a scenario).
- ``screenshot(name, target=None) -> Path``: a PNG of the page (or of a Locator) in
  ``tests/browser/screenshots/<test name>--<name>.png`` (kept out of git).

Every test under ``tests/browser`` that uses ``page`` (``open_in_dashboard`` and ``screenshot`` do)
gets the ``browser`` marker: ``-m "not browser"`` leaves them out; and ``TEST_TIMEOUT``.

Tests wait on states and events (``expect``, ``wait_for_function``, the host's ``wait_for*``),
never on time; every such wait is bounded by ``dashboard_host.TIMEOUT_MS``, generous for a loaded
machine.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Locator, Page, async_playwright, expect

from saleor_gordon.fakes.gordon_sandbox import RunningSandbox
from saleor_gordon.saleor.manifest import SEND_LABEL, SEND_POPUP_IDENTIFIER, SEND_POPUP_PATH
from tests.browser.dashboard_host import (
    DASHBOARD_VERSION,
    DEFAULT_PATHS,
    TIMEOUT_MS,
    VIEWPORT,
    DashboardView,
    Mount,
    OrderView,
    PopupExtension,
    mount_in_host,
    running_dashboard_host,
)
from tests.e2e.conftest import Stack, running_stack
from tests.support.fixtures import RunningSaleorFake
from tests.support.shop import DELIVERY_GROUP

CHROMIUM = os.environ.get("SALEOR_GORDON_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # What Playwright's own launch adds so that timers and rendering are not throttled:
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--no-default-browser-check",
    "--password-store=basic",
    "--use-mock-keychain",
]
STARTUP_TIMEOUT = 30.0  # seconds
TEST_TIMEOUT = 300  # seconds per test (pytest-timeout): an app, fakes and many waits, when loaded
expect.set_options(timeout=TIMEOUT_MS)
SCREENSHOTS_DIR = Path(__file__).resolve().parent / "screenshots"
BROWSER_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if BROWSER_DIR in Path(str(item.path)).parents and "page" in getattr(
            item, "fixturenames", ()
        ):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT))


def _wait_for_devtools(process: subprocess.Popen[bytes], profile: Path) -> str:
    """Chromium writes ``DevToolsActivePort`` (port, then path) once it listens."""
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if port_file.is_file():
            lines = port_file.read_text(encoding="utf-8").splitlines()
            if len(lines) >= 2 and re.fullmatch(r"\d+", lines[0]):
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        if process.poll() is not None:
            raise RuntimeError(f"Chromium exited with {process.returncode} before listening")
        if time.monotonic() > deadline:
            raise RuntimeError("Chromium did not open its DevTools port in time")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def chromium_endpoint() -> Iterator[str]:
    """One headless Chromium for the session; yields its CDP WebSocket URL (loopback only)."""
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        message = f"browser tests need Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    profile = Path(tempfile.mkdtemp(prefix="saleor-gordon-chromium-"))
    log = (profile.parent / f"{profile.name}.log").open("wb")
    process = subprocess.Popen(
        [
            CHROMIUM,
            *CHROMIUM_ARGS,
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield _wait_for_devtools(process, profile)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        Path(log.name).unlink(missing_ok=True)
        shutil.rmtree(profile, ignore_errors=True)


@pytest_asyncio.fixture
async def browser(chromium_endpoint: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        yield await playwright.chromium.connect_over_cdp(chromium_endpoint)


@pytest_asyncio.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)  # actions, navigations and wait_for_* of its pages
    yield context
    await context.close()


@pytest_asyncio.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


@pytest.fixture
def page_errors(page: Page) -> list[str]:
    """Uncaught errors of the host page and of the app's frame, as ``"Name: message"``."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"{error.name}: {error.message}"))
    return errors


@pytest.fixture(scope="session")
def dashboard_host() -> Iterator[str]:
    """Origin of the Dashboard test host, e.g. ``http://127.0.0.1:41234``."""
    with running_dashboard_host() as origin:
        yield origin


class OpenInDashboard(Protocol):
    def __call__(
        self,
        app_base_url: str,
        mount: Mount = "app",
        path: str | None = None,
        *,
        token: str,
        saleor_api_url: str,
        app_id: str,
        order_id: str | None = None,
        theme: str = "light",
        label: str | None = None,
        saleor_version: str | None = None,
        double_load: bool = True,
        page: Page | None = None,
        locale: str = "en",
        referrer_policy: str | None = None,
        dashboard_version: str = DASHBOARD_VERSION,
        extensions: Sequence[PopupExtension] = (),
        order_view: OrderView | None = None,
    ) -> Awaitable[DashboardView]: ...


@pytest.fixture
def open_in_dashboard(page: Page, dashboard_host: str) -> OpenInDashboard:
    """Mount ``app_base_url + path`` in the host page as the Dashboard would; see the module doc."""
    default_page = page

    async def open_(
        app_base_url: str,
        mount: Mount = "app",
        path: str | None = None,
        *,
        token: str,
        saleor_api_url: str,
        app_id: str,
        order_id: str | None = None,
        theme: str = "light",
        label: str | None = None,
        saleor_version: str | None = None,
        double_load: bool = True,
        page: Page | None = None,
        locale: str = "en",
        referrer_policy: str | None = None,
        dashboard_version: str = DASHBOARD_VERSION,
        extensions: Sequence[PopupExtension] = (),
        order_view: OrderView | None = None,
    ) -> DashboardView:
        return await mount_in_host(
            page or default_page,
            dashboard_host,
            app_base_url.rstrip("/") + (path if path is not None else DEFAULT_PATHS[mount]),
            mount=mount,
            token=token,
            saleor_api_url=saleor_api_url,
            app_id=app_id,
            order_id=order_id,
            theme=theme,
            label=label,
            saleor_version=saleor_version,
            double_load=double_load,
            locale=locale,
            referrer_policy=referrer_policy,
            dashboard_version=dashboard_version,
            extensions=extensions,
            order_view=order_view,
        )

    return open_


Screenshot = Callable[..., Awaitable[Path]]


@pytest.fixture
def screenshot(page: Page, request: pytest.FixtureRequest) -> Screenshot:
    """``await screenshot("overview")`` saves the page; ``target=locator`` saves one element."""
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")

    async def take(name: str, target: Locator | None = None) -> Path:
        SCREENSHOTS_DIR.mkdir(exist_ok=True)
        path = SCREENSHOTS_DIR / f"{test_name}--{name}.png"
        if target is None:
            await page.screenshot(path=path)
        else:
            await target.screenshot(path=path)
        return path

    return take


STAFF = ["MANAGE_ORDERS", "MANAGE_APPS", "MANAGE_SHIPPING", "MANAGE_PRODUCTS"]
"""The permissions of the member of staff the pages are opened for: every one the app asks for."""


def token_for(stack: Stack, **claims: Any) -> str:
    """A Dashboard token of ``stack``'s Saleor for that member of staff (``claims`` change it)."""
    claims.setdefault("user_permissions", STAFF)
    return stack.saleor.state.dashboard_token(now=datetime.now(UTC), **claims)


def send_popup(stack: Stack) -> PopupExtension:
    """The app's "Send to Gordon" popup as the Dashboard lists it for the order page."""
    token = token_for(stack, app_extension="QXBwRXh0ZW5zaW9uOjY=")
    url = stack.app_url.rstrip("/") + SEND_POPUP_PATH
    return PopupExtension(SEND_POPUP_IDENTIFIER, url, token, label=SEND_LABEL)


def order_page(stack: Stack) -> OrderView:
    """What the Dashboard's order page shows of an order: its number and metadata (public, then
    private), read from the Saleor fake each time the page loads its order."""

    def view(order_id: str) -> dict[str, Any]:
        order = stack.saleor.state.order(order_id)
        metadata = [*order.get("metadata", []), *order.get("privateMetadata", [])]
        return {"number": order["number"], "metadata": metadata}

    return view


class AppInDashboard:
    """The app of one test as a shop owner meets it: running (``with_app``), and its pages opened
    in the Dashboard test host as the Dashboard opens them (``open``)."""

    def __init__(
        self,
        saleor_fake: RunningSaleorFake,
        start_gordon_sandbox: Callable[..., RunningSandbox],
        tmp_path: Path,
        open_in_dashboard: OpenInDashboard,
        page: Page,
    ) -> None:
        self._saleor_fake = saleor_fake
        self._start_gordon_sandbox = start_gordon_sandbox
        self._tmp_path = tmp_path
        self._open_in_dashboard = open_in_dashboard
        self.page = page
        """The test's own page: where ``open`` mounts unless it opens a new tab."""
        self.stack: Stack | None = None
        """The app running now (``with_app``)."""

    @contextlib.asynccontextmanager
    async def with_app(
        self,
        *,
        configure: bool = True,
        settings: dict[str, str] | None = None,
        **sandbox_options: Any,
    ) -> AsyncIterator[Stack]:
        """The app (``serve``) installed in the test's Saleor fake and, unless not
        ``configure``, configured for a Gordon sandbox (``sandbox_options``) that knows the
        shop's delivery group; ``settings``: the app's environment beside the stack's."""
        sandbox_options.setdefault("delivery_groups", (DELIVERY_GROUP,))
        gordon = self._start_gordon_sandbox(**sandbox_options)
        async with running_stack(
            self._saleor_fake, gordon, self._tmp_path, configure=configure, settings=settings
        ) as stack:
            self.stack = stack
            try:
                yield stack
            finally:
                self.stack = None

    async def open(
        self,
        mount: Mount = "app",
        *,
        order: Mapping[str, Any] | None = None,
        new_tab: bool = False,
        locale: str | None = None,
        **options: Any,
    ) -> DashboardView:
        """The app's page ``mount`` (for ``order``), as the Dashboard opens it for ``STAFF``:
        ``options`` are ``open_in_dashboard``'s and change what the Dashboard would do (``token``,
        ``extensions``, ``order_view``, ``dashboard_version``, ``page``...). ``new_tab``: in a new
        tab of the browser, brought to the front first (a tab behind others may not load its
        frames). ``locale``: the Dashboard's language from the start (the page follows it before
        this returns)."""
        stack = self.stack
        assert stack is not None, "open the app's pages while it runs (dashboard.with_app)"
        if order is not None:
            options["order_id"] = order["id"]
        options.setdefault("token", token_for(stack))
        if mount == "widget":
            options.setdefault("extensions", [send_popup(stack)])
        if mount != "app":
            options.setdefault("order_view", order_page(stack))
        if new_tab:
            options["page"] = await self.page.context.new_page()
            await options["page"].bring_to_front()
        if locale is not None:
            options["locale"] = locale
        view = await self._open_in_dashboard(
            stack.app_url,
            mount,
            saleor_api_url=stack.saleor.api_url,
            app_id=stack.saleor.state.app_id,
            **options,
        )
        if locale is not None:
            await expect(view.frame.locator("html")).to_have_attribute("lang", locale)
        return view


@pytest.fixture
def dashboard(
    saleor_fake: RunningSaleorFake,
    start_gordon_sandbox: Callable[..., RunningSandbox],
    tmp_path: Path,
    open_in_dashboard: OpenInDashboard,
    page: Page,
) -> AppInDashboard:
    """The app of this test and its pages in the Dashboard (``AppInDashboard``)."""
    return AppInDashboard(saleor_fake, start_gordon_sandbox, tmp_path, open_in_dashboard, page)
