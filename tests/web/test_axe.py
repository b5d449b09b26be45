"""The accessibility checker the page tests rely on finds what it must."""

from __future__ import annotations

from playwright.sync_api import Browser

from tests.web.axe import blocking_violations


def test_axe_reports_low_contrast_and_an_unnamed_button_and_passes_a_clean_page(
    browser: Browser,
) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        page.set_content(
            '<html lang="en"><head><title>t</title></head><body><main>'
            '<p style="color:#bbb;background:#fff">faint text</p>'
            "<button></button></main></body></html>"
        )
        found = blocking_violations(page)
        assert any(line.startswith("color-contrast (serious)") for line in found), found
        assert any(line.startswith("button-name (critical)") for line in found), found

        page.set_content(
            '<html lang="en"><head><title>t</title></head><body><main>'
            '<p style="color:#222;background:#fff">plain text</p>'
            "<button>Save</button></main></body></html>"
        )
        assert blocking_violations(page) == []
    finally:
        context.close()
