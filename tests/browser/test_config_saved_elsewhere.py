"""Two people (or two tabs) with the Configuration page open: the second save, made from a
configuration read before the first, is refused; the page says so in the person's language, keeps
their edits on screen and offers both ways forward.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Frame, expect

from saleor_gordon.core.shop_config import ShopConfig
from tests.browser.conftest import AppInDashboard, Screenshot
from tests.browser.dashboard_host import DashboardView
from tests.browser.test_catalogues import catalogue
from tests.e2e.conftest import Stack


async def _configuration(view: DashboardView, texts: dict[str, Any]) -> Frame:
    """The Configuration tab of ``view`` (a configured shop opens on its orders), loaded."""
    frame = view.frame
    await frame.get_by_role("tab", name=texts["tab.configuration"]).click()
    await expect(frame.locator("#ref-prefix")).to_be_visible()
    return frame


async def _stored(stack: Stack) -> ShopConfig:
    installation = await stack.installations.get_installation(stack.saleor.api_url)
    assert installation is not None
    config = await stack.installations.get_config(installation.id)
    assert config is not None
    return config


async def _save(frame: Frame, view: DashboardView, toasts: int) -> str:
    """Save (Enter in a field: an earlier toast may cover the Save button); the title of the toast
    it brings (the ``toasts``-th of ``view``)."""
    await frame.locator("#ref-prefix").press("Enter")
    toast = await view.wait_for_toast(toasts)
    return str(toast["title"])


@pytest.mark.parametrize("locale", ["en", "sv"])
async def test_a_save_over_a_configuration_saved_elsewhere_is_refused_and_keeps_the_edits(
    dashboard: AppInDashboard, screenshot: Screenshot, page_errors: list[str], locale: str
) -> None:
    texts = catalogue(locale)
    async with dashboard.with_app() as stack:
        mine = await dashboard.open(locale=locale)
        frame = await _configuration(mine, texts)
        group = frame.locator('[id^="rule-"][id$="-group"]').first
        # my edits, unsaved while someone else saves in another tab
        await frame.locator("#ref-prefix").fill("MINE-")
        await group.fill("Min grupp")

        theirs = await dashboard.open(new_tab=True, locale=locale)
        their_frame = await _configuration(theirs, texts)
        await their_frame.locator("#ref-prefix").fill("THEIRS-")
        assert await _save(their_frame, theirs, 1) == texts["toast.saved_title"]
        await mine.page.bring_to_front()

        # my save is refused: told in my language, nothing of mine stored, my edits on screen
        assert await _save(frame, mine, 1) == texts["toast.not_saved_title"]
        assert (await mine.toasts())[0]["text"] == texts["error.CONFIG_CHANGED_ELSEWHERE"]
        summary = frame.locator("#config-summary")
        await expect(summary).to_have_attribute("role", "alert")
        await expect(summary.locator("strong")).to_have_text(
            texts["config.changed_elsewhere_title"]
        )
        await expect(summary).to_contain_text(texts["config.changed_elsewhere"])
        for button in ("config.load_saved", "config.save_anyway"):
            await expect(summary.get_by_role("button", name=texts[button])).to_be_enabled()
        await expect(summary).to_be_focused()
        await expect(frame.locator("#ref-prefix")).to_have_value("MINE-")
        await expect(group).to_have_value("Min grupp")
        assert (await _stored(stack)).external_ref_prefix == "THEIRS-"
        await screenshot("refused", target=mine.page.locator("iframe"))

        # "Load the saved configuration": theirs replaces my edits, and the page saves from it
        await summary.get_by_role("button", name=texts["config.load_saved"]).click()
        await expect(frame.locator("#ref-prefix")).to_have_value("THEIRS-")
        await expect(group).not_to_have_value("Min grupp")
        await expect(
            frame.get_by_role("status").filter(has_text=texts["config.loaded_saved"])
        ).to_be_visible()
        await expect(summary).to_be_empty()
        await frame.locator("#ref-prefix").fill("MINE-")
        assert await _save(frame, mine, 2) == texts["toast.saved_title"]
        assert (await _stored(stack)).external_ref_prefix == "MINE-"

        # a second save from the same page builds on the first one's version
        await frame.locator("#ref-prefix").fill("MINE-AGAIN-")
        assert await _save(frame, mine, 3) == texts["toast.saved_title"]
        assert (await _stored(stack)).external_ref_prefix == "MINE-AGAIN-"

        # their page still holds the version before mine: refused; "Save my changes anyway"
        # replaces mine with theirs deliberately
        await theirs.page.bring_to_front()
        await their_frame.locator("#ref-prefix").fill("THEIRS-AGAIN-")
        assert await _save(their_frame, theirs, 2) == texts["toast.not_saved_title"]
        assert (await _stored(stack)).external_ref_prefix == "MINE-AGAIN-"
        their_summary = their_frame.locator("#config-summary")
        await their_summary.get_by_role("button", name=texts["config.save_anyway"]).click()
        toast = await theirs.wait_for_toast(3)
        assert toast["title"] == texts["toast.saved_title"]
        await expect(their_summary).to_be_empty()
        await expect(their_frame.locator("#ref-prefix")).to_have_value("THEIRS-AGAIN-")
        assert (await _stored(stack)).external_ref_prefix == "THEIRS-AGAIN-"
        assert page_errors == []
