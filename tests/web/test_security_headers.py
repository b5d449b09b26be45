"""The server's headers as a real browser obeys them: no inline script, no framing."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Error

pytestmark = pytest.mark.browser


def test_a_page_runs_no_inline_script(
    browser: Browser, live_server: str, no_csp_violations: list[str]
) -> None:
    page = browser.new_context(base_url=live_server).new_page()
    page.goto("/login")
    with pytest.raises(Error):
        page.add_script_tag(content="document.body.dataset.injected = 'yes'")
    assert page.evaluate("document.body.dataset.injected") is None
    assert any("script-src 'self'" in text for text in no_csp_violations)
    no_csp_violations.clear()


def test_another_site_cannot_frame_a_page(
    browser: Browser, live_server: str, no_csp_violations: list[str]
) -> None:
    page = browser.new_context().new_page()
    page.set_content(f'<iframe src="{live_server}/login" width="400" height="300"></iframe>')
    framed = page.frames[-1]
    framed.wait_for_load_state()
    # Chromium shows its error page in place of a page that refuses to be framed.
    assert framed.url == "chrome-error://chromewebdata/"
    assert any("frame-ancestors 'none'" in text for text in no_csp_violations)
    no_csp_violations.clear()
