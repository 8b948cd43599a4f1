"""Every Dashboard page in every locale (switched live, as staff switch the Dashboard's language),
light and dark, with an accessibility audit and screenshots, and the Dashboard's own look.

One shop with three orders (one in Gordon, one Gordon refused, one not for Gordon yet) serves every
screen; each frame (app page, widget, popup) is loaded once and then switched through the locales
and themes by the Dashboard test host, as the real Dashboard does (``localeChanged``, ``theme``).
Expected words come from the catalogues themselves: the test proves the page shows the catalogue
of the locale it was told, and ``test_catalogues.py`` proves the catalogues are complete.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from playwright.async_api import Frame, expect

from tests.browser.accessibility import axe_problems
from tests.browser.conftest import AppInDashboard, Screenshot
from tests.browser.dashboard_host import DashboardView
from tests.browser.test_dashboard_pages import dashboard_dark_background
from tests.e2e.conftest import Stack
from tests.support.shop import DELIVERY_GROUP

I18N = Path(__file__).resolve().parents[2] / "saleor_gordon" / "static" / "dashboard" / "i18n"
LOCALES = ("en", "sv", "nb", "da")
LOOKED_AT = ("en", "sv")  # screenshots and the accessibility audit, in light and dark
# (the audit runs in every locale too, in light: each locale's words are its own)
# What a shop owner must never read (the catalogue test checks the words; this checks the page):
# event names, snake_case names of statuses, columns and keys, exception classes, JWKS.
INTERNAL = re.compile(
    r"\b[A-Z]+_[A-Z_]+\b|\b[a-z]+_[a-z_]+\b|\b[A-Z][a-z]+(?:Error|Exception)\b|JWKS"
)


def words(locale: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((I18N / f"{locale}.json").read_text("utf-8"))
    return data


CATALOGUES = {locale: words(locale) for locale in LOCALES}


@dataclasses.dataclass
class Shop:
    stack: Stack
    synced: dict[str, Any]
    refused: dict[str, Any]
    waiting: dict[str, Any]
    unsent: dict[str, Any]


@pytest_asyncio.fixture
async def shop(dashboard: AppInDashboard) -> AsyncIterator[Shop]:
    async with dashboard.with_app() as stack:
        synced, refused = stack.paid_order(), stack.paid_order()
        waiting = stack.paid_order(isPaid=False, chargeStatus="NONE")
        await stack.emit("ORDER_FULLY_PAID", synced["id"])
        await stack.wait_until(lambda: _status(stack, synced, "synced"))  # tracking ID stored
        accepting = stack.gordon.state.options
        stack.gordon.state.options = dataclasses.replace(accepting, delivery_groups=("Other",))
        await stack.emit("ORDER_FULLY_PAID", refused["id"])
        await stack.wait_until(lambda: _status(stack, refused, "needs_attention"))
        stack.gordon.state.options = accepting
        await stack.emit("ORDER_CREATED", waiting["id"])  # not paid yet: not for Gordon yet
        await stack.wait_until(lambda: _status(stack, waiting, "skipped"))
        yield Shop(stack, synced, refused, waiting, stack.paid_order())


async def _status(stack: Stack, order: dict[str, Any], status: str) -> bool:
    jobs = [job for job in await stack.jobs() if job["order_id"] == order["id"]]
    return bool(jobs) and jobs[0]["status"] == status


async def switch_locale(view: DashboardView, locale: str) -> dict[str, Any]:
    """The Dashboard switches language; the page follows without a reload."""
    await view.set_locale(locale)
    await expect(view.frame.locator("html")).to_have_attribute("lang", locale)
    return CATALOGUES[locale]


async def own_words(frame: Frame) -> str:
    """What the page itself says: its visible text without the English the worker stored in the
    job history before messages were codes (shown as stored, marked ``.stored-message``)."""
    return str(
        await frame.evaluate(
            """() => { const copy = document.body.cloneNode(true);
                       copy.querySelectorAll('.stored-message').forEach((el) => el.remove());
                       document.body.append(copy); copy.hidden = false;
                       const text = copy.innerText; copy.remove(); return text; }"""
        )
    )


async def assert_no_internal_identifiers(frame: Frame) -> None:
    text = await own_words(frame)
    # Words the shop owner types themselves: the gordon.* metadata of products, orders and
    # shipping methods, and the place of the tracking ID in the tracking link's format.
    typed = text
    for key in ("gordon.type", "gordon.time_window", "gordon.delivery_date", "{tracking_id}"):
        typed = typed.replace(key, "")
    assert INTERNAL.findall(typed) == [], text


async def look(
    view: DashboardView,
    screenshot: Screenshot,
    name: str,
    target: Any = None,
    *,
    audit: bool = True,
) -> None:
    """Screenshots (and, with ``audit``, the accessibility audit of the whole document) of one
    screen in en and sv, light and dark."""
    for theme in ("light", "dark"):
        await view.set_theme(theme)
        await expect(view.frame.locator("html")).to_have_attribute("data-theme", theme)
        for locale in LOOKED_AT:
            await switch_locale(view, locale)
            await screenshot(f"{name}-{locale}-{theme}", target=target)
            if audit:
                assert await axe_problems(view.frame) == [], f"{name} {locale} {theme}"
    await view.set_theme("light")
    await switch_locale(view, "en")


async def test_the_app_page_in_every_locale_and_theme(
    shop: Shop, dashboard: AppInDashboard, screenshot: Screenshot, page_errors: list[str]
) -> None:
    view = await dashboard.open()
    frame = view.frame
    # English before the first localeChanged and after the recorded one ("en")
    await expect(frame.locator("html")).to_have_attribute("lang", "en")
    await expect(frame.get_by_role("tab", name="Orders")).to_have_attribute("aria-selected", "true")
    await expect(frame.get_by_text("Matkassen AB", exact=True)).to_be_visible()  # shop { name }

    refused_row = frame.get_by_role("row").filter(has_text=f"#{shop.refused['number']}")
    waiting_row = frame.get_by_role("row").filter(has_text=f"#{shop.waiting['number']}")
    synced_row = frame.get_by_role("row").filter(has_text=f"#{shop.synced['number']}")
    for locale in ("sv", "nb", "da", "en"):
        t = await switch_locale(view, locale)
        await expect(frame.get_by_role("tab", name=t["tab.orders"])).to_have_attribute(
            "aria-selected", "true"
        )
        await expect(refused_row.get_by_text(t["status.needs_attention"])).to_be_visible()
        await expect(waiting_row.get_by_text(t["status.skipped"])).to_be_visible()
        await expect(synced_row.get_by_text(t["status.synced"])).to_be_visible()
        # Retry where it can change something, none where it cannot
        retry = t["orders.retry_order"].replace("{number}", f"#{shop.refused['number']}")
        await expect(refused_row.get_by_role("button", name=retry)).to_be_visible()
        await expect(waiting_row.get_by_role("button", name=t["orders.retry"])).to_have_count(0)
        await expect(synced_row.get_by_role("button", name=t["orders.retry"])).to_have_count(0)
        # every count's number on one line, whether its label takes one line or two ("Needs
        # attention" in English, "Kræver handling" in Danish)
        assert len(set(await tops(frame, ".count .number"))) == 1, locale
        # the audit in every locale: each has its own words (Danish "Prøv ordre #1002 igen"
        # named a Retry button without its visible "Prøv igen")
        assert await axe_problems(frame) == [], locale

    await refused_row.get_by_role(
        "button", name=f"History of order #{shop.refused['number']}"
    ).click()
    history = frame.locator("tr.history")
    for locale in LOCALES:
        t = await switch_locale(view, locale)
        await expect(history).to_contain_text(t["history.push.rejected"])
        # the exact time shown, to the second (test_history_locales.py has the exact texts), and
        # on hover how long ago and the full date with the shop's time zone
        first = history.locator("time").first
        await expect(first).to_have_text(re.compile(r"\d{1,2}[:.]\d{2}[:.]\d{2}"))
        full = await first.get_attribute("title")
        assert full is not None
        assert re.search(r" · .*\d{4}.*\d{1,2}[:.]\d{2}[:.]\d{2}.* (CES?T|GMT\+[12])$", full), full
        await assert_no_internal_identifiers(frame)
    await look(view, screenshot, "orders")

    await frame.get_by_role("tab", name="Configuration").click()
    for locale in ("sv", "nb", "da", "en"):
        t = await switch_locale(view, locale)
        await expect(frame.get_by_role("heading", name=t["config.gordon_title"])).to_be_visible()
        await expect(frame.get_by_label(t["config.rule_group"])).to_have_value(DELIVERY_GROUP)
        # dates from Intl in the locale: the preview's weekday, the weekdays' names
        monday = await frame.evaluate(
            "(l) => new Intl.DateTimeFormat(l, {weekday: 'long', timeZone: 'UTC'})"
            ".format(new Date(Date.UTC(2024, 0, 1, 12)))",
            locale,
        )
        await expect(frame.get_by_label(monday, exact=True)).to_be_checked()
        preview = t["config.preview"].split("{")[0].strip()
        await expect(frame.get_by_role("status").filter(has_text=preview)).to_be_visible()
        await assert_no_internal_identifiers(frame)
        assert await truncated_selects(frame) == []
        assert await axe_problems(frame) == [], locale
        # every checkbox and radio button reads alike (the customer e-mail's was styled as a
        # field's label: 12 px, medium)
        assert await frame.evaluate(
            """() => [...new Set([...document.querySelectorAll('label.check')]
                       .map((l) => getComputedStyle(l).font))]"""
        ) == [await frame.evaluate("getComputedStyle(document.body).font")]
    await look(view, screenshot, "configuration")
    await frame.get_by_role("status").filter(has_text=preview).scroll_into_view_if_needed()
    await look(view, screenshot, "configuration-rules-and-days", audit=False)

    # the Dashboard's dark background and the Inter variable font, served by the app
    await view.set_theme("dark")
    background = await frame.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == await dashboard_dark_background(frame)
    fonts = await frame.evaluate(
        """async () => { await document.fonts.ready;
             return { family: getComputedStyle(document.body).fontFamily,
                      loaded: [...document.fonts].filter((f) => f.status === 'loaded')
                                                 .map((f) => f.family),
                      files: performance.getEntriesByType('resource').map((r) => r.name)
                               .filter((n) => n.endsWith('.woff2')) }; }"""
    )
    assert len((await view.state())["loads"]) == 1  # every switch was live, without a reload
    assert fonts["family"].startswith('"Inter var"')
    assert '"Inter var"' in fonts["loaded"] or "Inter var" in fonts["loaded"]
    assert (
        f"{shop.stack.app_url}/static/dashboard/vendor/inter/inter-latin-wght-normal.woff2"
        in (fonts["files"])
    )
    assert page_errors == []


async def tops(frame: Frame, selector: str) -> list[float]:
    """The top of each element ``selector`` finds, in CSS pixels."""
    found: list[float] = await frame.locator(selector).evaluate_all(
        "(all) => all.map((el) => el.getBoundingClientRect().top)"
    )
    return found


async def truncated_selects(frame: Frame) -> list[str]:
    """Options of one select that a native select cuts to the same visible text (the defect was
    "Gordon hemleverans 17-21" and "…14-16" both shown as "Gordon hemleveran")."""
    same: list[str] = await frame.evaluate(
        """() => {
             const canvas = document.createElement('canvas').getContext('2d');
             const clashes = [];
             for (const select of document.querySelectorAll('select')) {
               const style = getComputedStyle(select);
               canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
               const room = select.clientWidth - parseFloat(style.paddingLeft)
                            - parseFloat(style.paddingRight);
               const shown = (text) => {
                 let end = text.length;
                 while (end > 0 && canvas.measureText(text.slice(0, end)).width > room) end -= 1;
                 return text.slice(0, end);
               };
               const seen = new Map();
               for (const option of select.options) {
                 const visible = shown(option.text);
                 if (seen.has(visible) && seen.get(visible) !== option.text) {
                   clashes.push(`${seen.get(visible)} / ${option.text}`);
                 }
                 seen.set(visible, option.text);
               }
             }
             return clashes;
           }"""
    )
    return same


async def test_the_widget_and_the_popup_in_every_locale_and_theme(
    shop: Shop, dashboard: AppInDashboard, screenshot: Screenshot, page_errors: list[str]
) -> None:
    widget = await dashboard.open("widget", order=shop.synced)
    job = await shop.stack.job_for(shop.synced)
    await expect(widget.frame.get_by_text(job["tracking_id"], exact=True)).to_be_visible()
    # times relative to now: a next attempt in a few seconds says so; the past under 45 s is now
    relative = await widget.frame.evaluate(
        """async () => {
          const { I18n } = await import("/static/dashboard/i18n.js");
          const i18n = await I18n.create();
          const now = Date.parse("2026-12-05T12:00:00Z");
          const at = (seconds) => new Date(now + seconds * 1000).toISOString();
          return [13, 3, -13, -120, 7200].map((seconds) => i18n.relative(at(seconds), now));
        }"""
    )
    assert relative == ["in 13 sec.", "now", "now", "2 min. ago", "in 2 hr."]
    for locale in ("sv", "nb", "da", "en"):
        t = await switch_locale(widget, locale)
        await expect(widget.frame.get_by_text(t["status.synced"], exact=True)).to_be_visible()
        await expect(widget.frame.get_by_text(t["widget.tracking_id"], exact=True)).to_be_visible()
        await assert_no_internal_identifiers(widget.frame)
        assert await axe_problems(widget.frame) == [], locale
    await look(widget, screenshot, "widget", target=widget.page.locator("iframe"))

    popup = await dashboard.open("popup", order=shop.unsent, new_tab=True)
    number = f"#{shop.unsent['number']}"
    for locale in ("sv", "nb", "da", "en"):
        t = await switch_locale(popup, locale)
        headline = t["send.headline_send"].replace("{number}", number)
        await expect(popup.frame.get_by_text(headline)).to_be_visible()
        await expect(popup.frame.get_by_role("button", name=t["send.send"])).to_be_enabled()
        await expect(
            popup.frame.get_by_role("heading", name=t["send.what_gordon_gets"])
        ).to_be_visible()
        await assert_no_internal_identifiers(popup.frame)
        assert await axe_problems(popup.frame) == [], locale
    await look(popup, screenshot, "popup", target=popup.page.locator("iframe"))
    assert page_errors == []
