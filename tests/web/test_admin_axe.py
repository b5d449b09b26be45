"""axe-core over every admin page, as an admin with an exam, a roster and a flagged attempt
sees them: no serious or critical accessibility violation on any."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Browser

from openproctor.db import utcnow
from openproctor.domains.exams.policy import Severity, ViolationKind
from openproctor.domains.lti.models import LtiPlatform
from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.users.models import Role
from openproctor.domains.violations.models import Violation
from openproctor.domains.webhooks.models import Webhook
from openproctor.domains.webhooks.signing import new_secret
from tests.conftest import Factory
from tests.web.axe import blocking_violations
from tests.web.pages import sign_in

pytestmark = pytest.mark.browser


def test_every_admin_page_passes_axe(browser: Browser, live_server: str, factory: Factory) -> None:
    admin = factory.user(Role.ADMIN)
    proctor = factory.user(Role.PROCTOR)
    exam = factory.exam()
    ada = factory.candidate(exam, proctor=proctor, name="Ada")
    factory.candidate(exam, name="Bob")
    session = ExamSession(
        candidate_id=ada.id, exam_id=exam.id, attempt=1, state=SessionState.SUBMITTED
    )
    factory.db.add(session)
    factory.db.flush()
    factory.db.add(
        Violation(
            session_id=session.id,
            kind=ViolationKind.MULTIPLE_FACES,
            severity=Severity.HIGH,
            started_at=utcnow(),
        )
    )
    # A webhook the server turned off during a secret rotation: the banner, the "turn on"
    # button and the rotation notice all show.
    hook = Webhook(
        url="https://lms.example.com/hooks",
        events=["session.ended"],
        secret=new_secret(),
        previous_secret=new_secret(),
        previous_secret_until=utcnow() + timedelta(hours=1),
        is_active=False,
        disabled_at=utcnow(),
        disabled_reason="its receiver answered 410 Gone (it no longer wants these events)",
    )
    factory.db.add(hook)
    platform = LtiPlatform(
        name="Moodle",
        issuer="https://moodle.example.com",
        client_id="tool-1",
        auth_login_url="https://moodle.example.com/mod/lti/auth.php",
        auth_token_url=None,
        key_set_url="https://moodle.example.com/mod/lti/certs.php",
        public_key=None,
        deployment_ids=["1"],
        default_exam_id=exam.id,
    )
    factory.db.add(platform)
    factory.db.commit()
    pages = [
        "/admin/exams",
        "/admin/exams/new",
        f"/admin/exams/{exam.id}",
        f"/admin/exams/{exam.id}/edit",
        f"/admin/exams/{exam.id}/integration",
        f"/admin/candidates/{ada.id}/edit",
        "/admin/staff",
        "/admin/audit",
        "/admin/tokens",
        "/admin/webhooks",
        f"/admin/webhooks/{hook.id}",
        "/admin/lti",
        f"/admin/lti/{platform.id}",
        "/account/password",
    ]
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    try:
        sign_in(page, admin)
        found: list[str] = []
        for path in pages:
            response = page.goto(path)
            assert response is not None, path
            assert response.ok, path
            found += [f"{path}: {line}" for line in blocking_violations(page)]
        assert found == [], "\n".join(found)
    finally:
        context.close()
