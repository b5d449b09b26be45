"""axe-core, the accessibility checker, run in a page a browser test has open.

`make test` installs the pinned axe-core from npm into .cache/axe (it is a test tool, never
served). It is injected through Playwright's evaluate, which the page's Content-Security-Policy
does not govern, so the page under test runs exactly as served.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

AXE_JS = Path(__file__).parents[2] / ".cache/axe/node_modules/axe-core/axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")


def blocking_violations(page: Page, within: str | None = None) -> list[str]:
    """axe's serious and critical violations on the page as it is now (or in the part of it
    the CSS selector `within` names), one line per rule.

    Each line names the rule, its help text and the first few offending elements.
    """
    if not AXE_JS.is_file():
        raise FileNotFoundError(f"{AXE_JS} is missing: `make test` installs axe-core there")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    found: list[str] = page.evaluate(
        """async ([impacts, within]) => {
            const context = within ? {include: [within]} : document;
            const result = await axe.run(context, {resultTypes: ["violations"]});
            return result.violations
                .filter(v => impacts.includes(v.impact))
                .map(v => `${v.id} (${v.impact}): ${v.help} — ` +
                    v.nodes.slice(0, 5).map(n => n.target.join(" ")).join(", ") +
                    (v.nodes.length > 5 ? ` and ${v.nodes.length - 5} more` : ""));
        }""",
        [list(BLOCKING_IMPACTS), within],
    )
    return found
