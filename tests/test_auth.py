"""Staff sign-in: argon2id, session cookies, lock-out, sign-out and CSRF."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from openproctor.domains.exams.models import Exam
from openproctor.domains.users.models import Role, StaffSession
from tests.conftest import PASSWORD, Factory, login


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def test_passwords_are_stored_as_argon2id(factory: Factory) -> None:
    user = factory.user(Role.ADMIN)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


def test_form_login_sets_a_safe_session_cookie(client: TestClient, factory: Factory) -> None:
    user = factory.user(Role.PROCTOR)
    token = csrf_from(client.get("/login").text)
    response = client.post(
        "/login", data={"email": user.email.upper(), "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/proctor"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("op_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http in tests; https public URLs add it
    assert client.get("/proctor").status_code == 200


def test_session_cookie_is_secure_behind_https(
    settings_https_client: TestClient, factory: Factory
) -> None:
    user = factory.user(Role.ADMIN)
    client = settings_https_client
    token = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    response = client.post(
        "/api/v1/auth/login",
        json={"email": user.email, "password": PASSWORD},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 200
    assert all("Secure" in c for c in response.headers.get_list("set-cookie"))


def test_wrong_password_is_refused_without_saying_which_part(
    client: TestClient, factory: Factory
) -> None:
    user = factory.user(Role.ADMIN)
    token = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    for email in (user.email, "nobody@example.com"):
        response = client.post(
            "/api/v1/auth/login",
            json={"email": email, "password": "wrong password"},
            headers={"X-CSRF-Token": token},
        )
        assert response.status_code == 401
        assert response.json()["detail"] == "wrong email or password"


def test_repeated_failures_lock_the_account_out(client: TestClient, factory: Factory) -> None:
    user = factory.user(Role.ADMIN)
    token = csrf_from(client.get("/login").text)
    for _ in range(3):  # settings fixture: login_max_failures=3
        failed = client.post(
            "/login", data={"email": user.email, "password": "nope", "csrf_token": token}
        )
        assert failed.status_code == 401
        assert "wrong email or password" in failed.text
    locked = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert locked.status_code == 429
    assert "too many failed logins" in locked.text
    api = client.post(
        "/api/v1/auth/login",
        json={"email": user.email, "password": PASSWORD},
        headers={"X-CSRF-Token": token},
    )
    assert api.status_code == 429
    assert int(api.headers["retry-after"]) > 0
    # Another account from the same address is still allowed (the address limit is higher).
    other = factory.user(Role.REVIEWER)
    login(client, other)


def test_logout_ends_the_server_side_session(client: TestClient, factory: Factory) -> None:
    user = factory.user(Role.ADMIN)
    login(client, user)
    assert client.get("/api/v1/auth/me").status_code == 200
    assert client.post("/api/v1/auth/logout").status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401
    count = factory.db.scalar(select(func.count()).select_from(StaffSession))
    assert count == 0


def test_deactivated_staff_lose_their_sessions(client: TestClient, factory: Factory) -> None:
    admin = factory.user(Role.ADMIN)
    proctor = factory.user(Role.PROCTOR)
    # A second browser on the same server (the app's lifespan already runs in `client`).
    proctor_client = TestClient(client.app)
    login(proctor_client, proctor)
    assert proctor_client.get("/api/v1/auth/me").status_code == 200
    login(client, admin)
    token = client.headers["X-CSRF-Token"]
    response = client.post(f"/admin/staff/{proctor.id}/deactivate", data={"csrf_token": token})
    assert response.status_code == 303
    assert proctor_client.get("/api/v1/auth/me").status_code == 401
    entries = client.get("/api/v1/audit").json()
    assert any(
        e["action"] == "user.deactivate" and e["target_id"] == str(proctor.id) for e in entries
    )


def test_an_admin_changes_a_role_or_password_and_the_old_sign_in_ends(
    client: TestClient, factory: Factory
) -> None:
    admin = factory.user(Role.ADMIN)
    proctor = factory.user(Role.PROCTOR)
    proctor_client = TestClient(client.app)
    login(proctor_client, proctor)
    login(client, admin)
    url = f"/api/v1/users/{proctor.id}"
    assert client.patch(url, json={"role": "owner"}).status_code == 422
    assert client.patch(url, json={"password": "short"}).status_code == 422
    assert client.patch(url, json={"email": "x@example.com"}).status_code == 422
    assert client.patch(f"/api/v1/users/{admin.id}", json={"role": "proctor"}).status_code == 409
    assert proctor_client.patch(url, json={"role": "admin"}).status_code == 403
    assert proctor_client.get("/api/v1/auth/me").status_code == 200  # nothing changed yet

    changed = client.patch(url, json={"role": "reviewer", "password": "a new passphrase"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["role"] == "reviewer"
    assert proctor_client.get("/api/v1/auth/me").status_code == 401
    login_again = {"email": proctor.email, "password": "a new passphrase"}
    assert proctor_client.post("/api/v1/auth/login", json=login_again).status_code == 200
    entry = next(e for e in client.get("/api/v1/audit").json() if e["action"] == "user.update")
    assert entry["details"] == {"role": "reviewer", "password_changed": True}


def test_state_changes_without_the_csrf_token_are_refused(
    client: TestClient, factory: Factory
) -> None:
    admin = factory.user(Role.ADMIN)
    login(client, admin)
    del client.headers["X-CSRF-Token"]
    form = {
        "title": "Sneaky",
        "opens_at": "2030-01-01T10:00",
        "closes_at": "2030-01-01T12:00",
        "duration_minutes": "60",
        "questions": '[{"prompt":"?","choices":["a","b"],"answer":0}]',
    }
    assert client.post("/admin/exams/new", data=form).status_code == 403
    assert client.post("/admin/exams/new", data={**form, "csrf_token": "forged"}).status_code == 403
    assert client.post("/logout").status_code == 403
    api = client.post(
        "/api/v1/users",
        json={"email": "a@example.com", "name": "A", "role": "admin", "password": "0123456789ab"},
    )
    assert api.status_code == 403
    assert "CSRF" in api.json()["detail"]
    assert factory.db.scalar(select(func.count()).select_from(Exam)) == 0
    # The same form with the right token goes through.
    token = csrf_from(client.get("/admin/exams/new").text)
    assert client.post("/admin/exams/new", data={**form, "csrf_token": token}).status_code == 303


def test_login_form_needs_the_csrf_cookie_too(client: TestClient, factory: Factory) -> None:
    user = factory.user(Role.ADMIN)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 403
