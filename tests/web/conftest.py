"""Debian's Chromium driven by Playwright (the server is tests/conftest.py's live_server)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Playwright, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",
]


@pytest.fixture(params=["sqlite"])
def database_kind(request: pytest.FixtureRequest) -> str:
    """Browser tests check pages and scripts, on SQLite only: the queries behind them run on
    both databases in the domain, API and live tests, and a browser test costs up to a minute."""
    kind: str = request.param
    return kind


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(autouse=True)
def no_csp_violations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every page of every browser test runs under the server's Content-Security-Policy: a
    violation that Chromium reports on the console fails the test (yields the list, for a test
    that provokes one on purpose to read and clear)."""
    violations: list[str] = []
    new_context = Browser.new_context

    def watched_context(self: Browser, **options: Any) -> BrowserContext:
        context = new_context(self, **options)

        def on_console(message: ConsoleMessage) -> None:
            if "Content Security Policy" in message.text or "frame-ancestors" in message.text:
                violations.append(f"{message.location.get('url')}: {message.text}")

        context.on("console", on_console)
        return context

    monkeypatch.setattr(Browser, "new_context", watched_context)
    yield violations
    assert violations == [], "\n".join(violations)
