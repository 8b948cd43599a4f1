"""axe-core in the app's frame: the accessibility audit of the browser tests.

``axe_problems(frame)`` runs axe-core (``vendor/axe-core``, never served by the app) on the frame's
document with its default rules (WCAG 2.x A and AA, colour contrast included, and best practices)
and returns the serious and critical violations as ``"rule-id: target (summary)"`` lines.

The script is evaluated through DevTools (Playwright's ``evaluate``), which the pages'
Content-Security-Policy does not govern, so the app's own policy stays as it is in production.
"""

from __future__ import annotations

import functools
from pathlib import Path

from playwright.async_api import Frame

AXE = Path(__file__).with_name("vendor") / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


@functools.cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


async def axe_problems(frame: Frame) -> list[str]:
    if not await frame.evaluate("() => typeof window.axe === 'object'"):
        await frame.evaluate(_axe_source() + "\n;void 0")
    violations = await frame.evaluate(
        """async (blocking) => {
             const result = await window.axe.run(document, { resultTypes: ["violations"] });
             return result.violations
               .filter((v) => blocking.includes(v.impact))
               .flatMap((v) => v.nodes.map((n) =>
                 `${v.id}: ${n.target.join(" ")} (${(n.failureSummary || v.help).replace(/\\s+/g, " ")})`));
           }""",
        list(BLOCKING),
    )
    return [str(line) for line in violations]
