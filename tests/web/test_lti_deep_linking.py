"""The instructor's deep linking page in Chromium: reached through a launch by lti1p3platform
(tests/integrations/platform3p.py), accessible (axe), and the answer goes back to the course
by itself, or by its button without the script."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Route, expect

from openproctor.domains.lti.models import LtiPlatform
from tests.conftest import Factory
from tests.integrations.platform3p import DEEP_LINK_RETURN_URL, INSTRUCTOR, ThirdPartyPlatform
from tests.web.axe import blocking_violations

pytestmark = pytest.mark.browser


def test_an_instructor_creates_an_exam_from_the_course(
    browser: Browser, live_server: str, factory: Factory
) -> None:
    platform = ThirdPartyPlatform.make(None, live_server, auth_url=f"{live_server}/lms/auth")
    existing = factory.exam(title="Midterm (already set up)")
    factory.db.add(
        LtiPlatform(
            name="Moodle",
            issuer=platform.registration.get_iss(),
            client_id=platform.registration.get_client_id(),
            auth_login_url=platform.auth_url,
            public_key=platform.public_key_pem,
            deployment_ids=["1"],
            default_exam_id=existing.id,
        )
    )
    factory.db.commit()
    platform.registration.set_tool_key_set(httpx.get(f"{live_server}/lti/jwks").json())

    returned: list[str] = []

    def course(route: Route) -> None:
        returned.append(route.request.post_data or "")
        route.fulfill(status=200, content_type="text/html", body="<p>Back in the course</p>")

    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    page.route(DEEP_LINK_RETURN_URL, course)

    def deep_linking_launch() -> None:
        """Login initiation: our redirect to the platform's authentication endpoint, which
        answers with its launch form (built and posted here: this server has no such page,
        and a route does not catch a redirect). Same-site, so the state cookie comes along."""
        page.goto(platform.initiation_url("t-1", deep_linking=True))
        assert page.url.startswith(f"{platform.auth_url}?")
        request = dict(parse_qsl(urlsplit(page.url).query))
        form = platform.launch_form(request, user_id="t-1", roles=[INSTRUCTOR])
        with page.expect_navigation():
            page.evaluate(
                """form => {
                    const element = document.createElement("form");
                    element.method = "post";
                    element.action = form.launch_url;
                    for (const name of ["id_token", "state"]) {
                        const input = document.createElement("input");
                        input.type = "hidden"; input.name = name; input.value = form[name];
                        element.append(input);
                    }
                    document.body.append(element);
                    element.submit();
                }""",
                form,
            )

    deep_linking_launch()
    expect(page.get_by_test_id("lti-deep-link")).to_be_visible()
    expect(page.get_by_role("combobox", name="Exam")).to_contain_text("Midterm (already set up)")
    assert blocking_violations(page) == []

    page.get_by_label("Title").fill("Lab safety quiz")
    page.get_by_label("Quiz address").fill("https://lms.example.org/mod/quiz/view.php?id=3")
    page.get_by_label("Opens").fill("2026-12-14T09:00")
    page.get_by_label("Closes").fill("2026-12-14T11:00")
    page.get_by_label("Light").check()
    page.get_by_role("button", name="Create and add").click()

    page.wait_for_url(DEEP_LINK_RETURN_URL)
    assert len(returned) == 1
    token = dict(parse_qsl(returned[0]))["JWT"]
    [item] = platform.deep_link_items(token)
    assert item["title"] == "Lab safety quiz"
    assert item["url"] == f"{live_server}/lti/launch"

    # Without its script the answer's page waits for the button (and passes axe too).
    page.route(
        "**/static/js/lti/deep_link_return.js",
        lambda route: route.fulfill(status=200, content_type="text/javascript", body=""),
    )
    deep_linking_launch()
    page.get_by_role("combobox", name="Exam").select_option(value=item["custom"]["exam_id"])
    page.get_by_role("button", name="Add this exam").click()
    expect(page.get_by_test_id("lti-deep-link-return")).to_contain_text("Lab safety quiz")
    assert blocking_violations(page) == []
    page.get_by_role("button", name="Back to your course").click()
    page.wait_for_url(DEEP_LINK_RETURN_URL)
    token = dict(parse_qsl(returned[1]))["JWT"]
    assert platform.deep_link_items(token)[0]["custom"] == item["custom"]
    context.close()
