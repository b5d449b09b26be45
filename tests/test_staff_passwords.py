"""Staff passwords through the API and the forms: a member's own change, an admin's reset to a
temporary password that must be replaced, reactivation, role changes; bad input changes
nothing, and the login lock-out still holds."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from openproctor.domains.audit.models import AuditEntry
from openproctor.domains.users.models import Role, User
from openproctor.security import SESSION_COOKIE
from tests.conftest import PASSWORD, Factory, login, login_with

pytestmark = pytest.mark.parametrize("database_kind", ["sqlite"])
NEW_PASSWORD = "a brand new passphrase"


def audit_actions(factory: Factory, user: User) -> list[str]:
    factory.db.expire_all()
    query = select(AuditEntry.action).where(AuditEntry.target_id == str(user.id))
    return list(factory.db.scalars(query.order_by(AuditEntry.created_at)))


def second_browser(client: TestClient) -> TestClient:
    return TestClient(client.app, follow_redirects=False)


def test_own_change_needs_the_current_password_and_ends_other_sign_ins(
    client: TestClient, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    elsewhere = second_browser(client)
    login(elsewhere, proctor)
    login(client, proctor)
    url = "/api/v1/auth/password"
    bad = [
        ({"current_password": "wrong guess", "new_password": NEW_PASSWORD}, 400),
        ({"current_password": PASSWORD, "new_password": PASSWORD}, 400),
        ({"current_password": PASSWORD, "new_password": "short"}, 422),
        ({"current_password": PASSWORD}, 422),
        ({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "role": "admin"}, 422),
    ]
    for body, expected in bad:
        response = client.post(url, json=body)
        assert response.status_code == expected, (body, response.text)
    assert client.post(url, json={}).json()["detail"]  # says what is missing
    assert elsewhere.get("/api/v1/auth/me").status_code == 200  # nothing changed yet

    old_cookie = client.cookies[SESSION_COOKIE]
    changed = client.post(url, json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert changed.status_code == 204, changed.text
    assert client.cookies[SESSION_COOKIE] != old_cookie  # this browser got a fresh sign-in
    assert client.get("/api/v1/auth/me").status_code == 200
    assert elsewhere.get("/api/v1/auth/me").status_code == 401
    login_with(second_browser(client), proctor.email, NEW_PASSWORD)
    assert audit_actions(factory, proctor)[-2:] == ["user.password_change", "auth.login"]


def test_a_reset_password_works_once_then_must_be_replaced(
    client: TestClient, factory: Factory
) -> None:
    admin, reviewer = factory.user(Role.ADMIN), factory.user(Role.REVIEWER)
    reviewer_browser = second_browser(client)
    login(reviewer_browser, reviewer)
    login(client, admin)
    assert client.post(f"/api/v1/users/{admin.id}/password-reset").status_code == 409
    missing = "/api/v1/users/00000000-0000-0000-0000-000000000000/password-reset"
    assert client.post(missing).status_code == 404
    assert reviewer_browser.post(f"/api/v1/users/{admin.id}/password-reset").status_code == 403

    reset = client.post(f"/api/v1/users/{reviewer.id}/password-reset")
    assert reset.status_code == 200
    temporary = reset.json()["temporary_password"]
    assert len(temporary) == 16
    assert reviewer_browser.get("/api/v1/auth/me").status_code == 401  # signed out
    entry = factory.db.scalars(
        select(AuditEntry).where(AuditEntry.action == "user.password_reset")
    ).one()
    assert temporary not in str(entry.details)

    fresh = second_browser(client)
    login_with(fresh, reviewer.email, temporary)
    refused = fresh.get("/api/v1/auth/me")
    assert refused.status_code == 403
    assert "/api/v1/auth/password" in refused.json()["detail"]
    page = fresh.get("/review")
    assert (page.status_code, page.headers["location"]) == (303, "/account/password")
    assert fresh.get("/account/password").status_code == 200
    change = {"current_password": temporary, "new_password": NEW_PASSWORD}
    assert fresh.post("/api/v1/auth/password", json=change).status_code == 204
    me = fresh.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["must_change_password"] is False
    assert fresh.get("/review").status_code == 200


def test_the_lock_out_still_holds_for_a_reset_account(client: TestClient, factory: Factory) -> None:
    admin, proctor = factory.user(Role.ADMIN), factory.user(Role.PROCTOR)
    login(client, admin)
    temporary = client.post(f"/api/v1/users/{proctor.id}/password-reset").json()[
        "temporary_password"
    ]
    guesser = second_browser(client)
    guesser.headers["X-CSRF-Token"] = guesser.get("/api/v1/auth/csrf").json()["csrf_token"]
    for _ in range(3):  # settings fixture: login_max_failures=3
        wrong = {"email": proctor.email, "password": "not it at all"}
        assert guesser.post("/api/v1/auth/login", json=wrong).status_code == 401
    right = {"email": proctor.email, "password": temporary}
    assert guesser.post("/api/v1/auth/login", json=right).status_code == 429


def test_the_staff_page_resets_reactivates_and_changes_roles(
    client: TestClient, factory: Factory
) -> None:
    admin, proctor = factory.user(Role.ADMIN), factory.user(Role.PROCTOR)
    login(client, admin)
    form = {"csrf_token": client.headers["X-CSRF-Token"]}

    shown = client.post(f"/admin/staff/{proctor.id}/password-reset", data=form)
    assert shown.status_code == 200
    assert shown.headers["cache-control"] == "no-store"
    assert "must choose their own password" in shown.text

    assert client.post(f"/admin/staff/{proctor.id}/deactivate", data=form).status_code == 303
    assert client.post(f"/admin/staff/{proctor.id}/reactivate", data=form).status_code == 303
    bad_role = client.post(f"/admin/staff/{proctor.id}/role", data={**form, "role": "owner"})
    assert bad_role.status_code == 422
    assert "role" in bad_role.text
    mine = client.post(f"/admin/staff/{admin.id}/role", data={**form, "role": "proctor"})
    assert mine.status_code == 422
    assert "your own account" in mine.text
    role = client.post(f"/admin/staff/{proctor.id}/role", data={**form, "role": "reviewer"})
    assert role.status_code == 303
    factory.db.refresh(proctor)
    assert (proctor.role, proctor.is_active) == (Role.REVIEWER, True)
    assert audit_actions(factory, proctor) == [
        "user.password_reset",
        "user.deactivate",
        "user.update",
        "user.update",
    ]


def test_the_password_form_says_what_is_wrong_and_changes_nothing(
    client: TestClient, factory: Factory
) -> None:
    proctor = factory.user(Role.PROCTOR)
    login(client, proctor)
    form = {"csrf_token": client.headers["X-CSRF-Token"], "current_password": PASSWORD}
    cases = [
        ({"new_password": NEW_PASSWORD, "confirm_password": "something else"}, "differ"),
        ({"new_password": "short", "confirm_password": "short"}, "at least 10"),
        (
            {
                "current_password": "wrong guess",
                "new_password": NEW_PASSWORD,
                "confirm_password": NEW_PASSWORD,
            },
            "not correct",
        ),
    ]
    for fields, message in cases:
        response = client.post("/account/password", data={**form, **fields})
        assert response.status_code == 422, fields
        assert message in response.text, fields
    assert audit_actions(factory, proctor) == ["auth.login"]
    login_with(second_browser(client), proctor.email, PASSWORD)  # the old one still works
