"""Text from candidates, integrations and staff reaches pages only escaped: in HTML by the
templates' autoescaping, inside the wall's JSON script block by tojson, and in the browser by
the modules setting textContent (never parsing markup)."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy.orm import Session

from openproctor.domains.sessions.models import ExamSession, SessionState
from openproctor.domains.users.models import Role
from openproctor.domains.violations.models import Violation
from openproctor.settings import Settings
from openproctor.storage import open_store
from openproctor.web.templating import WEB_DIR
from tests.conftest import Factory, login
from tests.test_retention import seed_session

# Breaks out of an element, an attribute (either quote) and a script block.
HOSTILE = "</script><script>alert(1)</script>\"'><img src=x onerror=alert(2)>"
MARKUP = ("<script>alert(1)", "<img src=x", "</script><script>")


def test_hostile_text_is_escaped_on_every_staff_page(
    client: TestClient, factory: Factory, db: Session, settings: Settings
) -> None:
    exam = factory.exam(title=HOSTILE, instructions=HOSTILE)
    proctor = factory.user(Role.PROCTOR)
    candidate = factory.candidate(exam, proctor, name="Ada")
    candidate.name, candidate.external_id = HOSTILE, HOSTILE
    seeded = seed_session(
        db,
        open_store(settings.resolved_storage_url),
        candidate,
        ended_at=None,
        state=SessionState.RUNNING,
    )
    session = db.get(ExamSession, seeded.session_id)
    assert session is not None
    session.decision_note, session.end_reason = HOSTILE, HOSTILE
    violation = db.get(Violation, seeded.violation_ids[0])
    assert violation is not None
    violation.review_note = HOSTILE
    db.commit()
    factory.user(Role.ADMIN).name = HOSTILE  # a staff name, on the staff list
    db.commit()

    login(client, factory.user(Role.ADMIN))
    pages = (
        "/admin/exams",
        f"/admin/exams/{exam.id}",
        f"/admin/exams/{exam.id}/edit",
        "/admin/staff",
        f"/proctor/exams/{exam.id}",
        f"/review/exams/{exam.id}",
        f"/review/sessions/{session.id}",
    )
    for path in pages:
        page = client.get(path)
        assert page.status_code == 200, path
        for markup in MARKUP:
            assert markup not in page.text, f"{path} has {markup!r} unescaped"
        assert str(escape(HOSTILE)) in page.text, f"{path} does not show the text escaped"
    wall = client.get(f"/proctor/exams/{exam.id}").text
    block = re.search(r'<script type="application/json" id="wall-start">(.*?)</script>', wall, re.S)
    assert block is not None
    assert [entry["name"] for entry in json.loads(block.group(1))] == [HOSTILE]  # as data


# Setting markup from strings: the pages build elements and set textContent instead.
HTML_SINKS = re.compile(
    r"\.(?:innerHTML|outerHTML)\s*\+?=|insertAdjacentHTML|document\.write|\beval\(|new Function"
)


def test_page_modules_never_parse_strings_as_markup() -> None:
    scripts = WEB_DIR / "static" / "js"
    found = set()
    for path in sorted(scripts.rglob("*.js")):
        for line in path.read_text().splitlines():
            if HTML_SINKS.search(line):
                found.add((path.relative_to(scripts).as_posix(), line.strip()))
    assert not found, f"markup sinks (use textContent): {found}"
    assert len(list(scripts.rglob("*.js"))) > 20  # the modules were found


def test_the_login_page_escapes_what_it_echoes(client: TestClient) -> None:
    page = client.get("/login", params={"next": f"/x{HOSTILE}"})
    assert str(escape(f"/x{HOSTILE}")) in page.text
    for markup in MARKUP:
        assert markup not in page.text
