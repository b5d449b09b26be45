"""The API docs render with the network cut off from everything but this server: their
Swagger UI and ReDoc bundles come from the installed package, not a CDN. And the favicon."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Route, expect

from openproctor.domains.users.models import Role
from tests.conftest import Factory
from tests.web.pages import sign_in

pytestmark = pytest.mark.browser
LOCAL_HOSTS = ("127.0.0.1", "localhost")


def offline_context(browser: Browser, live_server: str, blocked: list[str]) -> BrowserContext:
    """A browser whose requests to any other host fail, as on a network without internet."""
    context = browser.new_context(base_url=live_server)

    def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_local)
    return context


def test_swagger_ui_and_redoc_render_offline(browser: Browser, live_server: str) -> None:
    blocked: list[str] = []
    context = offline_context(browser, live_server, blocked)
    page = context.new_page()
    try:
        page.goto("/api/docs")
        # The first request builds the OpenAPI document of the whole API, then the page lays
        # it out: seconds on two busy cores.
        title = page.locator(".swagger-ui .info .title")
        expect(title).to_contain_text("OpenProctor", timeout=60_000)
        login = page.locator(".opblock-summary-path", has_text="/api/v1/auth/login")
        expect(login).to_be_visible()
        login.click()  # an operation opens, with its request body described
        expect(page.locator(".opblock-body").first).to_be_visible()

        page.goto("/api/redoc")
        # ReDoc lays out the whole API before showing anything: up to half a minute on two
        # busy cores.
        expect(page.locator("h1", has_text="OpenProctor")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("/api/v1/auth/password").first).to_be_attached()
        assert blocked == []
    finally:
        context.close()


def test_the_favicon_is_served_and_linked_from_every_page(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    try:
        page.goto("/login")
        href = page.locator("link[rel=icon]").get_attribute("href")
        assert href is not None
        icon = context.request.get(href)
        assert icon.ok
        assert icon.headers["content-type"].startswith("image/svg+xml")
        assert b"<svg" in icon.body()
        sign_in(page, factory.user(Role.ADMIN))
        expect(page.locator("link[rel=icon]")).to_have_attribute("href", href)
    finally:
        context.close()
