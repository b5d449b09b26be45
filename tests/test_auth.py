"""Staff sign-in: argon2id, session cookies, lock-out, sign-out and CSRF."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping
from urllib.parse import urljoin

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from openproctor.domains.exams.models import Exam
from openproctor.domains.users.models import Role, StaffSession
from openproctor.domains.users.service import IP_FAILURE_FACTOR
from openproctor.security import CSRF_COOKIE, DEVICE_COOKIE, SESSION_COOKIE
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


def browser_at(client: TestClient, address: str) -> TestClient:
    """Another browser on the same running app, connecting from this address."""
    return TestClient(client.app, client=(address, 50000), follow_redirects=False)


def api_login(browser: TestClient, email: str, password: str) -> Response:
    token = browser.get("/api/v1/auth/csrf").json()["csrf_token"]
    return browser.post(
        "/api/v1/auth/login",
        json={"email": email, "password": password},
        headers={"X-CSRF-Token": token},
    )


def test_others_failures_do_not_lock_out_a_browser_that_signed_in_before(
    client: TestClient, factory: Factory
) -> None:
    admin = factory.user(Role.ADMIN)
    admins_laptop = browser_at(client, "10.0.0.1")
    assert api_login(admins_laptop, admin.email, PASSWORD).status_code == 200
    admins_laptop.cookies.delete(SESSION_COOKIE)  # the sign-in is over; the device stays known

    attacker = browser_at(client, "10.6.6.6")
    attacker_account = factory.user(Role.REVIEWER)
    assert api_login(attacker, attacker_account.email, PASSWORD).status_code == 200
    for _ in range(3):  # settings fixture: login_max_failures=3
        assert api_login(attacker, admin.email, "guess").status_code == 401
    # The email is locked for every browser that never signed in to it, the attacker's own
    # known-device cookie (of another account) included, right password or not...
    assert api_login(attacker, admin.email, PASSWORD).status_code == 429
    stranger = browser_at(client, "10.0.0.2")
    assert api_login(stranger, admin.email, PASSWORD).status_code == 429
    stranger.cookies.set(DEVICE_COOKIE, f"forged.{'0' * 64}")
    assert api_login(stranger, admin.email, PASSWORD).status_code == 429
    # ...but the admin's own laptop still signs in, and is told when the password is wrong.
    assert api_login(admins_laptop, admin.email, "typo").status_code == 401
    assert api_login(admins_laptop, admin.email, PASSWORD).status_code == 200
    assert admins_laptop.get("/api/v1/auth/me").json()["email"] == admin.email
    device = next(c for c in admins_laptop.cookies.jar if c.name == DEVICE_COOKIE)
    assert device.has_nonstandard_attr("HttpOnly")


def test_a_success_does_not_reset_the_address_limit(client: TestClient, factory: Factory) -> None:
    own = factory.user(Role.REVIEWER)
    attacker = browser_at(client, "10.6.6.6")
    limit = 3 * IP_FAILURE_FACTOR  # settings fixture: login_max_failures=3
    for n in range(limit - 1):  # two guesses per email, below the email limit
        assert api_login(attacker, f"victim{n // 2}@example.com", "guess").status_code == 401
    assert api_login(attacker, own.email, PASSWORD).status_code == 200
    assert api_login(attacker, "victim-last@example.com", "guess").status_code == 401
    locked = api_login(attacker, "victim-next@example.com", "guess")
    assert locked.status_code == 429
    assert api_login(attacker, own.email, PASSWORD).status_code == 429
    # Other addresses are not affected.
    assert api_login(browser_at(client, "10.0.0.1"), own.email, PASSWORD).status_code == 200


def test_a_locked_email_answers_alike_whether_or_not_it_has_an_account(
    client: TestClient, factory: Factory
) -> None:
    known = factory.user(Role.ADMIN).email
    answers = []
    for email in (known, "nobody@example.com"):
        browser = browser_at(client, f"10.0.0.{len(answers) + 1}")
        for _ in range(3):
            assert api_login(browser, email, "guess").status_code == 401
        locked = api_login(browser, email, PASSWORD)
        # The wait counts down between the two, so only its digits may differ.
        detail = re.sub(r"\d+", "N", locked.json()["detail"])
        answers.append((locked.status_code, detail, sorted(locked.headers)))
    assert answers[0] == answers[1]
    assert answers[0][:2] == (429, "too many failed logins; try again in N minute(s)")


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


def test_the_csrf_token_is_bound_to_the_sign_in_so_a_planted_one_is_useless(
    client: TestClient, factory: Factory
) -> None:
    admin = factory.user(Role.ADMIN)
    # Cookie tossing: a sibling site plants its own op_csrf before the admin signs in.
    planted = "planted-by-a-sibling-site"
    client.cookies.set(CSRF_COOKIE, planted)
    client.headers["X-CSRF-Token"] = planted
    assert client.get("/api/v1/auth/csrf").json()["csrf_token"] == planted
    signed_in = client.post("/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD})
    assert signed_in.status_code == 200  # signing in, the browser is anonymous: double submit
    new_user = {"email": "m@example.com", "name": "M", "role": "admin", "password": "0123456789a"}
    forged = client.post("/api/v1/users", json=new_user)
    assert forged.status_code == 403, forged.text
    assert "CSRF" in forged.json()["detail"]

    first = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    assert first != planted
    assert csrf_from(client.get("/admin/exams/new").text) == first  # what pages render
    client.headers["X-CSRF-Token"] = first
    assert client.post("/api/v1/users", json=new_user).status_code == 201
    # Every sign-in has its own token; the last one's is refused after signing in again.
    assert client.post("/api/v1/auth/logout").status_code == 204
    login(client, admin)
    assert client.headers["X-CSRF-Token"] != first
    client.headers["X-CSRF-Token"] = first
    assert client.post("/api/v1/auth/logout").status_code == 403


def test_login_form_needs_the_csrf_cookie_too(client: TestClient, factory: Factory) -> None:
    user = factory.user(Role.ADMIN)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 403


# --- CSRF on every state-changing route -----------------------------------------------------

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Routes a browser on another site may post to: each is protected by something a forged
# request cannot carry, and a staff cookie alone gets nothing from them (checked below).
CSRF_EXEMPT = {
    # The learning platform posts these from its own site (LTI 1.3): the launch is a signed
    # id_token bound to the state cookie and a one-time nonce (tests/integrations/test_lti.py).
    ("POST", "/lti/login"): "LTI login initiation",
    ("POST", "/lti/launch"): "LTI launch",
    # The seed project's routes: authorised only by an API token (header or admin_id field).
    ("POST", "/detect_faces/"): "API token",
    ("POST", "/multiple_faces_list/"): "API token",
    ("POST", "/is_admin/"): "API token",
}
PATH_VALUES = {"kind": "webcam", "index": "0"}


def fill_path(template: str, values: Mapping[str, str]) -> str:
    """The route's path with each {name} from values and any other id a fresh uuid."""
    return re.sub(r"{(\w+)}", lambda m: values.get(m.group(1), str(uuid.uuid4())), template)


def state_changing_routes(client: TestClient) -> list[tuple[str, str]]:
    """Every (method, path template) of the app that changes state, from its route table."""
    routes = []
    for route in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        for method in sorted((route.methods or set()) & STATE_CHANGING):
            assert route.path is not None
            routes.append((method, route.path))
    return routes


@pytest.mark.parametrize("database_kind", ["sqlite"])
def test_every_state_changing_route_refuses_a_missing_or_wrong_csrf_token(
    client: TestClient, factory: Factory
) -> None:
    """Enumerates the app's routes, so a new route outside the CSRF-checked routers fails
    here unless it is added to CSRF_EXEMPT with its reason."""
    exam = factory.exam()
    invite = factory.candidate(exam).invite_token
    login(client, factory.user(Role.ADMIN))
    del client.headers["X-CSRF-Token"]
    routes = state_changing_routes(client)
    assert len(routes) > 50  # the enumeration found the app's routes
    assert set(CSRF_EXEMPT) <= set(routes), "an exemption names a route that is gone"
    checked = 0
    for method, template in routes:
        if (method, template) in CSRF_EXEMPT:
            continue
        path = fill_path(template, {**PATH_VALUES, "token": invite})
        attempts = {
            "no token": {},
            "a wrong token": {"X-CSRF-Token": "forged"},
            # A bearer header does not excuse a request that also rides the session cookie.
            "a bearer header beside the cookie": {"Authorization": "Bearer opk_forged"},
        }
        for what, headers in attempts.items():
            if template.startswith("/api/"):
                response = client.request(method, path, json={}, headers=headers)
            else:
                response = client.request(method, path, data={"x": "1"}, headers=headers)
            problem = f"{method} {template} with {what}: {response.text[:200]}"
            assert response.status_code == 403, problem
            assert "CSRF check failed" in response.text, problem
        checked += 1
    assert checked == len(routes) - len(CSRF_EXEMPT)


@pytest.mark.parametrize("database_kind", ["sqlite"])
def test_csrf_exempt_routes_give_a_staff_cookie_nothing(
    client: TestClient, factory: Factory
) -> None:
    exam = factory.exam()
    login(client, factory.user(Role.ADMIN))
    del client.headers["X-CSRF-Token"]
    meeting = {"meeting_id": str(exam.id)}
    screen = {**meeting, "participant_id": "p1", "base64_img": "/9j/4AAQ"}
    assert client.post("/detect_faces/", json=screen).status_code == 401
    assert client.post("/multiple_faces_list/", json=meeting).status_code == 401
    assert client.post("/is_admin/", json=meeting).json() == {"admin": False}
    launch = client.post("/lti/launch", data={"state": "forged"})
    assert 400 <= launch.status_code < 500
    assert not any(c.startswith("op_session=") for c in launch.headers.get_list("set-cookie"))


# --- the login form's `next` ------------------------------------------------------------------


OFF_SITE_TARGETS = (
    "//evil.example/",
    "https://evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "javascript:alert(1)",
    "http:evil.example",
)


@pytest.mark.parametrize("database_kind", ["sqlite"])
def test_login_never_redirects_off_site(client: TestClient, factory: Factory) -> None:
    user = factory.user(Role.PROCTOR)
    for target in OFF_SITE_TARGETS:
        page = client.get("/login", params={"next": target})
        form = {"email": user.email, "password": PASSWORD, "csrf_token": csrf_from(page.text)}
        response = client.post("/login", data={**form, "next": target})
        assert response.status_code == 303
        location = response.headers["location"]
        # As a browser follows it: backslashes count as slashes, tabs and newlines vanish.
        followed = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
        assert urljoin("http://testserver/login", followed).startswith("http://testserver/"), (
            f"next={target!r} redirected to {location!r}"
        )


@pytest.mark.parametrize("database_kind", ["sqlite"])
def test_login_keeps_a_same_site_next(client: TestClient, factory: Factory) -> None:
    user = factory.user(Role.ADMIN)
    page = client.get("/login", params={"next": "/admin/staff?tab=1"})
    form = {"email": user.email, "password": PASSWORD, "csrf_token": csrf_from(page.text)}
    response = client.post("/login", data={**form, "next": "/admin/staff?tab=1"})
    assert response.headers["location"] == "/admin/staff?tab=1"


# --- user enumeration ---------------------------------------------------------------------


@pytest.mark.parametrize("database_kind", ["sqlite"])
def test_an_unknown_email_costs_as_much_as_a_wrong_password(
    client: TestClient, factory: Factory
) -> None:
    """Same answer, and about the same time (a password hash is checked either way), so the
    login cannot tell which staff emails exist."""
    user = factory.user(Role.ADMIN)
    token = client.get("/api/v1/auth/csrf").json()["csrf_token"]

    def attempt(email: str) -> tuple[float, int, str]:
        started = time.perf_counter()
        response = client.post(
            "/api/v1/auth/login",
            json={"email": email, "password": "wrong password"},
            headers={"X-CSRF-Token": token},
        )
        return time.perf_counter() - started, response.status_code, response.text

    # Fewer attempts per email than the lock-out (3 in tests), alternated.
    known, unknown = [], []
    for _ in range(2):
        known.append(attempt(user.email))
        unknown.append(attempt(f"nobody-{uuid.uuid4().hex[:6]}@example.com"))
    assert {(status, text) for _, status, text in known + unknown} == {
        (401, '{"detail":"wrong email or password"}')
    }
    fastest_known = min(seconds for seconds, _, _ in known)
    fastest_unknown = min(seconds for seconds, _, _ in unknown)
    assert fastest_unknown > 0.5 * fastest_known, (fastest_unknown, fastest_known)
